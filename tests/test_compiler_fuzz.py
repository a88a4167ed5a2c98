"""The compiler against random well-typed programs: each compiles and is checked on every input
(exact), or is refused with a reason at a source position; never a crash, a tracr exception or a
wrong model. `bench/fuzz_compiler.py` runs the same strategy longer."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_program
from grammar.errors import RaspError
from rasp.language.program import from_text

VOCAB = [0, 1, 2, 3]
MAX_LEN = 4  # 340 inputs: every compile is checked on all of them
COMPARISONS = ["==", "!=", "<", "<=", ">", ">="]


@st.composite
def programs(draw, max_lines: int = 6) -> str:
    """A program over number tokens: each line defines t1, t2, ... from earlier lines; the last
    line is the output. Numbers stay small (maps take remainders) so value sets stay bounded."""
    numbers = ["tokens", "indices"]
    selectors: list[str] = []
    lines = []

    def number() -> str:
        return draw(st.sampled_from(numbers))

    def selector() -> str:
        simple = f"select({number()}, {number()}, {draw(st.sampled_from(COMPARISONS))})"
        if selectors and draw(st.booleans()):
            other = draw(st.sampled_from(selectors))
            return draw(st.sampled_from([f"{simple} and {other}", f"{simple} or {other}", f"not {other}"]))
        return simple

    last = "tokens"
    for k in range(1, draw(st.integers(1, max_lines)) + 1):
        name = f"t{k}"
        kind = draw(st.sampled_from(["map", "pair", "ifelse", "select", "width", "mean", "extreme", "numeric"]))
        if kind == "map":
            text = f"({number()} + {draw(st.integers(0, 3))}) % 4"
        elif kind == "pair":
            text = f"({number()} + {number()}) % 4"
        elif kind == "ifelse":
            text = f"{number()} if {number()} {draw(st.sampled_from(COMPARISONS))} {draw(st.integers(0, 3))} else {number()}"
        elif kind == "select":
            lines.append(f"{name} = {selector()};")
            selectors.append(name)
            continue
        elif kind == "width":
            text = f"selector_width({selector()}) % 4"
        elif kind == "mean":
            text = f"aggregate({selector()}, {number()}, {draw(st.integers(0, 3))})"
        elif kind == "extreme":
            reduce = draw(st.sampled_from(["aggregate_max", "aggregate_min"]))
            text = f"{reduce}({selector()}, {number()}, {draw(st.integers(0, 3))})"
        else:
            text = (f"numerical(aggregate({selector()}, indicator({number()} "
                    f"{draw(st.sampled_from(COMPARISONS))} {draw(st.integers(0, 3))}), 0))")
        if kind != "numeric":  # a numerical mean is an output only, never an operand
            numbers.append(name)
        lines.append(f"{name} = {text};")
        last = name
    lines.append(f"out = {last if last not in selectors else numbers[-1]};")
    return "\n".join(lines) + "\n"


def check(text: str, causal: bool) -> str:
    """'compiled' or 'refused'; anything else fails the test."""
    program = from_text(("# rasp: causal\n" if causal else "") + text, path="fuzz.rasp")
    try:
        program.run([[0, 1]])
    except RaspError:
        return "not a program"  # the interpreter itself rejects it: nothing to compile
    try:
        result = compile_program(program, VOCAB, MAX_LEN, samples=16)
    except CompileError as e:
        assert e.span is not None or e.message.startswith("cannot verify"), e.message
        assert "tracr could not assemble" not in e.message, e.message  # tracr's own failure: a bug of ours
        return "refused"
    assert result.verification.exhaustive and result.verification.inputs > 0
    return "compiled"


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(programs(), st.booleans())
def test_random_programs_compile_exactly_or_are_refused_at_a_position(text, causal):
    check(text, causal)


def test_the_fuzzers_finds_stay_fixed():
    """Found by the fuzzer: a program whose output is its tokens made tracr fail (no layer)."""
    assert check("t1 = select(tokens, indices, <);\nout = tokens;\n", False) == "refused"
    assert check("t1 = (tokens + 1) % 4;\nout = t1;\n", True) == "compiled"
