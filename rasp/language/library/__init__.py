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
    """The comment a library program opens with, whole, its lines joined: what it computes and
    for which inputs (the `# rasp:` pragma lines left out)."""
    lines = []
    for line in path(name).read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text.startswith("#"):
            if text or lines:
                break
            continue
        text = text.lstrip("#").strip()
        if not text.startswith("rasp:"):
            lines.append(text)
    return " ".join(t for t in lines if t)
