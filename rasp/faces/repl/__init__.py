"""`rasp repl`: statements one at a time, each new s-op shown on a running example.

Like the classic RASP REPL, every s-op a statement makes is shown as its values on the example
(default `hello`) and every selector as a 0/1 matrix, queries down the side and keys along the
top, labelled with the example's tokens. Input runs until a `;` (or a closing `}`) outside
brackets and strings. With standard input not a terminal, statements are read from it and the
same output is printed, so sessions can be scripted.

The modules, bottom up:

    workspace  the language state: checker scope, builder environment, running one input
    example    the running example, and how a value is shown on it
    commands   the command words (set example, show, compile, analyze, draw, ...)
    session    a line at a time: statements gathered until complete, commands dispatched
    terminal   the front ends: prompt_toolkit (history, completion) or lines from a pipe
"""

from rasp.faces.repl.commands import COMMANDS
from rasp.faces.repl.session import Session, complete
from rasp.faces.repl.terminal import completer, history_path, interactive, main

__all__ = ["COMMANDS", "Session", "complete", "completer", "history_path", "interactive", "main"]
