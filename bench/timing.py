"""What the benchmarks share: a timer, and the argument parser every benchmark starts from."""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of several calls: what is left when the machine's noise is least."""
    return min((timed(fn) for _ in range(runs)), key=lambda r: r[0])


def parser(doc: str | None, inputs: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", type=int, default=inputs)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    return p
