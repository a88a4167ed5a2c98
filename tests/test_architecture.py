"""The architecture contract: dependencies point one way, nobody reaches into another package's
private names, library code speaks of values (not command-line flags), and modules stay small.

The import-linter contracts live in pyproject.toml ([tool.importlinter]); this file runs them, shows
that they catch an upward import, and adds the checks import-linter has no contract type for.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("grammar", "rasp", "compiler", "predictor")
FACES = "rasp.faces"
MAX_MODULE_LINES = 400
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def modules() -> dict[str, Path]:
    """Every module of ours, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def package_of(module: str, path: Path) -> str:
    """The package a module belongs to: itself for an __init__, else its parent."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_import_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_import_contracts_catch_an_upward_import(tmp_path):
    """A copy of the tree with one lazy import from the language up into the compiler breaks it."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    sops = tmp_path / "rasp" / "language" / "sops.py"
    sops.write_text(sops.read_text() + "\n\ndef _upward():\n    from compiler import lower\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "rasp.language.sops -> compiler.lower" in result.stdout


def private_uses(module: str, path: Path, ours: dict[str, Path]) -> list[str]:
    """`from other.package import _name` and `other_module._name` where other is not this package."""
    home = package_of(module, path)
    tree = ast.parse(path.read_text(), str(path))
    aliases: dict[str, str] = {}  # local name -> our module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            source = node.module
            if source.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in ours:  # a module imported by name
                    aliases[alias.asname or alias.name] = target
                    source_package = package_of(target, ours[target])
                else:
                    source_package = package_of(source, ours[source]) if source in ours else source
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and source_package != home:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {source}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ours and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")):
            target = aliases[node.value.id]
            if package_of(target, ours[target]) != home:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: uses {target}.{node.attr}")
    return found


def test_no_module_uses_another_packages_private_names():
    ours = modules()
    found = [use for name, path in ours.items() for use in private_uses(name, path, ours)]
    assert not found, "\n".join(found)


def test_private_name_check_sees_both_spellings(tmp_path):
    """The check above is not vacuous: both ways of reaching in are reported."""
    ours = {"rasp.language.execute": ROOT / "rasp/language/execute.py"}
    fake = ROOT / "compiler" / "_probe_for_test.py"
    fake.write_text("from rasp.language import execute\nfrom rasp.language.execute import _x\n"
                    "execute._map\n")
    try:
        ours["compiler._probe_for_test"] = fake
        found = private_uses("compiler._probe_for_test", fake, ours)
    finally:
        fake.unlink()
    assert len(found) == 2, found


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")


def test_library_code_names_no_command_line_flags():
    """Only the faces speak of flags; the layers below raise errors about values."""
    found = []
    for name, path in modules().items():
        if name == FACES or name.startswith(FACES + "."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for flag in FLAG.findall(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {flag}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_small(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


LAYERS = ("rasp.faces", "predictor", "compiler", "rasp.language", "grammar")  # as in pyproject.toml


def layer_imports() -> dict[tuple[str, str], int]:
    """How many module-to-module imports run from each layer to each other one."""
    import grimp

    graph = grimp.build_graph(*PACKAGES, cache_dir=None)

    def layer(module: str) -> str:
        return next((name for name in LAYERS if module == name or module.startswith(name + ".")), module)

    found: dict[tuple[str, str], int] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            pair = (layer(module), layer(imported))
            if pair[0] != pair[1]:
                found[pair] = found.get(pair, 0) + 1
    return found


def test_every_import_between_layers_runs_down():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [pair for pair in layer_imports() if pair[0] in rank and pair[1] in rank
              and rank[pair[0]] > rank[pair[1]]]
    assert not upward


if __name__ == "__main__":  # print the imports between layers (docs/architecture.md)
    sys.path.insert(0, str(ROOT))
    for (source, target), count in sorted(layer_imports().items(), key=lambda kv: (LAYERS.index(kv[0][0])
                                                                                  if kv[0][0] in LAYERS else 9, kv[0][1])):
        print(f"{source:>14} -> {target:<14} {count:3d} imports")
