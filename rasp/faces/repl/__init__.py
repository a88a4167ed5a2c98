"""`rasp repl`: statements one at a time, each new s-op shown on a running example.

Like the classic RASP REPL, every s-op a statement makes is shown as its values on the s-op
example (default `hello`) and every selector as a matrix of 1s and blanks on the selector example,
queries down the side and keys along the top, labelled with the example's tokens. Input runs until a `;` (or a closing `}`) outside
brackets and strings. With standard input not a terminal, statements are read from it and the
same output is printed, so sessions can be scripted.

The modules, bottom up:

    workspace  the language state: checker scope, builder environment, running one input
    shown      how values are written (as the classic REPL writes them)
    example    the running examples, and how a value is shown on them
    compiled   compile, run, layers and draw: the models compiled in a session
    commands   the REPL statements (set example, show, examples, causal, exit, ...): one statement's
               text at a time (`Commands.execute`)
    session    a line at a time: statements gathered until complete, commands dispatched
    terminal   the front ends: prompt_toolkit (history, completion) or lines from a pipe
"""

from rasp.faces.repl.commands import COMMANDS, Commands, statement_in
from rasp.faces.repl.session import Session, complete
from rasp.faces.repl.terminal import completer, history_path, interactive, main

__all__ = ["COMMANDS", "Commands", "statement_in", "Session", "complete", "completer", "history_path", "interactive", "main"]
