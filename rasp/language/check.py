"""Static checks on the AST, before anything is built or run: unknown names, private names
used across `load`, argument counts, recursion, assignments to built-in names, load cycles
(the rules themselves are in `rules`).

Names follow the file's order: a name is known from the statement that binds it on. A function
body may also read a global name bound after its `def`, as in the classic REPL, which looks
global names up when a function is called (LANGUAGE.md section 5): such a name is left to the
builder, which reports it at its use, naming the call, if it is still unbound when the function
is called.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Callable, Iterator

from grammar import ast
from grammar.errors import RaspError, Span
from rasp.language import builtins
from rasp.language.env import prelude_tree
from rasp.language.rules import check_arity, check_assignable, check_not_loading
from rasp.language.values import Builtin

# (name in a load statement, where it is) -> the parsed file
CheckLoader = Callable[[str, Span], ast.Module]


@dataclass
class Binding:
    function: ast.FuncDef | None = None  # a user function (for argument counts)
    builtin: Builtin | None = None


class Scope:
    def __init__(self, parent: Scope | None = None):
        self.parent = parent
        self.names: dict[str, Binding] = {}
        self.private: dict[str, str] = {}  # private name -> the file that keeps it

    def find(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def find_private(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.private:
                return scope.private[name]
            scope = scope.parent
        return None

    def all_names(self) -> set[str]:
        names: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            names |= set(scope.names)
            scope = scope.parent
        return names


def children(node: ast.Node) -> Iterator[ast.Expr]:
    """The expressions directly inside an expression node."""
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Expr):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, ast.Expr):
                    yield item
                elif isinstance(item, tuple):
                    yield from (x for x in item if isinstance(x, ast.Expr))


def top_level_names(program: ast.Module) -> dict[str, ast.FuncDef | None]:
    """Names a file binds at its top level (for loops included), with their definitions."""
    names: dict[str, ast.FuncDef | None] = {}

    def visit(statements: tuple[ast.Stmt, ...]) -> None:
        for stmt in statements:
            if isinstance(stmt, ast.Assign):
                names.update((t, None) for t in stmt.targets)
            elif isinstance(stmt, ast.FuncDef):
                names[stmt.name] = stmt
            elif isinstance(stmt, ast.ForLoop):
                names.update((t, None) for t in stmt.targets)
                visit(stmt.body)

    visit(ast.until_exit(program.statements))
    return names


@lru_cache(maxsize=1)
def root_scope() -> Scope:
    root = Scope()
    for name in builtins.CONSTANTS:
        root.names[name] = Binding()
    for name, b in builtins.FUNCTIONS.items():
        root.names[name] = Binding(builtin=b)
    prelude = Scope(root)
    for name, definition in top_level_names(prelude_tree()).items():
        prelude.names[name] = Binding(function=definition)
    return prelude


class Checker:
    def __init__(self, loader: CheckLoader):
        self.loader = loader
        self.defining: list[ast.FuncDef] = []
        self.loading: list[str] = []

    def program(self, program: ast.Module) -> None:
        self.loading.append(program.path)
        self.statements(program.statements, Scope(root_scope()))

    def statements(self, statements: tuple[ast.Stmt, ...], scope: Scope) -> None:
        for stmt in ast.until_exit(statements):
            self.statement(stmt, scope)

    def statement(self, stmt: ast.Stmt, scope: Scope) -> None:
        if isinstance(stmt, ast.Assign):
            for value in stmt.values:
                self.expr(value, scope)
            for name, span in zip(stmt.targets, stmt.target_spans):
                check_assignable(name, span)
                scope.names[name] = self._alias(stmt, scope)
        elif isinstance(stmt, ast.ExprStmt):
            self.expr(stmt.expr, scope)
        elif isinstance(stmt, ast.FuncDef):
            check_assignable(stmt.name, stmt.span)
            for p in stmt.params:
                check_assignable(p, stmt.span)
            if len(set(stmt.params)) != len(stmt.params):
                raise RaspError(f"function '{stmt.name}' names a parameter twice", stmt.span)
            scope.names[stmt.name] = Binding(function=stmt)
            body = Scope(scope)
            for p in stmt.params:
                body.names[p] = Binding()
            self.defining.append(stmt)
            try:
                self.statements(stmt.body, body)
                for r in stmt.returns:
                    self.expr(r, body)
            finally:
                self.defining.pop()
        elif isinstance(stmt, ast.ForLoop):
            self.expr(stmt.iterable, scope)
            for name in stmt.targets:
                check_assignable(name, stmt.span)
                scope.names[name] = Binding()
            self.statements(stmt.body, scope)
        elif isinstance(stmt, ast.Load):
            self._load(stmt, scope)
        elif isinstance(stmt, ast.ReplStatement):
            for part in (stmt.value, stmt.example):
                if part is not None:
                    self.expr(part, scope)

    def _alias(self, stmt: ast.Assign, scope: Scope) -> Binding:
        """`g = f;` keeps f's argument count for g."""
        if len(stmt.values) == 1 and len(stmt.targets) == 1 and isinstance(stmt.values[0], ast.Name):
            return scope.find(stmt.values[0].id) or Binding()
        return Binding()

    def _load(self, stmt: ast.Load, scope: Scope) -> None:
        loaded = self.loader(stmt.name, stmt.span)
        check_not_loading(self.loading, loaded.path, stmt.span)
        self.loading.append(loaded.path)
        try:
            self._import(loaded, scope)
        finally:
            self.loading.pop()

    def _import(self, loaded: ast.Module, scope: Scope) -> None:
        for name, definition in top_level_names(loaded).items():
            if name.startswith("_"):
                scope.private[name] = loaded.path
            else:
                scope.names[name] = Binding(function=definition)
        self._follow_loads(loaded.statements, scope)

    def _follow_loads(self, statements: tuple[ast.Stmt, ...], scope: Scope) -> None:
        """Follow every load a loaded file makes, so that a cycle is found here, wherever
        the loads sit, and not while building. Names a file loads at its top level are
        visible to its loader; the others are only checked for cycles."""
        for stmt in ast.until_exit(statements):
            if isinstance(stmt, ast.Load):
                self._load(stmt, scope)
            elif isinstance(stmt, (ast.ForLoop, ast.FuncDef)):
                self._follow_loads(stmt.body, Scope(scope))

    # ---- expressions

    def expr(self, expr: ast.Expr, scope: Scope) -> None:
        if isinstance(expr, ast.Name):
            self._name(expr, scope)
            return
        if isinstance(expr, (ast.ListComp, ast.DictComp)):
            self.expr(expr.iterable, scope)
            inner = Scope(scope)
            for t in expr.targets:
                check_assignable(t, expr.span)
                inner.names[t] = Binding()
            parts = (expr.element,) if isinstance(expr, ast.ListComp) else (expr.key, expr.value)
            for part in parts:
                self.expr(part, inner)
            return
        if isinstance(expr, ast.Call):
            self._call(expr, scope)
        for child in children(expr):
            self.expr(child, scope)

    def _name(self, expr: ast.Name, scope: Scope) -> None:
        binding = scope.find(expr.id)
        if binding is None:
            owner = scope.find_private(expr.id)
            if owner is not None:
                raise RaspError(f"'{expr.id}' is private to {owner} (names starting with '_' "
                                "are not visible outside their file)", expr.span)
            if self.defining:
                return  # a function reads global names when it is called: the builder checks them then
            close = difflib.get_close_matches(expr.id, sorted(scope.all_names()), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise RaspError(f"unknown name '{expr.id}'{hint}", expr.span)
        if binding.function is not None and binding.function in self.defining:
            raise RaspError(f"recursion: '{expr.id}' refers to itself inside its own definition "
                            "(a transformer has a fixed number of layers, so RASP has no recursion)",
                            expr.span)

    def _call(self, expr: ast.Call, scope: Scope) -> None:
        if not isinstance(expr.func, ast.Name):
            return
        binding = scope.find(expr.func.id)
        if binding is None:
            return  # reported as an unknown name
        if binding.builtin is not None:
            check_arity(binding.builtin, expr)
        elif binding.function is not None and binding.function not in self.defining:
            check_arity(binding.function, expr)


def check(program: ast.Module, loader: CheckLoader) -> None:
    """Raise the first `RaspError` in `program`, or return."""
    Checker(loader).program(program)
