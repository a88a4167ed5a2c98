"""The runnable examples in docs/: each ```rasp block with `# example: INPUT -> OUTPUT` lines."""

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
