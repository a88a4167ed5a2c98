"""Inputs as users write them (a JSON list, or a bare string of one-character tokens) and
as the executor wants them (a `(batch, n)` NumPy array of one type)."""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any, Iterable

import numpy as np

from grammar.errors import RaspError, Source, Span
from rasp.language import sops
from rasp.language.semantics import INT_MAX, INT_MIN

MAX_INPUT_LENGTH = 4096


def parse_input(text: str, path: str = "<input>", line: int = 1) -> list[Any]:
    """`[3,1,2]` or `["ab","c"]` as JSON; anything else is a string, one token per character."""
    source = Source(path, "\n" * (line - 1) + text)
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as e:
            col = text.index(stripped[0]) + e.pos + 1
            raise RaspError(f"not a valid JSON list: {e.msg}", Span(source, line, col)) from None
        except RecursionError:
            raise RaspError("nested too deeply: an input is a flat list of tokens", Span(source, line, 1)) from None
        except ValueError:  # a number of more than 4,300 digits, which Python refuses to read
            raise RaspError("a number is too large; integers are 64-bit", Span(source, line, 1)) from None
        if not isinstance(value, list):
            raise RaspError("an input must be a JSON list or a string", Span(source, line, 1))
        for i, token in enumerate(value):
            if not isinstance(token, (str, int, float, bool)):
                raise RaspError(f"token {i} is {json.dumps(token)}; tokens must be strings, numbers "
                                "or booleans", Span(source, line, 1))
            if isinstance(token, float) and not math.isfinite(token):  # NaN, Infinity, 1e999
                raise RaspError(f"token {i} is not a finite number; numbers are finite 64-bit floats",
                                Span(source, line, 1))
            if isinstance(token, int) and not INT_MIN <= token <= INT_MAX:
                raise RaspError(f"token {i} is too large; integers are 64-bit", Span(source, line, 1))
        tokens = value
    else:
        tokens = list(text)
    if len(tokens) > MAX_INPUT_LENGTH:
        raise RaspError(f"input has {len(tokens):,} tokens; the limit is {MAX_INPUT_LENGTH:,}",
                        Span(source, line, 1))
    return tokens


def tokens_array(batch: list[list[Any]], span: Span | None = None, kind: str | None = None) -> np.ndarray:
    """Stack same-length token lists into one array; all tokens must share a type
    (numbers may mix ints and floats). `kind`, when the caller knows it, skips the check."""
    kinds = {kind} if kind else _kinds(itertools.chain.from_iterable(batch))
    if len(kinds) > 1 and kinds != {"int", "float"}:
        raise RaspError(f"an input mixes {' and '.join(sorted(kinds))} tokens; use one type", span)
    if kinds == {"str"}:
        dtype: Any = np.str_
    elif kinds == {"bool"}:
        dtype = bool
    elif "float" in kinds:
        dtype = np.float64
    else:
        dtype = np.int64
    try:
        return np.array(batch, dtype=dtype).reshape(len(batch), -1)
    except OverflowError:
        raise RaspError("an integer token is too large (tokens are 64-bit integers)", span) from None


def sample_inputs(vocab: list[Any], lengths: range, per_length: int, distinct: bool,
                  rng: random.Random) -> list[list[Any]]:
    """`per_length` random inputs of each length over `vocab` (of distinct tokens when asked,
    up to the vocabulary's size)."""
    out = []
    for n in lengths:
        if distinct and n > len(vocab):
            break
        for _ in range(per_length):
            out.append(rng.sample(vocab, n) if distinct else [rng.choice(vocab) for _ in range(n)])
    return out


def input_kind(tokens: list[Any], number: int = 0) -> str:
    """The one token type of an input ("int", "float", "str" or "bool"); mixing is an error."""
    kinds = _kinds(tokens)
    if kinds == {"int", "float"}:
        return "float"
    if len(kinds) > 1:
        raise RaspError(f"input {number + 1} mixes {' and '.join(sorted(kinds))} tokens; "
                        "use one type")
    return kinds.pop() if kinds else "str"


def input_kinds(inputs: list[list[Any]]) -> list[str]:
    """Each input's `input_kind`; one look at all the tokens' types when they share one."""
    kinds = _kinds(itertools.chain.from_iterable(inputs))
    if len(kinds) == 1:
        kind = kinds.pop()
        return [kind if tokens else "str" for tokens in inputs]
    return [input_kind(tokens, i) for i, tokens in enumerate(inputs)]


_KIND_OF_TYPE = {bool: "bool", int: "int", float: "float", str: "str"}


def _kinds(tokens: Iterable[Any]) -> set[str]:
    """The token kinds present (by type, which is fast on long batches)."""
    return {_KIND_OF_TYPE.get(t) or _kind(t) for t in set(map(type, tokens))}


def _kind(cls: type) -> str:
    if issubclass(cls, bool):
        return "bool"
    if issubclass(cls, int):
        return "int"
    if issubclass(cls, float):
        return "float"
    return "str"


def token_key(token: Any) -> tuple[str, Any]:
    """A token as a dictionary key that keeps True, 1 and "1" apart (NumPy scalars as Python's,
    and a whole float as the integer it equals)."""
    if isinstance(token, (bool, np.bool_)):
        return ("bool", bool(token))
    if isinstance(token, (int, np.integer)):
        return ("int", int(token))
    if isinstance(token, (float, np.floating)):
        return ("int", int(token)) if float(token).is_integer() else ("float", round(float(token), 6))
    return ("str", str(token))


def same_value(a: Any, b: Any, abs_tol: float = 1e-9) -> bool:
    """Equal output values: numbers to within a relative 1e-6 (or `abs_tol`), booleans apart
    from numbers, anything else by type and value."""
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and bool(a) == bool(b)
    numbers = (int, float, np.integer, np.floating)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=abs_tol)
    return token_key(a) == token_key(b)


def sample_vocab(nodes: Iterable[sops.Value]) -> list[Any]:
    """Tokens to sample inputs from when a user gives none: small integers when the program reads
    numbers, else a few letters; plus the one-character constants the program compares tokens
    with, and the keys of the dicts it indexes by an s-op. `nodes` are a program's s-ops and
    selectors (e.g. `sops.walk([output])`)."""
    nodes = list(nodes)
    numeric = any(isinstance(n, sops.Tokens) and n.view in ("tokens_int", "tokens_float") for n in nodes)
    constants: set[Any] = set()
    for node in nodes:
        args = node.args if isinstance(node, sops.Map) else (node.value,) if isinstance(node, sops.Full) else ()
        for a in args:
            for v in (a if isinstance(a, tuple) else (a,)):
                v = v[0] if isinstance(v, tuple) and v else v  # a lookup's (key, value) pair: the key
                if isinstance(v, str) and len(v) == 1:
                    constants.add(v)
                elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 9:
                    constants.add(v)
    if numeric:
        return sorted({0, 1, 2, 3, 4, 5} | {c for c in constants if isinstance(c, int)})
    return sorted(set("abcd") | {c for c in constants if isinstance(c, str)})
