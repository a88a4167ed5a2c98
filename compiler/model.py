"""A compiled model as plain arrays plus JSON metadata, and its one-file format.

The file is a NumPy `.npz` archive: every weight as an array (embeddings, per-layer attention
and MLP matrices, and an explicit unembedding matrix) and one `metadata` array holding UTF-8
JSON. Loading uses `allow_pickle=False`, so a file cannot run code; it checks the format tag,
every array's shape and dtype against the metadata, and a SHA-256 of the weights.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compiler.meta import ModelMeta
from compiler.model_checks import check_model
from grammar.errors import RaspError
from rasp.language.files import atomic_file

FORMAT = "lengthwise-compiled-model"
FORMAT_VERSION = 2  # 2: the checksum covers the metadata too


@dataclass
class CompiledModel:
    """Weights and what is needed to use them.

    `arrays` holds `token_embed` (tokens x D), `pos_embed` (max_len + 1 x D), `unembed`
    (D x outputs) and, per layer i, `layer{i}.attn.{query,key,value,linear}.{w,b}` and
    `layer{i}.mlp.{linear_1,linear_2}.{w,b}`. `meta` says what they compute and how to use them.
    """

    arrays: dict[str, np.ndarray]
    meta: ModelMeta
    tracr: Any = field(default=None, repr=False, compare=False)  # builds tracr's own model of the
    # same blocks (a function of no arguments), for benchmarks that compare with its `apply`; never saved
    support: dict[str, tuple[np.ndarray, np.ndarray]] | None = field(default=None, repr=False, compare=False)
    # where each weight matrix ("layer0.mlp.linear_1.w", ...) may be non-zero, (rows, columns), zero
    # elsewhere: known when compiled here (so the runner reads a few rows of a 4,421-wide matrix
    # instead of all of it, pages never written included); None for a model loaded from a file

    @property
    def vocab(self) -> list[Any]:
        return self.meta.vocab

    @property
    def max_len(self) -> int:
        return self.meta.max_len

    @property
    def causal(self) -> bool:
        return self.meta.causal

    @property
    def num_layers(self) -> int:
        return self.meta.layout.num_layers

    def parameter_count(self) -> int:
        """Every stored number (tracr pads each layer to the widest head and MLP)."""
        return int(sum(a.size for a in self.arrays.values()))

    def nonzero_parameters(self) -> int:
        """The stored numbers that are not zero: what the model really uses."""
        if self.support is None:
            return int(sum(np.count_nonzero(a) for a in self.arrays.values()))
        matrices = [name for name in self.arrays if name.startswith("layer") and name.endswith(".w")]
        return int(sum(np.count_nonzero(a) for name, a in self.arrays.items() if name not in matrices)
                   + sum(np.count_nonzero(self.arrays[name][np.ix_(*self.support[name])])
                         for name in matrices if name in self.support))


MAX_METADATA_BYTES = 16 * 2**20  # a model's metadata is this small or it is not ours


def _digest(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """SHA-256 over the metadata (without the digest itself) and every array, names included:
    an edit to either is caught."""
    h = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()


def save(model: CompiledModel, path: str | Path) -> None:
    meta = dict(model.meta.to_json(), format=FORMAT, format_version=FORMAT_VERSION,
                arrays={k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in model.arrays.items()})
    meta["sha256"] = _digest(model.arrays, meta)
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_file(path, "wb") as f:  # a reader sees the old file or the whole new one
        np.savez_compressed(f, metadata=blob, **model.arrays)


def load(path: str | Path) -> CompiledModel:
    """Read a saved model; any file that is not one, or is damaged, gives a RaspError."""
    where = str(path)
    try:
        _check_sizes(path, where)
        with np.load(path, allow_pickle=False) as archive:
            if "metadata" not in archive.files:
                raise RaspError(f"{where}: not a compiled model (no metadata)")
            meta = json.loads(archive["metadata"].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise RaspError(f"{where}: not a compiled model of this tool")
            if meta.get("format_version") != FORMAT_VERSION:
                raise RaspError(f"{where}: model file format {meta.get('format_version')} is not "
                                f"supported (this version reads {FORMAT_VERSION}); compile again")
            checksum, stored = meta.get("sha256"), dict(meta)
            arrays = {}
            for name, spec in meta["arrays"].items():
                if name not in archive.files:
                    raise RaspError(f"{where}: damaged model file: array {name!r} is missing")
                array = archive[name]
                if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
                    raise RaspError(f"{where}: damaged model file: array {name!r} has shape "
                                    f"{list(array.shape)} {array.dtype}, expected {spec['shape']} {spec['dtype']}")
                arrays[name] = array
            for key in ("arrays", "sha256", "format", "format_version"):
                meta.pop(key, None)
            model = CompiledModel(arrays, ModelMeta.from_json(meta))
    except RaspError:
        raise
    except FileNotFoundError:
        raise RaspError(f"{where}: no such file") from None
    except Exception as e:  # noqa: BLE001 - a hostile or damaged file can fail zip, zlib, NumPy or JSON in many ways
        raise RaspError(f"{where}: not a readable compiled model ({type(e).__name__}: {e})") from None
    if _digest(arrays, stored) != checksum:
        raise RaspError(f"{where}: damaged model file: the weights or the metadata do not match their checksum")
    check_model(arrays, model.meta, where)
    return model


def _check_sizes(path: str | Path, where: str) -> None:
    """Refuse, from the zip directory alone, a file whose members would inflate past what this
    machine can hold (or whose metadata is larger than any of ours), before inflating anything."""
    from rasp.language.machine import usable_memory

    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    meta = next((m for m in members if m.filename == "metadata.npy"), None)
    if meta is not None and meta.file_size > MAX_METADATA_BYTES:
        raise RaspError(f"{where}: not a compiled model of this tool: its metadata declares "
                        f"{meta.file_size:,} bytes (ours are under {MAX_METADATA_BYTES:,})")
    total, budget = sum(m.file_size for m in members), usable_memory()
    if total > budget:
        raise RaspError(f"{where}: the model's arrays declare {total / 2**30:.1f} GiB; about "
                        f"{budget / 2**30:.1f} GiB can be used here")
