"""The runnable examples in docs/: each ```rasp block with `# example: INPUT -> OUTPUT` lines, and
every ```python block of docs/python.md with the values and output it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rasp.language.examples import examples_in, matches
from rasp.language.program import from_text

DOCS = Path(__file__).parent.parent / "docs"
BLOCK = re.compile(r"```rasp\n(.*?)```", re.DOTALL)


def blocks():
    for page in sorted(DOCS.glob("*.md")):
        for i, match in enumerate(BLOCK.finditer(page.read_text())):
            if examples_in(match.group(1)):
                yield pytest.param(match.group(1), id=f"{page.name}-{i}")


@pytest.mark.parametrize("text", list(blocks()))
def test_doc_block(text):
    for example in examples_in(text, "doc.rasp"):
        program = from_text(text, example.output, path="doc.rasp")
        given, expected = example.parse()
        got = program.run([given])[0]
        assert matches(expected, got), f"line {example.line}: {given} -> {got}, documented {expected}"


def test_docs_have_examples():
    assert len(list(blocks())) >= 10


PYTHON_PAGE = DOCS / "python.md"
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
SHOWS = re.compile(r"^(?P<expr>\S.*?)\s+# -> (?P<expected>.+)$")


def python_blocks(text: str) -> list[tuple[str, str | None]]:
    """Each ```python block of a page, with the plain ``` block right after it (what it prints)."""
    fences = list(FENCE.finditer(text))
    found = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        after = fences[i + 1] if i + 1 < len(fences) else None
        printed = None
        if after is not None and after.group(1) == "" and not text[fence.end():after.start()].strip():
            printed = after.group(2)
        found.append((fence.group(2), printed))
    return found


def shows(value, expected: str, line: str) -> None:
    """`EXPRESSION  # -> VALUE`: the value equals VALUE read as a Python literal (else its repr)."""
    import ast

    try:
        want = ast.literal_eval(expected)
    except (ValueError, SyntaxError):
        assert repr(value) == expected, line
    else:
        assert value == want, f"{line}: got {value!r}"


def checked(code: str) -> tuple[str, int]:
    """The block with each `EXPRESSION  # -> VALUE` line turned into a check, and how many."""
    lines, count = [], 0
    for line in code.splitlines():
        match = SHOWS.match(line)
        if match:
            lines.append(f"__shows({match['expr']}, {match['expected']!r}, {line!r})")
            count += 1
        else:
            lines.append(line)
    return "\n".join(lines), count


def test_python_page_runs_and_shows_what_it_says(tmp_path, monkeypatch):
    import contextlib
    import io

    monkeypatch.chdir(tmp_path)  # the page saves a model file
    namespace = {"__shows": shows, "__name__": "python_md"}
    blocks = python_blocks(PYTHON_PAGE.read_text())
    checks = outputs = 0
    for number, (code, printed) in enumerate(blocks, start=1):
        source, count = checked(code)
        checks += count
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, f"python.md block {number}", "exec"), namespace)
        if printed is not None:
            outputs += 1
            assert out.getvalue() == printed, f"block {number} printed:\n{out.getvalue()}"
    assert len(blocks) >= 8 and checks >= 20 and outputs >= 4


def test_shown_values_are_checked():
    """The check of `# ->` lines is not vacuous: a wrong value fails."""
    source, count = checked("1 + 1  # -> 3")
    assert count == 1
    with pytest.raises(AssertionError):
        exec(source, {"__shows": shows})
