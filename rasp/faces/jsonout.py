"""JSON for `--json`: always valid JSON. Values are finite by the numeric contract
(docs/language.md); anything else that is not a finite number (a training loss that diverged)
is written as null, never as NaN or Infinity, which JSON does not have. One value is one line."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every float that is not finite replaced by None, through lists and dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps` that never writes NaN or Infinity, and escapes the characters other than a
    newline that line-splitting readers (Python's `splitlines`) break lines at, so one JSON
    value stays one line."""
    text = json.dumps(finite(value), allow_nan=False, **options)
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text
