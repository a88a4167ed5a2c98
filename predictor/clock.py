"""A time limit on a block of code: the one alarm that compiling in experiments and the reference
check of `rasp analyze` share."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


class OutOfTime(BaseException):
    """Raised by the alarm of `deadline` (a BaseException, so no `except Exception` swallows it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `OutOfTime` in this block after `seconds` (main thread only; elsewhere no limit).
    Inside an outer deadline the outer one stands: it bounds this block already, and a second
    timer would replace it."""
    if threading.current_thread() is not threading.main_thread() or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def stop(*_: Any) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # again, in case this one lands where Python
        raise OutOfTime                             # ignores exceptions (a garbage-collector callback)

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
