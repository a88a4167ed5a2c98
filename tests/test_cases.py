"""The inputs a check runs on: every input when there are few enough, else structured cases that
random sampling misses; a compile is never called correct on fewer inputs than it says."""

from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest
from helpers import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_program
from compiler import verify
from compiler.report import as_dict
from rasp.language import cases
from rasp.language.program import from_text
from rasp.language.values import huge


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 3), st.booleans())
def test_the_space_size_counts_every_input(vocab_size, min_len, extra, distinct):
    vocab = list(range(vocab_size))
    every = list(cases.every_input(vocab, min_len, min_len + extra, distinct))
    assert cases.space_size(vocab_size, min_len, min_len + extra, distinct) == len(every)
    assert len({tuple(t) for t in every}) == len(every)
    assert all(min_len <= len(t) <= min_len + extra for t in every)
    assert not distinct or all(len(set(t)) == len(t) for t in every)


@pytest.mark.parametrize("max_len", [3, 7, 12])
def test_structured_cases_hold_constants_sorted_runs_and_every_token_everywhere(max_len):
    vocab = list("abcd")
    shaped = cases.structured(vocab, 1, max_len, False, random.Random(0))
    as_tuples = {tuple(t) for t in shaped}
    for n in range(1, max_len + 1):
        assert all((token,) * n in as_tuples for token in vocab)
        runs = [t for t in shaped if len(t) == n and list(t) == sorted(t, key=vocab.index)]
        assert runs and any(list(t) == sorted(t, key=vocab.index, reverse=True) for t in shaped if len(t) == n)
    longest = [t for t in shaped if len(t) == max_len]
    assert all(any(t[p] == token for t in longest) for p in range(max_len) for token in vocab)


def test_structured_cases_of_distinct_tokens_stay_distinct_and_are_bounded():
    vocab = list(range(90))
    shaped = cases.structured(vocab, 1, 60, True, random.Random(1))
    assert all(len(set(t)) == len(t) for t in shaped)
    assert len(shaped) == cases.structured_count(90, 1, 60, True) <= cases.STRUCTURED_LIMIT


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 3), st.integers(0, 8), st.booleans())
def test_the_count_of_structured_cases_is_how_many_there_are(vocab_size, min_len, extra, distinct):
    shaped = cases.structured(list(range(vocab_size)), min_len, min_len + extra, distinct, random.Random(0))
    assert len(shaped) == cases.structured_count(vocab_size, min_len, min_len + extra, distinct)


def test_sort_with_ties_at_128_over_32_gets_every_structured_case():
    """The largest size the compiler's benchmarks check: every constant sequence is among them."""
    shaped = cases.structured(list(range(32)), 1, 128, False, random.Random(0))
    assert len(shaped) == cases.structured_count(32, 1, 128, False) == 32 + 2 * 128 + 32 * 128
    assert {tuple(t) for t in shaped} >= {(token,) * n for token in range(32) for n in range(1, 129)}


def test_over_the_limit_every_token_everywhere_comes_first_and_the_rest_are_sampled(monkeypatch):
    monkeypatch.setattr(cases, "STRUCTURED_LIMIT", 40)
    vocab, max_len = list("abcd"), 12  # 4 + 24 + 48 cases
    shaped = cases.structured(vocab, 1, max_len, False, random.Random(0))
    assert len(shaped) == 40 < cases.structured_count(4, 1, max_len, False) == 76
    longest = shaped[:4]
    assert all(len(t) == max_len for t in longest)
    assert all(any(t[p] == token for t in longest) for p in range(max_len) for token in vocab)
    rest = shaped[4:]  # a sample of the sorted runs and the constant sequences (sorted both ways)
    assert all(t in (sorted(t, key=vocab.index), sorted(t, key=vocab.index, reverse=True)) for t in rest)
    assert any(len(set(t)) > 1 for t in rest) and sum(len(set(t)) == 1 for t in rest) < 48
    assert cases.structured(vocab, 1, max_len, False, random.Random(0)) == shaped  # seeded


def test_a_sampled_set_of_structured_cases_is_reported_as_a_sample(monkeypatch):
    monkeypatch.setattr(cases, "STRUCTURED_LIMIT", 10)
    program = from_text('x = tokens == "a";', path="a.rasp")
    check = compile_program(program, list("abc"), 12, samples=12).verification  # 797,160 inputs: not exhaustive
    assert (check.structured, check.structured_of) == (10, 3 + 2 * 12 + 3 * 12)
    assert "a seeded sample of 10 of the 63 structured cases" in check.describe()
    monkeypatch.undo()
    whole = compile_program(program, list("abc"), 11, samples=12).verification  # 265,719 inputs
    assert (whole.structured, whole.structured_of) == (58, 58)
    assert "(58 structured cases, the rest random)" in whole.describe()


TWO_KEYS = """flag = 1 if (selector_width(select(tokens, tokens, !=)) == 0 and length >= 5) else 0;
two = select(indices, indices, ==) or (select(indices, 0, ==) and select(1, flag, ==));
out = aggregate(two, indices, 0);
"""


def test_a_categorical_aggregate_that_blends_only_on_constant_long_inputs_is_caught():
    """Random inputs over abc of lengths up to 11 almost never hold one token 5 times or more;
    the structured constant sequences do, and the blend is refused."""
    program = from_text(TWO_KEYS, path="two.rasp")
    with pytest.raises(CompileError, match="selects 2 positions on input \\['a', 'a', 'a', 'a', 'a'\\]"):
        compile_program(program, list("abc"), 11, samples=64)


def test_small_spaces_are_checked_exhaustively():
    program = from_text(TWO_KEYS, path="two.rasp")
    result = compile_program(program, list("abc"), 4, samples=8)  # 120 inputs; length 5 is never reached
    check = result.verification
    assert check.exhaustive and check.inputs == 3 + 9 + 27 + 81 == check.space
    assert check.describe().startswith("exhaustive: equal to the interpreter on every input of lengths 1 to 4")


rasp = cli


DIGITS_PLUS = "0123456789+"
SUMS = """# rasp: domain=digit-sum
plus_at = aggregate(select(tokens, "+", ==), indices, -1);
second = indices > plus_at;
"""


def test_a_program_meant_for_sums_is_checked_on_sums(tmp_path):
    """This program reads `a+b`: on every input (`++` among them) its aggregate selects two
    positions, so it cannot compile; its `# rasp: domain=digit-sum` (or --sampler) restricts the
    check to sums, where the model is exact."""
    import json

    from compiler.runner import Runner
    from compiler.verify import Domain
    from predictor.samplers import Sampler, draw_up_to

    program = from_text(SUMS, path="sums.rasp")
    with pytest.raises(CompileError, match="selects 2 positions"):
        compile_program(program, list(DIGITS_PLUS), 5)
    source = tmp_path / "sums.rasp"
    source.write_text(SUMS)
    done = rasp("compile", str(source), "--vocab", DIGITS_PLUS, "--max-len", "7", "--json")
    assert done.returncode == 0, done.stderr
    check = json.loads(done.stdout)["verification"]
    assert check["domain"] == "the digit-sum sampler" and not check["exhaustive"] and check["inputs"] >= 256
    source.write_text(SUMS.replace("# rasp: domain=digit-sum\n", ""))
    done = rasp("compile", str(source), "--vocab", DIGITS_PLUS, "--max-len", "7", "--sampler", "digit-sum")
    assert done.returncode == 0 and "checked on" in done.stdout and "digit-sum sampler" in done.stdout
    sums = draw_up_to(Sampler.DIGIT_SUM, list(DIGITS_PLUS), 9, 200, random.Random(7))
    result = compile_program(program, list(DIGITS_PLUS), 9, domain=Domain("sums", sums))
    assert {len(t) for t in sums} == {3, 5, 7, 9}
    assert Runner(result.model).run(sums) == program.run(sums)


def test_an_inputs_file_is_the_domain(tmp_path):
    import json

    source = tmp_path / "sums.rasp"
    source.write_text(SUMS)
    listed = tmp_path / "sums.txt"
    listed.write_text("12+34\n\n99+01\n")
    done = rasp("compile", str(source), "--vocab", DIGITS_PLUS, "--max-len", "5", "--inputs", str(listed), "--json")
    assert done.returncode == 0, done.stderr
    check = json.loads(done.stdout)["verification"]
    assert (check["inputs"], check["domain"]) == (2, str(listed))
    listed.write_text("1234+5678\n")
    done = rasp("compile", str(source), "--vocab", DIGITS_PLUS, "--max-len", "5", "--inputs", str(listed))
    assert done.returncode == 2 and "length 9" in done.stderr and "maximum length is 5" in done.stderr


def test_an_unknown_domain_is_an_error_at_its_name(tmp_path):
    source = tmp_path / "p.rasp"
    source.write_text("# rasp: domain=sums\nx = tokens;\n")
    done = rasp("compile", str(source), "--vocab", "ab", "--max-len", "3")
    assert done.returncode == 2
    assert "p.rasp:1:16: error: unknown input domain 'sums'" in done.stderr and "digit-sum" in done.stderr
    assert "^" in done.stderr and "Traceback" not in done.stderr


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([1, 1.0, True, "a", "b", 7]), min_size=1, max_size=5, unique_by=lambda t: (type(t), t)),
       st.integers(0, 6), st.integers(0, 4), st.integers(0, 2**32))
def test_drawn_inputs_hold_the_vocabularys_own_tokens(vocab, n, count, seed):
    drawn = cases.draw(vocab, n, count, random.Random(seed))
    assert len(drawn) == count and all(len(t) == n for t in drawn)
    kinds = {(type(t), t) for t in vocab}
    assert all((type(t), t) in kinds for tokens in drawn for t in tokens)  # True never comes back as 1
    assert drawn == cases.draw(vocab, n, count, random.Random(seed))


@settings(max_examples=100, deadline=None)
@given(st.integers(100, 999), st.integers(16, 6000))
def test_huge_counts_read_as_their_first_digits_and_power_of_ten(lead, power):
    count = lead * 10**power + (10**power - 1)  # the digits after the first three do not round
    assert huge(count) == f"about {lead // 100}.{lead % 100:02d} x 10^{power + 2}"


@given(st.integers(0, 10**18 - 1))
def test_counts_under_a_quintillion_read_exactly(count):
    assert huge(count) == f"{count:,}"


def test_an_input_space_of_thousands_of_digits_is_reported_not_an_internal_error():
    """300 tokens up to length 2,048: 10^5073 inputs, past the 4,300 digits Python turns into text."""
    result = compile_program(from_text('x = tokens == "a";', path="a.rasp"), list("abc"), 4, samples=8)
    check = dataclasses.replace(result.verification, exhaustive=False, space=300**2048)
    report = as_dict(dataclasses.replace(result, verification=check))
    assert "there are about 1.39 x 10^5073 inputs" in json.loads(json.dumps(report))["verification"]["summary"]
    assert report["verification"]["space"] == "about 1.39 x 10^5073"


def test_a_check_too_large_for_the_memory_is_refused_before_drawing(monkeypatch):
    """1,000,000 random inputs up to length 256 (3,907 at each length: 128,524,672 positions, and
    at most 1,283 structured cases of 256): refused at once, saying what it would need."""
    monkeypatch.setattr(verify, "usable_memory", lambda: 2**30)
    program = from_text('x = tokens == "a";', path="a.rasp")
    with pytest.raises(CompileError, match=r"1,000,000 random inputs of lengths 1 to 256") as info:
        compile_program(program, list("abc"), 256, samples=1_000_000)
    positions = int(re.search(r"\(([\d,]+) positions", info.value.message).group(1).replace(",", ""))
    assert 128_524_672 < positions <= 128_524_672 + 1_283 * 256
    assert "about 1.0 GiB can be spent here" in info.value.message
    assert compile_program(program, list("abc"), 256, samples=256).verification.inputs > 256  # within it
