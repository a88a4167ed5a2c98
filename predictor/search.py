"""Minimality and diversity searches over small RASP-L programs (Zhou et al., ICLR 2024).

The RASP-generalization conjecture says a Transformer length-generalizes on a task when a short
RASP-L program solves it at every length and the training data rule out every other simple
program. Two searches make those conditions concrete for a given program:

- `minimal`: the shortest program equivalent to it, so that two phrasings of one task (a mean
  compared with 0.5, two selector widths compared) meet at one witness;
- `diversity`: the shortest program, no larger than the given one, that agrees with it on every
  input of the training lengths but differs at a longer length, with the shortest such input.

Both enumerate terms bottom-up by size (`predictor.enumerate`: its operator tables say which
terms exist) and keep one term per behaviour. "Equivalent" and "agrees" mean: on a fixed input
set (`predictor.search_inputs`: every short input over the vocabulary and seeded samples of longer
ones, or a task's framed inputs, compared where the task reads outputs). A term that matches is
checked again with the interpreter on its printed text (and, for a shortcut, on a fresh sample of
training inputs) before it is reported. Programs are printed as
RASP source that `rasp.language.program.from_text` reads back: one operation per line, t1, t2,
..., the last line the output; encodings (`numerical`, `categorical`) are not printed.

Results are the same on every run, unless a time limit cuts a search (where it stops depends on
the machine: `complete` is then False).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from predictor.enumerate import BOOL, MIXED, NUMBER, STR, Cells, Enumerator, Term, keys_of, kind_of_value
from predictor.search_inputs import InputSet, TaskInputs, input_set, spread
from rasp.language import sops
from rasp.language.inputs import same_value
from rasp.language.program import Program, from_text
from rasp.language.sops import Operation, Reduce, TokenView

HELDOUT_LENGTHS = 4  # held-out lengths in a diversity search's input set
SEED = 0
OPERATIONS = frozenset({Operation.MAP, Operation.SELECT, Operation.AGGREGATE, Operation.SELECTOR_WIDTH,
                        Operation.AND, Operation.OR, Operation.NOT})

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class Minimal:
    """The shortest program found that is equivalent to the given one on the input set."""

    size: int  # the given program's size (operations)
    witness_size: int | None  # the witness's size (None when there is no printable witness)
    witness: str | None  # RASP text of the shortest equivalent found (the program re-printed if nothing smaller)
    searched_up_to: int  # the size the search reached: every smaller size was enumerated
    complete: bool  # False when the time limit or the term cap cut the search
    seconds: float  # how long the search took
    domain: str | None = None  # the inputs compared on, when a task's (None: every input over the vocabulary)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Diversity:
    """The shortest shortcut found: agrees at the training lengths, differs beyond them."""

    ambiguous: bool  # whether a shortcut was found ("ambiguous at these training lengths")
    shortcut: str | None  # RASP text of the shortcut program
    differs_on: list | None  # the shortest input (token list) where shortcut and program differ
    train_lengths: tuple[int, int]  # the training lengths, first and last
    searched_up_to: int  # the size the search reached: every smaller size was enumerated
    complete: bool  # False when the time limit or the term cap cut the search
    seconds: float  # how long the search took
    domain: str | None = None  # the inputs compared on, when a task's (None: every input over the vocabulary)

    def as_dict(self) -> dict:
        return asdict(self)


# ---- what a program is made of --------------------------------------------------------------


def program_size(output: sops.Value) -> int:
    """Operations in the graph of `output`: maps, selects, aggregates, selector widths, and/or/not
    of selectors (each once, however often it is used); tokens, indices, length and constants
    are free."""
    return sum(1 for node in sops.walk([output]) if node.operation in OPERATIONS)


def leaves_of(output: sops.Value) -> list[sops.SOp]:
    """The token views the program reads (tokens when none), indices and length."""
    used = {node.view for node in sops.walk([output]) if isinstance(node, sops.Tokens)}
    views = [view for view in TokenView if view in used] or [TokenView.TOKENS]
    return [*(sops.Tokens(view=view) for view in views), sops.Indices(), sops.Length()]


def constants_of(output: sops.Value) -> list[Any]:
    """The plain values in the program's maps, selects and aggregate defaults, and 0 and 1, once
    each (1 and 1.0 are one number), in a fixed order."""
    found: list[Any] = [0, 1]
    for node in sops.walk([output]):
        if isinstance(node, sops.Map):
            found += [a for a in node.args if not isinstance(a, (sops.Value, tuple, list))]
        elif isinstance(node, sops.Full):
            found.append(node.value)
        elif isinstance(node, sops.Aggregate):
            found.append(node.default)
    chosen: dict[tuple, Any] = {}
    for value in found:
        if kind_of_value(value) is MIXED or not printable(value):
            continue
        kind = kind_of_value(value)
        chosen.setdefault((kind, float(value) if kind is NUMBER else value), value)
    order = {NUMBER: 0, BOOL: 1, STR: 2}
    return [chosen[k] for k in sorted(chosen, key=lambda k: (order[k[0]], k[1]))]


# ---- printing -------------------------------------------------------------------------------


class Unprintable(Exception):
    """A value that RASP source cannot spell (a string holding a quote, an infinite float)."""


def printable(value: Any) -> bool:
    try:
        literal(value)
        return True
    except Unprintable:
        return False


def literal(value: Any) -> str:
    """A plain value as RASP source."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise Unprintable(value)
        text = repr(value) if isinstance(value, int) or "e" not in repr(value) else f"{value:.20f}".rstrip("0")
        text = text + "0" if text.endswith(".") else text
        return f"({text})" if value < 0 else text
    if isinstance(value, str) and '"' not in value and "\n" not in value:
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise Unprintable(value)


BINARY = frozenset({"+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in"})


def expression(node: sops.Value, name: Callable[[Any], str]) -> str:
    """One operation, its operands by name (or as literals)."""
    if isinstance(node, sops.Map):
        args = [name(a) for a in node.args]
        if node.op in BINARY:
            return f"{args[0]} {node.op} {args[1]}"
        if node.op == "ifelse":
            return f"{args[1]} if {args[0]} else {args[2]}"
        prefix = {"neg": "-", "pos": "+", "not": "not "}.get(node.op)
        return f"{prefix}{args[0]}" if prefix else f"{node.op}({args[0]})"
    if isinstance(node, sops.Select):
        return f"select({name(node.keys)}, {name(node.queries)}, {node.op})"
    if isinstance(node, (sops.SelectAnd, sops.SelectOr)):
        return f"{name(node.left)} {node.operation} {name(node.right)}"
    if isinstance(node, sops.SelectNot):
        return f"not {name(node.inner)}"
    if isinstance(node, sops.SelectorWidth):
        return f"selector_width({name(node.selector)})"
    if isinstance(node, sops.Aggregate):
        call = "aggregate" if node.reduce == Reduce.MEAN else f"aggregate_{node.reduce}"
        return f"{call}({name(node.selector)}, {name(node.values)}, {literal(node.default)})"
    return name(node)


def render(output: sops.SOp, causal: bool, distinct: bool) -> str | None:
    """The graph of `output` as RASP source (each operation once, as t1, t2, ...; the last line
    defines the output), with the pragmas it needs; None if some value cannot be written."""
    names: dict[int, str] = {}

    def name(x: Any) -> str:
        if isinstance(x, sops.Value) and id(x) in names:
            return names[id(x)]
        if isinstance(x, sops.Tokens):
            return str(x.view)
        if isinstance(x, (sops.Indices, sops.Length)):
            return str(x.operation)
        return literal(x.value if isinstance(x, sops.Full) else x)

    pragmas = [word for word, on in (("causal", causal), ("distinct", distinct)) if on]
    lines = [f"# rasp: {', '.join(pragmas)}"] if pragmas else []
    if isinstance(output, sops.Full):
        return None
    try:
        for node in sops.walk([output]):
            if node.operation in OPERATIONS or node is output:
                text = expression(node, name)
                names[id(node)] = f"t{len(names) + 1}"
                lines.append(f"{names[id(node)]} = {text};")
    except Unprintable:
        return None
    return "\n".join(lines) + "\n"


# ---- running programs on an input set -----------------------------------------------------


def outputs_of(program: Program, inputs: list[list[Any]]) -> list[list[Any] | None]:
    """The program's output on each input; None where it fails (`Program.run_accepted`)."""
    kept, outputs = program.run_accepted(inputs)
    by_input = {id(tokens): out for tokens, out in zip(kept, outputs)}
    return [by_input.get(id(tokens)) for tokens in inputs]


def behaviour(outputs: list[list[Any]], split: int, reads: list[int]) -> tuple:
    """(kind, whole-set key, first-`split`-cells key) of the outputs at the positions read, as the
    enumerator keys terms."""
    flat = np.empty(sum(len(o) - r for o, r in zip(outputs, reads)), dtype=object)
    flat[:] = [v for out, r in zip(outputs, reads) for v in out[r:]]
    return keys_of(flat, split)


def first_difference(a: list[Any], b: list[Any] | None, start: int = 0) -> int | None:
    """The first position from `start` on where two outputs differ (`start` when b failed), or None."""
    if b is None:
        return start
    return next((i for i, (x, y) in enumerate(zip(a, b)) if i >= start and not same_value(x, y)), None)


# ---- the searches ---------------------------------------------------------------------------


def prepare(program: Program, inputs: InputSet, split: int | None) -> tuple[Enumerator | None, InputSet, tuple]:
    """The enumerator over the inputs the program accepts (None if it accepts none), those inputs,
    and the program's behaviour on them (kind, key, key of the first `split` inputs)."""
    outputs = outputs_of(program, inputs.tokens)
    ok = [i for i, out in enumerate(outputs) if out is not None]
    kept = inputs.pick(ok)
    if not ok:
        return None, kept, (MIXED, b"", b"")
    cells = Cells(kept.tokens, program.causal, split if split is None else sum(i < split for i in ok), kept.reads)
    output = program.output
    defaults = [n.default for n in sops.walk([output]) if isinstance(n, sops.Aggregate) and printable(n.default)]
    enumerator = Enumerator(cells, leaves_of(output), constants_of(output), list(dict.fromkeys(defaults)))
    return enumerator, kept, behaviour([outputs[i] for i in ok], cells.split, kept.reads)


def minimal(program: Program, vocab: list, max_len: int = 12, max_size: int = 6, time_limit: float = 60.0,
            progress: Progress = None, domain: TaskInputs | None = None) -> Minimal:
    """The shortest program equivalent to `program` (on the input set over `vocab`, or drawn from
    `domain`, at lengths 1 to `max_len`) of at most `max_size` operations, or the program itself
    when none is smaller."""
    started = time.monotonic()
    distinct, causal = program.tree.distinct, program.causal
    size = program_size(program.output)
    inputs = input_set(list(vocab), spread(1, max_len), distinct, random.Random(SEED), domain)
    enumerator, kept, (kind, target, _) = prepare(program, inputs, None)

    def matches(term: Term) -> bool:
        if term.key != target:
            return False
        text = render(term.node, causal, distinct)
        outputs = outputs_of(from_text(text), kept.tokens) if text else [None]
        return None not in outputs and behaviour(outputs, 0, kept.reads)[1] == target

    bound = min(max_size, size - 1)
    outcome = None
    if bound >= 0 and enumerator:
        outcome = enumerator.search(bound, matches, None if kind is MIXED else kind,
                                    started + time_limit, progress)
    found = outcome.found.node if outcome and outcome.found else program.output
    witness = render(found, causal, distinct)
    return Minimal(size, None if witness is None else program_size(found), witness,
                   outcome.searched_up_to if outcome else max(bound, 0), outcome.complete if outcome else True,
                   round(time.monotonic() - started, 3), domain.name if domain else None)


def diversity(program: Program, vocab: list, train_lengths: tuple[int, int], heldout_max: int,
              max_size: int = 6, time_limit: float = 60.0, progress: Progress = None,
              domain: TaskInputs | None = None) -> Diversity:
    """The shortest program of at most min(`max_size`, the program's size) operations that equals
    `program` at every position read of every input of the training lengths (on the input set)
    but differs on some input of a longer length up to `heldout_max`, with the shortest such input
    (for a causal program, the prefix up to the first differing position)."""
    started = time.monotonic()
    lo, hi = train_lengths
    distinct, causal = program.tree.distinct, program.causal
    rng = random.Random(SEED)
    train = input_set(list(vocab), spread(lo, hi), distinct, rng, domain)
    held = input_set(list(vocab), spread(hi + 1, heldout_max, 1, HELDOUT_LENGTHS - 1), distinct, rng, domain)
    enumerator, kept, (kind, target, target_train) = prepare(program, train + held, len(train.tokens))
    result: dict[str, Any] = {}
    rejected: set[bytes] = set()  # behaviours whose check failed (the last level keeps no others)

    def matches(term: Term) -> bool:
        if term.train_key != target_train or term.key == target or term.key in rejected:
            return False
        text = render(term.node, causal, distinct)
        differs = text and confirm(program, from_text(text), list(vocab), (lo, hi), heldout_max, held, domain)
        if differs:
            result.update(shortcut=text, differs_on=differs)
        rejected.add(term.key)
        return bool(differs)

    bound = min(max_size, program_size(program.output))
    outcome = enumerator.search(bound, matches, None if kind is MIXED else kind, started + time_limit,
                                progress) if enumerator and any(n > hi for n in kept.sizes) else None
    return Diversity(bool(result), result.get("shortcut"), result.get("differs_on"), (lo, hi),
                     outcome.searched_up_to if outcome else bound, outcome.complete if outcome else True,
                     round(time.monotonic() - started, 3), domain.name if domain else None)


def confirm(program: Program, candidate: Program, vocab: list[Any], train_lengths: tuple[int, int],
            heldout_max: int, held: InputSet, domain: TaskInputs | None = None) -> list[Any] | None:
    """The shortest input where `candidate` differs from `program`, if it agrees with it on a
    fresh sample of the training lengths and the difference lies past them; else None."""
    lo, hi = train_lengths
    distinct = program.tree.distinct
    fresh = input_set(vocab, spread(lo, hi), distinct, random.Random(SEED + 1), domain)
    for want, got, read in zip(outputs_of(program, fresh.tokens), outputs_of(candidate, fresh.tokens), fresh.reads):
        if want is not None and first_difference(want, got, read) is not None:
            return None
    rng = random.Random(SEED + 2)
    for n in range(hi + 1, heldout_max + 1):
        batch = input_set(vocab, [n], distinct, rng, domain) + held.at(n)
        for tokens, read, want, got in zip(batch.tokens, batch.reads, outputs_of(program, batch.tokens),
                                           outputs_of(candidate, batch.tokens)):
            where = None if want is None else first_difference(want, got, read)
            if where is not None:
                shortest = tokens[:where + 1] if program.causal else tokens
                return list(shortest) if domain or len(shortest) > hi else None
    return None
