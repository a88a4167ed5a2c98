"""AST to s-op graph: run the statements of a program, computing plain values, unrolling
loops and inlining functions, so that what remains is the graph of s-ops and selectors.

Everything a program can get wrong without looking at an input (a selector where an s-op
belongs, a list where a number belongs, too many values to unpack) is found here, with
its source position, before any input is run.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from grammar import ast
from rasp.language import builtins, sops
from rasp.language.builtins import OpToken, kind_name
from grammar.errors import RaspError, Span

MAX_CALL_DEPTH = 100
MAX_STEPS = 2_000_000
MAX_PLAIN_SIZE = 1_000_000

PRELUDE = Path(__file__).with_name("prelude.rasp")


@lru_cache(maxsize=1)
def prelude_tree() -> ast.Module:
    from grammar.parser import parse  # the prelude is RASP too

    return parse(PRELUDE.read_text(), str(PRELUDE))


@dataclass
class Function:
    """A user function: its definition and the scope it was defined in."""

    definition: ast.FuncDef
    closure: Env

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def params(self) -> tuple[str, ...]:
        return self.definition.params


class Env:
    """A scope. Names set in a file's scope are also exported to whoever loaded the file,
    except private names (`_x`)."""

    def __init__(self, parent: Env | None = None, exports_to: Env | None = None):
        self.parent = parent
        self.exports_to = exports_to
        self.vars: dict[str, Any] = {}
        self.assigned: list[tuple[str, Any]] = []  # direct assignments, in order

    def lookup(self, name: str) -> Any:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        raise KeyError(name)

    def set(self, name: str, value: Any, record: bool = True) -> None:
        self.vars[name] = value
        if record:
            self.assigned.append((name, value))
        if self.exports_to is not None and not name.startswith("_"):
            self.exports_to.set(name, value, record=False)


# A loader turns (name in a load statement, the file that loads it) into a parsed program.
Loader = Callable[[str, Span], ast.Module]


_PLAIN_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "%": operator.mod, "^": operator.pow, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class Builder:
    """Runs statements into an `Env`. One builder per program build."""

    def __init__(self, loader: Loader):
        self.loader = loader
        self.call_depth = 0
        self.steps = 0
        self.loading: list[str] = []
        self.root = Env()
        for name in builtins.CONSTANTS:
            self.root.vars[name] = builtins.constant(name)
        self.root.vars.update(builtins.FUNCTIONS)
        self.base = Env(self.root)
        self.run(prelude_tree(), self.base)

    def new_file_env(self) -> Env:
        return Env(self.base)

    # ---- statements ------------------------------------------------------------------------

    def run(self, program: ast.Module, env: Env) -> None:
        for stmt in program.statements:
            self.exec(stmt, env)

    def exec(self, stmt: ast.Stmt, env: Env) -> list[tuple[str, Any]]:
        """Run one statement; returns the (name, value) pairs it bound (the REPL shows them)."""
        self._step(stmt.span)
        if isinstance(stmt, ast.Assign):
            return self._assign(stmt, env)
        if isinstance(stmt, ast.ExprStmt):
            return [("", self.eval(stmt.expr, env))]
        if isinstance(stmt, ast.FuncDef):
            function = Function(stmt, env)
            env.set(stmt.name, function)
            return [(stmt.name, function)]
        if isinstance(stmt, ast.ForLoop):
            iterable = self._iterable(self.eval(stmt.iterable, env), stmt.iterable, "a for loop")
            bound = []
            for item in iterable:
                self._bind(stmt.targets, item, env, stmt.span)
                for inner in stmt.body:
                    bound += self.exec(inner, env)
            return bound
        if isinstance(stmt, ast.Load):
            return self._load(stmt, env)
        raise RaspError(f"cannot run {type(stmt).__name__}", stmt.span)  # pragma: no cover

    def _assign(self, stmt: ast.Assign, env: Env) -> list[tuple[str, Any]]:
        values = [self.eval(v, env) for v in stmt.values]
        value: Any = values[0] if len(values) == 1 else values
        if len(stmt.targets) == 1:
            pairs = [(stmt.targets[0], value)]
        else:
            if not isinstance(value, list) or len(value) != len(stmt.targets):
                got = f"{len(value)} values" if isinstance(value, list) else kind_name(value)
                raise RaspError(f"cannot unpack {got} into {len(stmt.targets)} names", stmt.span)
            pairs = list(zip(stmt.targets, value))
        for (name, v), span in zip(pairs, stmt.target_spans):
            if name in builtins.RESERVED:
                raise RaspError(f"'{name}' is a built-in name and cannot be assigned", span)
            if isinstance(v, sops.Value) and v.label is None:
                v.label = name
            env.set(name, v)
        return pairs

    def _load(self, stmt: ast.Load, env: Env) -> list[tuple[str, Any]]:
        program = self.loader(stmt.name, stmt.span)
        if program.path in self.loading:
            chain = " -> ".join(Path(p).name for p in [*self.loading, program.path])
            raise RaspError(f"load cycle: {chain}", stmt.span)
        file_env = Env(self.base, exports_to=env)
        self.loading.append(program.path)
        try:
            self.run(program, file_env)
        finally:
            self.loading.pop()
        return [(n, v) for n, v in file_env.assigned if not n.startswith("_")]

    def _bind(self, targets: tuple[str, ...], item: Any, env: Env, span: Span) -> None:
        if len(targets) == 1:
            env.set(targets[0], item, record=False)
            return
        if not isinstance(item, list) or len(item) != len(targets):
            got = f"{len(item)} values" if isinstance(item, list) else kind_name(item)
            raise RaspError(f"cannot unpack {got} into {len(targets)} names", span)
        for name, v in zip(targets, item):
            env.set(name, v, record=False)

    def _iterable(self, value: Any, node: ast.Expr, where: str) -> list:
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return list(value)
        raise RaspError(f"{where} needs a list or dict to loop over, got {kind_name(value)}", node.span)

    def _step(self, span: Span) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RaspError(f"the program takes more than {MAX_STEPS:,} steps to build "
                            "(a loop or list comprehension that is too long?)", span)

    # ---- expressions ---------------------------------------------------------------------

    def eval(self, expr: ast.Expr, env: Env) -> Any:
        self._step(expr.span)
        method = getattr(self, "_eval_" + type(expr).__name__)
        return method(expr, env)

    def _eval_Number(self, expr: ast.Number, env: Env) -> Any:
        return expr.value

    def _eval_String(self, expr: ast.String, env: Env) -> Any:
        return expr.value

    def _eval_Name(self, expr: ast.Name, env: Env) -> Any:
        try:
            value = env.lookup(expr.id)
        except KeyError:
            raise RaspError(f"unknown name '{expr.id}'", expr.span) from None
        if isinstance(value, sops.Value) and value.span is None:
            value.span = expr.span  # built-in s-ops report errors at their first use
        return value

    def _eval_Operator(self, expr: ast.Operator, env: Env) -> Any:
        return OpToken(expr.op)

    def _eval_ListLit(self, expr: ast.ListLit, env: Env) -> Any:
        return [self.eval(item, env) for item in expr.items]

    def _eval_DictLit(self, expr: ast.DictLit, env: Env) -> Any:
        return {self._dict_key(k, env): self.eval(v, env) for k, v in expr.pairs}

    def _dict_key(self, node: ast.Expr, env: Env) -> Any:
        return builtins.as_atom(self.eval(node, env), node, "a dict key")

    def _comprehension(self, targets, iterable_node, env, body: Callable[[Env], Any]) -> list:
        iterable = self._iterable(self.eval(iterable_node, env), iterable_node, "a comprehension")
        results = []
        for item in iterable:
            inner = Env(env)
            self._bind(targets, item, inner, iterable_node.span)
            results.append(body(inner))
        return results

    def _eval_ListComp(self, expr: ast.ListComp, env: Env) -> Any:
        return self._comprehension(expr.targets, expr.iterable, env,
                                   lambda inner: self.eval(expr.element, inner))

    def _eval_DictComp(self, expr: ast.DictComp, env: Env) -> Any:
        pairs = self._comprehension(
            expr.targets, expr.iterable, env,
            lambda inner: (self._dict_key(expr.key, inner), self.eval(expr.value, inner)))
        return dict(pairs)

    def _eval_UnaryOp(self, expr: ast.UnaryOp, env: Env) -> Any:
        value = self.eval(expr.operand, env)
        if expr.op == "not":
            if isinstance(value, sops.Selector):
                return sops.SelectNot(inner=value, span=expr.span)
            if isinstance(value, sops.SOp):
                return sops.Map(op="not", args=(value,), span=expr.span)
            if builtins.is_atom(value):
                return not value
            raise RaspError(f"'not' needs a boolean, s-op or selector, got {kind_name(value)}", expr.span)
        op = "neg" if expr.op == "-" else "pos"
        if isinstance(value, sops.SOp):
            return sops.Map(op=op, args=(value,), span=expr.span)
        if isinstance(value, (bool, int, float)):
            return -value if op == "neg" else +value
        raise RaspError(f"'{expr.op}' needs a number or s-op, got {kind_name(value)}", expr.span)

    def _eval_BinOp(self, expr: ast.BinOp, env: Env) -> Any:
        left = self.eval(expr.left, env)
        right = self.eval(expr.right, env)
        op = expr.op
        if op in ("and", "or"):
            return self._logical(expr, left, right)
        if op == "in":
            return self._contains(expr, left, right)
        for side, node in ((left, expr.left), (right, expr.right)):
            if isinstance(side, sops.Selector):
                raise RaspError(f"a selector cannot be used with '{op}': a selector is not an s-op "
                                "(aggregate or selector_width turn it into one)", node.span)
        if isinstance(left, sops.SOp) or isinstance(right, sops.SOp):
            for side, node in ((left, expr.left), (right, expr.right)):
                builtins.as_sop(side, node, f"an operand of '{op}'")
            return sops.Map(op=op, args=(left, right), span=expr.span)
        return self._plain_binary(expr, left, right)

    def _plain_binary(self, expr: ast.BinOp, left: Any, right: Any) -> Any:
        op = expr.op
        allowed = (bool, int, float, str) if op in ("==", "!=", "+", "<", "<=", ">", ">=") else (bool, int, float)
        ok = (isinstance(left, allowed) and isinstance(right, allowed)) or (
            op in ("+", "==", "!=") and isinstance(left, list) and isinstance(right, list))
        if not ok:
            raise RaspError(f"cannot apply '{op}' to {kind_name(left)} and {kind_name(right)}", expr.span)
        if op == "^" and isinstance(right, int) and isinstance(left, int) and abs(right) > 64:
            left = float(left)
        try:
            result = _PLAIN_BINARY[op](left, right)
        except ZeroDivisionError:
            raise RaspError("division by zero", expr.span) from None
        except (TypeError, OverflowError) as e:
            raise RaspError(f"cannot apply '{op}' to {kind_name(left)} and {kind_name(right)} ({e})",
                            expr.span) from None
        if isinstance(result, (str, list)) and len(result) > MAX_PLAIN_SIZE:
            raise RaspError(f"'{op}' builds a value of {len(result):,} items (limit {MAX_PLAIN_SIZE:,})",
                            expr.span)
        return result

    def _logical(self, expr: ast.BinOp, left: Any, right: Any) -> Any:
        op = expr.op
        selectors = [isinstance(x, sops.Selector) for x in (left, right)]
        if all(selectors):
            cls = sops.SelectAnd if op == "and" else sops.SelectOr
            return cls(left=left, right=right, span=expr.span)
        if any(selectors):
            other, node = (right, expr.right) if selectors[0] else (left, expr.left)
            raise RaspError(f"'{op}' combines a selector with {kind_name(other)}; "
                            "both sides must be selectors, or neither", node.span)
        if isinstance(left, sops.SOp) or isinstance(right, sops.SOp):
            args = (builtins.as_sop(left, expr.left, f"an operand of '{op}'"),
                    builtins.as_sop(right, expr.right, f"an operand of '{op}'"))
            return sops.Map(op=op, args=args, span=expr.span)
        return (left and right) if op == "and" else (left or right)

    def _contains(self, expr: ast.BinOp, item: Any, container: Any) -> Any:
        if isinstance(item, sops.SOp):
            options = builtins.as_list(container, expr.right, "the right side of 's-op in ...'")
            if not all(builtins.is_atom(o) for o in options):
                raise RaspError("'s-op in list' needs a list of plain values", expr.right.span)
            return sops.Map(op="in", args=(item, tuple(options)), span=expr.span)
        if builtins.is_atom(item):
            if isinstance(container, sops.SOp):
                # True at every position when any position holds the value (classic REPL).
                everywhere = sops.Select(keys=sops.Full(value=1, span=expr.span),
                                         queries=sops.Full(value=1, span=expr.span), op="==",
                                         span=expr.span)
                hits = sops.Map(op="indicator", args=(sops.Map(op="==", args=(container, item),
                                                               span=expr.span),), span=expr.span)
                share = sops.Aggregate(selector=everywhere, values=hits, default=0, span=expr.span)
                return sops.Map(op=">", args=(share, 0), span=expr.span)
            if isinstance(container, (list, dict)):
                return item in container
            if isinstance(container, str) and isinstance(item, str):
                return item in container
        raise RaspError(f"cannot test whether {kind_name(item)} is in {kind_name(container)}", expr.span)

    def _eval_IfElse(self, expr: ast.IfElse, env: Env) -> Any:
        cond = self.eval(expr.cond, env)
        if isinstance(cond, sops.Selector):
            raise RaspError("the condition of 'if' is a selector; it must be an s-op or a value",
                            expr.cond.span)
        if isinstance(cond, sops.SOp):
            then = builtins.as_sop(self.eval(expr.then, env), expr.then, "the value of an s-op 'if'")
            otherwise = builtins.as_sop(self.eval(expr.otherwise, env), expr.otherwise,
                                        "the value of an s-op 'else'")
            return sops.Map(op="ifelse", args=(cond, then, otherwise), span=expr.span)
        if not builtins.is_atom(cond) and not isinstance(cond, (list, dict)):
            raise RaspError(f"the condition of 'if' must be a value or s-op, got {kind_name(cond)}",
                            expr.cond.span)
        return self.eval(expr.then if cond else expr.otherwise, env)

    def _eval_Index(self, expr: ast.Index, env: Env) -> Any:
        target = self.eval(expr.target, env)
        index = self.eval(expr.index, env)
        if isinstance(target, (list, str)):
            i = builtins.as_int(index, expr.index, "a list index")
            if not -len(target) <= i < len(target):
                raise RaspError(f"index {i} is out of range for {kind_name(target)} of length "
                                f"{len(target)}", expr.index.span)
            return target[i]
        if isinstance(target, dict):
            key = builtins.as_atom(index, expr.index, "a dict key")
            if key not in target:
                raise RaspError(f"key {key!r} is not in the dict", expr.index.span)
            return target[key]
        if isinstance(target, sops.SOp):
            # s[i]: the value at position i (from the end when negative), at every position.
            i = builtins.as_int(index, expr.index, "an s-op index")
            where: sops.SOp = sops.Full(value=i, span=expr.span)
            if i < 0:
                where = sops.Map(op="+", args=(self.root.vars["length"], i), span=expr.span)
            selector = sops.Select(keys=self._indices(), queries=where, op="==", span=expr.span)
            return sops.Aggregate(selector=selector, values=target, default=0, span=expr.span)
        raise RaspError(f"cannot index into {kind_name(target)}", expr.target.span)

    def _indices(self) -> sops.SOp:
        return self.root.vars["indices"]

    def _eval_Call(self, expr: ast.Call, env: Env) -> Any:
        func = self.eval(expr.func, env)
        args = [self.eval(a, env) for a in expr.args]
        if isinstance(func, builtins.Builtin):
            builtins.check_arity(func.name, func.min_args, func.max_args, len(args), expr)
            for i, (arg, node) in enumerate(zip(args, expr.args)):
                if isinstance(arg, OpToken) and i != func.takes_operator:
                    raise RaspError(f"a comparison ('{arg.op}') can only be the operator argument "
                                    "of select or kqv", node.span)
                if i == func.takes_operator and not isinstance(arg, OpToken):
                    raise RaspError(f"argument {i + 1} of {func.name} must be a comparison "
                                    f"(one of == != < <= > >=), got {kind_name(arg)}", node.span)
            return func.impl(args, expr)
        for arg, node in zip(args, expr.args):
            if isinstance(arg, OpToken):
                raise RaspError(f"a comparison ('{arg.op}') can only be the operator argument "
                                "of select or kqv", node.span)
        if isinstance(func, Function):
            return self.call(func, args, expr)
        if isinstance(func, sops.Value):
            return self._apply_to_input(func, args, expr)
        raise RaspError(f"{kind_name(func)} cannot be called", expr.func.span)

    def call(self, func: Function, args: list[Any], call: ast.Call) -> Any:
        builtins.check_arity(func.name, len(func.params), len(func.params), len(args), call)
        if self.call_depth >= MAX_CALL_DEPTH:
            raise RaspError(f"recursion: calls to '{func.name}' nest more than {MAX_CALL_DEPTH} deep "
                            "(a transformer has a fixed number of layers, so RASP has no recursion)",
                            call.span)
        local = Env(func.closure)
        for name, value in zip(func.params, args):
            local.set(name, value, record=False)
        self.call_depth += 1
        try:
            for stmt in func.definition.body:
                self.exec(stmt, local)
            results = [self.eval(r, local) for r in func.definition.returns]
        finally:
            self.call_depth -= 1
        return results[0] if len(results) == 1 else results

    def _apply_to_input(self, value: sops.Value, args: list[Any], call: ast.Call) -> Any:
        """`hist("hello")`: run an s-op (or selector) on one input, as the classic REPL does."""
        from rasp.language.inputs import tokens_array  # the executor is only needed here
        from rasp.language.execute import ExecError, execute

        if len(args) != 1:
            raise RaspError("an s-op is applied to one input, e.g. hist(\"hello\")", call.span)
        given = args[0]
        tokens = list(given) if isinstance(given, str) else given
        if not isinstance(tokens, list) or not all(builtins.is_atom(t) for t in tokens):
            raise RaspError(f"an s-op is applied to a string or a list of tokens, got {kind_name(given)}",
                            call.args[0].span)
        if not tokens:
            return []
        try:
            array = tokens_array([tokens], call.args[0].span)
            (result,) = execute([value], array)
        except ExecError as e:
            where = f" at position {e.position}" if e.position is not None else ""
            raise RaspError(f"{e.message}{where}", e.node.span or call.span) from None
        return result[0].tolist()
