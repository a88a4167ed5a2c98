"""The REPL's language state: the names bound so far, and how one typed input binds more.

A session is a file typed one input at a time. One checker scope and one builder environment live
for the whole session, so a name bound by one input is seen by the next; an input that fails
leaves the names bound before the failing statement in place, as running a file up to an error
would.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from grammar import ast
from grammar.errors import RaspError, Source
from grammar.parser import parse
from rasp.language import sops
from rasp.language.build import Builder
from rasp.language.check import Binding, Checker, Scope, root_scope
from rasp.language.program import Program, load_checked, load_parsed
from rasp.language.statements import Lenient

Bound = list[tuple[str, Any]]  # the (name, value) pairs one statement bound; "" for a bare expression
NAME = re.compile(r"[A-Za-z_]\w*")


OUT = "out"  # the name of the last bare expression's value


class Workspace:
    """The checker's scope and the builder's environment of one session, and its causal mode."""

    def __init__(self, report: Callable[[RaspError], None] | None = None) -> None:
        self.builder = Builder(load_checked)
        if report is not None:  # loads as the classic REPL's: a failing statement of a file is reported and skipped
            self.builder.lenient = Lenient(load_parsed, report)
        self.env = self.builder.new_file_env()
        self.checker = Checker(load_parsed)
        self.scope = Scope(root_scope())
        self.causal = False  # selectors see only keys at or before the query, as in RASP-L
        self.modes: dict[str, bool] = {}  # each bound name's causal mode, as it was when bound
        self.inputs = 0  # inputs run so far: errors name their input `<input N>`

    def run(self, text: str) -> Iterator[tuple[ast.Stmt, Bound]]:
        """Parse, check and build one input, a statement at a time, yielding each statement with
        what it bound as soon as it is built (so what came before an error is still shown). A
        RaspError stops the input at the statement that raised it."""
        self.inputs += 1
        tree = parse(text, f"<input {self.inputs}>")
        for stmt in tree.statements:
            if isinstance(stmt, ast.Assign) and OUT in stmt.targets:  # as classic: out holds the last value shown
                span = stmt.target_spans[stmt.targets.index(OUT)]
                raise RaspError(f"'{OUT}' is reserved in the REPL: it holds the value of the last bare expression", span)
            self.checker.statement(stmt, self.scope)
            bound = self.builder.exec(stmt, self.env)
            if isinstance(stmt, ast.ExprStmt) and bound:  # `out;` then gives that value, as in classic
                self.env.set(OUT, bound[-1][1], record=False)
                self.scope.names.setdefault(OUT, Binding())
            for name, _ in bound:
                self.modes[name or "out"] = self.causal
            yield stmt, bound

    def causal_of(self, name: str) -> bool:
        """The mode a name runs in: the one it was bound in (a built-in: the session's)."""
        return self.modes.get(name.strip(), self.causal)

    def set_causal(self, on: bool) -> list[str]:
        """Switch the mode for names bound from now on; the s-ops and selectors bound before in
        the other mode, which keep theirs."""
        self.causal = on
        return sorted(name for name, mode in self.modes.items() if mode != on
                      and isinstance(self.env.vars.get(name), (sops.SOp, sops.Selector)))

    def names(self) -> list[str]:
        """Every name in scope, the built-ins included."""
        names: set[str] = set()
        env = self.env
        while env is not None:
            names |= set(env.vars)
            env = env.parent
        return sorted(names)

    def has(self, name: str) -> bool:
        """Whether a name is bound (in the session or the prelude)."""
        try:
            self.env.lookup(name)
            return True
        except KeyError:
            return False

    def lookup(self, name: str) -> Any:
        """The value bound to a name a command was given."""
        name = name.strip()
        if not NAME.fullmatch(name):
            raise RaspError(f"'{name}' is not a name")
        try:
            return self.env.lookup(name)
        except KeyError:
            raise RaspError(f"'{name}' is not defined") from None

    def program(self, name: str) -> Program:
        """The s-op bound to `name` as a whole program with that output, for the compiler and the
        analysis (which take programs, not bare s-ops)."""
        value = self.lookup(name)
        if not isinstance(value, sops.SOp):
            raise RaspError(f"'{name}' is not an s-op")
        causal = self.causal_of(name)
        pragmas = frozenset({ast.Pragma.CAUSAL}) if causal else frozenset()
        tree = ast.Module((), Source("<repl>", ""), pragmas)
        return Program(tree, self.env, name, value, causal)
