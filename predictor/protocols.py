"""Protocols: the whole training-and-testing recipe of an experiment, as named presets.

A protocol fixes what decides a length-generalization result besides the task: the positional
encoding and its random offsets, the train lengths and the held-out bins, the model's size, the
optimizer, the step cap and the early stop at a fit. `rasp train` and `rasp experiment` take one
by name; every other setting they are given overrides the protocol's.

  paper  Huang et al., "A Formal Framework for Understanding Length Generalization in
         Transformers" (ICLR 2025), as in their released code: learned absolute positions with a
         random offset per training example, train lengths up to 50, bins 51-100 and 101-150,
         batch 64, AdamW (weight decay 0.01 on matrices only, linear decay, no warm-up), at most
         30k steps, a fit check every 3k steps on 2,000 examples, their per-task model sizes,
         GPT-2's initialisation and tied output layer (HuggingFace's GPT2LMHeadModel). Minutes
         per run on a GPU; the small models fit a CPU too.
  cpu    the same ingredients scaled to 2 CPU cores, at most about 15 minutes a run: train
         lengths 1-30, bins 31-40 (+10, the metric of Zhou et al., ICLR 2024) and 41-60 (2x).
         Its two longest-sequence tasks get lower step caps to stay inside the 15 minutes.
         (Train lengths 1-20 were measured first: copy_unique's +10 EM 0.80-0.96 on 4 seeds,
         with a shortcut bound to output positions below 20. Haiku's initialisation, the
         protocol's until 2026-11-27, left copy_unique at 0.39 at 2x and copy_repeated unfitted;
         GPT-2's gives 0.98 and a fitted copy_repeated at 0.22: see docs/experiments.md.)
  demo   what `make demo` runs: train lengths 1-10, one bin 11-20, short step cap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from grammar.errors import RaspError, one_of
from predictor.encodings import Init, PositionalEncoding
from predictor.samplers import Sampler


class Schedule(StrEnum):
    """How the learning rate moves over the step cap."""

    COSINE = "cosine"  # linear warm-up, then cosine decay to a tenth
    LINEAR = "linear"  # linear warm-up, then linear decay to zero (HuggingFace's default)


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    pe: PositionalEncoding = PositionalEncoding.LEARNED
    offsets: bool = True  # shift each training example's position ids by a random offset
    train_lengths: tuple[int, int] = (1, 30)
    bins: tuple[tuple[int, int], ...] = ((31, 40), (41, 60))  # held-out lengths, scored per bin
    max_steps: int = 10_000
    check_every: int = 500  # steps between fit checks (train-length EM on fresh examples)
    fit_em: float = 1.0  # the fit check's EM at which training stops: the model fits
    fit_examples: int = 16  # fresh examples per train length in a fit check
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.1
    warmup: int = 200
    schedule: Schedule = Schedule.COSINE
    eval_per_length: int = 64  # fresh evaluation inputs per length
    layers: int = 2
    heads: int = 4
    d_model: int = 64
    init: Init = Init.GPT2  # the model's initialisation (and weight decay's reach): GPT-2's or haiku's
    distinct_vocab_to_longest: bool = True  # see `for_task`
    per_task: dict[str, dict[str, Any]] = field(default_factory=dict)  # task name -> settings

    def __post_init__(self):
        object.__setattr__(self, "pe", one_of(PositionalEncoding, self.pe, "positional encoding"))
        object.__setattr__(self, "schedule", one_of(Schedule, self.schedule, "schedule"))
        object.__setattr__(self, "init", one_of(Init, self.init, "initialisation"))

    @property
    def heldout_lengths(self) -> tuple[int, int]:
        return self.bins[0][0], self.bins[-1][1]

    def for_task(self, name: str) -> "Protocol":
        """The protocol as it applies to one task: its per-task settings (model size, learning
        rate) in place of the defaults."""
        return replace(self, **self.per_task.get(name, {}), per_task={})

    def model_settings(self, name: str) -> dict[str, Any]:
        """The learned model's layers, heads, width and initialisation for one task."""
        p = self.for_task(name)
        return {"layers": p.layers, "heads": p.heads, "d_model": p.d_model, "init": p.init}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["train_lengths"], d["bins"] = list(self.train_lengths), [list(b) for b in self.bins]
        return d


def bins_for(protocol: Protocol, train_lengths: tuple[int, int], heldout: tuple[int, int]) -> list[tuple[int, int]]:
    """The held-out bins: the protocol's own when the lengths are its own, else the +10 bin
    (Zhou et al.'s metric: up to 10 past the longest train length) and the rest."""
    if train_lengths == protocol.train_lengths and heldout == protocol.heldout_lengths:
        return list(protocol.bins)
    (_, b), (c, d) = train_lengths, heldout
    first = (c, min(d, b + 10))
    return [first] + ([(first[1] + 1, d)] if d > first[1] else [])


def sized_vocab(protocol: Protocol, vocab: tuple, sampler: Sampler, longest: int) -> tuple:
    """A task whose sampler draws distinct tokens uses exactly as many tokens as its longest
    held-out input needs, when its vocabulary holds more (Huang et al.: the vocabulary of unique
    copy and sort is the longest test length)."""
    if protocol.distinct_vocab_to_longest and sampler is Sampler.UNIQUE and len(vocab) > longest:
        return vocab[:longest]
    return vocab


PAPER = Protocol(
    "paper", "Huang et al. (ICLR 2025), as in their released code", train_lengths=(1, 50),
    bins=((51, 100), (101, 150)), max_steps=30_000, check_every=3_000, fit_examples=40, weight_decay=0.01,
    warmup=0, schedule=Schedule.LINEAR, eval_per_length=40, layers=4, heads=4, d_model=256,
    per_task={
        "copy_unique": dict(layers=2, heads=1, d_model=64),
        "copy_repeated": dict(layers=4, heads=4, d_model=256),
        "sort_unique": dict(layers=1, heads=2, d_model=256, learning_rate=1e-4),
        "majority": dict(layers=1, heads=1, d_model=16),
        "parity": dict(layers=4, heads=2, d_model=256),
    })

CPU = Protocol(
    "cpu", "the paper's ingredients scaled to 2 CPU cores (at most about 15 minutes a run)",
    per_task={"copy_unique": dict(heads=1),
              # step caps that keep a run within 15 minutes on 2 cores (measured: 0.48 s and 0.155 s
              # a step at train lengths 1-30, against 0.03-0.05 s for the copy tasks)
              "addition_hints": dict(max_steps=1_500), "parity_scratchpad": dict(max_steps=4_000)})

DEMO = Protocol(
    "demo", "what make demo runs: minutes on 2 CPU cores", train_lengths=(1, 10), bins=((11, 20),),
    max_steps=2_000, check_every=250, fit_examples=8, eval_per_length=32,
    per_task={"copy_unique": dict(heads=1),
              # step caps that keep a run within 15 minutes on 2 cores (measured: 0.48 s and 0.155 s
              # a step at train lengths 1-30, against 0.03-0.05 s for the copy tasks)
              "addition_hints": dict(max_steps=1_500), "parity_scratchpad": dict(max_steps=4_000)})

PROTOCOLS = {p.name: p for p in (PAPER, CPU, DEMO)}


def protocol(name: str) -> Protocol:
    """A preset by name, or a clear error naming the presets."""
    if name not in PROTOCOLS:
        raise RaspError(f"unknown protocol '{name}' (known: {', '.join(PROTOCOLS)})")
    return PROTOCOLS[name]


def apply(protocol: Protocol, task: Any, own_vocab: bool = True) -> Any:
    """The task under the protocol: the protocol's lengths where the task names none, and (when
    the vocabulary is the task's own, not one a user gave) a distinct-token vocabulary cut to the
    longest held-out length."""
    train = task.train_lengths or protocol.train_lengths
    heldout = task.heldout_lengths or protocol.heldout_lengths
    vocab = sized_vocab(protocol, task.vocab, task.sampler, heldout[1]) if own_vocab else task.vocab
    return replace(task, train_lengths=train, heldout_lengths=heldout, vocab=vocab)
