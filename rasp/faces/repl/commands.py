"""The REPL's commands: words typed at the start of a line that act on the session instead of
binding names (set example, examples, causal, show, compile, analyze, draw, help, exit).

A line is a command when it starts with one of these words not followed by `=`, `(`, `[` or `.`,
so `show = tokens;` and `draw(x);` stay statements (the second one is the classic REPL's draw).
Errors speak of the command as typed here (`use: draw NAME FILE`), never of command-line flags.
"""

from __future__ import annotations

import re
from typing import Callable

from grammar.errors import RaspError
from rasp.faces.repl.example import Example
from rasp.faces.repl.workspace import Workspace
from rasp.language import sops
from rasp.language.inputs import parse_input
from rasp.language.values import plural

DRAWABLE = ".png, .svg or .dot"  # the kinds of file a program graph is drawn to
COMMANDS = {
    "set example X": "the running example: a string (hello) or a JSON list ([3, 1, 2])",
    "examples on|off": "show (or stop showing) each new s-op and selector on the example",
    "causal on|off": "run selectors causally (keys at or before the query), as RASP-L does",
    'load "FILE";': "run a .rasp file (or a library program) and bring its names in",
    "show NAME": "NAME's values on the example (a selector as its matrix)",
    "compile NAME [VOCAB [MAX_LEN]]": "compile NAME to weights (default: the example's tokens and length)",
    "analyze NAME": "the length-generalization verdict for NAME, with its findings",
    "draw NAME FILE": f"draw NAME's program graph to FILE ({DRAWABLE}); draw(NAME) draws to NAME.png",
    "help": "this list",
    "exit": "leave (or Ctrl-D); Ctrl-C abandons the current input",
}
WORDS = [usage.split()[0] for usage in COMMANDS]  # what Tab completes besides names
CLASSIC_DRAW = re.compile(r"^\s*draw\(\s*([A-Za-z_]\w*)\s*\)\s*;?\s*$")  # the classic REPL's draw(name)
COMMAND = re.compile(r"^\s*(set|examples|causal|show|compile|analyze|draw|help|exit|quit)\b(?!\s*[=(\[.])(.*)$")
SIZED = re.compile(r"(?P<vocab>.*?)(?:[\s,]+|^)(?P<max>\d+)")  # `compile NAME VOCAB MAX_LEN`'s tail


def command_in(line: str) -> tuple[str, str] | None:
    """The command a line types, as (word, the rest without a final `;`), or None for a line of
    RASP. The classic `draw(NAME)` is `draw NAME NAME.png`."""
    classic = CLASSIC_DRAW.match(line)
    if classic:
        return "draw", f"{classic.group(1)} {classic.group(1)}.png"
    command = COMMAND.match(line)
    if command:
        return command.group(1), command.group(2).strip().rstrip(";").strip()
    return None


class Commands:
    """Each command is the method `do_WORD`, given the rest of its line."""

    def __init__(self, workspace: Workspace, example: Example, write: Callable[[str], None]):
        self.workspace = workspace
        self.example = example
        self.write = write

    def run(self, word: str, rest: str) -> bool:
        """Do one command, printing a mistake as an error; False when the session should end."""
        if word in ("exit", "quit"):
            return False
        try:
            getattr(self, f"do_{word}")(rest)
        except RaspError as e:
            self.write(e.format())
        return True

    def do_help(self, rest: str) -> None:
        self.write("Statements end with ';'. Commands:")
        width = max(len(c) for c in COMMANDS)
        for usage, what in COMMANDS.items():
            self.write(f"  {usage.ljust(width)}  {what}")

    def do_set(self, rest: str) -> None:
        what, _, value = rest.partition(" ")
        if what != "example" or not value.strip():
            raise RaspError("use: set example hello (or a JSON list, e.g. set example [3, 1, 2])")
        self.example.set(value)
        self.write(f"example: {self.example}")

    def do_examples(self, rest: str) -> None:
        self.example.shown = on_or_off(rest, "examples")
        self.write(f"examples {rest}")

    def do_causal(self, rest: str) -> None:
        self.workspace.causal = on_or_off(rest, "causal")
        self.write(f"causal {rest}")

    def do_show(self, rest: str) -> None:
        if not rest:
            raise RaspError("use: show NAME")
        value = self.workspace.lookup(rest)
        for line in self.example.describe(rest, value, self.workspace.causal, on_example=True):
            self.write(line)

    def do_compile(self, rest: str) -> None:
        name, _, options = rest.partition(" ")
        if not name:
            raise RaspError("use: compile NAME [VOCAB [MAX_LEN]]")
        program = self.workspace.program(name)
        max_len = len(self.example.tokens)
        sized = SIZED.fullmatch(options.strip())
        if sized:
            options, max_len = sized.group("vocab"), int(sized.group("max"))
        options = options.strip()
        tokens = parse_input(options, "<vocab>") if options else self.example.tokens
        vocab = list(dict.fromkeys(tokens))
        if not vocab or max_len < 1:
            raise RaspError("compile needs a vocabulary and a maximum length (set an example, or give them)")
        from compiler import compile_program, report

        summary = report.as_dict(compile_program(program, vocab, max_len, causal=self.workspace.causal))
        heads = ", ".join(str(h) for h in summary["heads_per_layer"])
        checked = summary["verification"]
        self.write(f"compiled {name}: {plural(summary['layers'], 'layer')} (heads per layer: {heads}), residual width "
                   f"{summary['residual_width']}, {plural(summary['parameters'], 'parameter')}; vocab {vocab}, max "
                   f"length {max_len}; {checked['summary']}")

    def do_analyze(self, rest: str) -> None:
        if not rest:
            raise RaspError("use: analyze NAME")
        from predictor.analysis import analyze
        from predictor.report import show

        show(analyze(self.workspace.program(rest), causal=self.workspace.causal), rest)

    def do_draw(self, rest: str) -> None:
        parts = rest.split()
        if len(parts) != 2:
            raise RaspError(f"use: draw NAME FILE, with FILE a {DRAWABLE} file name")
        name, path = parts
        value = self.workspace.lookup(name)
        if not isinstance(value, (sops.SOp, sops.Selector)):
            raise RaspError(f"'{name}' is not an s-op or a selector")
        from predictor.graph import program_graph
        from predictor.report import draw

        graph = program_graph(value)
        try:
            draw(graph, path)
        except OSError as e:
            raise RaspError(f"cannot write {path}: {e.strerror}") from None
        except RaspError:  # the one thing draw refuses is the kind of file; its words may be the command line's
            raise RaspError(f"cannot draw to {path}: use: draw NAME FILE, with FILE a {DRAWABLE} file name") from None
        self.write(f"drawn to {path}")


def on_or_off(rest: str, word: str) -> bool:
    if rest not in ("on", "off"):
        raise RaspError(f"use: {word} on, or {word} off")
    return rest == "on"
