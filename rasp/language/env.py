"""Scopes and user functions, as the builder keeps them, and the prelude every scope starts from.

A program's names live in a chain of `Env`s: the built-in names at the root, the prelude
above them, then one scope per file and one per function call. A user `Function` is its
definition plus the scope it was defined in (so it sees the names bound before its `def`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from grammar import ast
from grammar.errors import Span

PRELUDE = Path(__file__).with_name("prelude.rasp")

# A loader turns (name in a load statement, the file that loads it) into a parsed program.
Loader = Callable[[str, Span], ast.Module]


@lru_cache(maxsize=1)
def prelude_tree() -> ast.Module:
    """The prelude, parsed once: both the checker and the builder start from its names."""
    from grammar.parser import parse  # the prelude is RASP too

    return parse(PRELUDE.read_text(), str(PRELUDE))


@dataclass
class Function:
    """A user function: its definition and the scope it was defined in."""

    definition: ast.FuncDef
    closure: Env

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def params(self) -> tuple[str, ...]:
        return self.definition.params


class Env:
    """A scope. Names set in a file's scope are also exported to whoever loaded the file,
    except private names (`_x`)."""

    def __init__(self, parent: Env | None = None, exports_to: Env | None = None):
        self.parent = parent
        self.exports_to = exports_to
        self.vars: dict[str, Any] = {}
        self.assigned: list[tuple[str, Any]] = []  # direct assignments, in order

    def lookup(self, name: str) -> Any:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        raise KeyError(name)

    def set(self, name: str, value: Any, record: bool = True) -> None:
        self.vars[name] = value
        if record:
            self.assigned.append((name, value))
        if self.exports_to is not None and not name.startswith("_"):
            self.exports_to.set(name, value, record=False)
