"""`rasp export` and `compiler.export`: the exported names and shapes, a NumPy forward pass of the
exported arrays against the runner on every verification input, the command's errors, and (where
torch and TransformerLens are installed: `make test-export`) the round trip through TransformerLens."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from compiler import compile_program
from compiler import model as saved
from compiler.export import (CONFIG, METADATA, WEIGHTS, ExportFormat, decode, export, forward, read,
                             token_ids, transformerlens_config, transformerlens_state)
from compiler.model import CompiledModel
from compiler.runner import Runner
from compiler.verify import NUMERICAL_TOLERANCE, verification_inputs
from grammar.errors import RaspError
from rasp.language.program import load_program
from rasp.language.sops import Encoding
from tests.helpers import cli

# (vocab, max_len) as in tests/test_compiler.py. frac_prevs is causal with a numerical output;
# dyck1 is causal and categorical; sort and reverse attend both ways.
PROGRAMS = {
    "sort": (list("abc"), 6),
    "reverse": (list("abc"), 6),
    "frac_prevs": (list("xa"), 6),
    "dyck1": (list("()"), 6),
}
MAX_DIFFERENCE = 1e-4  # between two float32 computations of the same unembedded outputs

_models: dict[str, CompiledModel] = {}


def compiled(name: str) -> CompiledModel:
    if name not in _models:
        vocab, max_len = PROGRAMS[name]
        _models[name] = compile_program(load_program(name), vocab, max_len, samples=64).model
    return _models[name]


def test_the_programs_cover_causal_and_numerical_models():
    models = [compiled(name) for name in PROGRAMS]
    assert any(m.causal for m in models) and any(not m.causal for m in models)
    assert any(m.meta.output.encoding is Encoding.NUMERICAL for m in models)


def every_input(model: CompiledModel) -> list[list]:
    inputs = verification_inputs(model.vocab, model.max_len, 64, False, 0).inputs
    return inputs


def by_length(inputs: list[list]) -> dict[int, list[list]]:
    groups: dict[int, list[list]] = {}
    for tokens in inputs:
        groups.setdefault(len(tokens), []).append(tokens)
    return groups


def compare(model: CompiledModel, run_ids) -> tuple[int, float]:
    """`run_ids(ids) -> outputs [batch, positions, columns]` against the runner on every verification
    input: the decoded outputs agree, and the raw ones within MAX_DIFFERENCE. (inputs, largest difference)"""
    runner = Runner(model)
    compared, worst = 0, 0.0
    for length, group in by_length(every_input(model)).items():
        outputs = np.asarray(run_ids(token_ids(model.meta, group)))
        expected = runner.raw(group)[:, :length + 1]
        assert outputs.shape == expected.shape
        worst = max(worst, float(np.abs(outputs - expected).max()))
        got, want = decode(model.meta, outputs), runner.run(group)
        if model.meta.output.encoding is Encoding.NUMERICAL:
            assert np.allclose(got, want, rtol=NUMERICAL_TOLERANCE, atol=NUMERICAL_TOLERANCE)
        else:
            assert got == want, f"length {length}"
        compared += len(group)
    assert worst <= MAX_DIFFERENCE
    return compared, worst


def expected_shapes(model: CompiledModel) -> dict[str, tuple[int, ...]]:
    """TransformerLens's names and shapes, from the model's layout."""
    layout = model.meta.layout
    d, h, k, m = layout.residual_width, max(1, layout.num_heads), max(1, layout.key_size), \
        max(1, layout.mlp_hidden_size)
    outputs = len(model.meta.output.values) if model.meta.output.encoding is Encoding.CATEGORICAL else 1
    shapes = {"embed.W_E": (len(model.meta.tokens), d), "pos_embed.W_pos": (model.max_len + 1, d),
              "unembed.W_U": (d, outputs), "unembed.b_U": (outputs,)}
    for i in range(layout.num_layers):
        b = f"blocks.{i}."
        for n in "QKV":
            shapes[b + f"attn.W_{n}"], shapes[b + f"attn.b_{n}"] = (h, d, k), (h, k)
        shapes.update({b + "attn.W_O": (h, k, d), b + "attn.b_O": (d,), b + "mlp.W_in": (d, m),
                       b + "mlp.b_in": (m,), b + "mlp.W_out": (m, d), b + "mlp.b_out": (d,)})
    return shapes


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_transformerlens_export_has_transformerlens_names_and_shapes(name, tmp_path):
    model = compiled(name)
    export(model, tmp_path, ExportFormat.TRANSFORMERLENS)
    back = read(tmp_path)
    assert back.format is ExportFormat.TRANSFORMERLENS
    assert {k: v.shape for k, v in back.arrays.items()} == expected_shapes(model)
    assert all(v.dtype == np.float32 for v in back.arrays.values())
    layout = model.meta.layout
    config = json.loads((tmp_path / CONFIG).read_text())
    assert (config["n_layers"], config["d_model"], config["n_ctx"], config["d_vocab"]) == \
        (layout.num_layers, layout.residual_width, model.max_len + 1, len(model.meta.tokens))
    assert config["attention_dir"] == ("causal" if model.causal else "bidirectional")
    assert config["normalization_type"] is None and config["act_fn"] == "relu"
    assert back.meta == model.meta


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_numpy_forward_of_the_exported_arrays_equals_the_runner(name, tmp_path):
    model = compiled(name)
    export(model, tmp_path, ExportFormat.TRANSFORMERLENS)
    back = read(tmp_path)
    compared, worst = compare(model, lambda ids: forward(back.arrays, back.config, ids))
    assert compared == len(every_input(model))


def test_safetensors_export_is_the_model_files_arrays(tmp_path):
    model = compiled("frac_prevs")
    written = export(model, tmp_path, ExportFormat.SAFETENSORS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([WEIGHTS, METADATA])
    assert [p.name for p in written.files()] == [WEIGHTS, METADATA]
    back = read(tmp_path)
    assert back.format is ExportFormat.SAFETENSORS and back.config is None
    assert back.arrays.keys() == model.arrays.keys()
    for name, array in model.arrays.items():
        assert back.arrays[name].dtype == array.dtype and np.array_equal(back.arrays[name], array), name
    assert back.meta == model.meta
    info = json.loads((tmp_path / METADATA).read_text())
    assert info["arrays"]["unembed"]["shape"] == list(model.arrays["unembed"].shape)
    # the arrays run as the model does: through the same mapping and forward pass
    again = CompiledModel(back.arrays, back.meta)
    compare(model, lambda ids: forward(transformerlens_state(again), transformerlens_config(again), ids))


def test_the_comparison_sees_a_wrong_weight(tmp_path):
    """The forward pass is not vacuous: a changed query weight changes the outputs."""
    model = compiled("sort")
    export(model, tmp_path, ExportFormat.TRANSFORMERLENS)
    back = read(tmp_path)
    state = dict(back.arrays)
    last = model.num_layers - 1
    state[f"blocks.{last}.attn.W_Q"] = -state[f"blocks.{last}.attn.W_Q"]
    with pytest.raises(AssertionError):
        compare(model, lambda ids: forward(state, back.config, ids))


def test_a_damaged_export_is_refused(tmp_path):
    export(compiled("reverse"), tmp_path, ExportFormat.TRANSFORMERLENS)
    weights = tmp_path / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(RaspError, match="not a readable export"):
        read(tmp_path)
    (tmp_path / METADATA).unlink()
    with pytest.raises(RaspError, match="no lengthwise.json"):
        read(tmp_path)


def test_token_ids_put_bos_first_and_refuse_other_tokens():
    meta = compiled("sort").meta
    ids = token_ids(meta, [list("cab")])
    assert [meta.tokens[i] for i in ids[0]] == [meta.bos, "c", "a", "b"]
    with pytest.raises(RaspError, match="not in the model's vocabulary"):
        token_ids(meta, [list("xa")])


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "sort.npz"
    saved.save(compiled("sort"), path)
    return path


@pytest.mark.parametrize("fmt", [f.value for f in ExportFormat])
def test_cli_exports_a_model_file(fmt, model_file, tmp_path):
    out = tmp_path / "out"
    result = cli("export", str(model_file), "--format", fmt, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out / WEIGHTS) in result.stdout
    assert read(out).format == fmt
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]


def test_cli_refuses_an_unknown_format(model_file, tmp_path):
    result = cli("export", str(model_file), "--format", "onnx", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "invalid choice: 'onnx'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_refuses_an_output_folder_that_is_a_file(model_file, tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    result = cli("export", str(model_file), "--format", "safetensors", "-o", str(target))
    assert result.returncode == 2
    assert "is not a folder" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("content", [None, b"not a zip file"])
def test_cli_refuses_a_missing_or_damaged_model(content, tmp_path):
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    result = cli("export", str(path), "--format", "transformerlens", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and str(path) in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_transformerlens_gives_the_runners_outputs(name, tmp_path):
    """Run by `make test-export`; skipped where torch and TransformerLens are not installed."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformer_lens")
    from compiler.export import load_transformerlens

    model = compiled(name)
    export(model, tmp_path, ExportFormat.TRANSFORMERLENS)
    hooked = load_transformerlens(tmp_path)
    assert math.isclose(float(hooked.blocks[0].attn.attn_scale), math.sqrt(hooked.cfg.d_head))

    def run(ids):
        with torch.no_grad():
            return hooked(torch.from_numpy(ids), return_type="logits").numpy()

    compared, worst = compare(model, run)
    assert compared == len(every_input(model))
    print(f"{name}: TransformerLens equals the runner on {compared} inputs, largest difference {worst:.3g}")
