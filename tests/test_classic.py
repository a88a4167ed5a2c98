"""Files written for the classic RASP REPL (Weiss et al.) run unmodified: REPL lines in files,
function bodies that read globals when called, lists and dicts indexed by s-ops, `load` from the
working directory, and the names the classic REPL refuses to bind."""

from __future__ import annotations

import itertools

import pytest
from helpers import run1
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar import ast
from grammar.errors import RaspError
from grammar.parser import parse
from rasp.language.program import from_text, load_program

# ---- REPL statements in files ---------------------------------------------------------------

REPL_FILE = '''\
example2 = "abc";
set example example2
full seq display on
s-op examples off
selector examples on;
show example
set s-op example [1, 2]  # a comment
set_variable = 3;
set = 4;
draw(tokens, "ab");
shifted = tokens_str + "!";
quit()
never = unknown_name;
'''


def test_repl_lines_parse_into_repl_statements_in_order():
    module = parse(REPL_FILE, "r.rasp")
    repl = module.repl_statements
    assert [(s.kind, s.subset, s.on) for s in repl] == [
        (ast.ReplKind.SET_EXAMPLE, ast.Subset.BOTH, None),
        (ast.ReplKind.FULL_SEQ_DISPLAY, ast.Subset.BOTH, True),
        (ast.ReplKind.EXAMPLES, ast.Subset.SOP, False),
        (ast.ReplKind.EXAMPLES, ast.Subset.SELECTOR, True),
        (ast.ReplKind.SHOW_EXAMPLE, ast.Subset.BOTH, None),
        (ast.ReplKind.SET_EXAMPLE, ast.Subset.SOP, None),
        (ast.ReplKind.DRAW, ast.Subset.BOTH, None),
        (ast.ReplKind.EXIT, ast.Subset.BOTH, None),
    ]
    assert [s.span.line for s in repl] == [2, 3, 4, 5, 6, 7, 10, 12]
    first = repl[0]
    assert isinstance(first.example, ast.Name) and first.example.id == "example2"
    assert (first.example.span.line, first.example.span.col) == (2, 13)
    assert isinstance(repl[5].example, ast.ListLit) and len(repl[5].example.items) == 2
    draw = repl[6]
    assert isinstance(draw.value, ast.Name) and draw.value.id == "tokens"
    assert isinstance(draw.example, ast.String) and draw.example.value == "ab"
    # they sit among the other statements in file order; names that merely start like them are names
    kinds = [type(s).__name__ for s in module.statements]
    assert kinds[:3] == ["Assign", "ReplStatement", "ReplStatement"]
    assigned = [s.targets for s in module.statements if isinstance(s, ast.Assign)]
    assert ("set_variable",) in assigned and ("set",) in assigned


def test_repl_lines_change_nothing_a_program_computes_and_exit_ends_the_file():
    program = from_text(REPL_FILE)
    assert program.output_name == "shifted"  # nothing after `quit()` is checked or run
    assert "never" not in program.env.vars
    plain = "\n".join(line for line in REPL_FILE.splitlines()
                      if line.startswith(("example2", "set_variable", "shifted")))
    for given in ("hey", "a", "xyz!"):
        assert program.run([list(given)]) == from_text(plain).run([list(given)])
        assert program.run([list(given)])[0] == [t + "!" for t in given]


@pytest.mark.parametrize("text, words, line, col", [
    ("set example nothing_here\nx = tokens;", "unknown name 'nothing_here'", 1, 13),
    ("x = tokens;\nset example [1, 2", "ends before it is complete", 2, 18),
    ("set example\nx = tokens;", "set example needs an example", 1, 1),
    ("x = tokens;\nset example 1 +* 2", "unexpected '*'", 2, 16),
    ("draw(tokens, 1, 2);", "draw takes an s-op and, optionally, an example", 1, 1),
])
def test_bad_repl_lines_are_errors_at_their_position(text, words, line, col):
    with pytest.raises(RaspError) as info:
        from_text(text, path="bad.rasp")
    assert words in info.value.message
    assert (info.value.span.line, info.value.span.col) == (line, col)


# ---- function bodies read globals when they are called --------------------------------------


def test_a_function_reads_a_global_assigned_after_its_def():
    text = """
def checkfor(x) { return x + offset; }
offset = 10;
first = checkfor(tokens_int);
offset = 100;
second = checkfor(tokens_int);
"""
    program = from_text(text)
    for given in ([1, 2, 3], [0], [5, 7]):
        assert run1(text, given, "first") == [t + 10 for t in given]  # the value when called
        assert program.run([given])[0] == [t + 100 for t in given]


def test_a_global_still_unbound_at_the_call_is_an_error_at_its_use_naming_the_call():
    text = "def f(x) {\n  y = x + 1;\n  return y * later;\n}\nz = f(tokens_int);\nlater = 2;\n"
    with pytest.raises(RaspError) as info:
        from_text(text, path="f.rasp")
    assert info.value.message == "unknown name 'later' (in the call to f at f.rasp:5:5)"
    assert (info.value.span.line, info.value.span.col) == (3, 14)


def test_a_function_defined_later_may_be_called_from_a_body():
    text = "def outer(x) { return helper(x) * 2; }\ndef helper(x) { return x + 1; }\ny = outer(indices);"
    assert run1(text, "abcd") == [2, 4, 6, 8]


def test_a_private_name_of_a_loaded_file_is_still_refused_in_a_body(tmp_path):
    (tmp_path / "lib.rasp").write_text("_hidden = 1;\nshown = 2;\n")
    main = tmp_path / "main.rasp"
    main.write_text('load "lib";\ndef f(x) { return x + _hidden; }\ny = f(indices);\n')
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    assert "is private to" in info.value.message


# ---- lists and dicts indexed by s-ops --------------------------------------------------------

KEYS = "abcde"


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y"]), st.booleans()),
                       min_size=len(KEYS), max_size=len(KEYS)),
       tokens=st.lists(st.sampled_from(KEYS), min_size=1, max_size=9))
def test_dict_indexed_by_tokens_is_the_lookup_at_each_position(values, tokens):
    table = dict(zip(KEYS, values))
    literal = "{" + ", ".join(f'"{k}": {_rasp(v)}' for k, v in table.items()) + "}"
    got = run1(f"d = {literal};\nlooked = d[tokens];", tokens)
    assert got == [table[t] for t in tokens]
    assert [type(v) for v in got] == [type(table[t]) for t in tokens]  # 1 stays 1, True stays True


@settings(max_examples=40, deadline=None)
@given(items=st.lists(st.integers(-99, 99), min_size=1, max_size=12), n=st.integers(1, 12),
       step=st.integers(-3, 3))
def test_list_indexed_by_an_sop_is_pythons_indexing_at_each_position(items, n, step):
    text = f"a = {items};\nat = a[indices * {step}];" if step >= 0 else f"a = {items};\nat = a[0 - indices * {-step} - 1];"
    positions = [i * step if step >= 0 else -i * -step - 1 for i in range(n)]
    if all(-len(items) <= p < len(items) for p in positions):
        assert run1(text, "x" * n) == [items[p] for p in positions]
    else:
        first = next(i for i, p in enumerate(positions) if not -len(items) <= p < len(items))
        with pytest.raises(RaspError) as info:
            run1(text, "x" * n)
        assert f"at position {first})" in info.value.message and "out of range" in info.value.message


def test_the_classic_indexing_transcript():
    """tests/in/indexing.txt of the classic repository, with its example "12345"."""
    text = '''d = {"1":1, "2":2, "3":3, "4":5, "5":4};
a = "qwertyuioplkjhgfdsazxcvbnm";
b = [5,8,2,9,4,7,5];
by_token = d[tokens];
letters = a[indices];
every_third = a[indices*3];
from_list = b[indices];
'''
    program = from_text(text)
    outputs = {name: program.run_arrays([list("12345")], [program.env.vars[name]])[0][0].tolist()
               for name in ("by_token", "letters", "every_third", "from_list")}
    assert outputs == {"by_token": [1, 2, 3, 5, 4], "letters": list("qwert"), "every_third": list("qrupj"),
                       "from_list": [5, 8, 2, 9, 4]}


def test_a_missing_key_names_the_input_and_position():
    with pytest.raises(RaspError) as info:
        run1('d = {"a": 1, "b": 2};\nx = 0;\ny = d[tokens];', "abzb")
    assert info.value.message == "key 'z' is not in the dict (on input 1 'abzb' at position 2)"
    assert (info.value.span.line, info.value.span.col) == (3, 5)


def test_sampled_inputs_use_the_keys_of_a_dict_indexed_by_tokens():
    program = from_text('d = {"x": 1, "yy": 2, "z": 3};\ny = d[tokens];')
    assert {"x", "z"} <= set(program.sample_vocab())  # one-character keys, as for compared constants


def test_indexing_by_an_sop_needs_plain_values_in_the_container():
    with pytest.raises(RaspError) as info:
        from_text("d = {1: [1, 2]};\ny = d[indices];", path="bad.rasp")
    assert "needs plain values in it" in info.value.message
    assert (info.value.span.line, info.value.span.col) == (2, 5)


def test_a_compiled_lookup_table_equals_the_interpreter():
    from compiler import compile_program
    from compiler.runner import Runner

    program = from_text('d = {"a": 1, "b": 2, "c": 0};\nnames = ["x", "y", "z", "w"];\n'
                        'code = d[tokens];\nout = names[code + indices];\n')
    result = compile_program(program, list("abc"), 3, samples=64)
    runner = Runner(result.model)
    compared = 0
    for n in (1, 2, 3):
        for tokens in itertools.product("abc", repeat=n):
            codes = [{"a": 1, "b": 2, "c": 0}[t] + i for i, t in enumerate(tokens)]
            if max(codes) >= 4:
                continue  # out of the list's range: the interpreter refuses these inputs
            want = [["x", "y", "z", "w"][c] for c in codes]
            assert program.run([list(tokens)])[0] == want
            assert runner.run([list(tokens)])[0] == want
            compared += 1
    assert compared > 10


# ---- load looks in the working directory too -------------------------------------------------


def test_load_resolves_beside_the_file_then_the_working_directory_then_rasp_path(tmp_path, monkeypatch):
    (tmp_path / "tests" / "rasps").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "tests" / "rasps" / "loadB.rasp").write_text("b = 7;\n")
    main = tmp_path / "tests" / "rasps" / "loadA.rasp"
    main.write_text('load "tests/rasps/loadB";\nx = indices + b;\n')  # a path from the working directory
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RASP_PATH", str(tmp_path / "elsewhere"))
    assert load_program(str(main)).run([list("ab")]) == [[7, 8]]
    # beside the loading file comes first, then the working directory, then $RASP_PATH
    (tmp_path / "elsewhere" / "order.rasp").write_text("k = 3;\n")
    user = tmp_path / "tests" / "user.rasp"
    user.write_text('load "order";\nx = indices + k;\n')
    assert load_program(str(user)).run([list("a")]) == [[3]]
    (tmp_path / "order.rasp").write_text("k = 2;\n")
    assert load_program(str(user)).run([list("a")]) == [[2]]
    (tmp_path / "tests" / "order.rasp").write_text("k = 1;\n")
    assert load_program(str(user)).run([list("a")]) == [[1]]


# ---- names the classic REPL refuses ----------------------------------------------------------

# The classic REPL's reserved words and constants (RASP_support/Environment.py), and the two names
# of its library that are built-ins here (length, selector_width); `tokens` may be re-bound.
CLASSIC_KEYWORDS = ["if", "else", "not", "and", "or", "def", "return", "for", "in"]
CLASSIC_BUILTINS = ["range", "zip", "len", "get", "tokens_asis", "tokens_str", "tokens_int", "tokens_bool",
                    "tokens_float", "indices", "True", "False", "length", "selector_width"]


@pytest.mark.parametrize("name", CLASSIC_KEYWORDS + CLASSIC_BUILTINS)
def test_every_name_the_classic_repl_refuses_is_refused_at_its_position(name):
    with pytest.raises(RaspError) as info:
        from_text(f"x = tokens;\n  {name} = 6;\n", path="r.rasp")
    assert f"'{name}' is a" in info.value.message and "cannot be assigned" in info.value.message
    assert (info.value.span.line, info.value.span.col) == (2, 3)


def test_tokens_may_be_rebound_as_in_the_classic_repl():
    assert run1("tokens = tokens_int;\ny = tokens + 1;", [1, 2]) == [2, 3]


def _rasp(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
