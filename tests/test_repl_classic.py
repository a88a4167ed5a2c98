"""The REPL statements and displays of the classic RASP REPL (tech-srl/RASP, RASP_support/REPL.py),
and ours beside them (compile, run, layers, draw, causal). Expected output is reasoned out from the
classic semantics and its test transcripts (tests/tgt/*.txt there), with our indentation: the
classic REPL's leading tabs become four spaces, and trailing blanks are dropped."""

from __future__ import annotations

import pytest

from rasp.faces.repl import Commands, Session, statement_in
from rasp.faces.repl.shown import full, rasp, sequence


def transcript(*lines: str) -> str:
    """What a session prints when these lines are typed (as through a pipe), one per line."""
    out: list[str] = []
    s = Session(write=out.append)
    for line in lines:
        if not s.feed(line):
            out.append("<session ended>")
            break
    else:
        s.finish()
    return "\n".join(out)


@pytest.mark.parametrize("word", ["exit", "exit()", "quit", "quit()", "exit();", "quit;"])
def test_exit_and_quit_end_the_session_and_take_nothing_after_them(word):
    # classic tests/in/exit_fun.txt: `exit()` then `tokens;` prints nothing after the prompt
    assert transcript(word, "tokens;") == "<session ended>"


def test_classic_sequences_compress_identical_values_and_name_types():
    # classic tests/tgt/simple_sequences_no_errors.txt
    text = transcript("length;", "indices*3;", "set example [4,7,10]", "tokens=tokens_int;", "tokens[0];",
                      'set example "hello there"', "tokens = tokens_str;",
                      '"a" if indices%2==1 else tokens;', "tokens==tokens;")
    assert 'Example: length("hello") = [5]*5 (ints)' in text
    assert 'Example: out("hello") = [0, 3, 6, 9, 12] (ints)' in text
    assert "Example: tokens([4, 7, 10]) = [4, 7, 10] (ints)" in text
    assert "Example: out([4, 7, 10]) = [4]*3 (ints)" in text
    assert 'Example: tokens("hello there") = [h, e, l, l, o,  , t, h, e, r, e] (strings)' in text
    assert 'Example: out("hello there") = [h, a, l, a, o, a, t, a, e, a, e] (strings)' in text
    assert 'Example: out("hello there") = [T]*11 (bools)' in text
    assert "example" not in text.replace("Example", "")  # setting the example prints nothing, as classic


def test_classic_floats_bools_and_one_value():
    # classic tests/tgt/set_reserved.txt: tokens_float([0, 1, 2]) = [0.0, 1.0, 2.0] (floats)
    text = transcript("set example [0,1,2]", "tokens_float;", "tokens_bool;", "x = indices / 3;",
                      "set example [7]", "y = indices;")
    assert "Example: tokens_float([0, 1, 2]) = [0.0, 1.0, 2.0] (floats)" in text
    assert "Example: tokens_bool([0, 1, 2]) = [F, T, T] (bools)" in text
    assert "Example: x([0, 1, 2]) = [0.0, 0.333, 0.667] (floats)" in text
    assert "Example: y([7]) = [0] (ints)" in text  # one value: not compressed ([v]*n needs several)


def test_sequence_display_rule_against_a_direct_count():
    for values in ([1], [1, 1], [1, 2], [True, True], [1, True], [0.5, 0.5, 0.5]):
        compressed = len(values) > 1 and len({(type(v), v) for v in values}) == 1
        assert sequence(values).startswith(f"[{'T' if values[0] is True else round(values[0], 3)}]*") == compressed


def test_classic_selector_matrix_has_blanks_for_false():
    # classic tests/tgt/whitespace_okay.txt, which spreads the select over several lines
    text = transcript("select(", "", "indices,", "", "\t\tindices,<);")
    assert text == ("selector: out\n    Example:\n            h e l l o\n        h |\n        e | 1\n"
                    "        l | 1 1\n        l | 1 1 1\n        o | 1 1 1 1")


def test_values_are_written_in_rasp_syntax():
    # classic: `value: a =  "qwerty..."`, `list: b = [...]`, `value: out =  5`; dicts and strings as RASP
    text = transcript('a = "qwerty";', "b = [5, 8, 2];", 'd = {1: 2, "§": 0.5, "k": [True, "x"]};',
                      "d[1];", "t = True;", "a;")
    assert 'value: a = "qwerty"' in text and "list: b = [5, 8, 2]" in text
    assert 'dict: d = {1: 2, "§": 0.5, "k": [True, "x"]}' in text
    assert "value: out = 2" in text and "value: t = True" in text
    assert text.count('value: a = "qwerty"') == 2  # a bare name is shown under its name, as classic
    assert rasp({"a": ['"']}) == '{"a": ["\\""]}'


def test_separate_examples_and_switches():
    text = transcript('set s-op example "ab"', "show example", "set selector example [1, 2, 3]",
                      "show selector example", "x = indices;", "same = select(tokens, tokens, ==);",
                      "selector examples off", "s2 = select(indices, indices, ==);", "y = indices;",
                      "s-op examples off", "z = indices;", "examples on", "w = indices;")
    assert 's-op example: "ab"\nselector example: "hello"' in text
    assert "selector example: [1, 2, 3]" in text
    assert 'Example: x("ab") = [0, 1] (ints)' in text
    assert "            1 2 3\n        1 | 1\n        2 |   1\n        3 |     1" in text
    assert "selector: s2\ns-op: y\n    Example:" in text  # no matrix, still the s-op's values
    assert "s-op: z\ns-op: w\n    Example:" in text


def test_full_seq_display_aligns_input_and_output():
    # classic print_seq: right-aligned to the widest value; of booleans only the rarer is written
    text = transcript("set example [1, 10, 100]", "full seq display on", "x = tokens == 10;", "y = tokens * 2;",
                      "z = length;")
    assert ("    Example: x([1, 10, 100]) =\n        input:    1  10 100  (ints)\n"
            "        output:       T      (bools)") in text
    assert "        output:   2  20 200  (ints)" in text
    assert "Example: z([1, 10, 100]) = [3]*3 (ints) [skipped full display: identical values]" in text
    assert full([True, False], [False, True]) == ["input:  T F  (bools)", "output: F T  (bools)"]


@pytest.mark.parametrize("line, error", [
    ("examples maybe", "use: [s-op|selector] examples on, or [s-op|selector] examples off"),
    ("full seq display", "use: full seq display on, or full seq display off"),
    ("set foo", "use: set [s-op|selector] example X"),
    ("set example [1, ", "not a valid JSON list"),
    ("foo bar", "unknown command 'foo'"),
    ("exit now", "use: exit, exit(), quit or quit()"),
    ("compile", "use: compile NAME"),
    ("run tokens", "use: run NAME INPUT"),
    ("layers a b", "use: layers NAME"),
    ("draw a b c", "use: draw NAME [FILE]"),
    ("show x y", "use: show NAME"),
    ("causal maybe", "use: causal on, or causal off"),
    ("analyze", "use: analyze NAME"),
])
def test_a_bad_command_is_one_line_and_the_session_goes_on(line, error):
    text = transcript(line, "after = indices;")
    first, _, rest = text.partition("\n")
    assert "error: " in first and error in first  # a typed value's mistake also shows it with a caret
    assert text.endswith('s-op: after\n    Example: after("hello") = [0, 1, 2, 3, 4] (ints)')  # not swallowed


def test_rasp_lines_that_start_with_command_words_stay_rasp():
    for line in ("show = tokens;", "run(x);", "layers + 1;", "draw == 1;", "examples = 3;", "not x;",
                 "x if y else z;", "tokens;"):
        assert statement_in(line) is None, line
    assert statement_in("draw(x);")[1] == "(x)" and statement_in("s-op examples on;")[1] == "s-op on"


def test_execute_runs_one_statement_text():
    """The entry point for REPL statements inside a loaded file: one statement's text at a time."""
    out: list[str] = []
    s = Session(write=out.append)
    commands: Commands = s.commands
    assert commands.execute('set s-op example "xy"') is True and s.example.tokens == ["x", "y"]
    assert commands.execute("x = 1;") is True and out == ["error: not a REPL statement: x = 1; (type help for the "
                                                           "commands)"]
    assert commands.execute("quit()") is False


def test_causal_applies_to_names_bound_after_it_and_says_which_keep_their_mode():
    text = transcript("firsts = selector_width(select(tokens, tokens, ==));", "causal on",
                      "later = selector_width(select(tokens, tokens, ==));", "show firsts", "causal off",
                      "show later")
    assert 'firsts("hello") = [1, 1, 2, 2, 1] (ints)' in text  # every key: both l's see each other
    assert "causal on: names bound from now on run causally" in text and "firsts keeps the mode it was bound in" in text
    assert 'later("hello") = [1, 1, 1, 2, 1] (ints)' in text  # keys at or before the query only
    assert text.count('firsts("hello") = [1, 1, 2, 2, 1] (ints)') == 2  # show: unchanged after causal on
    assert "later keeps the mode it was bound in" in text
    assert text.count('later("hello") = [1, 1, 1, 2, 1] (ints)') == 2


def test_compile_run_layers_and_draw(tmp_path):
    model, picture = tmp_path / "hist.npz", tmp_path / "hist.svg"
    text = transcript('set example "ab"', "hist = selector_width(select(tokens, tokens, ==));",
                      "layers hist", "run hist ab", f"compile hist 3 -o {model}", 'run hist "aab"',
                      "run hist abc", "layers hist", f"draw hist {picture}", f"draw hist {tmp_path / 'plain.dot'}",
                      "hist = indices;", "run hist ab")
    assert "error: 'hist' has not been compiled: compile hist first" in text
    assert 'compiled hist: 1 layer ' in text and 'vocab ["a", "b"], max length 3;' in text
    assert f"saved to {model}" in text and model.stat().st_size > 0
    # the interpreter's value, counted here: each position's token occurs 2, 2, 1 times in "aab"
    counts = [list("aab").count(t) for t in "aab"]
    assert f'hist("aab") = [{", ".join(map(str, counts))}] (ints) (compiled model); the interpreter agrees' in text
    assert "token 'c' at position 2 is not in the model's vocabulary" in text
    assert "layer  attention heads  MLP hidden\n0      1" in text and "s-op  operation" in text
    assert f"drawn to {picture} (coloured by layer)" in text and "<svg" in picture.read_text()[:400]
    assert "layer 0 attn" in picture.read_text()  # each node labelled with where the model computes it
    assert (tmp_path / "plain.dot").exists()
    assert "error: 'hist' was bound again after it was compiled: compile hist again" in text


def test_compile_default_max_length_is_the_longest_of_8_and_the_example():
    from rasp.faces.repl.compiled import DEFAULT_MAX_LEN

    text = transcript('set example "abababababa"', "x = tokens == \"a\";", "compile x ab")
    assert DEFAULT_MAX_LEN == 8 and "max length 11;" in text


def test_draw_one_syntax_with_and_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = transcript("flip = indices + 1;", "draw flip", 'draw(flip, "abc");', "draw(flip);", "draw flip out.png",
                      "draw flip out.txt", "n = 3;", "draw n")
    assert text.count("drawn to flip.png") == 3 and "drawn to out.png" in text
    assert 'Example: flip("abc") = [1, 2, 3] (ints)' in text  # classic draw(NAME, INPUT) on that input
    assert (tmp_path / "flip.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "out.png").exists()
    assert "cannot draw to out.txt" in text and "'n' is not an s-op or a selector" in text


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=12), st.data())
def test_full_display_columns_line_up_at_every_length(tokens, data):
    values = data.draw(st.lists(st.integers(-99, 99), min_size=len(tokens), max_size=len(tokens)))
    top, bottom = full(tokens, values)
    width = max(len(str(v)) for v in tokens + values)
    assert top.split("  (")[0] == "input:  " + " ".join(str(t).rjust(width) for t in tokens)
    assert bottom.split("  (")[0] == "output: " + " ".join(str(v).rjust(width) for v in values)
    compressed = sequence(values)
    assert compressed.startswith(f"[{values[0]}]*{len(values)} ") == (len(values) > 1 and len(set(values)) == 1)


def test_set_example_takes_a_name_bound_to_a_string_or_a_list():
    from rasp.language.program import from_text

    text = transcript('h = selector_width(select(tokens, tokens, ==));', 'word = "xyzx";', "set example word", "h;",
                      "nums = [3, 1, 3];", "set s-op example nums", "h;", "n = 2;", "set example n", "h;")
    program = from_text("h = selector_width(select(tokens, tokens, ==));")
    for tokens, as_text in ((list("xyzx"), True), ([3, 1, 3], False)):
        shown = sequence(program.run([tokens])[0])
        call = f'h("{"".join(tokens)}")' if as_text else f"h({rasp(tokens)})"
        assert f"Example: {call} = {shown}" in text
    assert "error: 'n' holds 2; an example is a string or a list of tokens" in text
    assert text.rstrip().endswith(f"Example: h([3, 1, 3]) = {sequence(program.run([[3, 1, 3]])[0])}")


def test_a_loaded_files_repl_lines_are_carried_out_and_an_applied_sop_shows_as_classic(tmp_path, monkeypatch):
    from rasp.language.program import from_text

    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.rasp").write_text('word = "abca";\nh = selector_width(select(tokens, tokens, ==));\n'
                                       "set example word\nexit\nbroken = undefined_name;\n")
    text = transcript('load "lib";', "h;", 'h("xyzzy");', "full seq display on", 'h("aab");', 'h("aaa");')
    h = from_text("h = selector_width(select(tokens, tokens, ==));")
    assert f'Example: h("abca") = {sequence(h.run([list("abca")])[0])}' in text  # the file's example
    assert f"=  {sequence(h.run([list('xyzzy')])[0])}" in text
    assert "\n".join(["=", *("    " + line for line in full(list("aab"), h.run([list("aab")])[0]))]) in text
    assert f"=  {sequence(h.run([list('aaa')])[0])} [skipped full display: identical values]" in text
    assert "broken" not in text and "<session ended>" not in text  # the file's exit ended the file only


def test_a_load_shows_what_the_file_binds_as_classic(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "defs.rasp").write_text('n = 3;\nwords = ["a", "b"];\nh = selector_width(select(tokens, tokens, ==));\n'
                                        "def twice(x) { return 2 * x; }\nn = n + 1;\n")
    lines = transcript('load "defs";').splitlines()
    assert lines == ["value: n = 3", f"list: words = {rasp(['a', 'b'])}", "s-op: h", "function: twice(x)",
                     "value: n = 4"]


def test_a_load_runs_each_statement_and_skips_the_failing_ones_as_classic(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inner.rasp").write_text("g = f;\nb = 7;\n_b = 8;\n")
    (tmp_path / "outer.rasp").write_text('a = f;\na = 3;\nload "inner";\nc = b + a;\nd = _b;\ne = c * 2;\n')
    text = transcript("f = 10;", 'load "outer";', "a;", "b;", "c;", "e;", "d;")
    assert "outer.rasp:1:5: error: unknown name 'f'" in text and "inner.rasp:1:5: error: unknown name 'f'" in text
    assert "outer.rasp:5:5: error: '_b' is private" in text  # a file's names stay in it, as classic
    for name, value in (("a", 3), ("b", 7), ("c", 10), ("e", 20)):
        assert f"value: {name} = {value}" in text
    assert "<input 7>:1:1: error: unknown name 'd'" in text  # d's statement failed, so d was never bound


def test_out_holds_the_last_bare_value_and_cannot_be_assigned():
    text = transcript("3 > 4;", "out;", "x = [out];", "out = 3;")
    assert text.splitlines()[:3] == ["value: out = False", "value: out = False", "list: x = [False]"]
    assert "'out' is reserved in the REPL" in text
