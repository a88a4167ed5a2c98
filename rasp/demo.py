"""`make demo`: a few library programs on sample inputs, as `rasp run` shows them.

(Until the trainer exists, this is the project's main job on built-in defaults.)
"""

from __future__ import annotations

from rich.console import Console

from rasp.display import outputs_table
from rasp.program import load_program

SAMPLES = [
    ("hist", ["hello", "abracadabra"]),
    ("sort", ["hello", [5, 3, 9, 1, 3]]),
    ("reverse", ["lengthwise"]),
    ("sort_by_frequency", ["mississippi"]),
    ("dyck2", ["({})", "({)}", "(){"]),
    ("count", [[3, 7, 3, 4, 5, 6, 7]]),
    ("mode", ["abbaab"]),
    ("copy", ["wxyz|wxy"]),
    ("parity", ["1101", "1001"]),
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
