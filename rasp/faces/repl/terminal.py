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
            if not session.feed(line.rstrip("\n")):
                return 0
        session.finish()
        return 0
    return interactive(session)


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
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = history_path()
    writable = os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)
    history = FileHistory(str(path)) if writable else InMemoryHistory()
    prompt = PromptSession(history=history, completer=completer(session), complete_while_typing=False,
                           input=input, output=output)
    session.write(GREETING)
    session.write(f"example: {session.example}")
    while True:
        try:
            line = prompt.prompt(".. " if session.pending else ">> ")
        except KeyboardInterrupt:
            session.abandon()
            continue
        except EOFError:
            break
        if not session.feed(line):
            break
    return 0
