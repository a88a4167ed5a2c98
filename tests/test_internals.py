"""A compiled model's internals (`Runner.internals`): equal to a plain NumPy forward pass of the
saved arrays, attention rows that sum to one over the allowed keys, and every head that computes
an aggregate or a selector width attending where the interpreter's selector says."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_compiler import COMPILABLE

from compiler import compile_program
from compiler.runner import Runner
from rasp.language.inputs import tokens_array
from rasp.language.program import load_program
from rasp.language.execute import execute
from rasp.language import sops
from rasp.language.sops import Operation, Reduce

_models: dict[str, object] = {}


def model_of(name: str):
    if name not in _models:
        vocab, max_len = COMPILABLE[name]
        _models[name] = compile_program(load_program(name), vocab, max_len, verify=False).model
    return _models[name]


def numpy_forward(model, tokens: list) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """tracr's computation written out on the saved arrays: (residual after the embeddings and
    every sublayer, each layer's attention weights `[heads, T, T]`, the unembedded outputs)."""
    a, meta = model.arrays, model.meta
    heads, size = meta.layout.num_heads, meta.layout.key_size
    row = {repr(t): i for i, t in enumerate(meta.tokens)}
    ids = [row[repr(meta.bos)]] + [row[repr(t)] for t in tokens]
    n = len(ids)
    x = a["token_embed"][ids].astype(np.float64) + a["pos_embed"][:n]
    allowed = np.tril(np.ones((n, n), bool)) if model.causal else np.ones((n, n), bool)
    stages, attention = [x], []
    for i in range(model.num_layers):
        p = f"layer{i}."
        q, k, v = (x @ a[p + f"attn.{m}.w"] + a[p + f"attn.{m}.b"] for m in ("query", "key", "value"))
        q, k, v = (y.reshape(n, heads, size) for y in (q, k, v))
        logits = np.where(allowed, np.einsum("thd,Thd->htT", q, k) / np.sqrt(size), -np.inf)
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        attention.append(weights)
        x = x + np.einsum("htT,Thd->thd", weights, v).reshape(n, -1) @ a[p + "attn.linear.w"] + a[p + "attn.linear.b"]
        stages.append(x)
        hidden = np.maximum(x @ a[p + "mlp.linear_1.w"] + a[p + "mlp.linear_1.b"], 0)
        x = x + hidden @ a[p + "mlp.linear_2.w"] + a[p + "mlp.linear_2.b"]
        stages.append(x)
    return stages, attention, x @ a["unembed"]


def nodes_at(program, sop) -> list:
    """The aggregates or selector widths the program computes at the placement's source position
    (several where a function's body is called more than once) with its name."""
    found = [n for n in sops.walk([program.output]) if isinstance(n, (sops.Aggregate, sops.SelectorWidth))
             and n.span is not None and (n.span.line, n.span.col) == (sop.line, sop.col)]
    named = [n for n in found if n.label == sop.name]
    assert found, sop
    return named or found


def attends_as(weights: np.ndarray, node, tokens: list, causal: bool) -> bool:
    """Whether a head's attention picks the keys `node`'s selector picks on `tokens`: all of them
    (a mean: BOS only where none is picked; a selector width: BOS always), or the best of them
    (max, min)."""
    selected = execute([node.selector], tokens_array([tokens]), causal)[0][0]
    attended, bos = weights[1:, 1:] > 1e-3, weights[1:, 0] > 1e-3  # position 0 is BOS
    if isinstance(node, sops.SelectorWidth):
        return np.array_equal(attended, selected) and bool(np.all(bos))
    if node.reduce == Reduce.MEAN:
        return np.array_equal(attended, selected) and np.array_equal(bos, ~selected.any(axis=-1))
    return bool(np.all(attended <= selected)) and np.array_equal(attended.any(-1), selected.any(-1))


def inputs_of(name: str, count: int, seed: int = 0) -> list[list]:
    vocab, max_len = COMPILABLE[name]
    rng, distinct = random.Random(seed), load_program(name).tree.distinct
    out = []
    for _ in range(count):
        n = rng.randint(1, min(max_len, len(vocab)) if distinct else max_len)
        out.append(rng.sample(vocab, n) if distinct else [rng.choice(vocab) for _ in range(n)])
    return out


@pytest.mark.parametrize("name", ["sort", "hist", "frac_prevs", "count", "majority", "mode"])
def test_internals_equal_a_numpy_forward_pass_of_the_saved_arrays(name):
    model = model_of(name)
    runner = Runner(model)
    for tokens in inputs_of(name, 4):
        inside = runner.internals(tokens)
        stages, attention, _ = numpy_forward(model, tokens)
        assert len(inside.stages) == len(stages) == 1 + 2 * model.num_layers
        for got, want in zip(inside.stages, stages):
            np.testing.assert_allclose(got.values, want, atol=2e-3, rtol=1e-4, err_msg=got.name)
        for head, weights in zip(inside.heads, inside.attention):
            np.testing.assert_allclose(weights, attention[head.layer][head.head], atol=1e-4)
        assert inside.outputs == runner.run([tokens])[0]


@pytest.mark.parametrize("name", sorted(COMPILABLE))
def test_heads_attend_where_the_interpreters_selector_says(name):
    model = model_of(name)
    runner = Runner(model)
    for tokens in inputs_of(name, 3, seed=1):
        inside = runner.internals(tokens)
        n = len(tokens)
        for head, weights in zip(inside.heads, inside.attention):
            allowed = np.tril(np.ones((n + 1, n + 1))) if model.causal else np.ones((n + 1, n + 1))
            np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)  # rows sum to one...
            assert np.all(weights[allowed == 0] < 1e-6)  # ...over the allowed keys
            if head.sop is None:
                continue
            if head.sop.operation == Operation.LENGTH:  # tracr counts the positions as a selector width
                assert np.all(weights[1:] > 1e-3) if not model.causal else np.all(weights[allowed == 1] > 1e-3)
                continue
            candidates = nodes_at(load_program(name), head.sop)
            assert any(attends_as(weights, node, tokens, model.causal) for node in candidates), head.title


def test_heads_are_named_by_the_sop_they_compute():
    inside = Runner(model_of("sort")).internals(list("cab"))
    program = load_program("sort")
    names = {h.sop.name for h in inside.heads if h.sop}
    computed = {s.name for s in model_of("sort").meta.sops
                if s.operation in (Operation.AGGREGATE, Operation.SELECTOR_WIDTH) and s.helper is None}
    assert names == computed and names and program.output_name in names
    assert all(s.values.shape == (4, model_of("sort").meta.layout.residual_width) for s in inside.stages)
