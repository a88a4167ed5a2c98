"""Python references for the formal-language tasks of Huang et al. (ICLR 2025), section 6 / appendix.

Each function maps a list of input tokens to the list of per-position labels the task trains on,
in the label alphabet of the authors' generators (lacoco-lab/length_generalization,
formal_lang_suite/generators/*.py). Where a generator emits several characters per position
(e.g. "yn" = next-symbol legality bits), the whole chunk is one label: their dataset_utils.py
turns each chunk into a single output token, and so do these references.

Used by `rasp check bench/programs/languages/<name>.rasp --reference <this file>:<function>`.
"""

from __future__ import annotations

from collections import Counter


# ---------------------------------------------------------------------------------------------
# Tomita grammars (generators/tomita_generator.py). Tomita 1, 2, 3, 4, 7: at each position the
# pair of bits [is "0" a legal next symbol, is "1" a legal next symbol], "y"/"n" each, where a
# next symbol is legal when the DFA does not enter one of the class's `dead_states`.
# Tomita 5, 6: at each position "y"/"n", whether the prefix so far is in the language.
# ---------------------------------------------------------------------------------------------

def _legal_next(delta: dict, dead: set, tokens: list) -> list:
    q, out = "q0", []
    for t in tokens:
        q = delta[q][t]
        out.append(("n" if delta[q]["0"] in dead else "y") + ("n" if delta[q]["1"] in dead else "y"))
    return out


_TOMITA = {
    # 1*
    1: ({"q0": {"0": "q1", "1": "q0"}, "q1": {"0": "q1", "1": "q1"}}, {"q1"}),
    # (10)*
    2: ({"q0": {"0": "q2", "1": "q1"}, "q1": {"0": "q0", "1": "q2"}, "q2": {"0": "q2", "1": "q2"}}, {"q2"}),
    # no odd run of 1s directly followed by an odd run of 0s; note q3 (odd 1s, then odd 0s so far)
    # is listed among the generator's dead_states although it is not absorbing
    3: ({"q0": {"0": "q0", "1": "q1"}, "q1": {"0": "q3", "1": "q0"}, "q2": {"0": "q3", "1": "q1"},
         "q3": {"0": "q2", "1": "q4"}, "q4": {"0": "q4", "1": "q4"}}, {"q3", "q4"}),
    # no 000
    4: ({"q0": {"0": "q1", "1": "q0"}, "q1": {"0": "q2", "1": "q0"}, "q2": {"0": "q3", "1": "q0"},
         "q3": {"0": "q3", "1": "q3"}}, {"q3"}),
    # 0*1*0*1*
    7: ({"q0": {"0": "q0", "1": "q1"}, "q1": {"0": "q2", "1": "q1"}, "q2": {"0": "q2", "1": "q3"},
         "q3": {"0": "q4", "1": "q3"}, "q4": {"0": "q4", "1": "q4"}}, {"q4"}),
}


def tomita1(tokens):
    return _legal_next(*_TOMITA[1], [str(t) for t in tokens])


def tomita2(tokens):
    return _legal_next(*_TOMITA[2], [str(t) for t in tokens])


def tomita3(tokens):
    return _legal_next(*_TOMITA[3], [str(t) for t in tokens])


def tomita4(tokens):
    return _legal_next(*_TOMITA[4], [str(t) for t in tokens])


def tomita7(tokens):
    return _legal_next(*_TOMITA[7], [str(t) for t in tokens])


def tomita5(tokens):
    """Even number of 0s and even number of 1s in the prefix."""
    out = []
    for i in range(1, len(tokens) + 1):
        c = Counter(str(t) for t in tokens[:i])
        out.append("y" if c["0"] % 2 == 0 and c["1"] % 2 == 0 else "n")
    return out


def tomita6(tokens):
    """#0 - #1 divisible by 3 in the prefix."""
    out = []
    for i in range(1, len(tokens) + 1):
        c = Counter(str(t) for t in tokens[:i])
        out.append("y" if abs(c["0"] - c["1"]) % 3 == 0 else "n")
    return out


# ---------------------------------------------------------------------------------------------
# D_n, Dyck-1 of depth at most n over a, b (generators/starfree_generator.py D_nLanguage):
# [is "a" legal next, is "b" legal next] from the prefix depth #a - #b: "10" at depth 0,
# "01" at depth n, "11" otherwise (the generator applies this rule to every prefix).
# ---------------------------------------------------------------------------------------------

def _dn(n, tokens):
    out, depth = [], 0
    for t in tokens:
        depth += 1 if t == "a" else -1 if t == "b" else 0
        out.append("10" if depth == 0 else "01" if depth == n else "11")
    return out


def d2(tokens):
    return _dn(2, tokens)


def d3(tokens):
    return _dn(3, tokens)


def d4(tokens):
    return _dn(4, tokens)


def d12(tokens):
    return _dn(12, tokens)


# ---------------------------------------------------------------------------------------------
# aa*bb*cc*dd*ee* (AAStarBBStarLanguage, n=5): the legal next symbols after x are {x, next(x)},
# encoded by the generator as the single upper-case letter next(x): a->B, b->C, c->D, d->E, e->T.
# ---------------------------------------------------------------------------------------------

def aabbccddee(tokens):
    nxt = {"a": "B", "b": "C", "c": "D", "d": "E", "e": "T"}
    return [nxt[t] for t in tokens]


# ---------------------------------------------------------------------------------------------
# {a,b}*d{b,c}* (AB_D_BC): the legal next symbols over (a, b, c, d) as 4 bits: "1101" (a, b, d)
# before the d, "0110" (b, c) from the d on. The generator splits at seq.rfind("d"), which on
# its strings (exactly one d) is the same as: has a d occurred at or before this position.
# This reference uses that causal reading on every input.
# ---------------------------------------------------------------------------------------------

def abdbc(tokens):
    out, seen = [], False
    for t in tokens:
        seen = seen or t == "d"
        out.append("0110" if seen else "1101")
    return out


# ---------------------------------------------------------------------------------------------
# {0,1,2}*02* (ZOT_Z_T): "e" (the string may end here, and continue with 0/1/2) when the current
# token is 2 and the last token other than 2 before it is 0; otherwise "c". Verbatim logic of
# the generator's output_generator (it labels a final "0" as "c" too).
# ---------------------------------------------------------------------------------------------

def zot(tokens):
    out, end_state = [], False
    for t in (str(t) for t in tokens):
        if t == "1":
            end_state = False
        elif t == "0":
            end_state = True
        out.append("c" if t != "2" or not end_state else "e")
    return out


# ---------------------------------------------------------------------------------------------
# Non-star-free languages (generators/nonstarfree_generator.py): at each position "1"/"0",
# whether the prefix so far is in the language.
# ---------------------------------------------------------------------------------------------

def _blocks(block, tokens):
    out = []
    for i in range(1, len(tokens) + 1):
        prefix = "".join(str(t) for t in tokens[:i])
        ok = len(prefix) % len(block) == 0 and all(prefix[j:j + len(block)] == block
                                                  for j in range(0, len(prefix), len(block)))
        out.append("1" if ok else "0")
    return out


def aa_star(tokens):
    return _blocks("aa", tokens)


def aaaa_star(tokens):
    return _blocks("aaaa", tokens)


def abab_star(tokens):
    return _blocks("abab", tokens)
