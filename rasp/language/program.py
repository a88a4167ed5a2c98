"""A program ready to run: a parsed, checked, built .rasp file and its output s-op.

    prog = load_program("sort")                # a library name or a path
    prog.run([list("hello"), [3, 1, 2]])       # -> [['e', 'h', 'l', 'l', 'o'], [1, 2, 3]]
    prog.trace("hello")                        # every named s-op and selector on one input
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from grammar import ast
from grammar.errors import RaspError, Source, Span
from grammar.parser import MAX_BYTES, parse
from rasp.language import library, notebook, sops
from rasp.language.build import Builder, Env
from rasp.language.check import check
from rasp.language.execute import ExecError, execute
from rasp.language.inputs import input_kinds, sample_vocab, tokens_array
from rasp.language.trace import Trace, trace

MAX_CELLS = 2**24  # selector cells (batch * n * n) executed at once; larger batches are chunked


def search_path() -> list[Path]:
    """Where `load "name";` looks after the loading file's folder and the working directory:
    $RASP_PATH, then the library."""
    extra = [Path(p) for p in os.environ.get("RASP_PATH", "").split(os.pathsep) if p]
    return [*extra, library.LIBRARY_DIR]


def resolve(name: str, beside: Path | None = None) -> Path | None:
    """The file a program name or path refers to, or None."""
    candidates = []
    as_path = Path(name)
    if as_path.suffix == ".rasp" or os.sep in name or "/" in name:
        candidates.append(as_path if beside is None or as_path.is_absolute() else beside / as_path)
        if beside is not None:
            candidates.append(as_path)
    # beside the loading file, then the working directory (the classic REPL's only place), then
    # $RASP_PATH and the library
    folders = ([beside] if beside is not None else []) + [Path.cwd()] + search_path()
    candidates += [folder / f"{name}.rasp" for folder in folders]
    for c in candidates:
        if c.is_file():
            return c
    return None


def read_source(path: Path) -> str:
    """A program file's text, read no further than the size limit. A file too large, binary or
    not UTF-8 is refused at the position of the first bad byte, never quoting the file."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise RaspError(f"cannot read {path}: {e.strerror}") from None
    if len(data) > MAX_BYTES:
        raise RaspError(f"{path} is too large (over {MAX_BYTES:,} bytes): split it into files joined with `load`")

    def at(offset: int) -> Span:  # a position whose line is not shown
        line_start = data.rfind(b"\n", 0, offset) + 1
        return Span(Source(str(path), ""), data.count(b"\n", 0, offset) + 1, offset - line_start + 1)

    zero = data.find(bytes(1))
    if zero >= 0:
        raise RaspError("not a RASP program: the file holds binary data (a zero byte)", at(zero))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RaspError("not UTF-8 text: this byte is not valid UTF-8 (save the file as UTF-8)", at(e.start)) from None


@lru_cache(maxsize=256)
def _parse_file(path: str, mtime: float) -> ast.Module:
    return parse(read_source(Path(path)), path)


def _file_mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError as e:
        raise RaspError(f"cannot read {path}: {e.strerror}") from None


def parse_file(path: Path) -> ast.Module:
    """Parse (and check) a file, cached until it changes."""
    program = _parse_file(str(path), _file_mtime(path))
    check(program, loader=load_parsed)
    return program


def _find(name: str, span: Span) -> Path:
    """The file a `load` statement names, looked up beside the loading file first."""
    beside = None if span.path.startswith("<") else Path(span.path).parent
    path = resolve(name, beside)
    if path is None:
        raise RaspError(f"cannot find '{name}.rasp' (looked beside this file, in the working directory, "
                        "in $RASP_PATH and in the program library)", span)
    if path.suffix != ".rasp":  # nothing else is read: `load "/etc/passwd";` shows nothing of it
        raise RaspError(f"cannot load {path}: only .rasp files can be loaded", span)
    return path


def _parse_loaded(path: Path, span: Span) -> ast.Module:
    """A loaded file, parsed. A file that is not a readable RASP source (too large, binary, not
    UTF-8, or failing to parse at its first line of code) is reported at the `load` statement
    without a word of its content: `load "/etc/passwd";` must not print the file."""
    try:
        return _parse_file(str(path), _file_mtime(path))
    except RaspError as e:
        text = e.span.source.text if e.span is not None else ""
        if not text:  # unreadable: no span, or one whose line is not shown (read_source)
            where = f"{e.span}: " if e.span is not None else ""
            raise RaspError(f"cannot load {path}: {where}{e.message.removeprefix(f'{path} ')}", span) from None
        lines = text.splitlines()
        first = next((i for i, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")), 0)
        if e.span.path == str(path) and e.span.line <= first:
            raise RaspError(f"cannot load {path}: it does not parse from its first line of code ({e.span}); "
                            "is it a RASP program? (its text is not shown)", span) from None
        raise


def load_checked(name: str, span: Span) -> ast.Module:
    """For the builder: the loaded file, parsed and checked."""
    program = _parse_loaded(_find(name, span), span)
    check(program, loader=load_parsed)
    return program


def load_parsed(name: str, span: Span) -> ast.Module:
    """For the checker: the loaded file, parsed (it is checked when it is built)."""
    return _parse_loaded(_find(name, span), span)


@dataclass
class Program:
    """A built program: its syntax tree, its top-level scope, and the s-op it outputs."""

    tree: ast.Module
    env: Env
    output_name: str
    output: sops.SOp
    causal: bool

    @property
    def path(self) -> str:
        return self.tree.path

    @property
    def digest(self) -> str:
        """The SHA-256 of the program's file ("" for text that has no file): compiled models and
        training runs record it, to tell when the program has changed since."""
        return source_digest(self.path)

    def sample_vocab(self) -> list[Any]:
        """Tokens to sample inputs from when the user gives none (see `inputs.sample_vocab`)."""
        return sample_vocab(sops.walk([self.output]))

    @property
    def display_name(self) -> str:
        """A library program's name, or the file's path."""
        path = Path(self.path)
        return path.stem if path.parent == library.LIBRARY_DIR else self.path

    def run(self, inputs: list[list[Any]], causal: bool | None = None) -> list[list[Any]]:
        """The output s-op on each input (inputs may have different lengths)."""
        return [r.tolist() for r in self.run_arrays(inputs, [self.output], causal)[0]]

    def trace(self, tokens: list[Any] | str, causal: bool | None = None, unnamed: bool = False) -> Trace:
        """Every named s-op's value and selector's matrix on one input (a string: one token per
        character), in program order (`rasp.language.trace`); `unnamed` adds the values the
        program gives no name."""
        return trace(self, tokens, causal, unnamed)

    def __repr__(self) -> str:
        return notebook.program_repr(self)

    def _repr_html_(self) -> str:
        return notebook.program_html(self)

    def run_accepted(self, inputs: list[list[Any]], causal: bool | None = None
                     ) -> tuple[list[list[Any]], list[list[Any]]]:
        """The inputs the program runs without error (those outside its domain left out), and
        its outputs on them, in order (`accepted_arrays`)."""
        kept, (outputs,) = self.accepted_arrays(inputs, [self.output], causal)
        return kept, [row.tolist() for row in outputs]

    def accepted_arrays(self, inputs: list[list[Any]], outputs: list[sops.Value], causal: bool | None = None
                        ) -> tuple[list[list[Any]], list[list[np.ndarray]]]:
        """The inputs the program runs without error, and each of `outputs` on them (as
        `run_arrays`), in order. Where a run fails, the inputs the failing operation names are left
        out and the rest run again (in two halves when it names only the first, or none): four
        runs for addition_hints over its 55,986 inputs up to length 6 (736 outside its domain),
        where a run per input took 141 s."""
        done: dict[int, tuple[np.ndarray, ...]] = {}  # input number -> each output's row
        pending = [list(range(len(inputs)))]  # groups of input numbers still to run
        while pending:
            numbers = pending.pop()
            if not numbers:
                continue
            try:
                done.update(zip(numbers, zip(*self.run_arrays([inputs[i] for i in numbers], outputs, causal))))
                continue
            except InputFailed as e:  # rows fail or pass alone as in a batch: these are out
                failed = {numbers[k] for k in e.numbers}
                numbers = [i for i in numbers if i not in failed]
                if e.every:  # every input failing at that operation is out: the rest in one run
                    pending.append(numbers)
                    continue
            except RaspError:  # no input named
                if len(numbers) == 1:
                    continue
            pending += [numbers[len(numbers) // 2:], numbers[:len(numbers) // 2]]
        order = sorted(done)
        return [inputs[i] for i in order], [[done[i][k] for i in order] for k in range(len(outputs))]

    def run_arrays(self, inputs: list[list[Any]], outputs: list[sops.Value],
                   causal: bool | None = None) -> list[list[np.ndarray]]:
        """Each of `outputs` on each input, as one NumPy row per input."""
        causal = self.causal if causal is None else causal
        results: list[list[Any]] = [[None] * len(inputs) for _ in outputs]
        groups: dict[tuple[int, str], list[int]] = {}
        for i, (tokens, kind) in enumerate(zip(inputs, input_kinds(inputs))):
            groups.setdefault((len(tokens), kind), []).append(i)
        for (n, kind), rows in sorted(groups.items()):
            if n == 0:
                for out in results:
                    for i in rows:
                        out[i] = np.array([])
                continue
            chunk = max(1, MAX_CELLS // (n * n))
            for start in range(0, len(rows), chunk):
                part = rows[start:start + chunk]
                arrays = self._execute(outputs, [inputs[i] for i in part], part, inputs, causal, kind)
                for out, array in zip(results, arrays):
                    for j, i in enumerate(part):
                        out[i] = array[j]
        return results

    def _execute(self, outputs, batch, rows, inputs, causal, kind) -> list[np.ndarray]:
        array = tokens_array(batch, kind=kind)
        try:
            return execute(outputs, array, causal)
        except ExecError as e:
            if e.row is not None:
                shown = _short(inputs[rows[e.row]])
                where = f"on input {rows[e.row] + 1} {shown}"
                if e.position is not None:
                    where += f" at position {e.position}"
                message = f"{e.message} ({where})"
            else:
                message = e.message
            if e.row is None:
                raise RaspError(message, e.node.span) from None
            raise InputFailed(message, e.node.span, [rows[r] for r in e.rows or [e.row]], e.rows is not None) from None


class InputFailed(RaspError):
    """A run that failed on some of its inputs: `numbers`, their places among them (from 0):
    every input failing at the operation that failed when `every`, else the first."""

    def __init__(self, message: str, span: Any, numbers: list[int], every: bool):
        super().__init__(message, span)
        self.numbers, self.every = numbers, every


def source_digest(path: str) -> str:
    """The SHA-256 of a file's bytes, or "" when it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _short(tokens: list[Any]) -> str:
    if all(isinstance(t, str) and len(t) == 1 for t in tokens):
        text = "".join(tokens)
        return repr(text if len(text) <= 40 else text[:37] + "...")
    text = repr(tokens)
    return text if len(text) <= 60 else text[:57] + "..."


def build(tree: ast.Module) -> tuple[Builder, Env]:
    builder = Builder(load_checked)
    env = builder.new_file_env()
    builder.run(tree, env)
    return builder, env


def from_tree(tree: ast.Module, output: str | None = None) -> Program:
    """Build a parsed program and pick its output s-op (default: the last one it assigns)."""
    check(tree, loader=load_parsed)
    _, env = build(tree)
    if output is None:
        assigned = [n for n, v in env.assigned if isinstance(v, sops.SOp)]
        if not assigned:
            raise RaspError(f"{tree.path} assigns no s-op, so there is no output to run")
        output = assigned[-1]
    value = env.vars.get(output)
    if not isinstance(value, sops.SOp):
        known = sorted(n for n, v in env.vars.items() if isinstance(v, sops.SOp))
        what = "is not an s-op" if output in env.vars else "is not defined"
        raise RaspError(f"output '{output}' {what} in {tree.path}; its s-ops are: "
                        f"{', '.join(known) or '(none)'}")
    return Program(tree, env, output, value, tree.causal)


def load_program(spec: str, output: str | None = None) -> Program:
    """A program by path or library name."""
    path = resolve(spec)
    if path is None:
        raise RaspError(f"no program '{spec}': not a file, and not in the library "
                        f"(library programs: {', '.join(library.names())})")
    return from_tree(parse_file(path), output)


def from_text(text: str, output: str | None = None, path: str = "<string>") -> Program:
    """A program from source text (tests and the REPL)."""
    return from_tree(parse(text, path), output)
