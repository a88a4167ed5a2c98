"""The REPL statements about weights and pictures: `compile`, `run`, `layers` and `draw`.

`compile NAME` keeps the model it builds for the session, under NAME: `run NAME INPUT` runs it
(beside the interpreter's value, saying where they differ), `layers NAME` prints where it computes
each s-op, and `draw NAME` colours the program graph by layer. A name bound again after its
compile has no model until it is compiled again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grammar.errors import RaspError
from rasp.faces.repl import shown
from rasp.faces.repl.example import Example, Sample, parse_tokens, run_on
from rasp.faces.repl.workspace import Workspace
from rasp.language import sops
from rasp.language.execute import ExecError, execute
from rasp.language.inputs import input_kind, same_value, tokens_array
from rasp.language.values import plural

DEFAULT_MAX_LEN = 8  # compile's maximum length when none is given (or the example's, when longer)
SAVE = re.compile(r"(?:^|\s)-o\s+(?P<file>\S+)\s*$")  # `compile ... -o FILE`
SIZED = re.compile(r"(?P<vocab>.*?)(?:[\s,]+|^)(?P<max>\d+)")  # `compile NAME [VOCAB] MAX_LEN`'s tail
CLASSIC_DRAW = re.compile(r"^\(\s*(?P<name>[A-Za-z_]\w*)\s*(?:,\s*(?P<input>.+?))?\s*\)$")
NAME_AND_REST = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\s+(?P<rest>.*))?$", re.S)
COMPILE_USE = "use: compile NAME [VOCAB] [MAX_LEN] [-o FILE], e.g. compile sort [1, 2, 3] 6"
DRAW_USE = "use: draw NAME [FILE] (FILE a .png, .svg or .dot file name; default NAME.png), or draw(NAME[, INPUT]);"


@dataclass(frozen=True)
class Compiled:
    """A model compiled in this session: the value it was compiled from, in which mode, and the
    compile (`compiler.CompileResult`)."""

    value: sops.SOp
    causal: bool
    result: Any


class Models:
    """The models compiled in a session, by name, and the statements that use them."""

    def __init__(self, workspace: Workspace, example: Example, write: Callable[[str], None]):
        self.workspace = workspace
        self.example = example
        self.write = write
        self.compiled: dict[str, Compiled] = {}

    def compile(self, rest: str) -> None:
        save = SAVE.search(rest)
        if save:
            rest = rest[:save.start()]
        parts = NAME_AND_REST.match(rest.strip())
        if not parts:
            raise RaspError(COMPILE_USE)
        name, options = parts.group("name"), (parts.group("rest") or "").strip()
        program = self.workspace.program(name)
        max_len = max(DEFAULT_MAX_LEN, len(self.example.tokens))
        sized = SIZED.fullmatch(options)
        if sized:
            options, max_len = sized.group("vocab").strip(), int(sized.group("max"))
        tokens = parse_tokens(options, "<vocab>").tokens if options else self.example.tokens
        vocab = list(dict.fromkeys(tokens))
        if not vocab:
            raise RaspError("compile needs a vocabulary: give one, or set a non-empty example")
        from compiler import compile_program, report
        from compiler import model as saved

        result = compile_program(program, vocab, max_len, causal=program.causal)
        self.compiled[name] = Compiled(program.output, program.causal, result)
        if save:
            try:
                saved.save(result.model, save.group("file"))
            except OSError as e:
                raise RaspError(f"cannot write {save.group('file')}: {e.strerror}") from None
        summary = report.as_dict(result)
        heads = ", ".join(str(h) for h in summary["heads_per_layer"])
        where = f"; saved to {save.group('file')}" if save else ""
        self.write(f"compiled {name}: {plural(summary['layers'], 'layer')} (heads per layer: {heads}), residual width "
                   f"{summary['residual_width']}, {summary['parameters']:,} parameters; vocab {shown.rasp(vocab)}, "
                   f"max length {max_len}{', causal' if program.causal else ''}; "
                   f"{summary['verification']['summary']}{where}")

    def model_of(self, name: str) -> Compiled:
        """NAME's compiled model, refused when NAME was never compiled or was bound again since."""
        found = self.compiled.get(name)
        if found is None:
            raise RaspError(f"'{name}' has not been compiled: compile {name} first")
        if self.workspace.lookup(name) is not found.value:
            raise RaspError(f"'{name}' was bound again after it was compiled: compile {name} again")
        return found

    def run(self, rest: str) -> None:
        parts = NAME_AND_REST.match(rest.strip())
        if not parts or not parts.group("rest"):
            raise RaspError('use: run NAME INPUT, e.g. run reverse "abc" or run sort [3, 1, 2]')
        name = parts.group("name")
        compiled = self.model_of(name)
        sample = parse_tokens(parts.group("rest"), "<input>")
        from compiler.runner import Runner
        from compiler.verify import NUMERICAL_TOLERANCE

        out = Runner(compiled.result.model).run([sample.tokens])[0]
        line = f"{name}({sample}) = {shown.sequence(out)} (compiled model)"
        try:
            expected = run_on(compiled.value, sample.tokens, compiled.causal) if sample.tokens else []
        except (ExecError, RaspError) as e:
            self.write(f"{line}; the interpreter refuses this input: {e.message}")
            return
        differ = [i for i, (a, b) in enumerate(zip(out, expected))
                  if not same_value(a, b, abs_tol=NUMERICAL_TOLERANCE)]
        if not differ:
            self.write(f"{line}; the interpreter agrees")
        else:
            self.write(f"{line}; the interpreter gives {shown.sequence(expected)}: they differ at position"
                       f"{'s' if len(differ) > 1 else ''} {', '.join(map(str, differ))}")

    def layers(self, rest: str) -> None:
        if not NAME_AND_REST.fullmatch(rest) or " " in rest:
            raise RaspError("use: layers NAME")
        from compiler import report

        summary = report.as_dict(self.model_of(rest).result)
        self.write(f"{rest}: {plural(summary['layers'], 'layer')}, residual width {summary['residual_width']}")
        heads = [[str(i), str(h), str(m)] for i, (h, m) in
                 enumerate(zip(summary["heads_per_layer"], summary["mlp_hidden_per_layer"]))]
        for line in table(["layer", "attention heads", "MLP hidden"], heads) + [""]:
            self.write(line)
        for line in table(list(report.SOP_COLUMNS), report.sop_rows(summary)):
            self.write(line)

    def draw(self, rest: str) -> None:
        classic = CLASSIC_DRAW.match(rest)
        if classic:
            name, path = classic.group("name"), classic.group("name") + ".png"
            sample = parse_tokens(classic.group("input"), "<input>") if classic.group("input") else None
        else:
            parts = rest.split()
            if len(parts) not in (1, 2) or not NAME_AND_REST.fullmatch(parts[0]):
                raise RaspError(DRAW_USE)
            name, path, sample = parts[0], parts[1] if len(parts) == 2 else parts[0] + ".png", None
        value = self.workspace.lookup(name)
        if not isinstance(value, (sops.SOp, sops.Selector)):
            raise RaspError(f"'{name}' is not an s-op or a selector")
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg", ".dot"):
            raise RaspError(f"cannot draw to {path}: {DRAW_USE}")
        if Path(path).is_dir():
            raise RaspError(f"cannot draw to {path}: it is a directory")
        from predictor.graph import attach_layout, program_graph

        graph = program_graph(value)
        compiled = self.compiled.get(name)
        if compiled is not None and compiled.value is value:
            attach_layout(graph, compiled.result.model.meta)
        sample = sample or self.example.samples["selector" if isinstance(value, sops.Selector) else "s-op"]
        causal = self.workspace.causal_of(name)
        try:
            if suffix == ".dot":
                from predictor.report import draw

                draw(graph, path)
            else:
                from rasp.faces.pictures import trace_graph

                trace_graph(graph, self.values(graph, sample, causal), sample.tokens, path)
        except OSError as e:
            raise RaspError(f"cannot write {path}: {e.strerror}") from None
        by_layer = compiled is not None and compiled.value is value and suffix != ".dot"
        coloured = " (coloured by layer)" if by_layer else ""
        self.write(f"drawn to {path}{coloured}")
        if isinstance(value, sops.SOp):
            self.write("    " + self.example.values(name, value, causal, sample)[0])

    @staticmethod
    def values(graph: Any, sample: Sample, causal: bool) -> dict[Any, Any]:
        """Every node's value on the input (nothing when the input is empty or refused)."""
        if not sample.tokens:
            return {}
        nodes = list(graph)
        try:
            arrays = execute(nodes, tokens_array([sample.tokens], kind=input_kind(sample.tokens)), causal)
        except ExecError:
            return {}
        return {node: array[0] for node, array in zip(nodes, arrays)}


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header] + rows]
