"""Bad programs: each kind of mistake gives one RaspError at the right line and column, in
the form `file:line:col: error: message`, with the source line and a caret."""

from __future__ import annotations

import pytest

from grammar.errors import RaspError
from rasp.language.program import from_text, load_program

# (program, input to run or None, words the message must contain, line, column)
BAD_PROGRAMS = [
    # syntax
    ("x = 1 +;", None, "unexpected ';'", 1, 8),
    ("x = 1\ny = 2;", None, "expected ';'", 2, 1),
    ('x = "abc;', None, "unterminated string", 1, 5),
    ("x = 1 $ 2;", None, "unexpected character '$'", 1, 7),
    ("x = (1 + 2;", None, "unexpected ';'", 1, 11),
    ("def f(x) { y = x; }", None, "must end with 'return ...;'", 1, 19),
    ("x = select(tokens, tokens, ==", None, "unexpected end of file", 1, 30),
    ("for x in [1] { y = x;", None, "unexpected end of file", 1, 22),
    ("x = 123456789012345678901234567890;", None, "integer too large", 1, 5),
    ("x = tokens_int" + " + -(1" * 300 + ")" * 300 + ";", None, "nested too deeply", 1, 1064),
    # names
    ("x = tokns + 1;", None, "unknown name 'tokns'; did you mean 'tokens'", 1, 5),
    ("x = foo(tokens);", None, "unknown name 'foo'", 1, 5),
    ("def f() { return g; }\nx = f();\ng = 1;", None,
     "unknown name 'g' (in the call to f at bad.rasp:2:5)", 1, 18),
    ("def f() { return gg + 1; }\ng = 1;\nx = f();", None, "unknown name 'gg'; did you mean 'g'? (in the call", 1, 18),
    ("x = [v for v in [1, 2]];\ny = v;", None, "unknown name 'v'", 2, 5),
    ("indices = tokens;", None, "'indices' is a built-in name", 1, 1),
    ("x, True = 1, 2;", None, "'True' is a built-in name", 1, 4),
    ("def f(a, a) { return a; }", None, "names a parameter twice", 1, 1),
    # reserved words and built-in names, refused as the classic REPL refuses them
    ("x = 1;\nlength = 6;", None, "'length' is a built-in name and cannot be assigned", 2, 1),
    ("selector_width = 2;", None, "'selector_width' is a built-in name", 1, 1),
    ("x, len = 1, 2;", None, "'len' is a built-in name", 1, 4),
    ("if = 1;", None, "'if' is a reserved word and cannot be assigned", 1, 1),
    ("x = 1;\n  and = 3;", None, "'and' is a reserved word and cannot be assigned", 2, 3),
    ("def = 4;", None, "'def' is a reserved word and cannot be assigned", 1, 1),
    ("x = 1 + in;", None, "'in' is a reserved word and cannot be used as a name", 1, 9),
    ("def f(return) { return 1; }", None, "'return' is a reserved word", 1, 7),
    # argument counts
    ("s = select(tokens, tokens);", None, "select takes 3 arguments, but 2 were given", 1, 5),
    ("a = aggregate(select(1, 1, ==), tokens, 0, 1);", None, "aggregate takes 2 to 3 arguments, but 4", 1, 5),
    ("def f(a) { return a; }\nx = f(1, 2);", None, "f takes 1 argument, but 2 were given", 2, 5),
    ("x = selector_width();", None, "selector_width takes 1 argument, but 0 were given", 1, 5),
    # selectors and s-ops in each other's places
    ("s = select(tokens, tokens, ==);\nx = s + 1;", None, "a selector cannot be used with '+'", 2, 5),
    ("x = aggregate(tokens, tokens);", None, "must be a selector, but this is an s-op", 1, 15),
    ("x = selector_width(tokens);", None, "must be a selector, but this is an s-op", 1, 20),
    ("s = select(tokens, tokens, ==) and tokens;", None, "combines a selector with an s-op", 1, 36),
    ("s = select(select(1, 1, ==), tokens, ==);", None, "must be an s-op, but this is a selector", 1, 12),
    ("x = aggregate(select(1, 1, ==), select(1, 1, ==));", None, "must be an s-op, but this is a selector", 1, 33),
    ("x = 1 if select(1, 1, ==) else 0;", None, "condition of 'if' is a selector", 1, 10),
    ("x = aggregate(select(1, 1, ==), tokens, tokens);", None, "default of aggregate must be a plain value", 1, 41),
    # recursion
    ("def f(x) { return f(x); }\ny = f(tokens);", None, "recursion: 'f' refers to itself", 1, 19),
    ("def f(x) { def g(y) { return f(y); } return g(x); }", None, "recursion: 'f'", 1, 30),
    ("def ap(h, x) { return h(h, x); }\ny = ap(ap, 1);", None, "recursion: calls to 'ap' nest", 1, 23),
    # operators as arguments
    ("x = aggregate(==, tokens);", None, "can only be the operator argument", 1, 15),
    ("s = select(tokens, tokens, 1);", None, "must be a comparison", 1, 28),
    # plain values
    ("a, b = 1;", None, "cannot unpack a number into 2 names", 1, 1),
    ("def f() { return 1, 2, 3; }\na, b = f();", None, "cannot unpack 3 values into 2 names", 2, 1),
    ("for x in 3 { y = x; }", None, "needs a list or dict to loop over, got a number", 1, 10),
    ("l = [1, 2];\nx = l[5];", None, "index 5 is out of range", 2, 7),
    ('x = tokens["a"];', None, "an s-op index must be an integer", 1, 12),
    ("r = range(10000000);", None, "too long", 1, 5),
    ("d = {[1]: 2};", None, "a dict key must be a plain value", 1, 6),
    ('x = "a" - 1;', None, "cannot apply '-' to a string and a number", 1, 9),
    ("x = 3(1);", None, "a number cannot be called", 1, 5),
    ("x = 1 / 0;", None, "division by zero", 1, 7),
    ("x = 1;", None, "assigns no s-op", None, None),
    # errors that depend on the input name it and the position
    ("x = aggregate(select(1, 1, ==), tokens);", "ab", "have no mean (on input 1 'ab' at position 0)", 1, 5),
    ("x = 1 / (indices - 1);", "abc", "division by zero (on input 1 'abc' at position 1)", 1, 7),
    ("x = tokens_int + 1;", "ab", "token 'a' is not an integer", 1, 5),
    ("x = tokens + 1;", "ab", "'+' needs numbers, got strings (on input 1 'ab')", 1, 12),
    ("x = tokens_int < tokens;", "12", "cannot compare numbers with strings", 1, 16),
]


@pytest.mark.parametrize("text, given, words, line, col", BAD_PROGRAMS,
                         ids=[f"{i:02d}" for i in range(len(BAD_PROGRAMS))])
def test_bad_program(text, given, words, line, col):
    with pytest.raises(RaspError) as info:
        program = from_text(text, path="bad.rasp")
        program.run([list(given)])
    error = info.value
    assert words in error.message
    if line is None:
        return
    assert (error.span.line, error.span.col) == (line, col), error.format()
    formatted = error.format()
    head, source_line, caret = formatted.split("\n")
    assert head.startswith(f"bad.rasp:{line}:{col}: error: ")
    assert source_line.strip() and caret.strip() == "^"
    if len(text.splitlines()[line - 1]) <= 200:  # longer lines are shown as a window
        assert len(caret) - len("    ") == col  # the caret sits under the column


def test_at_least_thirty_distinct_mistakes():
    assert len({words for _, _, words, _, _ in BAD_PROGRAMS}) >= 30


def test_private_names_stay_in_their_file(tmp_path):
    (tmp_path / "lib.rasp").write_text("_secret = 1;\npublic = 2;\n")
    main = tmp_path / "main.rasp"
    main.write_text('load "lib";\nx = tokens_int + public + _secret;\n')
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    assert "'_secret' is private to" in info.value.message
    assert (info.value.span.path, info.value.span.line, info.value.span.col) == (str(main), 2, 27)


def test_missing_load(tmp_path):
    main = tmp_path / "main.rasp"
    main.write_text('x = tokens;\nload "nowhere";\n')
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    assert "cannot find 'nowhere.rasp'" in info.value.message
    assert (info.value.span.line, info.value.span.col) == (2, 1)


def test_load_cycle(tmp_path):
    (tmp_path / "a.rasp").write_text('load "b";\nx = tokens;\n')
    (tmp_path / "b.rasp").write_text('load "a";\ny = tokens;\n')
    with pytest.raises(RaspError) as info:
        load_program(str(tmp_path / "a.rasp"))
    assert "load cycle" in info.value.message


def test_errors_inside_a_loaded_file_point_into_that_file(tmp_path):
    (tmp_path / "lib.rasp").write_text("y = 1;\nz = selector_width(tokens);\n")
    main = tmp_path / "main.rasp"
    main.write_text('load "lib";\nx = tokens;\n')
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    assert info.value.span.path == str(tmp_path / "lib.rasp")
    assert (info.value.span.line, info.value.span.col) == (2, 20)


SECRET = "TOKEN=s3cr3t-value-1234"


@pytest.mark.parametrize("content", [
    f"{SECRET}\nPATH=/usr/bin\n".encode(),            # text that is not RASP (an environment file)
    f"root:x:0:0:{SECRET}:/root\n".encode(),           # /etc/passwd's shape
    b"\x7fELF\x02\x01\x00\x00" + SECRET.encode(),  # binary
    b"x = 1;\xff\xfe " + SECRET.encode() + b"\n",     # not UTF-8
    b"x = 1;\n" + SECRET.encode() * 200_000,            # too large
])
@pytest.mark.parametrize("name", ["secret.txt", "secret.rasp"])
def test_a_loaded_file_that_is_not_rasp_is_never_quoted(tmp_path, content, name):
    if name.endswith(".rasp") and content.startswith(SECRET.encode()):
        content = content.replace(b"\n", b" ")  # a .rasp file with a later error is shown: keep it on line 1
    (tmp_path / name).write_bytes(content)
    main = tmp_path / "main.rasp"
    main.write_text(f'x = tokens;\nload "{tmp_path / name}";\n')
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    shown = info.value.format()
    assert "s3cr3t" not in shown and "TOKEN" not in shown, shown
    assert "cannot load" in info.value.message
    assert (info.value.span.path, info.value.span.line, info.value.span.col) == (str(main), 2, 1)


def test_a_file_that_is_not_utf8_is_a_positioned_error(tmp_path):
    main = tmp_path / "main.rasp"
    main.write_bytes(b"x = tokens;\ny = \"caf\xe9\";\n")
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    assert "not UTF-8" in info.value.message
    assert (info.value.span.line, info.value.span.col) == (2, 9)


def test_a_loaded_rasp_file_broken_after_its_first_line_is_still_shown(tmp_path):
    (tmp_path / "lib.rasp").write_text("# a library\ny = 1;\nz = ;\n")
    main = tmp_path / "main.rasp"
    main.write_text('load "lib";\nx = tokens;\n')
    with pytest.raises(RaspError) as info:
        load_program(str(main))
    assert info.value.span.path == str(tmp_path / "lib.rasp") and info.value.span.line == 3
    assert "z = ;" in info.value.format()


def test_unknown_output_name_lists_the_sops():
    with pytest.raises(RaspError) as info:
        from_text("a = tokens; b = a;", output="c")
    assert "output 'c' is not defined" in info.value.message and "a, b" in info.value.message


def test_huge_file_is_refused():
    with pytest.raises(RaspError) as info:
        from_text("x = 1;\n" * 400_000)
    assert "too large" in info.value.message


def test_very_long_flat_expression_is_an_error_not_a_crash():
    with pytest.raises(RaspError) as info:
        from_text("x = tokens_int" + " + 1" * 5000 + ";")
    assert "nested too deeply" in info.value.message


def test_thousands_of_parentheses_parse_without_crashing():
    program = from_text("x = tokens_int + " + "(" * 5000 + "1" + ")" * 5000 + ";")
    assert program.run([[1, 2]]) == [[2, 3]]


def test_runaway_loop_is_stopped():
    with pytest.raises(RaspError) as info:
        from_text("x = tokens_int;\nfor i in range(1000000) { for j in range(1000000) { x = x + 1; } }")
    assert "steps to build" in info.value.message


def test_mixed_token_types_in_one_input():
    with pytest.raises(RaspError) as info:
        from_text("x = tokens;").run([[1, "a"]])
    assert "mixes int and str tokens" in info.value.message
