"""A REPL session, one typed line at a time: statements gather until they are complete, then run
and each name they bind is shown; a line that is a REPL statement (`commands`) runs at once.

The session knows nothing of terminals: it takes lines through `feed` and prints through `write`,
so the terminal, a pipe and the tests drive it alike.
"""

from __future__ import annotations

from typing import Any, Callable

from grammar import ast
from grammar.errors import RaspError
from rasp.faces.repl.commands import Commands, statement_in
from rasp.faces.repl.example import Example
from rasp.faces.repl.workspace import Workspace


def complete(text: str) -> bool:
    """Whether the input so far ends a statement: brackets closed, not inside a string, and the
    last code character a `;` or a `}`."""
    depth, quote, last = 0, "", ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if not c.isspace() and not quote:
            last = c
        i += 1
    return not quote and depth <= 0 and last in (";", "}")


class Session:
    """The REPL's state; `feed` takes one line and prints what it did through `write`."""

    def __init__(self, write: Callable[[str], None] = print):
        self.write = write
        self.workspace = Workspace(report=lambda e: self.write(e.format()))
        self.example = Example()
        self.commands = Commands(self.workspace, self.example, write)
        self.buffer: list[str] = []  # the lines of a statement not yet complete

    @property
    def pending(self) -> bool:
        """Whether a statement is open (the terminal prompts `..` instead of `>>`)."""
        return bool(self.buffer)

    def names(self) -> list[str]:
        """Every name in scope (for completion)."""
        return self.workspace.names()

    def feed(self, line: str) -> bool:
        """Take one line; False when the session should end."""
        if not self.buffer:
            try:
                is_statement = statement_in(line) is not None
            except RaspError as e:  # an unknown command
                self.write(e.format())
                return True
            if is_statement:
                return self.commands.execute(line)
            if not line.strip() or line.strip().startswith("#"):
                return True
        self.buffer.append(line)
        text = "\n".join(self.buffer)
        if complete(text):
            self.buffer.clear()
            self.run(text)
        return True

    def finish(self) -> None:
        """End of input: run whatever is left (an unfinished statement is an error)."""
        if self.buffer and "\n".join(self.buffer).strip():
            text = "\n".join(self.buffer)
            self.buffer.clear()
            self.run(text)

    def abandon(self) -> None:
        """Drop the statement being typed (Ctrl-C)."""
        self.buffer.clear()

    def run(self, text: str) -> None:
        """Run one complete input, showing what each statement bound; an error is printed and the
        session goes on."""
        try:
            for stmt, bound in self.workspace.run(text):
                self.report(stmt, bound)
        except RaspError as e:
            self.write(e.format())
        except RecursionError:
            self.write("error: this statement nests too deeply to run; the session goes on")
        except Exception as e:  # noqa: BLE001 - a bug of ours must not end the session and its bindings
            self.write(f"internal error: {type(e).__name__}: {e} (this statement was dropped; the session "
                       "and its names go on; please report it)")

    def applied_input(self, stmt: ast.Stmt) -> list[Any] | None:
        """For a bare `sop(input);` (an s-op applied to an input), the input's tokens ([] when they
        are not a plain name or string); None for any other statement."""
        from rasp.language.sops import SOp

        expr = stmt.expr if isinstance(stmt, ast.ExprStmt) else None
        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and len(expr.args) == 1):
            return None
        try:
            if not isinstance(self.workspace.lookup(expr.func.id), SOp):
                return None
            arg = expr.args[0]
            given = arg.value if isinstance(arg, ast.String) else (
                self.workspace.lookup(arg.id) if isinstance(arg, ast.Name) else None)
        except RaspError:
            return None
        return list(given) if isinstance(given, (str, list, tuple)) else []

    def replay(self, load: ast.Load) -> None:
        """Carry out the classic REPL lines of a loaded file (`set example example2`, `full seq
        display on`, ...), in the file's order, once its names are bound; its `exit` only ended the file."""
        from rasp.language.program import load_parsed

        for line in load_parsed(load.name, load.span).repl_statements:
            if line.kind is not ast.ReplKind.EXIT:
                text = line.span.source.line(line.span.line)[line.span.col - 1:].strip()
                try:
                    self.commands.execute(text)
                except RaspError as e:
                    self.write(e.format())

    def report(self, stmt: ast.Stmt, bound: list[tuple[str, Any]]) -> None:
        if isinstance(stmt, ast.Load):  # as classic: every value the file binds, in order, without examples
            for name, value in bound:
                for line in self.example.describe(name, value, self.workspace.causal, on_example=False):
                    self.write(line)
            if not bound:
                self.write(f'loaded "{stmt.name}": it binds nothing')
            self.replay(stmt)
            return
        applied = self.applied_input(stmt)
        if applied is not None and len(bound) == 1 and isinstance(bound[0][1], list):
            for line in self.example.applied(applied or None, bound[0][1]):
                self.write(line)
            return
        for name, value in dict(bound).items():  # a loop shows each name once, with its last value
            if not name:  # a bare expression: shown by its name if it is one (`tokens;`), else as out
                is_name = isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Name)
                name = stmt.expr.id if is_name else "out"
            for line in self.example.describe(name, value, self.workspace.causal):
                self.write(line)
