"""The runnable examples in docs/: each ```rasp block with `# example: INPUT -> OUTPUT` lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rasp.inputs import parse_input
from rasp.program import from_text

DOCS = Path(__file__).parent.parent / "docs"
BLOCK = re.compile(r"```rasp\n(.*?)```", re.DOTALL)
EXAMPLE = re.compile(r"^# example: (.*) -> (.*)$", re.MULTILINE)


def blocks():
    for page in sorted(DOCS.glob("*.md")):
        for i, match in enumerate(BLOCK.finditer(page.read_text())):
            if EXAMPLE.search(match.group(1)):
                yield pytest.param(match.group(1), id=f"{page.name}-{i}")


@pytest.mark.parametrize("text", list(blocks()))
def test_doc_block(text):
    program = from_text(text, path="doc.rasp")
    for given, expected in EXAMPLE.findall(text):
        got = program.run([parse_input(given)])[0]
        assert got == pytest.approx(json.loads(expected)), f"{given} -> {got}, documented {expected}"


def test_docs_have_examples():
    assert len(list(blocks())) >= 10
