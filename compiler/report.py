"""The compile report: for people (rich tables) and for scripts (`CompileReport`, the JSON that
`rasp compile` prints when asked for JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from rich.console import Console
from rich.table import Table
from rich.text import Text

from compiler.meta import SOpRowJSON
from rasp.language import library, notebook
from rasp.language.values import huge, plural

if TYPE_CHECKING:
    from compiler import CompileResult


class VerificationReport(TypedDict):
    """How the compiled model was checked against the interpreter."""

    inputs: int  # inputs compared
    skipped: int  # inputs the interpreter itself rejects
    min_length: int
    max_length: int
    agree: bool  # always true: a disagreement fails the compile
    exhaustive: bool  # every input up to the maximum length was compared
    structured: int  # structured cases among the inputs (0 when exhaustive)
    structured_of: int  # how many structured cases there are (more than `structured`: a seeded sample)
    space: int | str  # how many inputs there are up to the maximum length ("about ..." past 3,900 digits)
    summary: str  # one line for people
    domain: str | None  # where the inputs came from, when given (a sampler, a file)
    seconds: float  # the verification's share of the compile's `seconds`


class CompileReport(TypedDict):
    """One compile, JSON-ready."""

    program: str | None  # the program's path
    output: str  # the s-op compiled
    vocab: list[Any]  # the input tokens
    max_len: int
    causal: bool
    layers: int
    heads_per_layer: list[int]
    mlp_hidden_per_layer: list[int]
    residual_width: int
    parameters: int  # every stored number
    nonzero_parameters: int  # the stored numbers that are not zero
    output_encoding: str  # "categorical" or "numerical"
    sops: list[SOpRowJSON]  # where each of the program's s-ops lives
    verification: VerificationReport | None  # None: not verified
    seconds: float  # compile time, verification included
    saved: str | None  # the file the model was saved to


def as_dict(result: CompileResult, saved: str | None = None) -> CompileReport:
    meta = result.model.meta
    layout = meta.layout
    check = result.verification
    return CompileReport(
        program=meta.program.path,
        output=meta.program.output,
        vocab=meta.vocab,
        max_len=meta.max_len,
        causal=meta.causal,
        layers=layout.num_layers,
        heads_per_layer=layout.heads_per_layer,
        mlp_hidden_per_layer=layout.mlp_hidden_per_layer,
        residual_width=layout.residual_width,
        parameters=result.model.parameter_count(),
        nonzero_parameters=result.model.nonzero_parameters(),
        output_encoding=meta.output.encoding.value,
        sops=[row.to_json() for row in meta.sops],
        verification=None if check is None else VerificationReport(
            inputs=check.inputs, skipped=check.skipped, min_length=check.lengths[0],
            max_length=check.lengths[1], agree=True, exhaustive=check.exhaustive, structured=check.structured,
            structured_of=check.structured_of,
            space=check.space if check.space.bit_length() < 13_000 else huge(check.space),  # JSON: at most 4,300 digits
            summary=check.describe(), domain=check.domain, seconds=round(check.seconds, 3)),
        seconds=round(result.seconds, 3),
        saved=saved,
    )


def show(report: CompileReport, console: Console | None = None) -> None:
    console = console or Console()
    mode = "causal" if report["causal"] else "not causal"
    console.print(Text(f"{report['program']} → {report['output']}", style="bold"))
    console.print(Text(f"vocab {report['vocab']}, max length {report['max_len']}, {mode}; "
                       f"{plural(report['layers'], 'layer')}, residual width {report['residual_width']}, "
                       f"{plural(report['parameters'], 'parameter')} ({report['nonzero_parameters']:,} non-zero); "
                       f"compiled in {took(report)}"))
    layers = Table("layer", "attention heads", "MLP hidden", box=None, title="layers", title_justify="left")
    for i, (heads, hidden) in enumerate(zip(report["heads_per_layer"], report["mlp_hidden_per_layer"])):
        layers.add_row(str(i), str(heads), str(hidden))
    console.print(layers)
    sop_table = Table(*SOP_COLUMNS, box=None, title="s-ops", title_justify="left")
    for row in sop_rows(report):
        sop_table.add_row(Text(row[0]), *row[1:])
    console.print(sop_table)
    check = report["verification"]
    if check is None:
        console.print("[yellow]not verified[/yellow] (verification was skipped)")
    else:
        console.print(Text(check["summary"], style="green" if check["exhaustive"] else ""))


def took(report: CompileReport) -> str:
    """The compile's time, and the verification's share of it."""
    check = report["verification"]
    return f"{report['seconds']:.1f} s" + ("" if check is None else f" ({check['seconds']:.1f} s of it verifying)")


SOP_COLUMNS = ("s-op", "operation", "line", "computed in", "encoding", "values", "residual dims")


def sop_rows(report: CompileReport) -> list[list[str]]:
    """The s-op table's rows, as text (`SOP_COLUMNS`)."""
    rows = []
    for row in report["sops"]:
        where = "input" if row["layer"] is None else f"layer {row['layer']} {row['sublayer']}"
        dims = row["residual_dims"]
        shown = "" if not dims else (str(dims[0]) if dims[0] == dims[1] else f"{dims[0]}-{dims[1]}")
        operation = row["operation"] if not row.get("helper") else f"{row['operation']} (helper)"
        rows.append([row["name"], operation, str(row["line"] or ""), where, row["encoding"], str(row["values"]),
                     shown])
    return rows


def summary(result: CompileResult) -> str:
    """The compile in a few lines: the program, the model's size, how it was checked."""
    report = as_dict(result)
    mode = "causal" if report["causal"] else "not causal"
    check = report["verification"]
    program = report["program"] or "<string>"
    if Path(program).parent == library.LIBRARY_DIR:
        program = Path(program).stem
    return (f"{program} -> {report['output']}: vocab {report['vocab']}, max length {report['max_len']}, {mode}; "
            f"{plural(report['layers'], 'layer')}, residual width {report['residual_width']}, "
            f"{plural(report['parameters'], 'parameter')} ({report['nonzero_parameters']:,} non-zero); compiled in {took(report)}\n"
            + ("not verified" if check is None else check["summary"]))


def html(result: CompileResult) -> str:
    """The summary and the s-op table, for a notebook."""
    head, check = summary(result).split("\n")
    return notebook.Html("<div>" + notebook.paragraph(head) + notebook.table(SOP_COLUMNS, sop_rows(as_dict(result)))
                         + notebook.paragraph(check) + "</div>")
    if report["saved"]:
        console.print(Text(f"saved to {report['saved']}"))
