"""The experiment protocol: position offsets, the <bos> x <sep> y <eos> framing, early stopping,
the error signature, and how a protocol applies to a task."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor import transformer
from predictor.data import BOS, EOS, SEP, Encoding
from predictor.evaluate import failures, predictions
from predictor.protocols import CPU, DEMO, PAPER, apply, bins_for
from predictor.tasks import SUITE, Framing, Task, find_task, labels, make_examples
from predictor.train import TrainConfig, train, training_batch

FLIP = "# rasp: causal\nflip = \"b\" if tokens == \"a\" else \"a\";\n"


@pytest.fixture(scope="module")
def copy_task():
    task = apply(DEMO, find_task("copy_unique"))
    return task, task.load()


def test_offsets_move_training_positions_and_never_test_positions(copy_task):
    task, program = copy_task
    encoding = Encoding.for_task(task, program)
    config = TrainConfig(batch_size=64, offsets=True, seed=3)
    batches = [training_batch(task, program, encoding, config, k) for k in range(5)]
    shifts = np.concatenate([b["offsets"] for b in batches])
    rows = np.concatenate([b["lengths"] for b in batches])
    assert shifts.max() > 0 and len(set(shifts.tolist())) > 10
    assert np.all(shifts >= 0) and np.all(shifts + rows <= encoding.max_len)  # every position is in the table
    assert not training_batch(task, program, encoding, replace(config, offsets=False), 0)["offsets"].any()
    examples = make_examples(task, program, 5, 4, random.Random(0))
    assert not encoding.batch(examples)["offsets"].any()  # evaluation batches start at 0

    # the offsets reach the model: a learned position table sees them, a relative encoding does not
    batch = batches[0]
    for pe, moved in (("learned", True), ("rotary", False)):
        config = transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len, pe=pe,
                                         layers=1, heads=2, d_model=32)
        net = transformer.build(config)
        params = net.init(jax.random.PRNGKey(0), batch["ids"], batch["lengths"], batch["offsets"])
        shifted = np.asarray(net.apply(params, None, batch["ids"], batch["lengths"], batch["offsets"]))
        plain = np.asarray(net.apply(params, None, batch["ids"], batch["lengths"]))
        assert (not np.allclose(shifted, plain, atol=1e-6)) == moved, pe


@pytest.mark.parametrize("task", [t for t in SUITE if t.framing is not Framing.PER_POSITION], ids=lambda t: t.name)
def test_the_framing_round_trips_through_the_interpreters_labels(task):
    """<bos> x <sep> y <eos>, decoded back to tokens, gives the input; run through the
    interpreter, that input gives y and the program's end token (or the one answer)."""
    task = apply(DEMO, task)
    program = task.load()
    encoding = Encoding.for_task(task, program)
    rng = random.Random(1)
    for n in (task.train_lengths[0], 4, task.heldout_lengths[1]):
        examples = make_examples(task, program, n, 3, rng)
        for e in examples:
            sequence = encoding.sequence(e)
            assert sequence[0] == BOS and sequence[-1] == EOS and sequence.count(SEP) == 1
            assert BOS not in sequence[1:] and EOS not in sequence[:-1]
            cut = sequence.index(SEP)
            decoded_input = [encoding.inputs.decode(i) for i in sequence[1:cut]]
            decoded_output = [encoding.inputs.decode(i) for i in sequence[cut + 1:-1]]
            assert decoded_input == e.input
            (target,) = labels(task, program, [decoded_input], n)
            if task.framing is Framing.AUTOREGRESSIVE:
                assert decoded_output + [task.end] == target
            else:
                assert decoded_output == target and len(target) == 1


def test_count_is_framed_as_zhou_et_al_frame_it(copy_task):
    task = apply(DEMO, find_task("count"))
    program = task.load()
    encoding = Encoding.for_task(task, program)
    (e,) = make_examples(task, program, 4, 1, random.Random(2))
    a, b = e.input
    decode = [encoding.inputs.decode(i) for i in encoding.sequence(e)]
    assert decode == ["<bos>", a, b, "<sep>", *range(a, b + 1), "<eos>"]


@pytest.fixture(scope="module")
def flip(tmp_path_factory):
    path = tmp_path_factory.mktemp("programs") / "flip.rasp"
    path.write_text(FLIP)
    task = Task("flip", str(path), ("a", "b"), "autoregressive", separator="=", end="=",
                train_lengths=(1, 2), heldout_lengths=(3, 4))
    # flip as a next-token program writes the flip of each token; its end is "=" after "="? No:
    # use the per-position form, which a tiny model fits within a hundred steps.
    task = replace(task, framing=Framing.PER_POSITION, separator=None, end=None)
    return task, task.load()


def test_early_stopping_stops_at_a_fit_and_not_before(flip, tmp_path):
    task, program = flip
    encoding = Encoding.for_task(task, program)
    model = transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len, layers=1, heads=2,
                                    d_model=32)
    config = TrainConfig(steps=600, batch_size=16, warmup=5, learning_rate=3e-3, check_every=25, fit_em=1.0)
    fitted = train(task, program, model, config, tmp_path / "a", progress=False, encoding=encoding)
    assert fitted.fitted and fitted.steps < 600 and fitted.steps % 25 == 0
    assert fitted.checks[-1] == [fitted.steps, 1.0] and all(em < 1.0 for _, em in fitted.checks[:-1])
    assert len(fitted.losses) == fitted.steps
    again = train(task, program, model, config, tmp_path / "a", progress=False, encoding=encoding)
    assert again.resumed_from == fitted.steps and again.steps == fitted.steps and again.fitted  # nothing more
    never = train(task, program, model, replace(config, steps=60, fit_em=1.01), progress=False, encoding=encoding)
    assert never.steps == 60 and not never.fitted and [c[0] for c in never.checks] == [25, 50]


def test_the_error_signature_finds_a_shift_by_one(copy_task):
    """A 'model' that copies the token one place too early: the first wrong output token is the
    first one, it comes from offset -1 in the input, and the run ends late, never early."""
    task, program = copy_task
    encoding = Encoding.for_task(task, program)
    examples = make_examples(task, program, 6, 8, random.Random(4))

    def shifted(params, ids, lengths):
        out = np.zeros_like(ids)
        for r, e in enumerate(examples):
            s = encoding.sequence(e)
            out[r, : len(s) - 1] = s[1:]
            sep = len(e.input) + 1
            for j in range(1, len(e.input)):
                out[r, sep + j] = s[1 + j - 1]  # output token j is the input token j - 1
        return out

    result = failures(encoding, examples, predictions(None, shifted, encoding, examples))
    assert result["wrong"] == 8 and result["first_wrong"] == {1: 8} and result["first_wrong_mean"] == 1.0
    assert result["source_offsets"] == {-1: 8} and result["wrong_token"] == 8 and result["ended_early"] == 0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 60), st.integers(0, 40))
def test_bins_are_the_protocols_or_the_plus_10_bin_and_the_rest(b, extra):
    assert bins_for(PAPER, PAPER.train_lengths, PAPER.heldout_lengths) == [(51, 100), (101, 150)]
    bins = bins_for(CPU, (1, b), (b + 1, b + 1 + extra))
    assert bins[0] == (b + 1, min(b + 1 + extra, b + 10))
    assert sum(hi - lo + 1 for lo, hi in bins) == extra + 1 and bins[-1][1] == b + 1 + extra


def test_a_protocol_gives_lengths_and_sizes_distinct_vocabularies():
    task = apply(CPU, find_task("copy_unique"))
    assert (task.train_lengths, task.heldout_lengths) == ((1, 30), (31, 60))
    assert len(task.vocab) == 60  # Huang et al.: as many tokens as the longest test input
    assert len(apply(PAPER, find_task("copy_unique")).vocab) == 150
    assert apply(CPU, find_task("copy_repeated")).vocab == ("a", "b")
    own = replace(find_task("copy_unique"), train_lengths=(1, 5), heldout_lengths=None)
    assert apply(CPU, own).heldout_lengths == (31, 60)  # an override keeps the protocol's other settings
    assert apply(CPU, find_task("copy_unique"), own_vocab=False).vocab == find_task("copy_unique").vocab


@pytest.mark.parametrize("generalized", [True, False])
def test_the_demo_puts_copy_unique_beside_the_paper(tmp_path, generalized):
    from rich.console import Console

    from rasp.faces.demo import beside_the_paper

    row = {"task": "copy_unique", "generalized": generalized,
           "bins": [{"lengths": [11, 20], "em_mean": 0.97 if generalized else 0.12}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"summary": [{"task": "parity"}, row]}))
    console = Console(record=True, width=200)
    beside_the_paper(console, path)
    text = console.export_text()
    assert f"EM {row['bins'][0]['em_mean']:.2f} at lengths 11-20" in text and "0.999 / 0.987" in text
    assert ("predicts" in text) == generalized and ("lengths up to 50" in text) != generalized


def test_the_schedules_warm_up_and_decay_as_named():
    """Linear (the paper's): from the peak straight down to 0 at the cap; cosine: warm-up, then
    down to a tenth."""
    from predictor.train import learning_rate

    linear = learning_rate(TrainConfig(steps=100, warmup=0, schedule="linear", learning_rate=1e-3))
    assert [float(linear(k)) for k in (0, 50, 100)] == pytest.approx([1e-3, 5e-4, 0.0], abs=1e-9)
    warm = learning_rate(TrainConfig(steps=100, warmup=20, schedule="linear", learning_rate=1e-3))
    assert [float(warm(k)) for k in (0, 10, 20, 60, 100)] == pytest.approx([0, 5e-4, 1e-3, 5e-4, 0], abs=1e-9)
    cosine = learning_rate(TrainConfig(steps=100, warmup=10, learning_rate=1e-3))
    assert [float(cosine(k)) for k in (0, 10, 100)] == pytest.approx([0.0, 1e-3, 1e-4], abs=1e-9)
    with pytest.raises(Exception, match="unknown schedule"):
        TrainConfig(schedule="exponential")


def test_a_compile_that_takes_too_long_is_skipped_with_the_reason():
    from predictor.evaluate import evaluate_compiled, evaluation_sets

    task = apply(DEMO, find_task("copy_unique"))
    program = task.load()
    sets = {n: group[:2] for n, group in evaluation_sets(task, program, 2).items()}
    assert "em_by_length" in evaluate_compiled(task, program, sets)  # (imports everything compiling needs)
    slow = evaluate_compiled(task, program, sets, seconds=0.01)
    assert "took more than 0.01 s" in slow["error"]


@pytest.mark.parametrize("task", SUITE, ids=lambda t: t.name)
def test_a_tasks_tokens_hold_every_token_its_inputs_use_once(task):
    """What the analysis is given as the vocabulary: every token a drawn input or its framing uses,
    none twice."""
    from predictor.samplers import SAMPLERS
    from rasp.language.inputs import token_key

    task = apply(CPU, task)
    keys = [token_key(t) for t in task.tokens]
    assert len(keys) == len(set(keys))
    rng = random.Random(0)
    for n in range(1, 12):
        drawn = SAMPLERS[task.sampler](rng, n, list(task.vocab))
        assert {token_key(t) for t in drawn} <= set(keys), drawn
    framing = [t for t in (task.separator, task.end) if t is not None]
    assert {token_key(t) for t in framing} <= set(keys)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["digit-sum", "hinted-sum"]), st.sets(st.sampled_from(list("0123456789")), min_size=1),
       st.sets(st.sampled_from(list("abcdefgh")), min_size=1), st.integers(1, 8), st.integers(0, 2**32))
def test_the_addition_samplers_draw_only_the_vocabularys_digits(name, digits, letters, n, seed):
    """A vocabulary of some digits (and hint letters) gets sums over those digits only, and every
    digit it holds turns up over enough draws; a vocabulary without digits draws nothing."""
    from predictor.samplers import SAMPLERS, Sampler, sampler_limit

    sampler, vocab = Sampler(name), sorted(digits) + sorted(letters) + ["+", "="]
    n = min(n, sampler_limit(sampler, vocab) or n)
    rng = random.Random(seed)
    drawn = [SAMPLERS[sampler](rng, n, vocab) for _ in range(40 * len(digits))]
    used = {t for d in drawn for t in d if t in "0123456789"}
    assert used <= digits and (len(digits) > 3 or used == digits)
    assert all(len(d) == (2 * n + 1 if sampler is Sampler.DIGIT_SUM else 4 * n + 1) for d in drawn)
    assert sampler_limit(sampler, sorted(letters) + ["+"]) == 0


def test_a_sampler_that_draws_nothing_from_the_vocabulary_is_refused():
    from helpers import cli
    from predictor.tasks import check_settings
    from grammar.errors import RaspError

    done = cli("compile", "addition_hints", "--vocab", "ab+=.", "--max-len", "9", "--sampler", "hinted-sum")
    assert done.returncode == 2 and "draws no input of at most 9 tokens" in done.stderr
    with pytest.raises(RaspError, match="draws nothing from this vocabulary"):
        check_settings(replace(apply(CPU, find_task("addition_hints")), vocab=tuple("abc")))
