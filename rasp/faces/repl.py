"""`rasp repl`: statements one at a time, each new s-op shown on a running example.

Like the classic RASP REPL, every s-op a statement makes is shown as its values on the example
(default `hello`) and every selector as a 0/1 matrix, queries down the side and keys along the
top, labelled with the example's tokens. Input runs until a `;` (or a closing `}`) outside
brackets and strings. With standard input not a terminal, statements are read from it and the
same output is printed, so sessions can be scripted.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

from grammar.parser import parse
from grammar import ast
from rasp.language import sops
from rasp.language.build import Builder, Function
from rasp.language.check import Checker, Scope, root_scope
from rasp.faces.display import show_sequence, show_value
from grammar.errors import RaspError, Source
from rasp.language.execute import ExecError, execute
from rasp.language.inputs import input_kind, parse_input, tokens_array
from rasp.language.program import Program, load_parsed, load_checked

COMMANDS = {
    "set example X": "the running example: a string (hello) or a JSON list ([3, 1, 2])",
    "examples on|off": "show (or stop showing) each new s-op and selector on the example",
    "causal on|off": "run selectors causally (keys at or before the query), as RASP-L does",
    'load "FILE";': "run a .rasp file (or a library program) and bring its names in",
    "show NAME": "NAME's values on the example (a selector as its matrix)",
    "compile NAME [VOCAB [MAX_LEN]]": "compile NAME to weights (default: the example's tokens and length)",
    "analyze NAME": "the length-generalization verdict for NAME, with its findings",
    "draw NAME FILE": "draw NAME's program graph to FILE (.png, .svg or .dot); draw(NAME) draws to NAME.png",
    "help": "this list",
    "exit": "leave (or Ctrl-D); Ctrl-C abandons the current input",
}
CLASSIC_DRAW = re.compile(r"^\s*draw\(\s*([A-Za-z_]\w*)\s*\)\s*;?\s*$")  # the classic REPL's draw(name)
COMMAND = re.compile(r"^\s*(set|examples|causal|show|compile|analyze|draw|help|exit|quit)\b(?!\s*[=(\[.])(.*)$")


def complete(text: str) -> bool:
    """Whether the input so far ends a statement: brackets closed, not inside a string, and the
    last code character a `;` or a `}`."""
    depth, quote, last = 0, "", ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if not c.isspace() and not quote:
            last = c
        i += 1
    return not quote and depth <= 0 and last in (";", "}")


class Session:
    """The REPL's state; `feed` takes one line and prints what it did through `write`."""

    def __init__(self, write: Callable[[str], None] = print):
        self.write = write
        self.builder = Builder(load_checked)
        self.env = self.builder.new_file_env()
        self.checker = Checker(load_parsed)
        self.scope = Scope(root_scope())
        self.example: list[Any] = list("hello")
        self.show_examples = True
        self.causal = False
        self.buffer: list[str] = []
        self.inputs = 0

    @property
    def pending(self) -> bool:
        return bool(self.buffer)

    def names(self) -> list[str]:
        """Every name in scope (for completion)."""
        names: set[str] = set()
        env = self.env
        while env is not None:
            names |= set(env.vars)
            env = env.parent
        return sorted(names)

    def feed(self, line: str) -> bool:
        """Take one line; False when the session should end."""
        if not self.buffer:
            classic = CLASSIC_DRAW.match(line)
            if classic:
                return self.command("draw", f"{classic.group(1)} {classic.group(1)}.png")
            command = COMMAND.match(line)
            if command:
                return self.command(command.group(1), command.group(2).strip().rstrip(";").strip())
            if not line.strip() or line.strip().startswith("#"):
                return True
        self.buffer.append(line)
        text = "\n".join(self.buffer)
        if complete(text):
            self.buffer.clear()
            self.run(text)
        return True

    def finish(self) -> None:
        """End of input: run whatever is left (an unfinished statement is an error)."""
        if self.buffer and "\n".join(self.buffer).strip():
            text = "\n".join(self.buffer)
            self.buffer.clear()
            self.run(text)

    def abandon(self) -> None:
        self.buffer.clear()

    # ---- statements ----------------------------------------------------------------------

    def run(self, text: str) -> None:
        self.inputs += 1
        try:
            tree = parse(text, f"<input {self.inputs}>")
            for stmt in tree.statements:
                self.checker.statement(stmt, self.scope)
                bound = self.builder.exec(stmt, self.env)
                self.report_statement(stmt, bound)
        except RaspError as e:
            self.write(e.format())

    def report_statement(self, stmt: ast.Stmt, bound: list[tuple[str, Any]]) -> None:
        if isinstance(stmt, ast.Load):
            shown = ", ".join(name for name, _ in bound) or "nothing"
            self.write(f'loaded "{stmt.name}": {shown}')
            return
        latest = dict(bound)  # a loop shows each name once, with its last value
        for name, value in latest.items():
            self.report(name or "out", value)

    def report(self, name: str, value: Any, force: bool = False) -> None:
        if isinstance(value, sops.SOp):
            self.write(f"s-op: {name}")
            if self.show_examples or force:
                self.write("    " + self.sop_example(name, value))
        elif isinstance(value, sops.Selector):
            self.write(f"selector: {name}")
            if self.show_examples or force:
                self.write(self.selector_example(value))
        elif isinstance(value, Function):
            self.write(f"function: {value.name}({', '.join(value.params)})")
        else:
            kind = type(value).__name__
            self.write(f"{kind}: {name} = {json.dumps(value, default=str) if isinstance(value, (list, dict)) else show_value(value)}")

    def values_on_example(self, value: sops.Value) -> Any:
        tokens = tokens_array([self.example], kind=input_kind(self.example))
        return execute([value], tokens, self.causal)[0][0]

    def sop_example(self, name: str, value: sops.SOp) -> str:
        call = f'{name}({json.dumps("".join(self.example)) if _is_text(self.example) else json.dumps(self.example)})'
        if not self.example:
            return f"Example: {call} = [] (empty)"
        try:
            values = self.values_on_example(value).tolist()
        except ExecError as e:
            return f"Example: {call}: error: {e.message}"
        return f"Example: {call} = [{', '.join(show_value(v) for v in values)}] ({_kind(values)})"

    def selector_example(self, value: sops.Selector) -> str:
        if not self.example:
            return "    Example: (the example is empty)"
        try:
            matrix = self.values_on_example(value)
        except ExecError as e:
            return f"    Example: error: {e.message}"
        labels = [show_value(t) for t in self.example]
        width = max(len(label) for label in labels)
        lines = ["    Example:", "    " + " " * (width + 3) + " ".join(label.rjust(width) for label in labels)]
        for label, row in zip(labels, matrix.tolist()):
            lines.append(f"    {label.rjust(width)} | " + " ".join(("1" if v else "0").rjust(width) for v in row))
        return "\n".join(lines)

    # ---- commands -------------------------------------------------------------------------

    def command(self, name: str, rest: str) -> bool:
        try:
            if name in ("exit", "quit"):
                return False
            getattr(self, f"do_{name}")(rest)
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
        text = value.strip()
        if text.startswith(('"', "'")) and text.endswith(text[0]) and len(text) >= 2:
            text = text[1:-1]
        self.example = parse_input(text, "<example>")
        input_kind(self.example)
        self.write(f"example: {show_sequence(self.example)}")

    def _switch(self, rest: str, what: str) -> bool:
        if rest not in ("on", "off"):
            raise RaspError(f"use: {what} on, or {what} off")
        return rest == "on"

    def do_examples(self, rest: str) -> None:
        self.show_examples = self._switch(rest, "examples")
        self.write(f"examples {rest}")

    def do_causal(self, rest: str) -> None:
        self.causal = self._switch(rest, "causal")
        self.write(f"causal {rest}")

    def lookup(self, name: str) -> Any:
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise RaspError(f"'{name}' is not a name")
        try:
            return self.env.lookup(name)
        except KeyError:
            raise RaspError(f"'{name}' is not defined") from None

    def program(self, name: str) -> Program:
        value = self.lookup(name)
        if not isinstance(value, sops.SOp):
            raise RaspError(f"'{name}' is not an s-op")
        tree = ast.Module((), Source("<repl>", ""), frozenset({ast.Pragma.CAUSAL}) if self.causal else frozenset())
        return Program(tree, self.env, name, value, self.causal)

    def do_show(self, rest: str) -> None:
        if not rest:
            raise RaspError("use: show NAME")
        self.report(rest, self.lookup(rest), force=True)

    def do_compile(self, rest: str) -> None:
        name, _, options = rest.partition(" ")
        if not name:
            raise RaspError("use: compile NAME [VOCAB [MAX_LEN]]")
        program = self.program(name)
        max_len = len(self.example)
        sized = re.fullmatch(r"(?P<vocab>.*?)(?:[\s,]+|^)(?P<max>\d+)", options.strip())
        if sized:
            options, max_len = sized.group("vocab"), int(sized.group("max"))
        options = options.strip()
        vocab = list(dict.fromkeys(parse_input(options, "<vocab>"))) if options else list(dict.fromkeys(self.example))
        if not vocab or max_len < 1:
            raise RaspError("compile needs a vocabulary and a maximum length (set an example, or give them)")
        from compiler import compile_program, report

        summary = report.as_dict(compile_program(program, vocab, max_len, causal=self.causal))
        heads = ", ".join(str(h) for h in summary["heads_per_layer"])
        checked = summary["verification"]
        self.write(f"compiled {name}: {summary['layers']} layers (heads per layer: {heads}), residual width "
                   f"{summary['residual_width']}, {summary['parameters']:,} parameters; vocab {vocab}, max "
                   f"length {max_len}; verified on {checked['inputs']} inputs")

    def do_analyze(self, rest: str) -> None:
        if not rest:
            raise RaspError("use: analyze NAME")
        from predictor.analysis import analyze
        from predictor.report import show

        show(analyze(self.program(rest), causal=self.causal), rest)

    def do_draw(self, rest: str) -> None:
        parts = rest.split()
        if len(parts) != 2:
            raise RaspError("use: draw NAME FILE.png")
        name, path = parts
        value = self.lookup(name)
        if not isinstance(value, (sops.SOp, sops.Selector)):
            raise RaspError(f"'{name}' is not an s-op or a selector")
        from predictor.graph import program_graph
        from predictor.report import draw

        try:
            draw(program_graph(value), path)
        except OSError as e:
            raise RaspError(f"cannot write {path}: {e.strerror}") from None
        self.write(f"drawn to {path}")


def _is_text(tokens: list[Any]) -> bool:
    return all(isinstance(t, str) and len(t) == 1 for t in tokens)


def _kind(values: list[Any]) -> str:
    kinds = {type(v).__name__ for v in values}
    names = {"bool": "bools", "int": "ints", "float": "floats", "str": "strings"}
    return "/".join(names.get(k, k) for k in sorted(kinds))


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

    commands = [c.split()[0] for c in COMMANDS]

    class Names(Completer):
        def get_completions(self, document, complete_event):
            word = document.get_word_before_cursor()
            if not word:
                return
            for name in dict.fromkeys(commands + session.names()):
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
    session.write('RASP, with lengthwise. Statements end with ";". Type help for commands, exit or Ctrl-D to leave.')
    session.write(f"example: {show_sequence(session.example)}")
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
