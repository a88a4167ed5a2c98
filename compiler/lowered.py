"""The lowering's output (pass 1), and what every later pass reads about each tracr s-op.

tracr's own passes annotate the nodes of its graph (tracr's `compiler/nodes.py`); ours keep
their facts beside it, in an `Info` per tracr s-op, keyed by the s-op's label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tracr.rasp import rasp as tr

from grammar.errors import Span
from rasp.language import sops
from rasp.language.sops import Encoding


class Helper(StrEnum):
    """Why the lowering made a tracr s-op that is none of the program's own."""

    INPUT = "input"  # tracr's tokens or indices
    CONVERSION = "conversion"  # an s-op's values again, in the other encoding
    PAIRING = "pairing"  # several s-ops as one of tuples: a selector's keys or queries, a table's inputs


@dataclass
class Info:
    """What the later passes need to know about one tracr s-op."""

    label: str  # tracr's label for it (its residual dimensions are named after it)
    values: list[Any]  # every value it can take, sorted: its value set
    encoding: Encoding
    origin: sops.Value | None = None  # our node it computes; None for helpers
    table: dict[Any, Any] = field(default_factory=dict)  # Map/SequenceMap: input value(s) -> output
    default: Any = None  # categorical aggregate: the value when nothing is selected
    reduce: sops.Reduce | None = None  # aggregate: mean, or the max or min of the selected values
    helper: Helper | None = None  # why it was made, when `origin` is None
    span: Span | None = None  # where a helper (a pairing of keys, say) comes from


@dataclass(frozen=True)
class Lowered:
    """The program as tracr RASP, with every value set computed and every encoding chosen."""

    sink: tr.SOp  # the program's output
    info: dict[str, Info]  # by tracr label: every s-op the lowering made (some may go unused)

    def categorical_aggregates(self) -> list[sops.Aggregate]:
        """Our categorical means: each must select at most one position (a max or min may select
        several: its head attends to the largest or smallest of them)."""
        return [entry.origin for entry in self.info.values()
                if isinstance(entry.origin, sops.Aggregate) and entry.encoding is Encoding.CATEGORICAL
                and entry.reduce in (None, sops.Reduce.MEAN)]
