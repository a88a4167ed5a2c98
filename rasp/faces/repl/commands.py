"""The REPL statements: lines that act on the session instead of binding names.

The classic RASP REPL's statements, spelled as there (`set [s-op|selector] example X`, `show
[s-op|selector] example`, `[s-op|selector] examples on|off`, `full seq display on|off`, `draw(NAME)`,
`exit`, `exit()`, `quit`, `quit()`), and ours (`causal`, `show NAME`, `compile`, `run`, `layers`,
`analyze`, `draw NAME [FILE]`, `help`). `statement_in` tells whether a line is one; `Commands.execute`
runs one statement's text, so the REPL and, later, a loaded file can run them alike. A line is a REPL
statement when it starts with one of these words not followed by what continues a RASP expression
(`=`, `(`, `[`, `.`, an operator), so `show = tokens;` and `run(x);` stay RASP. A line starting
with two words that no RASP statement can start with is an unknown command. A REPL statement ends
at the end of its line (a final `;` is allowed) and never takes the lines after it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Callable

from grammar.errors import RaspError
from rasp.faces.repl.compiled import Models
from rasp.faces.repl.example import SELECTOR, SOP, Example
from rasp.faces.repl.workspace import NAME, Workspace


class Word(StrEnum):
    """The first word of each REPL statement."""

    EXIT = "exit"
    SET = "set"
    SHOW = "show"
    EXAMPLES = "examples"
    FULL_SEQ = "full seq display"
    CAUSAL = "causal"
    COMPILE = "compile"
    RUN = "run"
    LAYERS = "layers"
    ANALYZE = "analyze"
    DRAW = "draw"
    HELP = "help"


COMMANDS = {
    "set [s-op|selector] example X": 'the running example(s): "hello", hello or a list [3, 1, 2]',
    "show [s-op|selector] example": "the running example(s)",
    "[s-op|selector] examples on|off": "show (or not) each new s-op and/or selector on its example",
    "full seq display on|off": "an s-op's example as its input and output, aligned",
    "causal on|off": "names bound from now on run causally (keys at or before the query)",
    'load "FILE";': "run a .rasp file (or a library program) and bring its names in",
    "show NAME": "NAME's values on the example (a selector as its matrix)",
    "compile NAME [VOCAB] [MAX_LEN] [-o FILE]": "compile NAME to weights (default: the example's tokens, "
                                                "max length the longest of 8 and the example)",
    "run NAME INPUT": "NAME's compiled model on INPUT, beside the interpreter's value",
    "layers NAME": "where NAME's compiled model computes each s-op",
    "analyze NAME": "the length-generalization verdict for NAME, with its findings",
    "draw NAME [FILE]": "NAME's program graph with its values on the example, to FILE (default NAME.png; "
                        ".png, .svg, or .dot without values); coloured by layer once compiled",
    "draw(NAME[, INPUT]);": "the classic draw: to NAME.png, on INPUT (default the example)",
    "help": "this list",
    "exit, quit, exit(), quit()": "leave (or Ctrl-D); Ctrl-C abandons the current input",
}
WORDS = [w.split()[0] for w in ("set", "show", "examples", "full", "causal", "load", "compile", "run", "layers",
                                "analyze", "draw", "help", "exit", "quit")]  # what Tab completes besides names
HEAD = re.compile(r"^\s*(?:(?P<subset>s-op|selector)\s+(?=examples\b))?(?P<word>examples|full\s+seq\s+display|set|"
                  r"show|causal|compile|run|layers|analyze|draw|help|exit|quit)(?![\w-])(?P<rest>.*)$", re.S)
CONTINUES = re.compile(r"^\s*(?:[=\[.,+*/%<>!^)\]}-]|(?:and|or|if|else|in|for)\b)")  # RASP after a name
KEYWORDS = {"def", "for", "return", "not", "load", "if", "else", "and", "or", "in", "True", "False", "round",
            "indicator"}
TWO_WORDS = re.compile(r"^\s*(?P<first>[A-Za-z_]\w*)\s+(?P<second>[A-Za-z_]\w*|[\d\"'\[])")
SWITCH = re.compile(r"^(on|off)$")


def statement_in(line: str) -> tuple[Word, str] | None:
    """The REPL statement a line is, as (word, the rest without a final `;`), or None for RASP.
    `s-op examples on` is (EXAMPLES, "s-op on"); an unknown command raises RaspError."""
    head = HEAD.match(line)
    if head:
        word, rest = " ".join(head.group("word").split()), head.group("rest")
        if word in ("exit", "quit"):
            return Word.EXIT, rest.strip()
        if rest.lstrip().startswith("(") and word != "draw" or CONTINUES.match(rest):
            return None
        rest = rest.strip()
        rest = rest[:-1].rstrip() if rest.endswith(";") else rest
        if head.group("subset"):
            rest = f"{head.group('subset')} {rest}"
        return Word(word), rest
    two = TWO_WORDS.match(line)
    if two and two.group("first") not in KEYWORDS and two.group("second") not in KEYWORDS:
        raise RaspError(f"unknown command '{two.group('first')}' (type help for the commands)")
    return None


def subset(rest: str) -> tuple[tuple[str, ...], str]:
    """The classic `s-op` / `selector` in front of an example statement: which examples it is about."""
    for name in (SOP, SELECTOR):
        if rest == name or rest.startswith(name + " "):
            return (name,), rest[len(name):].strip()
    return (SOP, SELECTOR), rest


class Commands:
    """Each REPL statement is the method `do_WORD`, given the rest of its text."""

    def __init__(self, workspace: Workspace, example: Example, write: Callable[[str], None]):
        self.workspace = workspace
        self.example = example
        self.write = write
        self.models = Models(workspace, example, write)

    def execute(self, text: str) -> bool:
        """Run one REPL statement's text, printing a mistake as a one-line error; False when the
        session should end (`exit`). Text that is not a REPL statement is an error."""
        try:
            found = statement_in(text)
            if found is None:
                raise RaspError(f"not a REPL statement: {text.strip()} (type help for the commands)")
            word, rest = found
            if word is Word.EXIT:
                if rest.rstrip(";").strip() not in ("", "()"):
                    raise RaspError("use: exit, exit(), quit or quit()")
                return False
            getattr(self, "do_" + word.name.lower())(rest)
        except RaspError as e:
            self.write(e.format())
        return True

    def do_help(self, rest: str) -> None:
        self.write("Statements end with ';'. REPL statements take one line:")
        width = max(len(c) for c in COMMANDS)
        for usage, what in COMMANDS.items():
            self.write(f"  {usage.ljust(width)}  {what}")

    def do_set(self, rest: str) -> None:
        which, rest = subset(rest)
        word, _, value = rest.partition(" ")
        if word != "example" or not value.strip():
            raise RaspError('use: set [s-op|selector] example X, with X a string ("hello" or hello), a list '
                            "([3, 1, 2]) or a name bound to one")
        value = value.strip()
        if NAME.fullmatch(value) and self.workspace.has(value):  # classic evaluates X: a name gives its value
            bound = self.workspace.lookup(value)
            if not isinstance(bound, (str, list, tuple)):
                raise RaspError(f"'{value}' holds {bound!r}; an example is a string or a list of tokens")
            self.example.set_tokens(list(bound), isinstance(bound, str), which)
            return
        self.example.set(value, which)

    def do_show(self, rest: str) -> None:
        which, name = subset(rest)
        if name == "example":
            for kind in which:
                self.write(f"{kind} example: {self.example.samples[kind]}")
            return
        if not name or len(which) == 1 or " " in name:
            raise RaspError("use: show NAME, or show [s-op|selector] example")
        value = self.workspace.lookup(name)
        for line in self.example.describe(name, value, self.workspace.causal_of(name), on_example=True):
            self.write(line)

    def do_examples(self, rest: str) -> None:
        which, switch = subset(rest)
        on = on_or_off(switch, "[s-op|selector] examples")
        for kind in which:
            self.example.shown[kind] = on

    def do_full_seq(self, rest: str) -> None:
        self.example.full_seq = on_or_off(rest, "full seq display")

    def do_causal(self, rest: str) -> None:
        on = on_or_off(rest, "causal")
        others = self.workspace.set_causal(on)
        mode = "causally (each query sees the keys at or before it)" if on else "with every query seeing every key"
        note = ""
        if others:
            listed = ", ".join(others[:8]) + (f" and {len(others) - 8} more" if len(others) > 8 else "")
            note = f"; {listed} keep{'s' if len(others) == 1 else ''} the mode {'they were' if len(others) > 1 else 'it was'} bound in"
        self.write(f"causal {rest}: names bound from now on run {mode}{note}")

    def do_compile(self, rest: str) -> None:
        self.models.compile(rest)

    def do_run(self, rest: str) -> None:
        self.models.run(rest)

    def do_layers(self, rest: str) -> None:
        self.models.layers(rest)

    def do_draw(self, rest: str) -> None:
        self.models.draw(rest)

    def do_analyze(self, rest: str) -> None:
        if not rest or " " in rest:
            raise RaspError("use: analyze NAME")
        from predictor.analysis import analyze
        from predictor.report import show

        show(analyze(self.workspace.program(rest), causal=self.workspace.causal_of(rest)), rest)


def on_or_off(rest: str, word: str) -> bool:
    if not SWITCH.match(rest):
        raise RaspError(f"use: {word} on, or {word} off")
    return rest == "on"
