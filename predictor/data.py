"""Examples as arrays: token ids, labels, a loss mask and the true lengths.

Id 0 is padding. Rows are padded at the end to a multiple of 8 (a handful of shapes, so a
handful of compilations). The output classes are every label seen when the task's examples
are probed at every train and held-out length; a label that shows up only later is encoded
as -1, which no prediction equals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from predictor.tasks import Example, Task, make_examples
from rasp.language.inputs import token_key as key
from rasp.language.program import Program

PAD = 0
UNKNOWN = -1


class Vocabulary:
    """Tokens <-> ids; id 0 is padding, so the first token is id 1."""

    def __init__(self, tokens: list[Any]):
        unique: dict[tuple, Any] = {}
        for t in tokens:
            unique.setdefault(key(t), t)
        self.tokens = [unique[k] for k in sorted(unique)]  # keys of one kind hold values of one type
        self.ids = {key(t): i + 1 for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens) + 1

    def encode(self, tokens: list[Any]) -> list[int]:
        return [self.ids.get(key(t), UNKNOWN) for t in tokens]


@dataclass
class Encoding:
    """How a task's examples become arrays."""

    inputs: Vocabulary
    classes: Vocabulary  # per-position: the labels; autoregressive: the same as inputs
    autoregressive: bool
    max_len: int  # the longest row, at the longest held-out length

    @classmethod
    def for_task(cls, task: Task, program: Program, per_length: int = 16) -> "Encoding":
        rng = random.Random(1)
        examples = [e for n in task.lengths for e in make_examples(task, program, n, per_length, rng)]
        prompts = [t for e in examples for t in e.prompt] + list(task.vocab)
        targets = [t for e in examples for t in e.target]
        autoregressive = task.autoregressive
        longest = max(row_length(e, autoregressive) for e in examples)
        if autoregressive:
            vocab = Vocabulary(prompts + targets)
            return cls(vocab, vocab, True, padded(longest + 8))
        return cls(Vocabulary(prompts), Vocabulary(targets), False, padded(longest))

    def batch(self, examples: list[Example], length: int | None = None) -> dict[str, np.ndarray]:
        """ids, labels, mask (1 where the loss and accuracy count) and lengths, each (B, T)/(B,).
        Autoregressive rows are prompt + target shifted by one: position i predicts token i + 1."""
        rows = [row_length(e, self.autoregressive) for e in examples]
        t = length or padded(max(rows))
        ids = np.zeros((len(examples), t), np.int32)
        labels = np.full((len(examples), t), UNKNOWN, np.int32)
        mask = np.zeros((len(examples), t), np.float32)
        for r, e in enumerate(examples):
            if self.autoregressive:
                sequence = self.inputs.encode(e.prompt + e.target)
                ids[r, : rows[r]] = np.maximum(sequence[:-1], PAD)
                labels[r, : rows[r]] = sequence[1:]
                mask[r, len(e.prompt) - 1: rows[r]] = 1
            else:
                ids[r, : rows[r]] = self.inputs.encode(e.prompt)
                labels[r, : rows[r]] = self.classes.encode(e.target)
                mask[r, : rows[r]] = 1
        return {"ids": ids, "labels": labels, "mask": mask, "lengths": np.array(rows, np.int32)}


def row_length(e: Example, autoregressive: bool) -> int:
    return len(e.prompt) + len(e.target) - 1 if autoregressive else len(e.prompt)


def padded(n: int) -> int:
    return max(8, -(-n // 8) * 8)
