"""Progress for people while a compile runs: each step's line as it starts, and inside a long
step a line at least every `TICK_SECONDS`, so nothing runs silent for longer.

Inside a step, the code says how far it has got (`Ticker.tick`: which block, how many inputs);
that is cheap, and shown only when a second has passed since the last line. A step can also
spend more than a second in one call (tracr sorting 271,000 basis directions): a background
thread then repeats the latest news once a second, with the time spent in the step.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Callable

TICK_SECONDS = 0.9  # at most this long between lines (under a second, with room for the thread to be late)


class Ticker:
    """Passes lines to `say`: `step` always (a step starts); `tick` when `TICK_SECONDS` have
    passed since the last line; and, while used as a context manager, a line from a background
    thread whenever nothing else was said for `TICK_SECONDS`."""

    def __init__(self, say: Callable[[str], None] | None):
        self.say, self.last = say, time.perf_counter()
        self.current, self.news, self.started = "", "", self.last
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.thread: threading.Thread | None = None

    def step(self, text: str) -> None:
        with self.lock:
            self.current, self.news = text, ""
            self.started = time.perf_counter()
            self._show(text)

    def tick(self, text: str) -> None:
        with self.lock:
            self.news = text
            if time.perf_counter() - self.last >= TICK_SECONDS:
                self._show(text)

    def _show(self, text: str) -> None:
        if self.say is not None:
            self.say(text)
        self.last = time.perf_counter()

    def _beat(self) -> None:
        while not self.stop.wait(max(0.05, self.last + TICK_SECONDS - time.perf_counter())):
            with self.lock:
                if time.perf_counter() - self.last >= TICK_SECONDS and self.current:
                    spent = time.perf_counter() - self.started
                    try:
                        self._show(f"{self.news or self.current} ({spent:.0f} s into this step)")
                    except Exception:  # the listener is gone (a closed pipe): stop talking, not the compile
                        return

    def __enter__(self) -> Ticker:
        if self.say is not None:
            self.thread = threading.Thread(target=self._beat, name="compile progress", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
