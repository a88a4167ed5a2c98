"""The REPL's front ends: a terminal (prompt_toolkit: history across runs, Tab completion, `..`
while a statement is open) or, when standard input is not a terminal, a plain read of its lines,
printing the same output without prompts, so sessions can be scripted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rasp.faces.repl.commands import WORDS
from rasp.faces.repl.session import Session

GREETING = 'RASP, with lengthwise. Statements end with ";". Type help for commands, exit or Ctrl-D to leave.'


def history_path() -> Path:
    return Path(os.environ.get("RASP_HISTORY", Path.home() / ".rasp_history"))


def main(stdin=None) -> int:
    """Interactive on a terminal; otherwise read statements from standard input."""
    stdin = stdin or sys.stdin
    session = Session()
    if not stdin.isatty():
        for line in stdin:
            try:
                if not session.feed(line.rstrip("\n")):
                    return 0
            except KeyboardInterrupt:
                interrupted(session)
        session.finish()
        return 0
    return interactive(session)


def interrupted(session: Session) -> None:
    """Ctrl-C while a statement runs: that statement is dropped, the session goes on."""
    session.abandon()
    session.write("interrupted: the statement was dropped; the session and its names go on")


def usable_history(session: Session) -> Any:
    """The history file, or history in memory for this session (said once) when it cannot be
    written: `RASP_HISTORY` naming a directory or a file in a folder without write access."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = history_path()
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        session.write(f"note: history is off for this session: cannot write {path} ({e.strerror})")
        return InMemoryHistory()
    return FileHistory(str(path))


def completer(session: Session):
    """Tab completion of every name in scope, the built-ins and the commands."""
    from prompt_toolkit.completion import Completer, Completion

    class Names(Completer):
        def get_completions(self, document, complete_event):
            word = document.get_word_before_cursor()
            if not word:
                return
            for name in dict.fromkeys(WORDS + session.names()):
                if name.startswith(word) and not name.startswith("_"):
                    yield Completion(name, start_position=-len(word))

    return Names()


def interactive(session: Session, input: Any = None, output: Any = None) -> int:
    """The terminal session: history across runs, completion, `..` while a statement is open;
    Ctrl-C abandons the input being typed, Ctrl-D leaves."""
    from prompt_toolkit import PromptSession

    session.write(GREETING)
    prompt = PromptSession(history=usable_history(session), completer=completer(session),
                           complete_while_typing=False, input=input, output=output)
    session.write(f"running example is: {session.example}")
    while True:
        try:
            line = prompt.prompt(".. " if session.pending else ">> ")
        except KeyboardInterrupt:
            session.abandon()
            continue
        except EOFError:
            break
        try:
            if not session.feed(line):
                break
        except KeyboardInterrupt:
            interrupted(session)
    return 0
