"""Compile progress (`compiler.ticks`): a step's line at once, news from inside a step only when
the interval has passed, and a line from the background while one long call keeps the step busy;
nothing after the compile has returned."""

from __future__ import annotations

import time

from compiler import ticks
from compiler.ticks import Ticker


def test_a_silent_step_still_says_something_every_interval(monkeypatch):
    monkeypatch.setattr(ticks, "TICK_SECONDS", 0.2)
    heard: list[str] = []
    with Ticker(heard.append) as ticker:
        ticker.step("building")
        ticker.tick("block 1 of 3")  # too soon: kept as the news, not shown
        assert heard == ["building"]
        time.sleep(0.75)  # one long call: the background thread speaks
        beats = heard[1:]
        assert len(beats) >= 2 and all(b.startswith("block 1 of 3 (") and "s into this step" in b for b in beats)
        ticker.step("placing")
        time.sleep(0.3)
    after = len(heard)
    time.sleep(0.3)
    assert len(heard) == after, "a line after the compile returned"
    assert heard[len(beats) + 1] == "placing" and heard[-1].startswith("placing (")


def test_news_is_shown_at_once_when_the_interval_has_passed(monkeypatch):
    monkeypatch.setattr(ticks, "TICK_SECONDS", 0.0)
    heard: list[str] = []
    ticker = Ticker(heard.append)  # not entered: no background thread
    ticker.step("checking")
    ticker.tick("ran 10 of 20")
    assert heard == ["checking", "ran 10 of 20"]
    Ticker(None).tick("nobody listens")  # no callback: nothing to call


def test_a_listener_that_fails_silences_the_thread_not_the_compile(monkeypatch, capsys):
    monkeypatch.setattr(ticks, "TICK_SECONDS", 0.05)
    calls: list[str] = []

    def broken(text: str) -> None:
        calls.append(text)
        if len(calls) > 1:
            raise BrokenPipeError

    with Ticker(broken) as ticker:
        ticker.step("building")
        time.sleep(0.3)
    assert len(calls) == 2  # the step, then one beat that failed; nothing after
    assert "Traceback" not in capsys.readouterr().err
