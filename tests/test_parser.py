"""The grammar: precedence as LANGUAGE.md section 1 lists it, and positions on every node."""

from __future__ import annotations

import pytest

from grammar import ast
from grammar.parser import parse, parse_expression


def shape(e: ast.Expr):
    """A compact tree of operators, for comparing parses."""
    if isinstance(e, ast.BinOp):
        return (e.op, shape(e.left), shape(e.right))
    if isinstance(e, ast.UnaryOp):
        return (e.op, shape(e.operand))
    if isinstance(e, ast.IfElse):
        return ("if", shape(e.then), shape(e.cond), shape(e.otherwise))
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Number):
        return e.value
    if isinstance(e, ast.Call):
        return ("call", shape(e.func), *[shape(a) for a in e.args])
    if isinstance(e, ast.Operator):
        return e.op
    return type(e).__name__


@pytest.mark.parametrize("text, expected", [
    ("a or b and c", ("or", "a", ("and", "b", "c"))),
    ("not a == b", ("not", ("==", "a", "b"))),
    ("not a and b", ("and", ("not", "a"), "b")),
    ("a + b * c", ("+", "a", ("*", "b", "c"))),
    ("a - b - c", ("-", ("-", "a", "b"), "c")),
    ("a * b % c", ("%", ("*", "a", "b"), "c")),
    ("-a * b", ("*", ("-", "a"), "b")),
    ("a + b in c", ("in", ("+", "a", "b"), "c")),
    ("a < b + 1", ("<", "a", ("+", "b", 1))),
    ("x if a or b else y", ("if", "x", ("or", "a", "b"), "y")),
    ("x if c else y if d else z", ("if", "x", "c", ("if", "y", "d", "z"))),
    ("-2 ^ 2", ("-", ("^", 2, 2))),
    ("f(a)(b)", ("call", ("call", "f", "a"), "b")),
    ("select(k, q, <=)", ("call", "select", "k", "q", "<=")),
    ("(a + b) * c", ("*", ("+", "a", "b"), "c")),
])
def test_precedence(text, expected):
    assert shape(parse_expression(text)) == expected


def test_every_node_has_its_position():
    program = parse("x = 1;\n\n  def f(a) {\n    return a + 1;\n  }\n", "p.rasp")
    assign, funcdef = program.statements
    assert (assign.span.line, assign.span.col) == (1, 1)
    assert (funcdef.span.line, funcdef.span.col) == (3, 3)
    (ret,) = funcdef.returns
    assert (ret.span.line, ret.span.col) == (4, 14)  # a binary operation sits at its operator
    assert (ret.left.span.line, ret.left.span.col) == (4, 12)
    assert assign.span.path == "p.rasp"


def test_statement_forms():
    program = parse('load "lib";\nfor a, b in [[1, 2]] { c = a; }\nx, y = 1, 2;\nd = {"k": [v for v in [1]]};\n'
                    "e = {k: k for k in [1]};\nf(1);\n")
    kinds = [type(s).__name__ for s in program.statements]
    assert kinds == ["Load", "ForLoop", "Assign", "Assign", "Assign", "ExprStmt"]
    assert program.statements[1].targets == ("a", "b")
    assert program.statements[2].targets == ("x", "y") and len(program.statements[2].values) == 2


def test_comments_strings_and_numbers():
    program = parse('# a comment\nx = "§ # not a comment"; # trailing\ny = 0.25;\n')
    assert program.statements[0].values[0].value == "§ # not a comment"
    assert program.statements[1].values[0].value == 0.25
    assert not program.causal


def test_causal_pragma():
    assert parse("# rasp: causal\nx = 1;").causal
    assert parse("x = 1;  # rasp: causal\n").causal is False  # only on a line of its own
    assert parse("   # rasp: causal\n").causal
