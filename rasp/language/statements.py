"""The statement half of the builder: assignments, loads, definitions, for loops (unrolled)
and calls of user functions (inlined), each run into an `Env`.

Statements reach the builder checked (see `rules`), so built-in names and load cycles are
not looked for again here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from grammar import ast
from grammar.errors import RaspError, Span
from rasp.language import sops
from rasp.language.check import Checker, Scope, root_scope
from rasp.language.env import Env, Function, Loader
from rasp.language.rules import check_arity
from rasp.language.values import kind_name

MAX_CALL_DEPTH = 100


@dataclass(frozen=True)
class Lenient:
    """How a REPL loads files, as the classic REPL does: each statement of a loaded file is checked
    and run on its own, and one that fails is reported (`report`) and skipped while the rest run
    (`loader` reads a file without checking it whole)."""

    loader: Loader
    report: Callable[[RaspError], None]


class Statements:
    """Mixed into `build.Builder`: the attributes declared here come from the builder
    and its other half."""

    lenient: Lenient | None = None  # set by a REPL: loads go statement by statement

    loader: Loader
    base: Env
    call_depth: int
    calls: list[tuple[str, Span]]  # the user functions being called, outermost first, and where
    eval: Callable[[ast.Expr, Env], Any]
    _step: Callable[[Span], None]

    def run(self, program: ast.Module, env: Env) -> None:
        for stmt in ast.until_exit(program.statements):
            self.exec(stmt, env)

    def exec(self, stmt: ast.Stmt, env: Env) -> list[tuple[str, Any]]:
        """Run one statement; returns the (name, value) pairs it bound (the REPL shows them)."""
        self._step(stmt.span)
        if isinstance(stmt, ast.Assign):
            return self._assign(stmt, env)
        if isinstance(stmt, ast.ExprStmt):
            return [("", self.eval(stmt.expr, env))]
        if isinstance(stmt, ast.FuncDef):
            function = Function(stmt, env)
            env.set(stmt.name, function)
            return [(stmt.name, function)]
        if isinstance(stmt, ast.ForLoop):
            iterable = self._iterable(self.eval(stmt.iterable, env), stmt.iterable, "a for loop")
            bound = []
            for item in iterable:
                self._bind(stmt.targets, item, env, stmt.span)
                for inner in stmt.body:
                    bound += self.exec(inner, env)
            return bound
        if isinstance(stmt, ast.Load):
            return self._load(stmt, env)
        if isinstance(stmt, ast.ReplStatement):
            return []  # display only: a REPL carries these out (see ast.ReplStatement)
        raise RaspError(f"cannot run {type(stmt).__name__}", stmt.span)  # pragma: no cover

    def _assign(self, stmt: ast.Assign, env: Env) -> list[tuple[str, Any]]:
        values = [self.eval(v, env) for v in stmt.values]
        value: Any = values[0] if len(values) == 1 else values
        if len(stmt.targets) == 1:
            pairs = [(stmt.targets[0], value)]
        else:
            if not isinstance(value, list) or len(value) != len(stmt.targets):
                got = f"{len(value)} values" if isinstance(value, list) else kind_name(value)
                raise RaspError(f"cannot unpack {got} into {len(stmt.targets)} names", stmt.span)
            pairs = list(zip(stmt.targets, value))
        for name, v in pairs:
            if isinstance(v, sops.Value) and v.label is None:
                v.label = name
            env.set(name, v)
        return pairs

    def _load(self, stmt: ast.Load, env: Env) -> list[tuple[str, Any]]:
        program = (self.lenient.loader if self.lenient else self.loader)(stmt.name, stmt.span)
        file_env = Env(self.base, exports_to=env)
        if self.lenient is None:
            self.run(program, file_env)
        else:
            checker, scope = Checker(self.lenient.loader), Scope(root_scope())
            checker.loading.append(program.path)
            for inner in ast.until_exit(program.statements):
                try:
                    checker.statement(inner, scope)
                    self.exec(inner, file_env)
                except RaspError as e:
                    self.lenient.report(e)
        return [(n, v) for n, v in file_env.assigned if not n.startswith("_")]

    def _bind(self, targets: tuple[str, ...], item: Any, env: Env, span: Span) -> None:
        if len(targets) == 1:
            env.set(targets[0], item, record=False)
            return
        if not isinstance(item, list) or len(item) != len(targets):
            got = f"{len(item)} values" if isinstance(item, list) else kind_name(item)
            raise RaspError(f"cannot unpack {got} into {len(targets)} names", span)
        for name, v in zip(targets, item):
            env.set(name, v, record=False)

    def _iterable(self, value: Any, node: ast.Expr, where: str) -> list:
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return list(value)
        raise RaspError(f"{where} needs a list or dict to loop over, got {kind_name(value)}", node.span)

    def call(self, func: Function, args: list[Any], call: ast.Call) -> Any:
        """A user function's value on `args`: its body run in a fresh scope inside its closure."""
        check_arity(func.definition, call)
        if self.call_depth >= MAX_CALL_DEPTH:
            raise RaspError(f"recursion: calls to '{func.name}' nest more than {MAX_CALL_DEPTH} deep "
                            "(a transformer has a fixed number of layers, so RASP has no recursion)",
                            call.span)
        local = Env(func.closure)
        for name, value in zip(func.params, args):
            local.set(name, value, record=False)
        self.call_depth += 1
        self.calls.append((func.name, call.span))
        try:
            for stmt in func.definition.body:
                self.exec(stmt, local)
            results = [self.eval(r, local) for r in func.definition.returns]
        finally:
            self.call_depth -= 1
            self.calls.pop()
        return results[0] if len(results) == 1 else results
