"""Reference labellers: the targets of some library programs' tasks computed in plain Python,
without the interpreter, so that drawing fresh examples every training step stays cheap.

`reference(task)` gives a function from a batch of inputs (as the task's sampler draws them) to
their targets, equal value for value and type for type to `predictor.tasks.labels` (per-position:
a label per input token; autoregressive: the generated tokens, the end token last; answer: the
program's value at the last position). Each program's rule is its RASP definition
(rasp/language/library/NAME.rasp) worked out by hand, including its edge cases, for the inputs
where that is simple: an input outside a rule's domain (a repeated token where the program needs
distinct ones, a token the program treats specially, a type the rule does not handle, an output
longer than the generation limit) sends the whole batch to the interpreter, which is always right.
Every rule is checked against the interpreter by tests/test_references.py.

`reference` gives None where there is no rule: a program given by path (or a library name that a
file in the working folder or on $RASP_PATH shadows), a chosen output s-op, a framing the rule
does not implement, or a separator and end token other than those the rule assumes.
"""

from __future__ import annotations

import os
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from rasp.language.program import Program

Task = Any  # a predictor.tasks.Task (not imported: predictor.tasks imports this module)

Labeller = Callable[[list[list[Any]]], list[list[Any]]]
Rule = Callable[[list[Any]], "list[Any] | None"]  # one input's target; None outside the rule's domain

INT64 = 2**63
DIGIT_NAMES = tuple("0123456789")
DIGIT_VALUES = {name: value for value, name in enumerate(DIGIT_NAMES)}
NOT_HINTS = frozenset(DIGIT_NAMES) | {"+", "=", ".", "^"}  # tokens addition_hints.rasp treats apart


# ---- tokens ---------------------------------------------------------------------------------


def token_kind(tokens: set[Any]) -> str | None:
    """"str" when every token is a plain string, "int" when every one is a plain 64-bit integer
    (not a boolean): the kinds the rules handle; None for anything else (mixed kinds included)."""
    types = {type(t) for t in tokens}
    if types == {str}:
        # NumPy drops a string's trailing NULs, so such a token would not come back as itself
        return "str" if all(t[-1:] != "\x00" for t in tokens) else None
    if types == {int}:
        return "int" if all(-INT64 <= t < INT64 for t in tokens) else None
    return None


def same_token(a: Any, b: Any) -> bool:
    """Equal in type and value (1, True and "1" all differ)."""
    return type(a) is type(b) and a == b


def int_view(token: Any) -> int | None:
    """The token as the program's `tokens_int` reads it (Python's int()), None where that fails
    or leaves 64 bits."""
    try:
        value = int(token)
    except (TypeError, ValueError):
        return None
    return value if -INT64 <= value < INT64 else None


def count_ones(x: list[Any], distinct: set[Any]) -> int | None:
    """How many tokens `tokens_int == 1` holds for (None when a token is not an integer)."""
    ones = 0
    for t in distinct:
        value = int_view(t)
        if value is None:
            return None
        if value == 1:
            ones += x.count(t)
    return ones


# ---- per-position programs (the answer framing takes the last label) -------------------------


def parity_rule(x: list[Any]) -> list[Any] | None:
    """parity.rasp: the count of 1s mod 2, at every position (not causal)."""
    distinct = set(x)
    ones = count_ones(x, distinct) if token_kind(distinct) else None
    return None if ones is None else [ones % 2] * len(x)


def majority_rule(x: list[Any]) -> list[Any] | None:
    """majority.rasp: 1 where the mean of `tokens_int == 1` exceeds 0.5, else 0, at every position
    (not causal; the mean of n values is c / n, and c / n > 0.5 exactly when 2c > n)."""
    distinct = set(x)
    ones = count_ones(x, distinct) if token_kind(distinct) else None
    return None if ones is None else [1 if 2 * ones > len(x) else 0] * len(x)


def mode_rule(x: list[Any]) -> list[Any] | None:
    """mode.rasp (causal): the most frequent token so far, the one that reached that count first."""
    if not token_kind(set(x)):
        return None
    counts: dict[Any, int] = {}
    best, first_best, out = 0, 0, []
    for i, t in enumerate(x):
        c = counts[t] = counts.get(t, 0) + 1
        if c > best:
            best, first_best = c, i
        out.append(x[first_best])
    return out


def dyck1_rule(x: list[Any]) -> list[Any] | None:
    """dyck1.rasp (causal): F once a prefix closes more than it opened, else T when balanced, else P."""
    if token_kind(set(x)) != "str":
        return None
    balance, broken, out = 0, False, []
    for t in x:
        balance += (t == "(") - (t == ")")
        broken = broken or balance < 0
        out.append("F" if broken else ("T" if balance == 0 else "P"))
    return out


def reverse_rule(x: list[Any]) -> list[Any] | None:
    """reverse.rasp (not causal): the input reversed."""
    return x[::-1] if token_kind(set(x)) else None


def hist_rule(x: list[Any]) -> list[Any] | None:
    """hist.rasp (not causal): how often each position's token occurs in the whole input."""
    counts = Counter(x)
    return [counts[t] for t in x] if token_kind(set(counts)) else None


PER_POSITION: dict[str, Rule] = {
    "parity": parity_rule, "majority": majority_rule, "mode": mode_rule, "dyck1": dyck1_rule,
    "reverse": reverse_rule, "hist": hist_rule,
}


# ---- next-token programs: the generated tokens, end token last ------------------------------


def copy_rule(x: list[Any]) -> list[Any] | None:
    """copy.rasp on x + ["|"]: each token looks up the token after its one earlier occurrence, so
    distinct tokens without "|" come back in order, then the "|" after the input (the end)."""
    distinct = set(x)
    if token_kind(distinct) != "str" or len(distinct) != len(x) or "|" in distinct:
        return None
    return x + ["|"]


def copy_repeated_rule(x: list[Any]) -> list[Any] | None:
    """copy_repeated.rasp on x + ["|"]: the token as far from the start as this one is from the
    first "|", so any tokens without "|" come back in order, then the "|" (the end)."""
    distinct = set(x)
    if token_kind(distinct) != "str" or "|" in distinct:
        return None
    return x + ["|"]


def count_rule(x: list[Any]) -> list[Any] | None:
    """count.rasp on [a, b]: a, then each number + 1 while it is below b, then -1 (the end); a >= 0
    keeps every number apart from the end token. (`labels` allows 4 x size + 8 tokens, and a
    count of size b - a + 1 writes b - a + 2.)"""
    if len(x) != 2 or token_kind(set(x)) != "int" or x[0] < 0:
        return None
    a, b = x
    return [a, *range(a + 1, b + 1), -1]


def sort_ar_rule(x: list[Any]) -> list[Any] | None:
    """sort_ar.rasp on x + [0]: the smallest input number above the last token, then 0 (the end):
    positive numbers in increasing order, each once."""
    distinct = set(x)
    if token_kind(distinct) != "int" or min(distinct) < 1:
        return None
    return [*sorted(distinct), 0]


def parity_scratchpad_rule(x: list[Any]) -> list[Any] | None:
    """parity_scratchpad.rasp on x + ["="]: the running parity of the "1" tokens, as "0"/"1", then "."."""
    distinct = set(x)
    if token_kind(distinct) != "str" or "=" in distinct:
        return None
    out, bit = [], "0"
    for t in x:
        if t == "1":
            bit = "1" if bit == "0" else "0"
        out.append(bit)
    return out + ["."]


def hinted_operands(x: list[Any]) -> tuple[list[str], list[int], list[int]] | None:
    """(hints, a's digits, b's digits) of h1 a1 .. hn an + h1 b1 .. hn bn, least significant digit
    first; None unless x has exactly that form, with distinct hints that the program takes for hints."""
    if (len(x) - 1) % 4 or len(x) < 5:
        return None
    n = (len(x) - 1) // 4
    hints, a, b = x[0:2 * n:2], x[1:2 * n:2], x[2 * n + 2::2]
    if x[2 * n] != "+" or x[2 * n + 1::2] != hints or token_kind(set(hints)) != "str":
        return None
    distinct = set(hints)
    if len(distinct) != n or not distinct.isdisjoint(NOT_HINTS) or not set(a + b) <= DIGIT_VALUES.keys():
        return None
    return hints, [DIGIT_VALUES[d] for d in a], [DIGIT_VALUES[d] for d in b]


def addition_hints_rule(x: list[Any]) -> list[Any] | None:
    """addition_hints.rasp on x + ["="]: h1 s1 h2 s2 .. hn sn "." with s = a + b, least significant
    digit first, the carry out of the top digit dropped."""
    operands = hinted_operands(x)
    if operands is None:
        return None
    out, carry = [], 0
    for hint, p, q in zip(*operands):
        total = p + q + carry
        out += (hint, DIGIT_NAMES[total % 10])
        carry = total // 10
    out.append(".")
    return out


# the rule, and the (separator, end) it assumes
AUTOREGRESSIVE: dict[str, tuple[Rule, Any, Any]] = {
    "copy": (copy_rule, "|", "|"),
    "copy_repeated": (copy_repeated_rule, "|", "|"),
    "count": (count_rule, None, -1),
    "sort_ar": (sort_ar_rule, 0, 0),
    "parity_scratchpad": (parity_scratchpad_rule, "=", "."),
    "addition_hints": (addition_hints_rule, "=", "."),
}


# ---- the labellers --------------------------------------------------------------------------


def library_program(name: str) -> bool:
    """Whether the name loads the library's own program (a NAME.rasp in the working folder or on
    $RASP_PATH would come first, and the rules know only the library's)."""
    return resolved(name, os.getcwd(), os.environ.get("RASP_PATH", "")) == library_file(name)


@lru_cache(maxsize=256)
def resolved(name: str, folder: str, rasp_path: str) -> Path | None:
    """The file a program name loads from this working folder and $RASP_PATH."""
    from rasp.language.program import resolve

    return resolve(name)


def library_file(name: str) -> Path:
    from rasp.language.library import LIBRARY_DIR

    return LIBRARY_DIR / f"{name}.rasp"


def labeller(task: Task, rule: Rule, answer: bool = False) -> Labeller:
    """Label a batch by `rule` (the answer framing: its last label), or give None when an input
    is outside the rule's domain: the caller then labels the whole batch by the interpreter."""

    def label(inputs: list[list[Any]]) -> list[list[Any]] | None:
        targets = [rule(x) for x in inputs]
        if any(t is None for t in targets):
            return None
        return [[t[-1]] for t in targets] if answer else targets

    return label


def reference(task: Task) -> Labeller | None:
    """The task's reference labeller, or None when the interpreter must label it (see above)."""
    if task.output is not None:
        return None
    if task.framing in ("per-position", "answer") and task.program in PER_POSITION:
        if library_program(task.program):
            return labeller(task, PER_POSITION[task.program], answer=task.framing == "answer")
    if task.framing == "autoregressive" and task.program in AUTOREGRESSIVE:
        rule, separator, end = AUTOREGRESSIVE[task.program]
        if same_token(task.separator, separator) and same_token(task.end, end) and library_program(task.program):
            return labeller(task, rule)
    return None
