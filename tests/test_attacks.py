"""The attack suite: hundreds of generated hostile cases (random programs made of the language's
own words and of random bytes, random input lines, damaged and edited model files), each ending
well: a result, or one RaspError with a message; never another exception, never a hang."""

from __future__ import annotations

import json
import random
import signal
from contextlib import contextmanager

import numpy as np
import pytest

from compiler import compile_program
from compiler import model as saved
from grammar.errors import RaspError
from rasp.language.inputs import parse_input
from rasp.language.program import from_text, load_program

SECONDS = 10  # no case may take longer

WORDS = ["x", "y", "=", ";", "tokens", "indices", "length", "select", "aggregate", "selector_width", "(", ")",
         ",", "==", "<", "+", "-", "*", "/", "^", "%", "1", "0", "-1", "9223372036854775807", "2.5", '"a"',
         "[", "]", "{", "}", "def", "return", "for", "in", "if", "else", "and", "or", "not", "load", "True",
         "numerical", "categorical", "round", "abs", "indicator", "tokens_int", "tokens_float", ":", "range",
         "aggregate_max", "map", "\n", "#", "\u2028", "\x00", "\xff"]


@contextmanager
def limited(what: str):
    def up(signum, frame):
        raise AssertionError(f"{what} ran past {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, up)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def ends_well(action, what: str):
    with limited(what):
        try:
            return action()
        except RaspError as e:
            assert e.message and "internal error" not in e.message, what
            e.format()  # the message can be shown
            return None


def program_text(rng: random.Random, case: int) -> str:
    if case % 4 == 0:  # raw bytes, decoded as a file would be read
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 80))).decode("utf-8", "replace")
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
    return body + ("" if case % 3 else "\nout = tokens;")


@pytest.mark.parametrize("block", range(5))
def test_random_programs_end_well(block):
    rng = random.Random(block)
    for case in range(60):
        text = program_text(rng, case)

        def run():
            program = from_text(text)
            return program.run([list("ab"), [1, 2, 3], []])

        ends_well(run, repr(text))


def test_deep_and_huge_programs_end_well():
    cases = ["x = " + "(" * 100_000 + "1" + ")" * 100_000 + ";", "x = " + "-" * 100_000 + "1;",
             "x = " + "9" * 100_000 + ";", "x = tokens" + " + tokens" * 20_000 + ";",
             "".join(f"x{i} = x{i - 1} + 1;\n" if i else "x0 = tokens_int;\n" for i in range(5_000)),  # > the recursion limit
             "def f(a) { return f(a); }\nx = f(1);", "x = [1] * 10**9;", 'x = "a" * 10**9;']
    for text in cases:
        ends_well(lambda: from_text(text).run([[1, 2]]), text[:40])


INPUT_PIECES = ["[", "]", ",", "1", "-1", "1e999", "NaN", "Infinity", '"a"', "true", "null", "{}", "[[",
                "9223372036854775808", "\u2028", "\x00", " ", "0.5", '"\\ud800"']


def test_random_input_lines_end_well():
    rng = random.Random(7)
    program = from_text("x = tokens;")
    for _ in range(150):
        text = "".join(rng.choice(INPUT_PIECES) for _ in range(rng.randint(0, 12)))

        def run():
            tokens = parse_input(text)
            return program.run([tokens])

        ends_well(run, repr(text))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "hist.npz"
    saved.save(compile_program(load_program("hist"), list("ab"), 4).model, path)
    return path


def test_damaged_model_files_end_well(model_file, tmp_path):
    """Truncations, random bytes and bit flips: one clean error naming the file, or (a flip in an
    unused byte of the zip: its comment, padding) the whole model."""
    data = model_file.read_bytes()
    whole = saved.load(model_file).arrays.keys()
    rng = random.Random(3)

    def load(target):
        try:
            model = saved.load(target)
        except RaspError as e:
            assert str(target) in e.message, e.message
            raise
        assert model.arrays.keys() == whole
    for case in range(100):
        damaged = bytearray(data)
        if case % 4 == 0:
            damaged = damaged[: rng.randrange(len(damaged))]
        elif case % 4 == 1:
            damaged = bytearray(rng.randrange(256) for _ in range(rng.randint(0, 4096)))
        else:
            for _ in range(rng.randint(1, 16)):
                damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        target = tmp_path / f"m{case}.npz"
        target.write_bytes(bytes(damaged))
        ends_well(lambda: load(target), f"damaged file {case}")


VALUES = [None, -1, 0, 1, 2**40, 2.5, "x", [], [1, 2], {}, True, float("nan")]


def test_randomly_edited_metadata_ends_well(model_file, tmp_path):
    from compiler.runner import Runner

    with np.load(model_file, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "metadata"}
        original = json.loads(archive["metadata"].tobytes().decode())
    rng = random.Random(5)
    for case in range(100):
        meta = json.loads(json.dumps(original))
        node, key = meta, None
        while True:  # walk to a random leaf
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node)) if node else None
            if key is None or not isinstance(node[key], (dict, list)) or not node[key] or rng.random() < 0.3:
                break
            node = node[key]
        if key is None or key in ("sha256", "arrays"):
            continue
        node[key] = rng.choice(VALUES)
        meta["sha256"] = saved._digest(arrays, meta)
        blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        target = tmp_path / f"e{case}.npz"
        with open(target, "wb") as f:
            np.savez_compressed(f, metadata=blob, **arrays)

        def load_and_run():
            model = saved.load(target)
            return Runner(model).run([list("ab"), list("abba")])

        ends_well(load_and_run, f"edit {key!r} = {node[key]!r}")
