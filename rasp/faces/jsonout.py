"""JSON for `--json`: always valid JSON. Values are finite by the numeric contract
(docs/language.md); anything else that is not a finite number (a training loss that diverged)
is written as null, never as NaN or Infinity, which JSON does not have."""

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


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps` that never writes NaN or Infinity."""
    return json.dumps(finite(value), allow_nan=False, **options)
