"""The one error the compiler raises: a positioned `RaspError`, so users see where it comes from."""

from __future__ import annotations

from grammar.errors import RaspError


class CompileError(RaspError):
    """A program, or a part of one, that cannot be compiled."""
