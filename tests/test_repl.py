"""The REPL driven through a pipe, as a script would drive it."""

from __future__ import annotations

import subprocess
import sys
from typing import Callable

import pytest

from rasp.faces.repl import Session, complete


def session(text: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasp.faces.cli", "repl"], input=text, capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_a_piped_session_shows_values_and_matrices_and_survives_an_error():
    out = session('set example "abca"\n'
                  "same = select(tokens, tokens, ==);\n"
                  "broken = selector_width(tokens);\n"
                  "hist = selector_width(same);\n"
                  "flip = select(indices, length - 1 -\n"
                  "    indices, ==);\n"
                  "reverse = aggregate(flip, tokens);\n")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "selector: same" in text
    # the matrix: keys along the top, a row per query, labelled with the example's tokens
    assert "        a | 1     1\n        b |   1\n        c |     1\n        a | 1     1" in text  # blank: not selected
    assert "<input 2>:1:25: error: the argument of selector_width must be a selector" in text
    assert 'hist("abca") = [2, 1, 1, 2] (ints)' in text  # the session went on after the error
    assert "        a |       1\n        b |     1\n        c |   1\n        a | 1" in text
    assert 'reverse("abca") = [a, c, b, a] (strings)' in text


def test_commands_in_a_piped_session(tmp_path):
    picture = tmp_path / "reverse.png"
    out = session('load "reverse";\n'
                  "examples off\n"
                  "double = indices * 2;\n"
                  "show double\n"
                  "set example [3, 1, 2]\n"
                  "show reverse\n"
                  "compile reverse [1, 2, 3] 4\n"
                  f"draw reverse {picture}\n"
                  "show nothing\n"
                  "exit\n"
                  "after_exit = 1;\n")
    text = out.stdout
    assert text.startswith("selector: opposite\ns-op: reverse\n")  # as classic: what the file binds, no examples
    assert "s-op: double\ns-op: double\n" in text  # shown once bare (examples off), once by show
    assert 'double("hello") = [0, 2, 4, 6, 8] (ints)' in text
    assert "reverse([3, 1, 2]) = [2, 1, 3] (ints)" in text
    assert "compiled reverse: " in text and "max length 4; exhaustive: equal to the interpreter" in text
    assert picture.read_bytes()[:4] == b"\x89PNG"
    classic = session("flip = indices;\ndraw(flip);\n", cwd=tmp_path)
    assert "drawn to flip.png" in classic.stdout and (tmp_path / "flip.png").exists()
    assert "'nothing' is not defined" in text
    assert "after_exit" not in text


def test_causal_mode_and_multi_line_functions():
    out = session("causal on\n"
                  "def prev(s) {\n"
                  "  return aggregate(select(indices, indices - 1, ==), s, \"_\");\n"
                  "}\n"
                  "p = prev(tokens);\n"
                  "firsts = selector_width(select(tokens, tokens, ==));\n")
    assert "function: prev(s)" in out.stdout
    assert 'p("hello") = [_, h, e, l, l] (strings)' in out.stdout
    assert 'firsts("hello") = [1, 1, 1, 2, 1] (ints)' in out.stdout  # counts only earlier keys


def test_an_unfinished_statement_at_the_end_is_reported():
    out = session("x = tokens\n")
    assert "error" in out.stdout and out.returncode == 0


@pytest.mark.parametrize("text, done", [
    ("x = tokens;", True), ("x = tokens", False), ("x = (tokens;", False), ('x = ";"', False),
    ('x = ";";', True), ("x = tokens; # done", True), ("def f(a) {\n return a;", False),
    ("def f(a) {\n return a;\n}", True), ("x = [1,\n 2];", True), ("# only a comment;", False),
])
def test_input_is_complete_at_a_semicolon_or_brace_outside_brackets_and_strings(text, done):
    assert complete(text) == done


def test_the_session_object_collects_names_for_completion():
    lines = []
    s = Session(write=lines.append)
    s.feed("my_sop = tokens;")
    assert "my_sop" in s.names() and "select" in s.names()
    s.feed("x = (tokens")
    assert s.pending
    s.abandon()
    assert not s.pending


def typed(*keys: str, prepare: Callable[[Session], None] | None = None) -> tuple[str, Session]:
    """What a terminal session writes when these keys are typed (each string sent as it is), and
    the session; `prepare` may change the session first."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from rasp.faces.repl import interactive

    lines: list[str] = []
    s = Session(write=lines.append)
    if prepare:
        prepare(s)
    with create_pipe_input() as pipe:
        for k in keys:
            pipe.send_text(k)
        assert interactive(s, input=pipe, output=DummyOutput()) == 0
    return "\n".join(lines), s


def test_the_terminal_session_keeps_history_completes_names_and_handles_ctrl_c(tmp_path, monkeypatch):
    from prompt_toolkit.document import Document

    from rasp.faces.repl import completer

    monkeypatch.setenv("RASP_HISTORY", str(tmp_path / "history"))
    text, s = typed("my_width = selector_width(select(tokens, tokens, ==));\r", "abandoned = (tokens\r",
                    "\x03",  # Ctrl-C: the open statement is dropped
                    "after = my_width + 1;\r", "\x04")  # Ctrl-D: leave
    assert 'my_width("hello") = [1, 1, 2, 2, 1] (ints)' in text
    assert 'after("hello") = [2, 2, 3, 3, 2] (ints)' in text
    assert "abandoned" not in text and "error" not in text
    assert "my_width = selector_width" in (tmp_path / "history").read_text()
    names = [c.text for c in completer(s).get_completions(Document("my_"), None)]
    assert names == ["my_width"]
    assert "select" in [c.text for c in completer(s).get_completions(Document("sel"), None)]


def test_an_internal_error_drops_one_statement_and_keeps_the_names(monkeypatch):
    lines: list[str] = []
    s = Session(write=lines.append)
    s.feed("kept = tokens;")
    real = s.workspace.run

    def broken(text):
        if "boom" in text:
            raise ValueError("a bug")
        return real(text)

    monkeypatch.setattr(s.workspace, "run", broken)
    s.feed("boom = tokens;")
    s.feed("after = kept;")
    text = "\n".join(lines)
    assert "internal error: ValueError: a bug" in text and "the session and its names go on" in text
    assert 'after("hello")' in text


def test_ctrl_c_while_a_statement_runs_drops_it_and_goes_on(monkeypatch):
    def interrupt_slow(s: Session) -> None:
        real = s.workspace.run

        def slow(text):
            if "slow" in text:
                raise KeyboardInterrupt  # as Ctrl-C arrives during a long evaluation
            return real(text)

        monkeypatch.setattr(s.workspace, "run", slow)

    text, _ = typed("slow = tokens;\r", "fast = tokens;\r", "\x04", prepare=interrupt_slow)
    assert "interrupted: the statement was dropped" in text and 'fast("hello")' in text


def test_a_history_path_that_is_a_directory_is_reported_once(tmp_path, monkeypatch):
    monkeypatch.setenv("RASP_HISTORY", str(tmp_path))
    text, _ = typed("a = tokens;\r", "b = tokens;\r", "\x04")
    assert text.count("history is off") == 1 and 'b("hello")' in text


def test_compile_in_the_repl_refuses_a_length_past_the_longest_input():
    out = session('x = tokens;\ny = x == "a";\ncompile y ab 1000000000\nshow y\n')
    assert "maximum length must be from 1 to 4,096" in out.stdout + out.stderr
    assert 'y("hello")' in out.stdout  # the session went on
