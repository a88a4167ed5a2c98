"""The `rasp` command as users call it: a separate process, its output and exit status."""

from __future__ import annotations

import json
import subprocess

import pytest
from helpers import cli


def rasp(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return cli(*args, stdin=stdin, timeout=120)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_run_library_program_json():
    done = rasp("run", "sort", "--input", "hello", "--input", "[3, 1, 2]", "--json")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout) == [
        {"input": list("hello"), "output": list("ehllo")},
        {"input": [3, 1, 2], "output": [1, 2, 3]},
    ]


def test_numbers_and_booleans_are_json_numbers_and_booleans(tmp_path):
    program = tmp_path / "p.rasp"
    program.write_text('f = aggregate(select(1, 1, ==), indicator(tokens == "e"));\nb = tokens == "e";\n')
    done = rasp("run", str(program), "--output", "f", "--input", "hey", "--json")
    (row,) = json_lines(done.stdout)
    assert row["output"] == pytest.approx([1 / 3] * 3)
    done = rasp("run", str(program), "--input", "hey", "--json")
    assert json_lines(done.stdout)[0]["output"] == [False, True, False]


def test_inputs_file_and_stdin(tmp_path):
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('["b", "a"]\nhello\n\n[2, 1]\n')
    done = rasp("run", "reverse", "--inputs", str(inputs), "--json")
    assert [r["output"] for r in json_lines(done.stdout)] == [["a", "b"], list("olleh"), [1, 2]]
    done = rasp("run", "reverse", "--inputs", "-", "--json", stdin="abc\n")
    assert [r["output"] for r in json_lines(done.stdout)] == [["c", "b", "a"]]


def test_readable_table():
    done = rasp("run", "hist", "--input", "hello")
    assert done.returncode == 0
    assert "hello" in done.stdout and "[1, 1, 2, 2, 1]" in done.stdout


def test_causal_flag():
    done = rasp("run", "hist", "--input", "aaa", "--causal", "--json")
    assert json_lines(done.stdout)[0]["output"] == [1, 2, 3]


def test_bad_program_exit_2_positioned_no_traceback(tmp_path):
    program = tmp_path / "bad.rasp"
    program.write_text("x = tokens;\ny = aggregate(x, x);\n")
    done = rasp("run", str(program), "--input", "ab")
    assert done.returncode == 2
    assert done.stderr.startswith(f"{program}:2:15: error: ")
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[1].strip() == "y = aggregate(x, x);" and lines[2].strip() == "^"


def test_debug_shows_the_traceback(tmp_path):
    program = tmp_path / "bad.rasp"
    program.write_text("x = ;\n")
    done = rasp("--debug", "run", str(program), "--input", "ab")
    assert "Traceback" in done.stderr


def test_bad_input_line_in_inputs_file(tmp_path):
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('hello\n[1, 2,\n')
    done = rasp("run", "hist", "--inputs", str(inputs))
    assert done.returncode == 2
    assert done.stderr.startswith(f"{inputs}:2:")


def test_runtime_error_names_the_input():
    done = rasp("run", "count", "--input", "[1, 2]", "--input", "ab")
    assert done.returncode == 2
    assert "on input 2 'ab' at position 0" in done.stderr


def test_unknown_program_and_output():
    done = rasp("run", "no_such_program", "--input", "a")
    assert done.returncode == 2 and "no program 'no_such_program'" in done.stderr
    done = rasp("run", "sort", "--output", "nope", "--input", "a")
    assert done.returncode == 2 and "output 'nope' is not defined" in done.stderr


def test_input_option_is_required():
    done = rasp("run", "sort")
    assert done.returncode == 2 and "--input" in done.stderr


def test_list_names_the_library():
    done = rasp("list", "--json")
    names = {row["name"] for row in json.loads(done.stdout)}
    assert {"sort", "dyck2", "count", "parity"} <= names


def test_compile_report_json_save_and_run_the_model(tmp_path):
    model = tmp_path / "sort.npz"
    done = rasp("compile", "sort", "--vocab", "abc", "--max-len", "5", "-o", str(model), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["layers"] == len(report["heads_per_layer"]) == len(report["mlp_hidden_per_layer"])
    assert report["parameters"] > 0 and report["residual_width"] > 0
    assert report["verification"]["agree"] and report["verification"]["max_length"] == 5
    assert {row["name"] for row in report["sops"]} >= {"target", "sorted"}
    assert all(row["residual_dims"] for row in report["sops"])
    done = rasp("run", "sort", "--model", str(model), "--input", "cab", "--input", '["b", "a"]', "--json")
    assert done.returncode == 0, done.stderr
    assert [r["output"] for r in json_lines(done.stdout)] == [list("abc"), list("ab")]


def test_compile_readable_report():
    done = rasp("compile", "hist", "--vocab", "ab", "--max-len", "4")
    assert done.returncode == 0, done.stderr
    assert "layers" in done.stdout and "hist" in done.stdout
    # 2 + 4 + 8 + 16 inputs: every one is compared, and the report says so
    assert "exhaustive: equal to the interpreter on every input of lengths 1 to 4 (30)" in done.stdout
    done = rasp("compile", "hist", "--vocab", "abcdefgh", "--max-len", "6", "--json")
    check = json.loads(done.stdout)["verification"]
    assert not check["exhaustive"] and check["space"] == sum(8 ** n for n in range(1, 7)) > 100_000
    assert check["structured"] > 0 and check["inputs"] > check["structured"]
    assert check["summary"].startswith(f"checked on {check['inputs']:,} inputs")


def test_compile_errors_are_positioned(tmp_path):
    source = tmp_path / "numerical_max.rasp"
    source.write_text("x = tokens_int;\ny = numerical(aggregate_max(select(indices, indices, <=), x, 0));\n")
    done = rasp("compile", str(source), "--vocab", "[1, 2]", "--max-len", "4")
    assert done.returncode == 2 and "numerical_max.rasp:2:" in done.stderr
    assert "error: aggregate_max compiles as categorical" in done.stderr and "^" in done.stderr
    done = rasp("compile", "sort", "--vocab", "[1, 1]", "--max-len", "4")
    assert done.returncode == 2 and "lists a token twice" in done.stderr
    done = rasp("compile", "sort", "--vocab", "ab", "--max-len", "0")
    assert done.returncode == 2 and "argument --max-len: 0 is outside 1 to 4,096" in done.stderr


def test_running_a_model_checks_inputs_and_provenance(tmp_path):
    model = tmp_path / "hist.npz"
    assert rasp("compile", "hist", "--vocab", "ab", "--max-len", "4", "-o", str(model)).returncode == 0
    done = rasp("run", "hist", "--model", str(model), "--input", "abz")
    assert done.returncode == 2 and "token 'z' at position 2 is not in the model's vocabulary" in done.stderr
    done = rasp("run", "hist", "--model", str(model), "--input", "ababa")
    assert done.returncode == 2 and "input 1 has 5 tokens" in done.stderr
    done = rasp("run", "sort", "--model", str(model), "--input", "ab")
    assert done.returncode == 2 and "another version of the program" in done.stderr
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    done = rasp("run", "hist", "--model", str(tmp_path / "junk.npz"), "--input", "ab")
    assert done.returncode == 2 and "not a readable compiled model" in done.stderr


def test_inputs_files_are_read_strictly_and_bounded(tmp_path):
    program = tmp_path / "id.rasp"
    program.write_text("x = tokens;\n")
    (tmp_path / "sep.txt").write_bytes("ab\u2028cd\r\nef\n".encode())
    out = cli("run", str(program), "--inputs", str(tmp_path / "sep.txt"), "--json")
    assert out.returncode == 0 and [json.loads(line)["input"] for line in out.stdout.splitlines()] == [
        ["a", "b", "\u2028", "c", "d"], ["e", "f"]]
    (tmp_path / "bad.txt").write_bytes(b"ab\nc\xffd\n")
    out = cli("run", str(program), "--inputs", str(tmp_path / "bad.txt"))
    assert out.returncode == 2 and "bad.txt:2:2: error: not UTF-8" in out.stderr
    (tmp_path / "deep.txt").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    out = cli("run", str(program), "--inputs", str(tmp_path / "deep.txt"))
    assert out.returncode == 2 and "nested too deeply" in out.stderr and "Traceback" not in out.stderr
    out = cli("run", str(program), "--inputs", "/dev/zero")
    assert out.returncode == 2 and "more than 64 MiB" in out.stderr


@pytest.mark.parametrize("args", [
    ["compile", "reverse", "--vocab", "abc", "--max-len", "4", "--samples", "1000000000"],
    ["train", "copy_unique", "--eval-examples", "1000000000"],
    ["check", "reverse", "--reference", "x:y", "--examples", "10000000"],
    ["experiment", "--seeds", "100000"],
])
def test_numbers_past_what_a_machine_can_do_are_refused_at_once(args):
    out = cli(*args, timeout=60)
    assert out.returncode == 2 and "is outside" in out.stderr and "Traceback" not in out.stderr
