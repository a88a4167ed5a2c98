"""The program library: .rasp files shipped with the package, runnable by name (`rasp run sort`)."""

from __future__ import annotations

from pathlib import Path

LIBRARY_DIR = Path(__file__).parent


def names() -> list[str]:
    """Library program names, sorted."""
    return sorted(p.stem for p in LIBRARY_DIR.glob("*.rasp") if not p.stem.startswith("_"))


def path(name: str) -> Path:
    return LIBRARY_DIR / f"{name}.rasp"


def summary(name: str) -> str:
    """The first comment line of a library program: what it computes."""
    for line in path(name).read_text().splitlines():
        text = line.strip()
        if text.startswith("#") and "rasp:" not in text:
            return text.lstrip("#").strip()
    return ""
