"""The ONNX export (tarq.train.onnx_export): the request graphs' torch forward against the float64 reference (before
tracing), and the exported graphs' structure (opset, inputs, outputs, dynamic axes, the catalog as initializers, the
DIN head, the cross head and null keys where the file has them). ONNX Runtime itself is not available to Python
here: the Java test OrtParityTest (``./tarq test``, Maven profile ``ort``) runs these graphs and compares ORT's logits
with the engine's."""

from __future__ import annotations

import collections
import json
import os

import numpy as np
import pytest
import torch

from tarq import safetensors_np
from tarq.reference import Reference
from tarq.train import onnx_export
from tarq.train.onnx_export import GRAPH_FILES, RequestGraph, export_model, load_tensors

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARITY = os.path.join(PYTHON_DIR, "..", "..", "engine", "src", "test", "resources", "parity")
MODELS = ("readout", "din", "cross")
REFERENCE_KEY = {"tt": "tt", "ta": "ta", "tarq": "tarq", "tarq-candidate": "tarq"}


def fixture(name: str) -> str:
    return os.path.join(PARITY, f"{name}.safetensors")


def without_null_keys(tmp_path, name: str) -> str:
    """The fixture with its null keys removed: attention over exactly n keys, n = 0 included."""
    tensors, metadata = safetensors_np.read(fixture(name))
    path = os.path.join(tmp_path, f"{name}-no-null.safetensors")
    safetensors_np.write(path, {k: np.array(v) for k, v in tensors.items() if not k.endswith("null_k")}, metadata)
    return path


def requests(name: str):
    """The parity fixture's requests, plus one with no history at all: (user, history, candidates) in ids."""
    exp, _ = safetensors_np.read(os.path.join(PARITY, f"{name}.expected.safetensors"))
    offsets, histories = exp["request.history_offsets"], exp["request.history"]
    out = [(int(u), [int(h) for h in histories[offsets[r]:offsets[r + 1]]], [int(c) for c in exp["request.candidates"][r]])
           for r, u in enumerate(exp["request.user"])]
    out.append((out[0][0], [], out[0][2]))
    return out


def rows(tensors, metadata, user, history, candidates):
    """The request semantics, as the Java caller (OrtScorer) applies them before running a graph."""
    item_row = {int(i): r for r, i in enumerate(tensors["item.ids"].tolist())}
    user_row = {int(u): r for r, u in enumerate(tensors["user.ids"].tolist())}
    hist = [item_row[b] for b in history if b in item_row][-int(metadata["n_max"]):]
    return (torch.tensor([user_row.get(user, 0)]), torch.tensor(hist, dtype=torch.long),
            torch.tensor([item_row[c] for c in candidates], dtype=torch.long))


@pytest.mark.parametrize("name,null_keys", [(name, null_keys) for null_keys in (True, False) for name in MODELS])
def test_request_graphs_compute_the_contracts_logits(tmp_path, name, null_keys):
    path = fixture(name) if null_keys else without_null_keys(tmp_path, name)
    tensors, metadata = load_tensors(path)
    arrays, meta = safetensors_np.read(path)
    reference = Reference(arrays, meta)
    graphs = {model: RequestGraph(tensors, metadata, model).eval() for model in GRAPH_FILES}
    empty_histories = 0
    for user, history, candidates in requests(name):
        want = reference.score(user, history, candidates)
        inputs = rows(tensors, metadata, user, history, candidates)
        empty_histories += inputs[1].numel() == 0
        for model, graph in graphs.items():
            with torch.no_grad():
                got = graph(*inputs).numpy()
            expected = want[REFERENCE_KEY[model]]
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * max(1.0, float(np.abs(expected).max())),
                                       err_msg=f"{name} {model} user {user}")
    assert empty_histories >= 2  # n = 0 was exercised


def test_cross_head_graphs_include_the_cross_term():
    """The cross fixture's graphs against the reference without the cross head: they must differ, by far more than
    the tolerance above (the term is not lost in rounding, and the test above would see a graph that drops it)."""
    tensors, metadata = load_tensors(fixture("cross"))
    arrays, meta = safetensors_np.read(fixture("cross"))
    assert meta["format_version"] == "2" and int(meta["cross_dim"]) == arrays["item.cross"].shape[1] == 8
    plain = {k: v for k, v in arrays.items() if not k.startswith("ta.cross.") and k != "item.cross"}
    without_cross = Reference(plain, meta)
    user, history, candidates = requests("cross")[0]
    inputs = rows(tensors, metadata, user, history, candidates)
    for model in ("ta", "tarq", "tarq-candidate"):
        with torch.no_grad():
            got = RequestGraph(tensors, metadata, model).eval()(*inputs).numpy()
        gap = np.abs(got - without_cross.score(user, history, candidates)[REFERENCE_KEY[model]]).max()
        assert gap > 100 * 1e-4 * max(1.0, float(np.abs(got).max())), (model, gap)


def test_a_file_past_protobufs_limit_is_refused_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(onnx_export, "MAX_SOURCE_BYTES", 1000)
    assert onnx_export.main([fixture("readout"), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert "readout.safetensors" in err and "2 GB" in err and "\n" not in err
    assert not os.path.exists(tmp_path / "out")


def test_unknown_graph_is_refused():
    tensors, metadata = load_tensors(fixture("readout"))
    with pytest.raises(ValueError, match="model 'nope'"):
        RequestGraph(tensors, metadata, "nope")


# ------------------------------------------------------------------------------------------------ exported graphs

try:
    import onnx  # Debian python3-onnx (./tarq test installs it); the export itself needs only torch
except ImportError:
    onnx = None
needs_onnx = pytest.mark.skipif(onnx is None, reason="the onnx package is missing (apt-get install python3-onnx)")


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@needs_onnx
@pytest.mark.parametrize("name", MODELS)
def test_exported_graphs_are_valid_opset_13_with_dynamic_n_and_m(tmp_path, name):
    out = os.path.join(tmp_path, name)
    info = onnx_export.main([fixture(name), "--out-dir", out, "--tarq-form", "both"])
    assert info == 0
    exported = json.load(open(os.path.join(out, "export.json")))
    assert exported["graphs"] == GRAPH_FILES
    assert exported["ta_head"] == name and exported["null_keys"] is True and exported["opset"] == 13
    arrays, _ = safetensors_np.read(fixture(name))
    n_items, d = arrays["item.emb"].shape
    for model, file in GRAPH_FILES.items():
        m = onnx.load(os.path.join(out, file))
        onnx.checker.check_model(m)
        assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [13]
        g = m.graph
        assert [(i.name, i.type.tensor_type.elem_type, dims(i)) for i in g.input] == [
            ("user", onnx.TensorProto.INT64, [1]), ("history", onnx.TensorProto.INT64, ["n"]),
            ("candidates", onnx.TensorProto.INT64, ["M"])]
        assert [(o.name, o.type.tensor_type.elem_type, dims(o)) for o in g.output] == [
            ("logits", onnx.TensorProto.FLOAT, ["M"])]
        init = {i.name: tuple(i.dims) for i in g.initializer}
        assert init["item_emb"] == (n_items, d)  # the catalog is inside the graph
        ops = collections.Counter(n.op_type for n in g.node)
        assert not any(op in ops for op in ("Loop", "If", "Scan")), ops  # straight-line graphs
        if model == "tt":
            assert "item_vec" in init and "codes" not in init and "ta_attn.bk" not in init
            assert "item_cross" not in init
        else:  # q_i gathered from item.cross, as the engine serves it
            assert init.get("item_cross") == ((n_items, 8) if name == "cross" else None)
        if model == "ta":
            assert ("ta_mlp.0.weight" in init) == (name == "din")
            assert ops["Relu"] == (2 if name == "din" else 1)  # user MLP, plus the DIN head's
            assert ops["Softmax"] == 3  # sequence block, user attention, target attention
        if model.startswith("tarq"):
            assert init["codes"] == (n_items, arrays["item.codes"].shape[0])  # item-major uint8 codes
            assert m.graph.initializer[[i.name for i in g.initializer].index("codes")].data_type == onnx.TensorProto.UINT8
            assert ops["Softmax"] == 2 + arrays["item.codes"].shape[0]  # one per level


@needs_onnx
@pytest.mark.parametrize("name", MODELS)
def test_committed_onnx_fixtures_are_exports_of_the_committed_models(name):
    """`./tarq parity-fixtures` regenerates both; a model changed without its graphs fails here (and in Java)."""
    out = os.path.join(PARITY, "onnx", name)
    exported = json.load(open(os.path.join(out, "export.json")))
    assert exported["source_sha256"] == onnx_export._sha256(fixture(name))
    for file in exported["graphs"].values():
        onnx.checker.check_model(onnx.load(os.path.join(out, file)))
