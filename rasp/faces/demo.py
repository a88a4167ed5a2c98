"""`make demo`: the project's main job on a small built-in suite.

First a few library programs run by the interpreter and one compiled to weights (seconds), then
the length-generalization experiment on the demo suite: four tasks, one seed, trained on lengths
1-8 and tested on 9-16 (a few minutes on 2 CPU cores). It prints where the report is.
"""

from __future__ import annotations

from rich.console import Console

from rasp.faces.display import outputs_table
from rasp.language.program import load_program

SAMPLES = [
    ("sort", ["hello", [5, 3, 9, 1, 3]]),
    ("dyck2", ["({})", "({)}", "(){"]),
    ("copy", ["wxyz|wxy"]),
]


def main() -> None:
    console = Console()
    console.print("[bold]lengthwise[/bold]: RASP programs from the library, run by the batched interpreter.\n"
                  "Run any of them yourself with [cyan]rasp run NAME --input TEXT[/cyan]; "
                  "[cyan]rasp list[/cyan] shows them all.\n")
    for name, samples in SAMPLES:
        program = load_program(name)
        inputs = [list(s) if isinstance(s, str) else s for s in samples]
        outputs_table(program, inputs, program.run(inputs), console)
        console.print()
    compiled_demo(console)
    console.print("\n[bold]Experiment[/bold]: does a transformer trained on short inputs work on longer ones, "
                  "and did the analysis predict it?\n"
                  "The full suite is [cyan]rasp experiment[/cyan]; this is [cyan]rasp experiment demo --seeds 1 "
                  "--out experiment-demo[/cyan].\n")
    from rasp.faces.cli import main as cli

    raise SystemExit(cli(["experiment", "demo", "--seeds", "1", "--out", "experiment-demo"]))


def compiled_demo(console: Console) -> None:
    """The same sort, compiled to transformer weights, verified, and run by the model."""
    from compiler import compile_program, report
    from compiler.runner import Runner

    console.print("[bold]Compiled[/bold]: sort as transformer weights (through tracr), checked against "
                  "the interpreter at every length.\n"
                  "Do it yourself with [cyan]rasp compile sort --vocab abcde --max-len 8 -o sort.npz[/cyan].\n")
    program = load_program("sort")
    result = compile_program(program, list("abcde"), 8)
    report.show(report.as_dict(result), console)
    inputs = [list("deabc"), list("baeccda"), list("e")]
    console.print()
    outputs_table(program, inputs, Runner(result.model).run(inputs), console)


if __name__ == "__main__":
    main()
