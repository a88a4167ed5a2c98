"""The running example, and how the REPL shows a value on it.

As in the classic RASP REPL, an s-op is shown as its values on the example (default `hello`) and
a selector as a 0/1 matrix, queries down the side and keys along the top, labelled with the
example's tokens. A value the example cannot be run through shows the error in its place: the
statement that made it still stands.
"""

from __future__ import annotations

import json
from typing import Any

from rasp.faces.display import show_sequence, show_value
from rasp.language import sops
from rasp.language.env import Function
from rasp.language.execute import ExecError, execute
from rasp.language.inputs import input_kind, parse_input, tokens_array

KIND_NAMES = {"bool": "bools", "int": "ints", "float": "floats", "str": "strings"}


class Example:
    """The tokens new values are shown on, and whether they are shown at all."""

    def __init__(self) -> None:
        self.tokens: list[Any] = list("hello")
        self.shown = True  # `examples off` turns this off; `show NAME` shows anyway

    def set(self, text: str) -> None:
        """A typed example: `hello`, `"abca"` (quotes dropped) or a JSON list `[3, 1, 2]`."""
        text = text.strip()
        if text.startswith(('"', "'")) and text.endswith(text[0]) and len(text) >= 2:
            text = text[1:-1]
        tokens = parse_input(text, "<example>")
        input_kind(tokens)  # refuse a mix of kinds now, not at the next value shown
        self.tokens = tokens

    def __str__(self) -> str:
        return show_sequence(self.tokens)

    def describe(self, name: str, value: Any, causal: bool, on_example: bool) -> list[str]:
        """The lines that announce a bound value: its kind and name, and with `on_example` an
        s-op's values or a selector's matrix on the example."""
        if isinstance(value, sops.SOp):
            return [f"s-op: {name}"] + (["    " + self.values_line(name, value, causal)] if on_example else [])
        if isinstance(value, sops.Selector):
            return [f"selector: {name}"] + ([self.matrix(value, causal)] if on_example else [])
        if isinstance(value, Function):
            return [f"function: {value.name}({', '.join(value.params)})"]
        shown = json.dumps(value, default=str) if isinstance(value, (list, dict)) else show_value(value)
        return [f"{type(value).__name__}: {name} = {shown}"]

    def run(self, value: sops.Value, causal: bool) -> Any:
        """The value on the example: an array of values, or a matrix for a selector."""
        tokens = tokens_array([self.tokens], kind=input_kind(self.tokens))
        return execute([value], tokens, causal)[0][0]

    def values_line(self, name: str, value: sops.SOp, causal: bool) -> str:
        text = all(isinstance(t, str) and len(t) == 1 for t in self.tokens)
        call = f'{name}({json.dumps("".join(self.tokens) if text else self.tokens)})'
        if not self.tokens:
            return f"Example: {call} = [] (empty)"
        try:
            values = self.run(value, causal).tolist()
        except ExecError as e:
            return f"Example: {call}: error: {e.message}"
        kinds = "/".join(KIND_NAMES.get(k, k) for k in sorted({type(v).__name__ for v in values}))
        return f"Example: {call} = [{', '.join(show_value(v) for v in values)}] ({kinds})"

    def matrix(self, value: sops.Selector, causal: bool) -> str:
        if not self.tokens:
            return "    Example: (the example is empty)"
        try:
            matrix = self.run(value, causal)
        except ExecError as e:
            return f"    Example: error: {e.message}"
        labels = [show_value(t) for t in self.tokens]
        width = max(len(label) for label in labels)
        lines = ["    Example:", "    " + " " * (width + 3) + " ".join(label.rjust(width) for label in labels)]
        for label, row in zip(labels, matrix.tolist()):
            lines.append(f"    {label.rjust(width)} | " + " ".join(("1" if v else "0").rjust(width) for v in row))
        return "\n".join(lines)
