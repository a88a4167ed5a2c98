"""Model files under attack: edited metadata (with the checksum recomputed, as an attacker
could), weights of the wrong type or rank, oversized members (random bit flips and truncations
are in test_attacks.py). Every one is one clean error naming the file; none reaches the runner."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from compiler import compile_program
from compiler import model as saved
from grammar.errors import RaspError
from rasp.language.program import load_program


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "sort.npz"
    saved.save(compile_program(load_program("sort"), list("abc"), 5).model, path)
    return path


def rewrite(source, target, edit_meta=None, edit_arrays=None, checksum=True):
    """The file with its metadata and arrays edited, the checksum recomputed unless told not to."""
    with np.load(source, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "metadata"}
        meta = json.loads(archive["metadata"].tobytes().decode())
    if edit_arrays:
        edit_arrays(arrays)
    if edit_meta:
        edit_meta(meta)
    meta["arrays"] = {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}
    if checksum:
        meta["sha256"] = saved._digest(arrays, meta)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(target, "wb") as f:
        np.savez_compressed(f, metadata=blob, **arrays)


def setter(*keys, value):
    def edit(meta):
        node = meta
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return edit


META_EDITS = {
    "num_heads": setter("layout", "num_heads", value=3),
    "key_size": setter("layout", "key_size", value=7),
    "num_layers -1": setter("layout", "num_layers", value=-1),
    "num_layers 1": setter("layout", "num_layers", value=1),
    "num_layers text": setter("layout", "num_layers", value="2"),
    "residual_width": setter("layout", "residual_width", value=5),
    "output values": setter("output", "values", value=["a"]),
    "no output values": setter("output", "values", value=None),
    "output encoding": setter("output", "encoding", value="sideways"),
    "tokens": setter("tokens", value=["a", "b"]),
    "max_len": setter("max_len", value=10**9),
    "causal": setter("causal", value="yes"),
    "labels": setter("residual_labels", value=[]),
    "huge blob": setter("padding", value="x" * (17 * 2**20)),
}


ARRAY_EDITS = {
    "int32 weights": lambda a: a.update({"unembed": a["unembed"].astype(np.int32)}),
    "complex weights": lambda a: a.update({"pos_embed": a["pos_embed"].astype(np.complex64)}),
    "2-D bias": lambda a: a.update({"layer0.attn.query.b": a["layer0.attn.query.b"][None]}),
    "NaN weight": lambda a: a["token_embed"].__setitem__((0, 0), np.nan),
    "missing array": lambda a: a.pop("layer0.mlp.linear_2.w"),
    "extra array": lambda a: a.update({"layer9.attn.query.w": np.zeros((2, 2), np.float32)}),
}


EDITS = {**{f"metadata: {k}": {"edit_meta": v} for k, v in META_EDITS.items()},
         **{f"arrays: {k}": {"edit_arrays": v} for k, v in ARRAY_EDITS.items()}}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_metadata_or_weights_are_refused_naming_the_file(model_file, tmp_path, edit):
    target = tmp_path / "edited.npz"
    rewrite(model_file, target, **EDITS[edit])
    with pytest.raises(RaspError) as info:
        saved.load(target)
    assert str(target) in info.value.message


def test_an_edit_without_a_new_checksum_is_caught_by_it(model_file, tmp_path):
    target = tmp_path / "edited.npz"
    rewrite(model_file, target, edit_meta=setter("vocab", value=["a", "b"]), checksum=False)
    with pytest.raises(RaspError, match="checksum"):
        saved.load(target)


def test_a_member_declaring_more_than_the_machine_holds_is_refused_before_inflating(tmp_path, monkeypatch):
    from rasp.language import machine

    monkeypatch.setattr(machine, "usable_memory", lambda: 2**20)  # a machine with 1 MiB to spare
    target = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**24,)})
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.npy", b"")
        with z.open("token_embed.npy", "w") as f:
            f.write(header.getvalue() + bytes(2**26))  # 64 MiB of zeros, 64 KB compressed
    assert target.stat().st_size < 2**20
    with pytest.raises(RaspError, match="declare 0.1 GiB; about 0.0 GiB can be used here"):
        saved.load(target)
