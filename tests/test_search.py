"""The minimality and diversity searches (predictor.search): phrasings of one task meet at one
witness, witnesses and shortcuts are RASP that reads back and runs, shortcuts really fit the
training lengths and really differ past them, and the limits are honoured."""

from __future__ import annotations

import random
import time

import pytest

from predictor import enumerate as enumeration
from predictor import search
from predictor.search_inputs import TaskInputs, inputs_at
from rasp.language.inputs import same_value
from rasp.language.program import from_text, load_program

AB = ["a", "b"]

# Pairs of programs that compute one function over their vocabulary, phrased differently:
# (name, first, second, vocab, max_len, max_size, whether the second has a shorter equivalent).
PAIRS = [
    ("negated comparison", 'x = tokens == "a";', 'x = not (tokens != "a");', AB, 6, 2, True),
    ("count by width or by mean", 'n = selector_width(select(tokens, "a", ==));',
     'n = aggregate(select(1, 1, ==), indicator(tokens == "a")) * length;', AB, 6, 4, True),
    ("redundant + 0 and * 1", "x = indices < 3;", "x = (indices + 0) * 1 < 3;", AB, 6, 3, True),
    ("dead s-op", "x = indices < 3;",
     "dead = selector_width(select(tokens, tokens, ==)); x = indices < 3;", AB, 6, 3, False),
    ("function inlined", 'f = aggregate(select(1, 1, ==), indicator(tokens == "a"));',
     'def frac(t) { return aggregate(select(1, 1, ==), indicator(tokens == t)); } f = frac("a");', AB, 6, 3,
     False),
    ("majority: mean of ones or of zeros", None,
     "zeros = aggregate(select(1, 1, ==), indicator(tokens_int == 0)); m = indicator(zeros < 0.5);",
     [0, 1], 5, 4, True),
]


def program(text: str | None):
    return load_program("majority") if text is None else from_text(text)


def outputs(prog, vocab: list, max_len: int) -> list:
    inputs = inputs_at(vocab, range(1, max_len + 1), prog.tree.distinct, random.Random(5))
    return prog.run(inputs)


def same_outputs(a: list, b: list) -> bool:
    return len(a) == len(b) and all(len(x) == len(y) and all(map(same_value, x, y)) for x, y in zip(a, b))


@pytest.mark.parametrize("name,first,second,vocab,max_len,max_size,shrinks", PAIRS, ids=[p[0] for p in PAIRS])
def test_phrasings_of_one_task_meet_at_one_witness(name, first, second, vocab, max_len, max_size, shrinks):
    found = [search.minimal(program(text), vocab, max_len=max_len, max_size=max_size, time_limit=20)
             for text in (first, second)]
    for text, result in zip((first, second), found):
        assert result.complete and result.witness is not None, result
        assert result.witness_size <= result.size
        witness = from_text(result.witness)  # the printed witness reads back and runs...
        assert search.program_size(witness.output) == result.witness_size
        # ...and computes the program's function (on every short input, then on a sample of other seed)
        assert same_outputs(outputs(witness, vocab, max_len), outputs(program(text), vocab, max_len))
    assert found[0].witness_size == found[1].witness_size
    assert (found[1].witness_size < found[1].size) == shrinks
    witnesses = [from_text(r.witness) for r in found]
    assert same_outputs(*(outputs(w, vocab, max_len) for w in witnesses))


def test_program_size_counts_operations_once_and_skips_dead_code():
    assert search.program_size(load_program("majority").output) == 6
    shared = from_text("s = select(indices, indices, <=); x = selector_width(s) + aggregate(s, indices);")
    assert search.program_size(shared.output) == 4  # the select is used twice, counted once
    dead = from_text("d = selector_width(select(tokens, tokens, ==)); x = indices < 3;")
    assert search.program_size(dead.output) == 1


@pytest.mark.parametrize("name", ["mode", "dyck1", "sort", "copy", "majority", "frac_prevs"])
def test_printed_programs_read_back_and_compute_the_same(name):
    """Causal and distinct-token programs keep their pragmas; shared sub-terms appear once."""
    prog = load_program(name)
    text = search.render(prog.output, prog.causal, prog.tree.distinct)
    again = from_text(text)
    assert (again.causal, again.tree.distinct) == (prog.causal, prog.tree.distinct)
    assert search.program_size(again.output) == search.program_size(prog.output)
    assert text.count(" = ") == search.program_size(prog.output)
    vocab = prog.sample_vocab()[:4]
    assert same_outputs(outputs(again, vocab, 6), outputs(prog, vocab, 6))


def test_distinct_token_programs_are_searched_on_distinct_token_inputs():
    """Every token occurs once in such inputs, so "occurs once" is true everywhere: one operation."""
    prog = from_text("# rasp: distinct\nx = selector_width(select(tokens, tokens, ==)) == 1;")
    result = search.minimal(prog, list("abcd"), max_len=4, max_size=2, time_limit=20)
    assert (result.size, result.witness_size, result.complete) == (3, 1, True)
    witness = from_text(result.witness)
    assert witness.tree.distinct and witness.run([list("dcab")]) == [[True] * 4]


def test_a_shortcut_at_short_training_lengths_is_found_with_the_shortest_input():
    """More than two "a"s never happens in inputs of length 1-2: a constant fits them."""
    prog = from_text('x = selector_width(select(tokens, "a", ==)) > 2;')
    result = search.diversity(prog, AB, (1, 2), 6, max_size=3, time_limit=20)
    assert result.ambiguous and result.complete
    shortcut = from_text(result.shortcut)
    assert result.differs_on == ["a", "a", "a"]  # the shortest input that tells them apart
    assert not same_outputs(shortcut.run([result.differs_on]), prog.run([result.differs_on]))
    short = inputs_at(AB, range(1, 3), False, random.Random(1))
    assert same_outputs(shortcut.run(short), prog.run(short))


def test_a_causal_shortcut_differs_on_the_prefix_up_to_the_first_difference():
    prog = from_text("# rasp: causal\nx = selector_width(select(indices, indices, <=)) < 4;")
    result = search.diversity(prog, AB, (1, 3), 8, max_size=3, time_limit=20)
    assert result.ambiguous
    assert len(result.differs_on) == 4  # position 3 is the first where "fewer than 4 so far" fails
    shortcut = from_text(result.shortcut)
    assert shortcut.causal
    assert shortcut.run([result.differs_on])[0][-1] != prog.run([result.differs_on])[0][-1]


def test_a_position_threshold_is_ambiguous_below_it():
    result = search.diversity(from_text("x = indices < 5;"), AB, (1, 5), 10, max_size=2, time_limit=20)
    assert result.ambiguous and len(result.differs_on) == 6


def test_a_token_test_has_no_shortcut():
    result = search.diversity(from_text('x = tokens == "a";'), AB, (1, 4), 8, max_size=3, time_limit=20)
    assert (result.ambiguous, result.shortcut, result.differs_on) == (False, None, None)
    assert result.complete and result.searched_up_to == 1  # no larger than the program itself


def test_results_are_the_same_on_every_run():
    prog = from_text('n = aggregate(select(1, 1, ==), indicator(tokens == "a")) * length;')
    runs = [search.minimal(prog, AB, max_len=6, max_size=4, time_limit=20).as_dict() for _ in range(2)]
    for run in runs:
        run.pop("seconds")
    assert runs[0] == runs[1]
    prog = from_text('x = selector_width(select(tokens, "a", ==)) > 2;')
    runs = [search.diversity(prog, AB, (1, 2), 6, max_size=3, time_limit=20).as_dict() for _ in range(2)]
    for run in runs:
        run.pop("seconds")
    assert runs[0] == runs[1]


def test_the_time_limit_is_honoured():
    started = time.monotonic()
    result = search.minimal(load_program("majority"), [0, 1], max_size=6, time_limit=0.5)
    assert time.monotonic() - started < 5
    assert not result.complete and result.searched_up_to < 6
    assert result.witness is not None  # the program itself, re-printed
    div = search.diversity(load_program("majority"), [0, 1], (1, 8), 16, max_size=6, time_limit=0.5)
    assert not div.complete and div.seconds < 5


def test_the_term_cap_makes_the_search_incomplete(monkeypatch):
    monkeypatch.setattr(enumeration, "MAX_KEPT_PER_SIZE", 5)
    result = search.minimal(load_program("majority"), [0, 1], max_len=6, max_size=4, time_limit=20)
    assert not result.complete


def test_progress_is_reported_at_every_size():
    said: list[str] = []
    prog = from_text('x = aggregate(select(1, 1, ==), indicator(tokens == "a"));')
    result = search.minimal(prog, AB, max_len=6, max_size=3, time_limit=20, progress=said.append)
    assert result.searched_up_to == 3
    for size in range(4):
        assert any(line.startswith(f"search: size {size} done") for line in said), said


# ---- on a task's inputs (search_inputs.TaskInputs) ----------------------------------------------


def small_copy_task():
    """copy_unique over 8 tokens, trained at sizes 1-4, held out at 5-8."""
    from dataclasses import replace

    from predictor.protocols import DEMO, apply
    from predictor.tasks import find_task, inputs_of

    task = replace(apply(DEMO, find_task("copy_unique")), vocab=tuple(str(i) for i in range(8)),
                   train_lengths=(1, 4), heldout_lengths=(5, 8))
    program = task.load()
    return task, program, inputs_of(task, program)


def same_where_read(a, b, drawn) -> bool:
    return all(same_outputs([a.run([t])[0][r:]], [b.run([t])[0][r:]]) for t, r in drawn)


def test_on_the_tasks_inputs_copy_reduces_to_the_induction_head():
    """Over every distinct-token input, copy's 4-operation "equivalent" reads the first token (the
    inputs never look like a prompt); on the task's framed prompts the witness is the token after
    the previous copy of the current one, and it is right on fresh prompts of every size."""
    task, program, domain = small_copy_task()
    on_task = search.minimal(program, list(task.tokens), max_len=8, max_size=4, time_limit=60, domain=domain)
    anywhere = search.minimal(program, list(task.tokens), max_len=8, max_size=4, time_limit=60)
    assert on_task.complete and on_task.witness_size < on_task.size and on_task.domain == domain.name
    assert anywhere.domain is None
    fresh = [drawn for n in range(1, 9) for drawn in domain.draw(random.Random(99), n, 8)]
    assert same_where_read(from_text(on_task.witness), program, fresh)
    assert not same_where_read(from_text(anywhere.witness), program, fresh)


@pytest.mark.parametrize("train,ambiguous", [((1, 1), True), ((1, 4), False)])
def test_a_shortcut_on_the_tasks_inputs_fits_the_training_sizes_and_fails_beyond(train, ambiguous):
    task, program, domain = small_copy_task()
    found = search.diversity(program, list(task.tokens), train, 8, max_size=4, time_limit=60, domain=domain)
    assert found.ambiguous is ambiguous and found.complete and found.domain == domain.name
    if not ambiguous:
        assert found.searched_up_to == 4 and found.shortcut is None
        return
    shortcut = from_text(found.shortcut)
    fresh = [drawn for n in range(train[0], train[1] + 1) for drawn in domain.draw(random.Random(7), n, 16)]
    assert same_where_read(shortcut, program, fresh)
    where = found.differs_on  # a prompt longer than the training sizes, up to the first difference
    assert "|" in where and where.index("|") > train[1]
    assert not same_value(shortcut.run([where])[0][-1], program.run([where])[0][-1])


def test_positions_the_task_does_not_read_are_not_compared():
    """With only the last position read, `indices + 1` is `length` (no operation)."""
    last = TaskInputs("last position", lambda rng, n, count: [
        ([rng.choice(AB) for _ in range(n)], n - 1) for _ in range(count)])
    prog = from_text("x = indices + 1;")
    assert search.minimal(prog, AB, max_len=6, max_size=1, time_limit=20, domain=last).witness_size == 0
    assert search.minimal(prog, AB, max_len=6, max_size=1, time_limit=20).witness_size == 1
