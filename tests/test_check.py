"""`rasp.faces.testing`, `rasp check` and the pytest plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings

from rasp.faces.testing import Disagreement, assert_agrees, find_counterexample, inputs
from rasp.language.program import from_text

pytest_plugins = ["pytester"]

# Right below length 7, wrong from 7 on: the kind of bug a test at one lucky length misses.
PLANTED = """
flip = aggregate(select(indices, length - 1 - indices, ==), tokens);
reverse = flip if length < 7 else tokens;
"""


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasp.faces.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@settings(max_examples=50)
@given(inputs("abc", min_len=2, max_len=9))
def test_inputs_stay_in_their_lengths_and_vocabulary(tokens):
    assert 2 <= len(tokens) <= 9 and set(tokens) <= set("abc")


@settings(max_examples=50)
@given(inputs([1, 2, 3, 4, 5], min_len=1, max_len=8, unique=True))
def test_unique_inputs_repeat_no_token(tokens):
    assert 1 <= len(tokens) <= 5 and len(set(tokens)) == len(tokens)


def test_assert_agrees_passes_on_a_right_program_interpreted_and_compiled():
    assert_agrees("reverse", lambda x: x[::-1], "abc", 1, 8, examples=50, compiled=True)


def test_the_planted_bug_is_found_and_shrunk_to_length_seven():
    program = from_text(PLANTED, path="planted.rasp")
    with pytest.raises(Disagreement) as caught:
        assert_agrees(program, lambda x: x[::-1], "ab", 1, 12)
    found = caught.value.counterexample
    assert len(found.input) == 7
    assert found.actual_output != found.expected_output
    assert found.expected_output == found.input[::-1]
    assert found.expected == found.expected_output[found.position] != found.actual


def test_a_compiled_model_is_checked_too(monkeypatch):
    """A reference the interpreter matches but which is wrong for one token: the compiled model
    gets the same counterexample as the interpreter, since both compute the program."""
    found, tried = find_counterexample("sort", lambda x: sorted(x, reverse="c" in x), "abc", 1, 5,
                                       examples=60, compiled=True)
    assert found is not None and "c" in found.input and tried >= 1


@pytest.fixture()
def planted(tmp_path):
    (tmp_path / "planted.rasp").write_text(PLANTED)
    (tmp_path / "refs.py").write_text("import sys, time\n"
                                      "def reverse(tokens):\n    return tokens[::-1]\n"
                                      "def broken(tokens):\n    raise ValueError('oops')\n"
                                      "def none(tokens):\n    return None\n"
                                      "def text(tokens):\n    return ''.join(tokens)\n"
                                      "def lazy(tokens):\n    return (t for t in tokens[::-1])\n"
                                      "def short(tokens):\n    return tokens[::-1][1:]\n"
                                      "def leaves(tokens):\n    sys.exit(0)\n"
                                      "def sleeps(tokens):\n    time.sleep(60)\n"
                                      "def loops(tokens):\n    while True:\n        pass\n")
    return tmp_path


def test_check_reports_the_shrunk_counterexample_as_json(planted):
    out = cli("check", "planted.rasp", "--reference", "refs.py:reverse", "--vocab", "ab", "--max-len", "12",
              "--json", cwd=planted)
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] is False
    example = result["counterexample"]
    assert len(example["input"]) == 7
    position = example["position"]
    assert example["expected"] == example["input"][::-1][position]
    assert example["actual"] == example["input"][position] != example["expected"]


def test_check_passes_a_right_program(planted):
    out = cli("check", "reverse", "--reference", "refs:reverse", "--max-len", "12", "--compiled", cwd=planted)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("ok: the program and its compiled model agree")
    text = cli("check", "planted.rasp", "--reference", "refs.py:reverse", "--vocab", "ab", "--max-len", "12",
               cwd=planted)
    assert text.returncode == 1 and "length 7" in text.stdout


@pytest.mark.parametrize("reference, message", [
    ("refs.py", "give MODULE:FUNCTION"),
    ("nowhere.py:f", "no file nowhere.py"),
    ("refs.py:missing", "has no function 'missing'"),
    ("no_such_module:f", "cannot import no_such_module"),
    ("refs.py:broken", "the reference raised ValueError: oops"),
    ("refs.py:none", "returned NoneType"),
    ("refs.py:text", "returned str"),
    ("refs.py:lazy", "returned generator"),
    ("refs.py:short", "outputs for the"),
    ("refs.py:leaves", "the reference raised SystemExit"),
    ("refs.py:sleeps", "took longer than 1 s"),
    ("refs.py:loops", "took longer than 1 s"),
])
def test_check_reports_bad_references_clearly(planted, reference, message):
    out = cli("check", "planted.rasp", "--reference", reference, "--vocab", "ab", "--reference-timeout", "1",
              cwd=planted)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("options, message", [
    (["--min-len", "5000", "--max-len", "5000"], "5,000 is outside 0 to 4,096"),
    (["--examples", "1e9"], "'1e9' is not a whole number"),
    (["--min-len", "5", "--max-len", "3"], "need 0 <= --min-len <= --max-len"),
    (["--reference-timeout", "0"], "positive number of seconds"),
])
def test_check_refuses_bad_lengths_before_drawing(planted, options, message):
    out = cli("check", "planted.rasp", "--reference", "refs.py:reverse", "--vocab", "ab", *options, cwd=planted)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_the_plugin_runs_examples_in_test_rasp_files(pytester):
    pytester.makefile(".rasp", test_reverse=textwrap.dedent("""\
        # example: hello -> olleh
        # example: [1, 2, 3] -> [3, 2, 1]
        # example opposite_width: abc -> [1, 1, 1]
        opposite_width = selector_width(select(indices, length - 1 - indices, ==));
        reverse = aggregate(select(indices, length - 1 - indices, ==), tokens);
        # example: abc -> abc
        """))
    pytester.makefile(".rasp", other="# example: a -> b\nx = tokens;\n")  # not test_*: not collected
    pytester.makefile(".rasp", test_broken="x = selector_width(tokens);\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider")  # (see below)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*test_broken.rasp:1:20: error: the argument of selector_width must be a selector*",
        "*test_reverse.rasp:6: example failed: reverse on abc*",
        "*expected: abc*",
        "*got:      cba*",
    ])


def test_the_documented_example_test_file_passes(pytester):
    """docs/testing.md's complete test file, run as a user would run it."""
    import re
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "testing.md").read_text()
    code = re.search(r"```python\n(# test_my_programs.py\n.*?)```", page, re.DOTALL).group(1)
    pytester.makepyfile(test_my_programs=code)
    # in a process of its own: an in-process run drops the modules it imported (JAX's among them)
    # when it ends, and importing JAX's extension a second time aborts the process
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_compiled_checks_try_the_verifications_structured_cases_first():
    """A reference that differs from the program on one constant input only: the structured cases
    (every constant sequence at every length) hold it, found before any random draw."""
    def reference(tokens):
        return [1] * len(tokens) if tokens == ["d"] * 6 else [len(tokens)] * len(tokens)

    found, tried = find_counterexample("length", reference, "abcd", 1, 6, examples=5, compiled=True)
    assert found is not None and found.input == ["d"] * 6 and found.model == "interpreter"
    assert tried <= 4 * 6 + 2 * 6 + 4 * 6  # within the structured cases
