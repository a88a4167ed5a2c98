"""AST to s-op graph: run the statements of a program, computing plain values, unrolling
loops and inlining functions, so that what remains is the graph of s-ops and selectors.

Everything a program can get wrong without looking at an input (a selector where an s-op
belongs, a list where a number belongs, too many values to unpack) is found here, with
its source position, before any input is run.

The builder comes in two halves along the grammar's seam, `statements.Statements` and
`expressions.Expressions`; this module joins them and holds what they share: the scopes
every program starts from, the call depth, and the step budget.
"""

from __future__ import annotations

from grammar.errors import RaspError, Span
from rasp.language import builtins
from rasp.language.env import PRELUDE, Env, Function, Loader, prelude_tree
from rasp.language.expressions import MAX_PLAIN_SIZE, Expressions
from rasp.language.statements import MAX_CALL_DEPTH, Statements

__all__ = ["Builder", "Env", "Function", "Loader", "PRELUDE", "prelude_tree",
           "MAX_CALL_DEPTH", "MAX_PLAIN_SIZE", "MAX_STEPS"]

MAX_STEPS = 2_000_000


class Builder(Statements, Expressions):
    """Runs checked statements into an `Env`. One builder per program build (or REPL session).

    `loader` must hand back checked files (`program.load_checked`): the builder relies on the
    checker for the rules it applies before anything is built (see `rules`)."""

    def __init__(self, loader: Loader):
        self.loader = loader
        self.call_depth = 0
        self.calls: list[tuple[str, Span]] = []
        self.steps = 0
        self.root = Env()
        for name in builtins.CONSTANTS:
            self.root.vars[name] = builtins.constant(name)
        self.root.vars.update(builtins.FUNCTIONS)
        self.base = Env(self.root)
        self.run(prelude_tree(), self.base)

    def new_file_env(self) -> Env:
        return Env(self.base)

    def _step(self, span: Span) -> None:
        """One statement or expression more; a build that never ends (a loop over a huge
        range, say) is stopped at `MAX_STEPS`."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RaspError(f"the program takes more than {MAX_STEPS:,} steps to build "
                            "(a loop or list comprehension that is too long?)", span)
