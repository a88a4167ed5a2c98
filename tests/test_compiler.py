"""The compiler: every library program that compiles agrees with the interpreter at every
length; tracr's own library, compiled by tracr, agrees with ours; saved models round-trip."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_program
from compiler import model as saved
from compiler.runner import Runner
from compiler.verify import NUMERICAL_TOLERANCE
from grammar.errors import RaspError
from rasp.language.program import from_text, load_program

# library program -> (vocabulary, maximum length) small enough to compile in seconds
COMPILABLE = {
    "length": (list("ab"), 6),
    "reverse": (list("abc"), 6),
    "hist": (list("abc"), 6),
    "sort": (list("abc"), 6),
    "sort_unique": ([1, 2, 3, 4, 5], 5),
    "sort_by_frequency": (list("ab"), 5),
    "most_frequent": (list("ab"), 5),
    "dyck1": (list("()"), 6),
    "dyck2": (list("(){}"), 4),
    "frac_prevs": (list("xa"), 6),
    "shift_by": (list("abc"), 6),
    "count": ([0, 1, 2, 3], 6),
    "copy": (list("abcd|"), 5),
    "copy_repeated": (list("ab|"), 5),
    "majority": (list("01"), 6),
    "parity": (list("01"), 6),
    "parity_scratchpad": (list("01=."), 6),
    "addition_hints": (list("01a+=."), 6),
    "mode": (list("abc"), 6),
    "sort_ar": ([0, 1, 2, 3, 4, 5], 6),
}

_compiled: dict[str, object] = {}


def compiled(name: str):
    if name not in _compiled:
        vocab, max_len = COMPILABLE[name]
        _compiled[name] = compile_program(load_program(name), vocab, max_len, samples=64)
    return _compiled[name]


@st.composite
def inputs_for(draw, name: str):
    vocab, max_len = COMPILABLE[name]
    program = load_program(name)
    distinct = program.tree.distinct
    batch = []
    for n in range(1, (min(max_len, len(vocab)) if distinct else max_len) + 1):
        if distinct:
            batch.append(draw(st.permutations(vocab))[:n])
        else:
            batch.append(draw(st.lists(st.sampled_from(vocab), min_size=n, max_size=n)))
    return batch


@pytest.mark.parametrize("name", sorted(COMPILABLE))
def test_compiled_equals_interpreted_at_every_length(name):
    result = compiled(name)
    program = load_program(name)
    runner = Runner(result.model)

    @settings(max_examples=15, deadline=None)
    @given(inputs_for(name))
    def check(batch):
        try:
            expected = program.run(batch)
        except RaspError:
            return  # outside the program's domain (the interpreter rejects it)
        got = runner.run(batch)
        for tokens, want, have in zip(batch, expected, got):
            assert have == pytest.approx(want, abs=NUMERICAL_TOLERANCE), f"{name} on {tokens}"

    check()


def test_every_library_program_is_compiled_or_refused_with_a_reason():
    from rasp.language import library

    for name in library.names():
        if name in COMPILABLE:
            continue
        try:
            result = compile_program(load_program(name), list("abc"), 4)
        except CompileError as e:
            assert e.span is not None, f"{name}: {e.message}"
        else:
            assert result.verification.inputs > 0


def test_composite_selector_sort_with_ties_is_one_head_per_layer():
    model = compiled("sort").model
    assert model.meta.layout.num_heads == 1
    assert Runner(model).run([list("cabba")]) == [list("aabbc")]


def test_causal_compile_agrees_with_causal_interpretation():
    program = load_program("hist")
    result = compile_program(program, list("ab"), 6, causal=True, samples=64)
    batch = [list("abab"), list("bbba"), list("a")]
    assert Runner(result.model).run(batch) == program.run(batch, causal=True) == [[1, 1, 2, 2], [1, 2, 3, 1], [1]]


def test_categorical_aggregate_selecting_several_keys_fails_the_compile():
    program = from_text("x = aggregate(select(tokens, tokens, ==), indices);", path="multi.rasp")
    with pytest.raises(CompileError) as info:
        compile_program(program, list("ab"), 4)
    assert "selects 2 positions" in info.value.message
    assert (info.value.span.line, info.value.span.col) == (1, 5)


def test_verification_names_the_input_position_and_values(monkeypatch):
    from compiler import verify

    program = load_program("reverse")
    result = compile_program(program, list("ab"), 4, verify=False)
    original = Runner.run
    monkeypatch.setattr(Runner, "run", lambda self, xs, progress=None: [["a"] * len(x) for x in original(self, xs)])
    with pytest.raises(CompileError) as info:
        verify.verify(program, result.model, [], samples=16)
    assert "verification failed: on input" in info.value.message and "position" in info.value.message


@pytest.mark.parametrize("text, words", [
    ("x = numerical(aggregate_max(select(indices, indices, <=), tokens_int, 0));", "compiles as categorical"),
    ("x = numerical(aggregate(select(1, 1, ==), tokens_int));", "can only average the numbers 0 and 1"),
    ("x = numerical(aggregate(select(1, 1, ==), indicator(tokens == \"a\"), 1));", "default must be 0"),
])
def test_what_cannot_compile_says_why_at_the_source(text, words):
    with pytest.raises(CompileError) as info:
        compile_program(from_text(text, path="p.rasp"), list("ab"), 4)
    assert words in info.value.message and info.value.span.line == 1


@pytest.fixture
def never_build(monkeypatch):
    from compiler import assemble

    def never(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(assemble, "assemble", never)


def test_selectors_too_large_to_tabulate_are_refused_at_once(never_build):
    vocab = [f"t{i}" for i in range(64)]
    with pytest.raises(CompileError) as info:
        compile_program(load_program("sort"), vocab, 1024)
    assert "shrink the vocabulary (now 64) or the maximum length (now 1024)" in info.value.message
    assert info.value.span.line == 4  # the composite selector of sort.rasp


def test_models_too_large_for_memory_are_refused_by_the_estimate(never_build, monkeypatch):
    from compiler import estimate

    monkeypatch.setattr(estimate, "memory_budget", lambda: 10_000)
    with pytest.raises(CompileError) as info:
        compile_program(load_program("sort"), list("abc"), 8)
    assert "parameters" in info.value.message and "Shrink the vocabulary (now 3)" in info.value.message


def test_a_selector_whose_scores_would_not_fit_in_memory_is_refused_when_lowered(never_build, monkeypatch):
    from compiler import selectors

    monkeypatch.setattr(selectors, "memory_budget", lambda: 10_000)
    with pytest.raises(CompileError) as info:
        compile_program(load_program("sort"), list("abc"), 8)
    assert "GiB to build its scores" in info.value.message and info.value.span.line == 4


def test_save_then_load_gives_bit_identical_outputs(tmp_path):
    model = compiled("dyck1").model
    path = tmp_path / "dyck1.npz"
    saved.save(model, path)
    loaded = saved.load(path)
    batch = [list("(()"), list("())()("), list(")")]
    assert np.array_equal(Runner(model).raw(batch), Runner(loaded).raw(batch))
    assert loaded.meta == model.meta


def test_damaged_and_foreign_files_are_rejected(tmp_path):
    model = compiled("hist").model
    good = tmp_path / "good.npz"
    saved.save(model, good)
    data = good.read_bytes()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    noise = tmp_path / "noise.npz"
    noise.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(2000)))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, metadata=np.array([{"format": "x"}], dtype=object))
    corrupted = tmp_path / "corrupted.npz"
    arrays = dict(model.arrays)
    arrays["unembed"] = arrays["unembed"].copy()
    arrays["unembed"][0, 0] += 1.0
    saved.save(saved.CompiledModel(arrays, model.meta), corrupted)
    # swap in the original checksum: the weights no longer match it
    import zipfile
    with zipfile.ZipFile(good) as z:
        good_meta = z.read("metadata.npy")
    with zipfile.ZipFile(corrupted) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["metadata.npy"] = good_meta
    with zipfile.ZipFile(corrupted, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)

    for path, words in [(truncated, "not a readable compiled model"), (foreign, "not a compiled model"),
                        (noise, "not a readable compiled model"), (pickled, "not a readable compiled model"),
                        (corrupted, "checksum"), (tmp_path / "missing.npz", "no such file")]:
        with pytest.raises(RaspError) as info:
            saved.load(path)
        assert words in info.value.message, (path.name, info.value.message)


def test_runner_rejects_unknown_tokens_and_long_inputs():
    runner = Runner(compiled("hist").model)
    with pytest.raises(RaspError, match="token 'z' at position 1 is not in the model's vocabulary"):
        runner.run([list("azb")])
    with pytest.raises(RaspError, match="input 2 has 9 tokens"):
        runner.run([list("a"), list("a" * 9)])


def test_mixed_lengths_in_one_batch_equal_one_at_a_time():
    runner = Runner(compiled("sort").model)
    batch = [list("cba"), list("b"), list("acbcab"), list("ca")]
    assert runner.run(batch) == [runner.run([x])[0] for x in batch]


# ---- tracr's own library, compiled by tracr, against ours -------------------------------------


def _tracr_cases():
    from tracr.compiler import lib
    from tracr.rasp import rasp as tr

    return [
        ("sort", lambda n: lib.make_sort(tr.tokens, tr.tokens, max_seq_len=n, min_key=1), [1, 2, 3], 5),
        ("hist", lambda n: lib.make_hist(), list("abc"), 5),
        ("reverse", lambda n: lib.make_reverse(tr.tokens), list("abc"), 5),
        ("frac_prevs", lambda n: lib.make_frac_prevs(tr.tokens == "x"), list("xab"), 5),
    ]


@pytest.mark.parametrize("case", range(4))
def test_tracr_library_compiled_by_tracr_agrees_with_ours(case):
    from tracr.compiler import compiling

    name, make, vocab, max_len = _tracr_cases()[case]
    theirs = compiling.compile_rasp_to_model(make(max_len), vocab=set(vocab), max_seq_len=max_len,
                                             compiler_bos="BOS")
    ours = Runner(compile_program(load_program(name), vocab, max_len, samples=32).model)
    rng = random.Random(case)
    batch = [[rng.choice(vocab) for _ in range(rng.randint(1, max_len))] for _ in range(40)]
    for tokens, got in zip(batch, ours.run(batch)):
        expected = theirs.apply(["BOS", *tokens]).decoded[1:]
        assert got == pytest.approx(expected, abs=NUMERICAL_TOLERANCE), tokens


def test_value_sets_mixing_types_compile():
    # the default 0 of tokens[0] never meets a string in practice; its table leaves it out
    program = from_text("x = tokens[0] + tokens[-1];", path="ends.rasp")
    result = compile_program(program, list("ab"), 4, samples=32)
    assert Runner(result.model).run([list("abb"), list("b")]) == [["ab"] * 3, ["bb"]]


# ---- programs thousands of operations deep ----------------------------------------------------

DEEP = """
same = select(tokens, tokens, ==);
before = select(indices, indices, <=);
s = same;
for i in range(1000) { s = s or same; s = s and before; }
y = selector_width(s);
"""

DEEP_SCRIPT = """
import json, sys
limit = sys.getrecursionlimit()
assert limit < 2000, limit  # else this test would prove nothing
from compiler import compile_program
from compiler.runner import Runner
from rasp.language.program import from_text
program = from_text(sys.argv[1], path="deep.rasp")
result = compile_program(program, list("ab"), 5, samples=32)
batch = [list("abab"), list("bba")]
print(json.dumps({"compiled": Runner(result.model).run(batch), "interpreted": program.run(batch),
                  "layers": result.model.num_layers, "limit_after": sys.getrecursionlimit() == limit}))
"""


def test_a_program_thousands_of_operations_deep_compiles_as_a_library_call():
    """2,000 unrolled steps (each a selector combination the lowering folds into one head), in a
    fresh interpreter: this suite's conftest raises the recursion limit, a library caller does not."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", DEEP_SCRIPT, DEEP], capture_output=True, text=True,
                          cwd=root, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["compiled"] == result["interpreted"] == [[1, 1, 2, 2], [1, 2, 1]]
    assert result["layers"] <= 2 and result["limit_after"]  # a pairing MLP, then one head


EXTREMES = """running_max = aggregate_max(select(indices, indices, <=), tokens_int, -1);
running_min = aggregate_min(select(indices, indices, <=), tokens_int, 99);
others_max = aggregate_max(select(indices, indices, !=), tokens_int, -1);
bigger_min = aggregate_min(select(tokens_int, tokens_int, >), tokens_int, 0);
"""


@pytest.mark.parametrize("output", ["running_max", "running_min", "others_max", "bigger_min"])
@pytest.mark.parametrize("causal", [False, True])
def test_max_and_min_heads_are_exact_on_every_input(output, causal):
    """Each selected key scores a little more for a larger (max) or smaller (min) value; the
    compile is checked on every input (5 tokens up to length 6: 19,530)."""
    program = from_text(EXTREMES, path="extremes.rasp", output=output)
    result = compile_program(program, [3, 1, 4, 7, 5], 6, causal=causal)
    assert result.verification.exhaustive and result.verification.inputs == sum(5 ** n for n in range(1, 7))


def test_max_over_many_values_at_length_forty_picks_the_largest():
    program = from_text("m = aggregate_max(select(indices, indices, <=), tokens_int, 0);", path="many.rasp")
    vocab = list(range(60))
    result = compile_program(program, vocab, 40, samples=200)
    rng = random.Random(3)
    batch = [[rng.choice(vocab) for _ in range(rng.randint(30, 40))] for _ in range(60)]
    assert Runner(result.model).run(batch) == program.run(batch)
    words = from_text("w = aggregate_min(select(tokens, tokens, !=), tokens, \"~\");", path="w.rasp")
    letters = [f"w{k:02d}" for k in range(40)]
    compiled = compile_program(words, letters, 24, samples=100)
    batch = [[rng.choice(letters) for _ in range(rng.randint(1, 24))] for _ in range(60)]
    assert Runner(compiled.model).run(batch) == words.run(batch)


def test_verification_reports_progress_while_the_model_runs(monkeypatch):
    """A long verification says how far the model has got (here: every time it can, the clock's
    interval set to zero), and the counts rise to the number of inputs checked."""
    from compiler import ticks

    monkeypatch.setattr(ticks, "TICK_SECONDS", 0.0)
    heard: list[str] = []
    result = compile_program(load_program("hist"), list("abcdef"), 12, progress=heard.append)
    counts = [int(t.split("run ")[1].split(" of")[0].replace(",", "")) for t in heard if "the model has run" in t]
    assert len(counts) > 1 and counts == sorted(counts)
    assert counts[-1] == result.verification.inputs
