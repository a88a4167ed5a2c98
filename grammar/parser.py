"""Text to AST: the Lark grammar in rasp.lark, and one Transformer that builds typed nodes.

Syntax errors become `RaspError`s at the offending position. Deep nesting and huge files
are refused with an error, never a crash: Lark's LALR parser and its non-recursive
transformer use no Python recursion, and every node records its depth so the
recursive passes after parsing never go deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import Transformer_NonRecursive

from grammar import ast
from grammar.errors import RaspError, Source, Span

MAX_DEPTH = 250  # nesting levels of expressions and blocks
MAX_BRACKETS = 10_000  # nesting levels of brackets (redundant parentheses included), checked before parsing
MAX_BYTES = 2_000_000  # a .rasp file larger than this is refused

_PRAGMA = re.compile(r"^[ \t]*#[ \t]*rasp:(.*)$", re.MULTILINE)

_TERMINALS = {
    "SEMICOLON": "';'", "COMMA": "','", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['",
    "RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'", "EQUAL": "'='", "COLON": "':'",
    "NAME": "a name", "INT": "a number", "FLOAT": "a number", "STRING": "a string",
    "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/' or '%'",
    "POW_OP": "'^'", "OR": "'or'", "AND": "'and'", "NOT": "'not'", "IN": "'in'",
    "IF": "'if'", "ELSE": "'else'", "FOR": "'for'", "DEF": "'def'", "RETURN": "'return'",
    "LOAD": "'load'", "$END": "end of file", "EXPRESSION": "an expression",
    "SET_EXAMPLE": "'set example'", "SHOW_EXAMPLE": "'show example'", "TOGGLE_EXAMPLES": "'examples on'",
    "FULL_SEQ": "'full seq display on'", "EXIT": "'exit'",
}
_REPL_TERMINALS = {"SET_EXAMPLE", "SHOW_EXAMPLE", "TOGGLE_EXAMPLES", "FULL_SEQ", "EXIT"}
RESERVED_WORDS = ("if", "else", "not", "and", "or", "in", "def", "return", "for", "load")  # never names
_KEYWORDS = frozenset(w.upper() for w in RESERVED_WORDS)  # their terminals' names
_SET_EXAMPLE = re.compile(r"set[ \t]+(?:(s-op|selector)[ \t]+)?example")
_SUBSET = re.compile(r"(?:(?:set|show)[ \t]+)?(s-op|selector)[ \t]")  # `set s-op example`, `selector examples`


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = (Path(__file__).with_name("rasp.lark")).read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                start=["start", "example_expr"])


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse a whole .rasp file."""
    source = Source(path, text)
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise RaspError(f"file is too large ({len(text):,} characters; the limit is "
                        f"{MAX_BYTES:,}): split it into files joined with `load`",
                        Span(source, 1, 1))
    _check_bracket_depth(source)
    try:
        tree = _lark().parse(text, start="start")
    except UnexpectedInput as e:
        raise _syntax_error(e, source) from None
    try:
        statements = _ToAst(source).transform(tree)
    except VisitError as e:  # an error raised while building a node
        if isinstance(e.orig_exc, RaspError):
            raise e.orig_exc from None
        raise
    pragmas, domain = _pragmas(source)
    return ast.Module(tuple(statements), source, pragmas, domain)


def _check_bracket_depth(source: Source) -> None:
    """Brackets nested deeper than MAX_BRACKETS are an error at the first bracket too deep, found
    in one pass before parsing (100,000 nested parentheses are refused at once, not parsed for
    seconds); shallower redundant parentheses parse, and the expression depth is MAX_DEPTH's."""
    depth, line, col, quoted, comment = 0, 1, 0, False, False
    for c in source.text:
        col += 1
        if c == "\n":
            line, col, comment, quoted = line + 1, 0, False, False
        elif comment:
            continue
        elif c == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif c == "#":
            comment = True
        elif c in "([{":
            depth += 1
            if depth > MAX_BRACKETS:
                raise RaspError(f"nested too deeply (more than {MAX_BRACKETS:,} levels of brackets): name the "
                                "inner parts", Span(source, line, col))
        elif c in ")]}":
            depth = max(0, depth - 1)


def _pragmas(source: Source) -> tuple[frozenset[ast.Pragma], tuple[str, Span] | None]:
    """Words of `# rasp: causal, distinct, domain=NAME` lines (the domain's name is checked by
    whoever draws inputs from it)."""
    found, domain = set(), None
    for match in _PRAGMA.finditer(source.text):
        line = source.text.count("\n", 0, match.start()) + 1
        for word in re.split(r"[\s,]+", match.group(1).strip()):
            if not word:
                continue
            col = match.start(1) + match.group(1).index(word) - match.start() + 1
            if word.startswith("domain="):
                domain = (word.removeprefix("domain="), Span(source, line, col + len("domain=")))
                continue
            known = [p.value for p in ast.Pragma]
            if word not in known:
                raise RaspError(f"unknown pragma '{word}' (known: {', '.join(known)}, domain=NAME)",
                                Span(source, line, col))
            found.add(ast.Pragma(word))
    return frozenset(found), domain


def parse_expression(text: str, path: str = "<string>") -> ast.Expr:
    """Parse a single expression (the REPL and tests use this)."""
    program = parse(text.rstrip().rstrip(";") + ";", path)
    if len(program.statements) != 1 or not isinstance(program.statements[0], ast.ExprStmt):
        raise RaspError("expected one expression", Span(program.source, 1, 1))
    return program.statements[0].expr


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    text = str(token)
    return f"'{text[:30]}'" if text else _TERMINALS.get(token.type, token.type)


def _expected(names: set[str]) -> str:
    if {"NAME", "INT", "STRING"} <= names:
        names = (names - {"NAME", "INT", "FLOAT", "STRING", "LPAR", "LSQB", "LBRACE", "ADD_OP",
                          "NOT"}) | {"EXPRESSION"}
    readable = sorted({_TERMINALS.get(n, n.lower()) for n in names})
    if len(readable) > 6:
        readable = readable[:6] + ["..."]
    return ", ".join(readable)


def _syntax_error(e: UnexpectedInput, source: Source) -> RaspError:
    if isinstance(e, UnexpectedCharacters):
        char = source.text[e.pos_in_stream] if e.pos_in_stream < len(source.text) else ""
        if char == '"':
            message = "unterminated string (strings end with '\"' on the same line)"
        else:
            message = f"unexpected character {char!r}"
        return RaspError(message, Span(source, e.line, e.column))
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        lines = source.text.splitlines() or [""]
        line = len(lines)
        col = len(lines[-1]) + 1
        expected = getattr(e, "expected", None) or getattr(e, "accepts", None) or set()
        hint = f"; expected {_expected(set(expected))}" if expected else ""
        return RaspError(f"unexpected end of file{hint}", Span(source, line, col))
    assert isinstance(e, UnexpectedToken)
    expected = set(e.accepts or e.expected)
    if e.token.type in _KEYWORDS and _assigned(source, e.token):
        return RaspError(f"'{e.token}' is a reserved word and cannot be assigned", Span(source, e.line, e.column))
    before = re.search(r"\b(" + "|".join(RESERVED_WORDS) + r")[ \t]*$", source.line(e.line)[:e.column - 1])
    if e.token.type == "EQUAL" and before:
        return RaspError(f"'{before.group(1)}' is a reserved word and cannot be assigned",
                         Span(source, e.line, before.start(1) + 1))
    expected -= _REPL_TERMINALS  # a REPL line is one more kind of statement: not worth listing
    if "RETURN" in expected and e.token.type == "RBRACE":
        message = "a function body must end with 'return ...;'"
    elif "SEMICOLON" in expected and e.token.type not in ("RBRACE",):
        message = f"expected ';' before {_describe(e.token)}"
    else:
        message = f"unexpected {_describe(e.token)}; expected {_expected(expected)}"
    return RaspError(message, Span(source, e.line, e.column))


def _assigned(source: Source, token: Token) -> bool:
    """Whether a keyword stands where a name being assigned would (`if = 1;`)."""
    rest = source.text[token.end_pos:token.end_pos + 200] if token.end_pos is not None else ""
    return re.match(r"[ \t]*=(?!=)", rest) is not None


def _unquote(token: Token) -> str:
    return str(token)[1:-1]


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Turns Lark's parse tree into `grammar.ast` nodes, bottom up, without recursion."""

    def __init__(self, source: Source):
        super().__init__()
        self.source = source

    def _span(self, meta) -> Span:
        return Span(self.source, getattr(meta, "line", 1), getattr(meta, "column", 1))

    def _tok_span(self, token: Token) -> Span:
        return Span(self.source, token.line, token.column)

    def _node(self, cls, meta, *fields, children=()):
        depth = 1 + max((c.depth for c in children if isinstance(c, ast.Node)), default=0)
        span = self._span(meta)
        if depth > MAX_DEPTH:
            raise RaspError(f"nested too deeply (more than {MAX_DEPTH} levels): "
                            "name the inner parts with assignments", span)
        return cls(*fields, span=span, depth=depth)

    # ---- statements
    def start(self, meta, children):
        return [c for c in children]

    def _not_reserved(self, token: Token) -> Token:
        """A name token that is not a keyword: the lexer reads `if` as a name where no keyword can
        stand (`if = 1;`), and the classic REPL refuses those as names."""
        if str(token) in RESERVED_WORDS:
            raise RaspError(f"'{token}' is a reserved word and cannot be used as a name", self._tok_span(token))
        return token

    def names(self, meta, children):
        for t in children:
            if str(t) in RESERVED_WORDS:
                raise RaspError(f"'{t}' is a reserved word and cannot be assigned", self._tok_span(t))
        return children  # tokens; spans read off them where needed

    def exprs(self, meta, children):
        return tuple(children)

    def assign(self, meta, children):
        names, values = children
        return self._node(ast.Assign, meta, tuple(str(n) for n in names), values,
                          tuple(self._tok_span(n) for n in names), children=values)

    def expr_stmt(self, meta, children):
        expr = children[0]
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "draw":
            return self._draw(meta, expr)
        return self._node(ast.ExprStmt, meta, expr, children=children)

    # ---- the classic REPL's statements (ast.ReplStatement)
    def _draw(self, meta, call: ast.Call) -> ast.ReplStatement:
        """`draw(s)` or `draw(s, example);`, a statement in the classic REPL's grammar."""
        if not 1 <= len(call.args) <= 2:
            raise RaspError(f"draw takes an s-op and, optionally, an example, but {len(call.args)} "
                            f"argument{'s' * (len(call.args) != 1)} were given", call.span)
        example = call.args[1] if len(call.args) == 2 else None
        return self._node(ast.ReplStatement, meta, ast.ReplKind.DRAW, ast.Subset.BOTH, None,
                          call.args[0], example, children=call.args)

    def _repl(self, meta, kind: ast.ReplKind, token: Token, on: bool | None = None,
              example: ast.Expr | None = None) -> ast.ReplStatement:
        found = _SUBSET.match(str(token))
        subset = ast.Subset(found.group(1)) if found else ast.Subset.BOTH
        return self._node(ast.ReplStatement, meta, kind, subset, on, None, example,
                          children=(example,) if example is not None else ())

    def set_example(self, meta, children):
        (token,) = children
        text = str(token)
        prefix = _SET_EXAMPLE.match(text)
        assert prefix is not None  # the terminal's own pattern
        rest = text[prefix.end():]
        line, col = token.line, token.column + prefix.end()
        if not rest.split("#", 1)[0].strip().rstrip(";").strip():
            raise RaspError("set example needs an example on the same line: a string (set example "
                            "\"hello\") or a list (set example [3, 1, 2])", self._tok_span(token))
        padded = "\n" * (line - 1) + " " * (col - 1) + rest  # the expression where it stands in the file
        try:
            tree = _lark().parse(padded, start="example_expr")
        except UnexpectedInput as e:
            if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
                raise RaspError("the example of 'set example' ends before it is complete (it must fit "
                                "on its line)", Span(self.source, line, col + len(rest.rstrip()))) from None
            raise _syntax_error(e, self.source) from None
        example = _ToAst(self.source).transform(tree)
        return self._repl(meta, ast.ReplKind.SET_EXAMPLE, token, example=example)

    def example_expr(self, meta, children):
        return children[0]

    def show_example(self, meta, children):
        return self._repl(meta, ast.ReplKind.SHOW_EXAMPLE, children[0])

    def toggle_examples(self, meta, children):
        token = children[0]
        return self._repl(meta, ast.ReplKind.EXAMPLES, token, on=str(token).rstrip().endswith("on"))

    def full_seq_display(self, meta, children):
        token = children[0]
        return self._repl(meta, ast.ReplKind.FULL_SEQ_DISPLAY, token, on=str(token).rstrip().endswith("on"))

    def exit(self, meta, children):
        return self._repl(meta, ast.ReplKind.EXIT, children[0])

    def load(self, meta, children):
        return self._node(ast.Load, meta, _unquote(children[0]))

    def return_stmt(self, meta, children):
        return (children[0], self._span(meta))

    def funcdef(self, meta, children):
        name, params, *body, (returns, return_span) = children
        self._not_reserved(name)
        params = tuple(str(p) for p in params) if params else ()
        return self._node(ast.FuncDef, meta, str(name), params, tuple(body), returns,
                          return_span, children=(*body, *returns))

    def forloop(self, meta, children):
        names, iterable, *body = children
        return self._node(ast.ForLoop, meta, tuple(str(n) for n in names), iterable,
                          tuple(body), children=(iterable, *body))

    # ---- expressions
    def ifelse(self, meta, children):
        then, cond, otherwise = children
        return self._node(ast.IfElse, meta, then, cond, otherwise, children=children)

    def binop(self, meta, children):
        left, op, right = children
        node = self._node(ast.BinOp, meta, str(op), left, right, children=(left, right))
        return replace(node, span=self._tok_span(op))  # errors point at the operator

    def unop(self, meta, children):
        op, operand = children
        return self._node(ast.UnaryOp, meta, str(op), operand, children=(operand,))

    def call(self, meta, children):
        func, args = children
        args = tuple(args) if args else ()
        return self._node(ast.Call, meta, func, args, children=(func, *args))

    def args(self, meta, children):
        return children

    def operator(self, meta, children):
        return self._node(ast.Operator, meta, str(children[0]))

    def index(self, meta, children):
        target, index = children
        return self._node(ast.Index, meta, target, index, children=children)

    def int(self, meta, children):
        text = str(children[0])
        if len(text) > 18 and (len(text.lstrip("0")) > 19 or int(text) >= 2**63):
            raise RaspError("integer too large (numbers are 64-bit)", self._span(meta))
        return self._node(ast.Number, meta, int(text))

    def float(self, meta, children):
        value = float(children[0])
        if value in (float("inf"), float("-inf")):
            raise RaspError("number too large (floats are 64-bit)", self._span(meta))
        return self._node(ast.Number, meta, value)

    def string(self, meta, children):
        return self._node(ast.String, meta, _unquote(children[0]))

    def name(self, meta, children):
        return self._node(ast.Name, meta, str(self._not_reserved(children[0])))

    def list(self, meta, children):
        items = children[0] or ()
        return self._node(ast.ListLit, meta, tuple(items), children=items)

    def listcomp(self, meta, children):
        element, names, iterable = children
        return self._node(ast.ListComp, meta, element, tuple(str(n) for n in names), iterable,
                          children=(element, iterable))

    def pair(self, meta, children):
        return tuple(children)

    def dict(self, meta, children):
        pairs = tuple(p for p in children if p is not None)
        flat = [x for p in pairs for x in p]
        return self._node(ast.DictLit, meta, pairs, children=flat)

    def dictcomp(self, meta, children):
        key, value, names, iterable = children
        return self._node(ast.DictComp, meta, key, value, tuple(str(n) for n in names),
                          iterable, children=(key, value, iterable))
