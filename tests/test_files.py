"""Every file the tool writes is written atomically: a failed write (a full disk, simulated)
leaves the previous file as it was, no temporary file behind, and a clear error naming it."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from compiler import compile_program
from compiler import model as saved
from grammar.errors import RaspError
from rasp.language import files
from rasp.language.program import load_program


def full_disk(monkeypatch):
    def fail(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", fail)


def test_a_failed_text_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    files.write_text(target, "old")
    full_disk(monkeypatch)
    with pytest.raises(RaspError, match="cannot write .*results.json: No space left on device"):
        files.write_text(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_model_save_keeps_the_old_model(tmp_path, monkeypatch):
    path = tmp_path / "hist.npz"
    model = compile_program(load_program("hist"), list("ab"), 4).model
    saved.save(model, path)
    before = path.read_bytes()
    full_disk(monkeypatch)
    with pytest.raises(RaspError, match="cannot write"):
        saved.save(model, path)
    assert path.read_bytes() == before
    loaded = saved.load(path)
    assert all(np.array_equal(loaded.arrays[k], v) for k, v in model.arrays.items())
    assert [p.name for p in tmp_path.iterdir()] == ["hist.npz"]


def test_an_error_inside_the_write_removes_the_temporary_file(tmp_path):
    target = tmp_path / "plot.png"
    with pytest.raises(ValueError):
        with files.atomic_file(target, "wb") as f:
            f.write(b"half")
            raise ValueError("a bug mid-write")
    assert not list(tmp_path.iterdir())
