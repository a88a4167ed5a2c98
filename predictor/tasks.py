"""Tasks: what a Transformer is trained on, made from a RASP program.

A task is a program (library name or path, and its output s-op), a vocabulary, a framing, an
input sampler (predictor/samplers.py), and two ranges of lengths: the lengths trained on and the
held-out ones (from the protocol, predictor/protocols.py, unless the task names them). The program
is the one definition of the task: labels come from the batched interpreter, or, for the suite's
library programs, from reference labellers that the tests check against it
(predictor/references.py).

Framings:
  per-position    the output s-op labels every position of the input.
  autoregressive  the input, the task's separator (if any), then the output generated token by
                  token: the program is run causally on the sequence so far and its value at
                  the last position is the next token, until it gives the task's end token
                  (RASP-L's next-token form, Zhou et al. 2024).
  answer          one output token: the program's value at the last position of the whole input
                  (majority, parity: an answer that needs the whole input, asked of a decoder).

The model never sees the program's own separator and end tokens: an autoregressive or answer
example reaches it as `<bos> input <sep> output <eos>` (see predictor/data.py), the sequences of
Huang et al. (ICLR 2025), so separator and end are always distinct tokens.

The length of an example is the size the sampler was asked for (tokens of input; digits per
operand for the addition samplers; how many numbers to count for `count`).
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable

from grammar.errors import RaspError, SettingError, one_of
from predictor.references import reference
from predictor.samplers import DIGITS, EXTRA_TOKENS, SAMPLERS, Sampler, sampler_limit
from predictor.search_inputs import TaskInputs
from rasp.language.inputs import token_key
from rasp.language.program import Program, load_program


class Framing(StrEnum):
    """How a program becomes a learning task (see the module's docstring)."""

    PER_POSITION = "per-position"
    AUTOREGRESSIVE = "autoregressive"
    ANSWER = "answer"


FRAMINGS = tuple(Framing)


# ---- tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    name: str
    program: str  # a library name or a path
    vocab: tuple
    framing: Framing = Framing.PER_POSITION
    sampler: Sampler = Sampler.UNIFORM
    train_lengths: tuple[int, int] | None = None  # None: the protocol's (predictor/protocols.py)
    heldout_lengths: tuple[int, int] | None = None
    output: str | None = None  # the output s-op (default: the program's last)
    separator: Any = None  # appended to the input before the output (autoregressive)
    end: Any = None  # the token that ends the output (autoregressive)
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "framing", one_of(Framing, self.framing, "framing"))
        object.__setattr__(self, "sampler", one_of(Sampler, self.sampler, "sampler"))

    @property
    def autoregressive(self) -> bool:
        """The model writes the output after the input (autoregressive and answer framings)."""
        return self.framing is not Framing.PER_POSITION

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["vocab"] = list(self.vocab)
        for key in ("train_lengths", "heldout_lengths"):
            d[key] = None if d[key] is None else list(d[key])
        return d

    @property
    def lengths(self) -> list[int]:
        return [*range(self.train_lengths[0], self.train_lengths[1] + 1),
                *range(self.heldout_lengths[0], self.heldout_lengths[1] + 1)]

    @property
    def tokens(self) -> list[Any]:
        """Every token the program reads, once each: the vocabulary, the sampler's own tokens (the
        `+` of the sums), then the framing's separator and end."""
        extra = EXTRA_TOKENS.get(Sampler(self.sampler), ()) if self.sampler else ()
        unique: dict[tuple, Any] = {}
        for token in [*self.vocab, *extra, self.separator, self.end]:
            if token is not None:
                unique.setdefault(token_key(token), token)
        return list(unique.values())

    def build(self) -> Program:
        """The program as this task runs it (causal when autoregressive), its settings unchecked."""
        program = load_program(self.program, self.output)
        return replace(program, causal=True) if self.framing is Framing.AUTOREGRESSIVE else program

    def load(self) -> Program:
        """The program, with the task's settings checked against it: clear errors, up front."""
        check_settings(self)
        program = self.build()
        probe(self, program)
        return program


def check_settings(task: Task) -> None:
    if task.train_lengths is None or task.heldout_lengths is None:
        raise RaspError(f"task '{task.name}' has no train or held-out lengths: give them, or a protocol")
    (a, b), (c, d) = task.train_lengths, task.heldout_lengths
    if not task.vocab:
        raise RaspError("the vocabulary is empty")
    if a < 1 or b < a:
        raise RaspError(f"train lengths {a}-{b}: give A-B with 1 <= A <= B")
    if d < c:
        raise RaspError(f"held-out lengths {c}-{d}: give C-D with C <= D")
    if c <= b:
        raise RaspError(f"held-out lengths {c}-{d} must all be longer than the train lengths {a}-{b} "
                        f"(start them at {b + 1} or more)")
    if task.framing is Framing.AUTOREGRESSIVE and task.end is None:
        raise SettingError("the autoregressive framing needs the token that ends the output ({end})",
                           {"end": "the end token"})
    if task.sampler is Sampler.COUNT_RANGE and not all(isinstance(t, int) and not isinstance(t, bool) for t in task.vocab):
        raise RaspError(f"the {task.sampler} sampler needs an integer vocabulary, e.g. [0, 1, ..., 30]")
    limit = sampler_limit(task.sampler, list(task.vocab))
    if limit == 0:
        raise RaspError(f"the {task.sampler} sampler draws nothing from this vocabulary: it needs "
                        "decimal digits ('0'..'9') among the tokens")
    if limit is not None and d > limit:
        raise RaspError(f"the {task.sampler} sampler can draw inputs of at most {limit} from this "
                        f"vocabulary, but the held-out lengths go to {d}: enlarge the vocabulary or "
                        "shorten the lengths")


@dataclass
class Example:
    """One input and its labels, as the program sees them."""

    size: int  # the length the sampler was asked for
    input: list[Any]  # what the sampler drew
    target: list[Any]  # per-position: a label per input token; autoregressive: the tokens the
    #                    program generates, its end token last; answer: [the one answer token]
    framing: Framing = Framing.PER_POSITION
    separator: Any = None  # autoregressive: the program's separator, read after the input

    @property
    def prompt(self) -> list[Any]:
        """What the program reads before its output: the input, then its separator if any."""
        return self.input + ([self.separator] if self.separator is not None else [])

    @property
    def output(self) -> list[Any]:
        """What the model writes between `<sep>` and `<eos>` (the target without the program's
        end token), or the per-position labels."""
        return self.target[:-1] if self.framing is Framing.AUTOREGRESSIVE else self.target


def labels(task: Task, program: Program, inputs: list[list[Any]], size: int = 0) -> list[list[Any]]:
    """The targets of these inputs (of sampler size `size`) by the interpreter (see
    `Example.target`); an autoregressive program must end within 4 x size + 8 tokens."""
    if task.framing is Framing.PER_POSITION:
        return program.run(inputs)
    if task.framing is Framing.ANSWER:
        return [[row[-1]] for row in program.run(inputs)]
    prompts = [x + ([] if task.separator is None else [task.separator]) for x in inputs]
    return generate(program, prompts, task.end, 4 * max([size, *map(len, inputs)]) + 8)


def make_examples(task: Task, program: Program, size: int, count: int, rng: random.Random,
                  fast: bool = True) -> list[Example]:
    """`count` fresh examples of one size, labelled by the task's reference labeller where it has
    one (`fast`; checked against the interpreter by the tests), else by the interpreter."""
    draw = SAMPLERS[task.sampler]
    inputs = [draw(rng, size, list(task.vocab)) for _ in range(count)]
    label = reference(task) if fast else None
    targets = (label(inputs) if label else None) or labels(task, program, inputs, size)
    separator = task.separator if task.framing is Framing.AUTOREGRESSIVE else None
    return [Example(size, x, y, task.framing, separator) for x, y in zip(inputs, targets)]


def inputs_of(task: Task, program: Program) -> TaskInputs:
    """The task's inputs as the searches compare programs on them: sequences as the program reads
    them in training (the input; for an autoregressive task, the prompt then the target's tokens
    but its end), each with the first position whose output training reads (the prompt's last for
    an autoregressive task, the last for an answer, else the first)."""

    def draw(rng: random.Random, size: int, count: int) -> list[tuple[list[Any], int]]:
        out = []
        for example in make_examples(task, program, size, count, rng):
            if task.framing is Framing.AUTOREGRESSIVE:
                out.append((example.prompt + example.output, len(example.prompt) - 1))
            else:
                out.append((example.input, len(example.input) - 1 if task.framing is Framing.ANSWER else 0))
        return out

    return TaskInputs(f"the {task.name} task's inputs ({task.sampler} sampler, {task.framing} framing)", draw,
                  sampler_limit(task.sampler, list(task.vocab)))


def generate(program: Program, prompts: list[list[Any]], end: Any, limit: int) -> list[list[Any]]:
    """Run a next-token program causally until each sequence gives `end` (included)."""
    sequences = [list(p) for p in prompts]
    outputs: list[list[Any]] = [[] for _ in prompts]
    live = list(range(len(prompts)))
    for _ in range(limit):
        if not live:
            return outputs
        following = program.run([sequences[i] for i in live], causal=True)
        still = []
        for i, row in zip(live, following):
            token = row[-1]
            outputs[i].append(token)
            sequences[i].append(token)
            if token_key(token) != token_key(end):
                still.append(i)
        live = still
    if live:
        raise SettingError(f"{program.display_name} did not give the end token {end!r} within {limit} "
                           f"tokens on {prompts[live[0]]}: " + "check {end} and {separator}",
                           {"end": "the end token", "separator": "the separator"})
    return outputs


def probe(task: Task, program: Program, per_length: int = 4) -> None:
    """Run the program on a few inputs of every length, so that a vocabulary or separator it
    cannot use is reported before any training."""
    rng = random.Random(0)
    for size in (task.train_lengths[0], task.train_lengths[1], task.heldout_lengths[1]):
        try:
            make_examples(task, program, size, per_length, rng, fast=False)
        except RaspError as e:
            where = (f"task '{task.name}' cannot use {program.display_name} with vocabulary "
                     f"{list(task.vocab)} (sampler {task.sampler}, length {size}): ")
            if isinstance(e, SettingError):
                raise SettingError(where + e.template, e.settings) from None
            raise RaspError(where + e.message) from None


# ---- the default suite: the tasks of Zhou et al. 2024 and Huang et al. 2025, and a few more ---
# Lengths come from the protocol. Vocabularies are large enough for the `paper` protocol's
# lengths (up to 150); a protocol cuts a distinct-token vocabulary to its longest length.

NUMBERS = tuple(str(i) for i in range(150))
HINTS = tuple(f"h{i}" for i in range(150))

SUITE: list[Task] = [
    Task("count", "count", tuple(range(0, 156)), "autoregressive", "count-range", end=-1,
         description="count from a to b (Zhou et al.'s <bos> a b <sep> a .. b <eos>)"),
    Task("mode", "mode", tuple("abc"), description="the most frequent token so far, at every position"),
    Task("copy_unique", "copy", NUMBERS, "autoregressive", "unique", separator="|", end="|",
         description="copy distinct tokens (induction head)"),
    Task("copy_repeated", "copy_repeated", tuple("ab"), "autoregressive", separator="|", end="|",
         description="copy tokens that repeat (index arithmetic)"),
    Task("sort_unique", "sort_ar", tuple(range(1, 151)), "autoregressive", "unique", separator=0, end=0,
         description="sort distinct numbers, next-token form"),
    Task("addition", "addition", tuple(DIGITS) + ("+",), sampler="digit-sum",
         description="a+b, most significant digit first, every output digit at once"),
    Task("addition_hints", "addition_hints", tuple(DIGITS) + HINTS, "autoregressive",
         "hinted-sum", separator="=", end=".", description="a+b reversed, with index hints"),
    Task("parity", "parity", tuple("01"), "answer", "balanced", description="parity of the 1s"),
    Task("parity_scratchpad", "parity_scratchpad", tuple("01"), "autoregressive", separator="=", end=".",
         description="parity with a running-parity scratchpad"),
    Task("reverse", "reverse", tuple("abcde"), description="the input reversed, every position at once"),
    Task("hist", "hist", tuple("abcde"), description="how often each token occurs"),
    Task("majority", "majority", tuple("01"), "answer", "balanced", description="whether 1s are the majority"),
    Task("dyck1", "dyck1", tuple("()"), sampler="dyck", description="balanced parentheses so far"),
]

# `make demo`: four contrasting tasks (with the demo protocol: minutes on 2 cores).
DEMO: list[Task] = [t for t in SUITE if t.name in ("copy_unique", "copy_repeated", "parity", "majority")]

SUITES = {"default": SUITE, "demo": DEMO}


def find_task(name: str) -> Task | None:
    """A suite task by its name, or by the name of its program."""
    for task in SUITE:
        if task.name == name:
            return task
    for task in SUITE:
        if task.program == name:
            return task
    return None


def task_for(program_spec: str, vocab: list[Any] | None = None, **settings: Any) -> Task:
    """The task `rasp train PROGRAM` means: a suite task's settings when PROGRAM names one,
    else a per-position task over the program's own vocabulary; options override either."""
    base = find_task(program_spec)
    if base is None:
        program = load_program(program_spec, settings.get("output"))
        if vocab is None:
            vocab = program.sample_vocab()
        sampler = Sampler.UNIQUE if program.tree.distinct else Sampler.UNIFORM
        base = Task(Path(program.path).stem, program_spec, tuple(vocab), sampler=sampler)
    if vocab is not None:
        base = replace(base, vocab=tuple(vocab))
    return replace(base, **{k: v for k, v in settings.items() if v is not None})


def load_suite(name: str, only: list[str] | None = None) -> list[Task]:
    """A built-in suite ("default", "demo") or a JSON file: a list of task objects (the keys of
    `Task`), or {"tasks": [...]}; `only` keeps the named tasks."""
    import json

    if name in SUITES:
        tasks = SUITES[name]
    else:
        path = Path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise RaspError(f"no suite '{name}': not {' or '.join(SUITES)}, and not a readable file "
                            f"({e.strerror})") from None
        except json.JSONDecodeError as e:
            raise RaspError(f"{name}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
        data = data.get("tasks") if isinstance(data, dict) else data
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data) or not data:
            raise RaspError(f"{name}: a suite file holds a list of task objects, or {{\"tasks\": [...]}}")
        tasks = [task_from_dict(d) for d in data]
        tasks = [replace(t, program=program_beside(t.program, path.resolve().parent, name, t.name)) for t in tasks]
    if only:
        names = [t.name for t in tasks]
        missing = [n for n in only if n not in names]
        if missing:
            raise RaspError(f"no task {', '.join(missing)} in suite {name} (its tasks: {', '.join(names)})")
        tasks = [t for t in tasks if t.name in only]
    return tasks


def program_beside(spec: str, folder: Path, suite: str, task: str) -> str:
    """A suite file's program as the task loads it: a relative path is read from the suite
    file's folder, not the working directory; a name without `.rasp` is a file NAME.rasp in that
    folder when there is one, else a library program."""
    path = Path(spec)
    if path.suffix != ".rasp" and "/" not in spec and os.sep not in spec:
        local = folder / f"{spec}.rasp"
        return str(local) if local.is_file() else spec
    full = path if path.is_absolute() else folder / path
    if not full.is_file():
        raise RaspError(f"{suite}: task '{task}': no program file {full} (a relative path in a suite file is "
                        "read from the suite file's folder)")
    return str(full)


def task_from_dict(d: dict[str, Any]) -> Task:
    """A task from a suite file's JSON object (the keys of `Task`)."""
    known = set(Task.__dataclass_fields__)
    unknown = set(d) - known
    if unknown:
        raise RaspError(f"unknown task keys {sorted(unknown)} (known: {sorted(known)})")
    if "name" not in d or "program" not in d or "vocab" not in d:
        raise RaspError("a task needs at least name, program and vocab")
    d = dict(d)
    d["vocab"] = tuple(d["vocab"] if isinstance(d["vocab"], list) else list(d["vocab"]))
    for key in ("train_lengths", "heldout_lengths"):
        if d.get(key) is not None:
            d[key] = tuple(d[key])
    return Task(**d)


__all__ = ["Task", "Example", "Framing", "SUITE", "DEMO", "SUITES", "FRAMINGS", "make_examples", "labels",
           "find_task", "task_for", "task_from_dict", "load_suite"]
