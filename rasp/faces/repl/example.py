"""The running examples, and how the REPL shows a value on them.

As in the classic RASP REPL there are two examples, one for s-ops and one for selectors (both
`hello` at the start; `set example X` sets both, `set s-op example X` or `set selector example X`
one). A new s-op is shown as its values on the s-op example and a new selector as its matrix on the
selector example (`shown`). A value the example cannot be run through shows the error in its place:
the statement that made it still stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grammar.errors import RaspError
from rasp.faces.repl import shown
from rasp.language import sops
from rasp.language.env import Function
from rasp.language.execute import ExecError, execute
from rasp.language.inputs import input_kind, parse_input, tokens_array

SOP, SELECTOR = "s-op", "selector"  # the classic names of the two examples


@dataclass
class Sample:
    """One running example: its tokens, and whether it was typed as text (`"hello"`)."""

    tokens: list[Any] = field(default_factory=lambda: list("hello"))
    as_text: bool = True

    def __str__(self) -> str:
        return shown.example_text(self.tokens, self.as_text)


def parse_tokens(text: str, where: str = "<example>") -> Sample:
    """A typed input: `hello`, `"hello"` (quotes dropped) or a JSON list `[3, 1, 2]`."""
    text = text.strip()
    if len(text) >= 2 and text[0] in "\"'" and text.endswith(text[0]):
        text = text[1:-1]
    tokens = parse_input(text, where)
    input_kind(tokens)  # refuse a mix of kinds now, not at the next value shown
    return Sample(tokens, not text.startswith("["))


def run_on(value: sops.Value, tokens: list[Any], causal: bool) -> Any:
    """The value on one input: a list of values, or a matrix (a list of rows) for a selector."""
    array = tokens_array([tokens], kind=input_kind(tokens))
    return execute([value], array, causal)[0][0].tolist()


class Example:
    """The two running examples and what is shown on them."""

    def __init__(self) -> None:
        self.samples = {SOP: Sample(), SELECTOR: Sample()}
        self.shown = {SOP: True, SELECTOR: True}  # `[s-op|selector] examples off` turns these off
        self.full_seq = False  # `full seq display on`: input and output aligned

    @property
    def tokens(self) -> list[Any]:
        """The s-op example's tokens (the default vocabulary of `compile`)."""
        return self.samples[SOP].tokens

    def set(self, text: str, which: tuple[str, ...] = (SOP, SELECTOR)) -> None:
        sample = parse_tokens(text)
        self.set_tokens(sample.tokens, sample.as_text, which)

    def set_tokens(self, tokens: list[Any], as_text: bool, which: tuple[str, ...] = (SOP, SELECTOR)) -> None:
        input_kind(tokens)  # refuse a mix of kinds now, not at the next value shown
        for name in which:
            self.samples[name] = Sample(list(tokens), as_text)

    def __str__(self) -> str:
        return str(self.samples[SOP])

    def describe(self, name: str, value: Any, causal: bool, on_example: bool | None = None) -> list[str]:
        """The lines that announce a bound value: its kind and name, and for an s-op or a selector
        its values on the example (when `on_example`, by default when that example is shown)."""
        if isinstance(value, sops.SOp):
            show = self.shown[SOP] if on_example is None else on_example
            return [f"s-op: {name}"] + (["    " + line for line in self.values(name, value, causal)] if show else [])
        if isinstance(value, sops.Selector):
            show = self.shown[SELECTOR] if on_example is None else on_example
            return [f"selector: {name}"] + (["    " + line for line in self.matrix(value, causal)] if show else [])
        if isinstance(value, Function):
            return [f"function: {value.name}({', '.join(value.params)})"]
        kind = "list" if isinstance(value, list) else "dict" if isinstance(value, dict) else "value"
        return [f"{kind}: {name} = {shown.rasp(value)}"]

    def values(self, name: str, value: sops.SOp, causal: bool, sample: Sample | None = None) -> list[str]:
        """`Example: name("hello") = [...] (strings)`, or with `full_seq` the input and output aligned."""
        sample = sample or self.samples[SOP]
        call = f"Example: {name}({sample})"
        if not sample.tokens:
            return [f"{call} = [] (empty)"]
        try:
            values = run_on(value, sample.tokens, causal)
        except (ExecError, RaspError) as e:
            return [f"{call}: error: {e.message}"]
        if not self.full_seq:
            return [f"{call} = {shown.sequence(values)}"]
        if len(set(map(shown.key, values))) == 1:
            return [f"{call} = {shown.sequence(values)} [skipped full display: identical values]"]
        return [f"{call} ="] + ["    " + line for line in shown.full(sample.tokens, values)]

    def applied(self, tokens: list[Any] | None, values: list[Any]) -> list[str]:
        """An s-op applied to an input (`hist("abc");`), as classic shows it: `=  [...] (ints)`, or
        with `full_seq` the input (when known) and the output aligned."""
        if not self.full_seq:
            return [f"=  {shown.sequence(values)}"]
        if len(set(map(shown.key, values))) == 1 or tokens is None or len(tokens) != len(values):
            same = len(set(map(shown.key, values))) == 1 and len(values) > 1
            return [f"=  {shown.sequence(values)}" + (" [skipped full display: identical values]" if same else "")]
        return ["="] + ["    " + line for line in shown.full(tokens, values)]

    def matrix(self, value: sops.Selector, causal: bool) -> list[str]:
        tokens = self.samples[SELECTOR].tokens
        if not tokens:
            return ["Example: (the example is empty)"]
        try:
            rows = run_on(value, tokens, causal)
        except (ExecError, RaspError) as e:
            return [f"Example: error: {e.message}"]
        return ["Example:"] + ["    " + line for line in shown.matrix([shown.small(t) for t in tokens], rows)]
