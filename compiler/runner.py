"""The batched runner: a compiled model on many inputs at once, in NumPy: the interned pass
(`compiler.interned`, each position-wise block once per distinct row) over batches of inputs of
one or a few neighbouring lengths; the plain pass (`compiler.forward`) for one input's internals.

The computation is tracr's (no layer norm, ReLU MLPs, attention logits scaled by 1/sqrt(key
size)); the beginning-of-sequence token is added here and its position dropped from the
output, and padding positions are masked out as keys, so a padded input gives exactly the
outputs it gives alone.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, Callable

import numpy as np

from compiler.forward import Forward
from compiler.interned import Batch, Interned, TooLarge
from compiler.internals import Head, Internals, Stage, dim_owners, head_sops, stage_names
from compiler.model import CompiledModel
from compiler.slim import slim
from grammar.errors import RaspError
from rasp.language.inputs import token_key
from rasp.language.sops import Encoding

BUCKET_CELLS = 2**17  # inputs x width^2 of a batch that merges several lengths


class Runner:
    """Runs a compiled model on plain token sequences (no BOS), in batches."""

    def __init__(self, model: CompiledModel):
        self.model = model
        meta = model.meta
        slimmed = slim(model)
        index = {k: v for k, v in slimmed.items() if k.endswith((".in", ".out", ".rows", ".dims", ".pick", ".has"))}
        weights = {k: np.asarray(v, dtype=np.float32) for k, v in slimmed.items() if k not in index}
        self.forward = Forward(meta.layout.num_layers, meta.layout.num_heads, meta.layout.key_size, model.causal,
                               weights, index)
        self.interned = Interned(self.forward)
        # tokens are told apart as everywhere else (`token_key`): 1 and 1.0 are one token, "1" another
        self.token_ids = {token_key(t): i for i, t in enumerate(meta.tokens)}
        self.bos_id = self.token_ids[token_key(meta.bos)]
        self.pad_id = self.token_ids[token_key(meta.pad)]
        self.categorical = meta.output.encoding is Encoding.CATEGORICAL
        self.output_values = meta.output.values or []
        self.output_table = np.empty(len(self.output_values), dtype=object)  # the values themselves, by index
        for j, value in enumerate(self.output_values):
            self.output_table[j] = value
        self._seen: dict[tuple[type, Any], int | None] = {}

    def check(self, inputs: list[list[Any]]) -> list[list[int]]:
        """Each input's token ids; an input the model cannot take gives a clear error naming it."""
        for number, tokens in enumerate(inputs, start=1):
            if len(tokens) > self.model.max_len:
                raise RaspError(f"input {number} has {len(tokens)} tokens; this model was compiled "
                                f"for at most {self.model.max_len}")
        flat = list(itertools.chain.from_iterable(inputs))
        try:
            kinds, distinct = set(map(type, flat)), set(flat)
        except TypeError:  # an unhashable token: the slow path names it
            kinds, distinct = {bool}, set()
        if not any(issubclass(kind, (bool, np.bool_)) for kind in kinds):  # by value: True would pass as 1
            ids = {token: self.token_id(token) for token in distinct}
            if None not in ids.values():  # every token known: looked up in C, a dictionary per value
                found = list(map(ids.__getitem__, flat))
                ends = list(itertools.accumulate(map(len, inputs)))
                return [found[end - len(tokens):end] for tokens, end in zip(inputs, ends)]
        out = []
        for number, tokens in enumerate(inputs, start=1):
            if len(tokens) > self.model.max_len:
                raise RaspError(f"input {number} has {len(tokens)} tokens; this model was compiled "
                                f"for at most {self.model.max_len}")
            ids = [self.token_id(token) for token in tokens]
            if None in ids:
                position = ids.index(None)
                raise RaspError(f"input {number}: token {tokens[position]!r} at position {position} is not in "
                                f"the model's vocabulary {self.model.vocab}")
            out.append(ids)
        return out

    def token_id(self, token: Any) -> int | None:
        """The token's id, None for a token outside the vocabulary (BOS and padding included);
        remembered by type and value, the long verification batches repeat a few tokens."""
        try:
            return self._seen[type(token), token]
        except KeyError:
            meta = self.model.meta
            found = None if token in (meta.bos, meta.pad) else self.token_ids.get(token_key(token))
            self._seen[type(token), token] = found
            return found
        except TypeError:  # unhashable: never a token
            return None

    def encode(self, inputs: list[list[Any]], known: list[list[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Token ids `[inputs, longest + 1]` (BOS first, then padding) and lengths; `known`: the
        inputs' ids from `check`, when the caller has them."""
        width = max((len(t) for t in inputs), default=0) + 1
        ids = np.full((len(inputs), width), self.pad_id, dtype=np.int32)
        ids[:, 0] = self.bos_id
        lengths = np.zeros(len(inputs), dtype=np.int32)
        for i, tokens in enumerate(inputs):
            ids[i, 1:len(tokens) + 1] = known[i] if known is not None else [self.token_id(t) for t in tokens]
            lengths[i] = len(tokens)
        return ids, lengths

    def raw(self, inputs: list[list[Any]]) -> np.ndarray:
        """The unembedded outputs of the plain pass, `(len(inputs), width, outputs)`, BOS position
        included, for inputs already `check`ed (one batch: the caller keeps it small enough)."""
        return self.forward(*self.encode(inputs)).outputs

    @functools.cached_property
    def heads(self) -> list[Head]:
        """Every head that writes to the residual stream, with the s-op it computes."""
        owners = head_sops(self.model)
        return [Head(layer, head, owners[layer, head]) for layer, head in sorted(owners)]

    def run(self, inputs: list[list[Any]], progress: Callable[[int, int], None] | None = None) -> list[list[Any]]:
        """The model's output at every position of every input; `progress(done, total)` (in
        inputs, the share of the pass counted as done) after every layer and every batch of an
        attention layer, when given.

        All inputs go through the interned pass at once (`compiler.interned`), in batches of one
        length or a few neighbouring ones (`buckets`); when a table would be too large, the inputs are split in two and run in turn,
        down to a single input, which takes the plain pass."""
        known = self.check(inputs)
        results: list[list[Any]] = [[] for _ in inputs]
        if not inputs:
            return results
        pending, done = [self.buckets(inputs)], 0
        while pending:
            groups = pending.pop()
            count = sum(map(len, groups))
            tell = (lambda share: progress(done + int(count * share), len(inputs))) if progress else (lambda share: None)
            try:
                outputs = self.interned(self.batches([[inputs[i] for i in g] for g in groups],
                                                     [[known[i] for i in g] for g in groups]), tell)
            except TooLarge:
                if count == 1:
                    outputs = [self.raw([inputs[groups[0][0]]])]
                else:
                    pending += _halves(groups)[::-1]
                    continue
            for group, out in zip(groups, outputs):
                decoded = self.decode(out)  # a whole batch at once, then each input's positions
                for row, i in zip(decoded, group):
                    results[i] = row[1:len(inputs[i]) + 1]
            done += count
            if progress:
                progress(done, len(inputs))
        return results

    @staticmethod
    def buckets(inputs: list[list[Any]]) -> list[list[int]]:
        """Input numbers grouped by length, neighbouring lengths together (padded to the longest)
        while a group's attention stays under `BUCKET_CELLS` weights per head: short inputs in a
        few batches, not one per length (Python's cost per batch is most of a small model's)."""
        by_length: dict[int, list[int]] = {}
        for i in sorted(range(len(inputs)), key=lambda i: len(inputs[i])):
            by_length.setdefault(len(inputs[i]), []).append(i)
        groups: list[list[int]] = []
        for length, numbers in by_length.items():  # shortest first: a merged group's width is the new length's
            if groups and (len(groups[-1]) + len(numbers)) * (length + 1) ** 2 <= BUCKET_CELLS:
                groups[-1] = groups[-1] + numbers
            else:
                groups.append(list(numbers))
        return groups

    def batches(self, groups: list[list[list[Any]]], known: list[list[list[int]]] | None = None) -> list[Batch]:
        """Each group of inputs as one `Batch` (BOS first, padded to its longest), laid end to end;
        `known`: their token ids, when the caller has them (`check`)."""
        out, start = [], 0
        for k, group in enumerate(groups):
            ids, lengths = self.encode(group, known[k] if known is not None else None)
            out.append(Batch(ids, lengths, start))
            start += ids.size
        return out

    def decode(self, values: np.ndarray) -> list[Any]:
        """The outputs of unembedded positions `[..., positions, outputs]` (nested lists as deep)."""
        if self.categorical:
            return self.output_table[values.argmax(axis=-1)].tolist()
        return values[..., 0].astype(float).tolist()

    def internals(self, tokens: list[Any]) -> Internals:
        """Every head's attention and the residual stream after every sublayer, on one input
        (`compiler.internals`); the same computation as `run`, its intermediate values kept."""
        self.check([tokens])
        result = self.forward(*self.encode([tokens]), internals=True)
        n = len(tokens) + 1
        meta, model, heads = self.model.meta, self.model, self.heads
        return Internals(
            tokens=[meta.bos, *tokens], heads=heads,
            attention=[result.attention[h.layer][0, h.head, :n, :n] for h in heads],
            stages=[Stage(name, values[0, :n]) for name, values in zip(stage_names(model.num_layers),
                                                                       result.residuals)],
            residual_labels=list(meta.residual_labels), dim_sops=dim_owners(model),
            outputs=self.decode(result.outputs[0, 1:n]))


def _halves(groups: list[list[int]]) -> list[list[list[int]]]:
    """Groups of input numbers split in two: between groups, or within the only one."""
    if len(groups) > 1:
        return [groups[:len(groups) // 2], groups[len(groups) // 2:]]
    group = groups[0]
    return [[group[:len(group) // 2]], [group[len(group) // 2:]]]
