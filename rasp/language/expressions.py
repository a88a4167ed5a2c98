"""The expression half of the builder: names, literals, comprehensions, operators, indexing
and calls, each evaluated to a plain value or to a new s-op or selector node.

Operators on plain values compute at once; an operator with an s-op on either side becomes
a `sops.Map` node, and `and`/`or`/`not` on selectors become selector nodes.
"""

from __future__ import annotations

import difflib
import operator
from typing import Any, Callable

from grammar import ast
from grammar.errors import RaspError, Span
from rasp.language import builtins, sops
from rasp.language.env import Env, Function
from rasp.language.rules import check_arity
from rasp.language.values import Builtin, OpToken, is_atom, kind_name

MAX_PLAIN_SIZE = 1_000_000

_PLAIN_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "%": operator.mod, "^": operator.pow, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class Expressions:
    """Mixed into `build.Builder`: the attributes declared here come from the builder
    and its other half."""

    root: Env
    calls: list[tuple[str, Span]]
    _step: Callable[[Span], None]
    _bind: Callable[[tuple[str, ...], Any, Env, Span], None]
    _iterable: Callable[[Any, ast.Expr, str], list]
    call: Callable[[Function, list[Any], ast.Call], Any]

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
            raise RaspError(f"unknown name '{expr.id}'{self._unknown_hint(expr.id, env)}", expr.span) from None
        if isinstance(value, sops.Value) and value.span is None:
            value.span = expr.span  # built-in s-ops report errors at their first use
        return value

    def _unknown_hint(self, name: str, env: Env) -> str:
        """For a name unbound where it is used: the call that reached it (a function body reads
        global names when called), and a close name in scope."""
        known: set[str] = set()
        scope: Env | None = env
        while scope is not None:
            known |= set(scope.vars)
            scope = scope.parent
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        if self.calls:
            function, span = self.calls[-1]
            hint += f" (in the call to {function} at {span})"
        return hint

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
            if is_atom(value):
                return not value
            raise RaspError(f"'not' needs a boolean, s-op or selector, got {kind_name(value)}", expr.span)
        op = "neg" if expr.op == "-" else "pos"
        if isinstance(value, sops.SOp):
            return sops.Map(op=op, args=(value,), span=expr.span)
        if isinstance(value, (bool, int, float)):
            return builtins.in_range(-value if op == "neg" else +value, f"'{expr.op}'", expr)
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
        except OverflowError:
            raise RaspError(f"'{op}' gives a number too large or undefined (numbers are 64-bit)", expr.span) from None
        except TypeError as e:
            raise RaspError(f"cannot apply '{op}' to {kind_name(left)} and {kind_name(right)} ({e})",
                            expr.span) from None
        result = builtins.in_range(result, f"'{op}'", expr)
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
            if not all(is_atom(o) for o in options):
                raise RaspError("'s-op in list' needs a list of plain values", expr.right.span)
            return sops.Map(op="in", args=(item, tuple(options)), span=expr.span)
        if is_atom(item):
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
        if not is_atom(cond) and not isinstance(cond, (list, dict)):
            raise RaspError(f"the condition of 'if' must be a value or s-op, got {kind_name(cond)}",
                            expr.cond.span)
        return self.eval(expr.then if cond else expr.otherwise, env)

    def _eval_Index(self, expr: ast.Index, env: Env) -> Any:
        target = self.eval(expr.target, env)
        index = self.eval(expr.index, env)
        if isinstance(index, sops.SOp) and isinstance(target, (list, str, dict)):
            return self._lookup(expr, target, index)
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

    def _lookup(self, expr: ast.Index, target: list | str | dict, index: sops.SOp) -> sops.Map:
        """`d[tokens]`, `names[indices]`: the container's entry for each position's key, as in the
        classic REPL; a map whose table is the container (op `lookup` for a dict, `index` for a
        list or string, whose negative indices count from the end)."""
        if isinstance(target, dict):
            pairs = tuple(target.items())
            op = "lookup"
        else:
            n = len(target)
            pairs = tuple((i, target[i]) for i in range(-n, n))
            op = "index"
        for key, value in pairs:
            if not is_atom(value):
                where = f"the value for key {key!r}" if op == "lookup" else f"item {key}"
                raise RaspError(f"indexing {kind_name(target)} by an s-op needs plain values in it (numbers, "
                                f"strings, booleans), but {where} is {kind_name(value)}", expr.target.span)
        return sops.Map(op=op, args=(index, pairs), span=expr.span)

    def _indices(self) -> sops.SOp:
        return self.root.vars["indices"]

    def _eval_Call(self, expr: ast.Call, env: Env) -> Any:
        func = self.eval(expr.func, env)
        args = [self.eval(a, env) for a in expr.args]
        if isinstance(func, Builtin):
            check_arity(func, expr)
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

    def _apply_to_input(self, value: sops.Value, args: list[Any], call: ast.Call) -> Any:
        """`hist("hello")`: run an s-op (or selector) on one input, as the classic REPL does."""
        from rasp.language.execute import ExecError, execute
        from rasp.language.inputs import tokens_array  # the executor is only needed here

        if len(args) != 1:
            raise RaspError("an s-op is applied to one input, e.g. hist(\"hello\")", call.span)
        given = args[0]
        tokens = list(given) if isinstance(given, str) else given
        if not isinstance(tokens, list) or not all(is_atom(t) for t in tokens):
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
