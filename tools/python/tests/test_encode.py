"""tarq.encode: re-encoding a catalog's own items reproduces the export (synthetic and trained models), replaced
items keep their rows, new ones are appended in order with E_item = 0, the CSR is rebuilt, and bad input fails with
one line naming the item."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tarq import encode, model_file, safetensors_np
from tarq.encode import EncodeError, encode_items

PARITY_CROSS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "engine", "src", "test",
                            "resources", "parity", "cross.safetensors")


def own_items(t):
    """Every catalog item with its own attributes, as (id, [external attribute ids])."""
    offsets, values, attr_ids = t["item.attr.offsets"], t["item.attr.values"], t["item.attr.ids"]
    return [(int(i), [int(attr_ids[a]) for a in values[offsets[r] : offsets[r + 1]]])
            for r, i in enumerate(t["item.ids"])]


def assert_reproduces(before, after):
    np.testing.assert_array_equal(after["item.ids"], before["item.ids"])
    np.testing.assert_array_equal(after["item.attr.offsets"], before["item.attr.offsets"])
    np.testing.assert_array_equal(after["item.attr.values"], before["item.attr.values"])
    # e: E_item recovered and the same mean added back in float64: the exported rows bit for bit (<= 1e-5 promised).
    assert np.abs(after["item.emb"] - before["item.emb"]).max() <= 1e-5
    assert np.array_equal(after["item.emb"], before["item.emb"])
    assert np.abs(after["item.vec"] - before["item.vec"]).max() <= 1e-5
    equal = (after["item.codes"] == before["item.codes"]).mean()
    assert equal >= 0.999, f"{equal:.4%} of codes equal"


@pytest.fixture(scope="module")
def synth():
    return model_file.synth_model(items=1500, d=32, dv=16, codebook_size=32, seed=4, item_tower=True, attributes=30)


def test_re_encoding_a_synthetic_export_with_its_own_attributes_reproduces_it(synth):
    t, m = synth
    after, meta = encode_items(t, m, own_items(t))
    assert_reproduces(t, after)
    assert meta["items"] == m["items"]
    assert meta["producer"] == f"tarq-python {encode.__version__} encode-items (base: {m['producer']})"
    assert meta["synthetic_seed"] == m["synthetic_seed"], "other metadata kept"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained and exported by tarq.train (two epochs, a few seconds), as the parity fixtures are."""
    from tarq.train.parity import write_fixture

    directory = tmp_path_factory.mktemp("trained")
    path = write_fixture(str(directory), "tiny", "readout", seed=3)
    return safetensors_np.read(path, mmap=False)


def test_re_encoding_a_trained_export_with_its_own_attributes_reproduces_it(trained):
    t, m = trained
    assert "item.mlp.0.weight" in t and "item.attr.ids" in t
    after, _ = encode_items(t, m, own_items(t))
    assert_reproduces(t, after)


@pytest.fixture(scope="module")
def crossed():
    return model_file.synth_model(items=800, d=32, dv=16, codebook_size=32, seed=6, item_tower=True, attributes=30,
                                  cross_dim=8)


def test_re_encoding_a_cross_head_model_reproduces_item_cross_bit_for_bit(crossed):
    t, m = crossed
    after, meta = encode_items(t, m, own_items(t))
    assert_reproduces(t, after)
    assert after["item.cross"].tobytes() == t["item.cross"].tobytes()
    assert (meta["format_version"], meta["cross_dim"]) == ("2", "8")


def test_re_encoding_the_trained_cross_fixture_reproduces_its_export():
    """The committed parity fixture with the cross head: the trainer's export wrote item.cross with the same
    arithmetic (tarq.model_file.cross_rows) that encoding uses, so its own items give back the same bytes."""
    t, m = safetensors_np.read(PARITY_CROSS, mmap=False)
    after, _ = encode_items(t, m, own_items(t))
    assert_reproduces(t, after)
    assert after["item.cross"].tobytes() == t["item.cross"].tobytes()


def test_new_and_replaced_items_get_their_cross_rows(crossed):
    t, m = crossed
    n, attr_ids = len(t["item.ids"]), t["item.attr.ids"]
    items = [(int(t["item.ids"][5]), [int(attr_ids[1])]), (77, [int(attr_ids[2]), int(attr_ids[9])]), (78, [])]
    after, meta = encode_items(t, m, items)
    model_file.check_contents(after, model_file.check(after, meta, "<after>"), "<after>")
    assert after["item.cross"].shape == (n + 2, 8)
    changed = [5, n, n + 1]
    expected = model_file.cross_rows(after["item.emb"][changed], t["ta.cross.item.weight"], t["ta.cross.item.bias"])
    assert after["item.cross"][changed].tobytes() == expected.tobytes()
    assert not np.array_equal(after["item.cross"][5], t["item.cross"][5])
    np.testing.assert_array_equal(after["item.cross"][n + 1], t["ta.cross.item.bias"])  # e = 0: q = b_x
    kept = [r for r in range(n) if r != 5]
    np.testing.assert_array_equal(after["item.cross"][kept], t["item.cross"][kept])
    w, b = t["ta.cross.item.weight"].astype(np.float64), t["ta.cross.item.bias"].astype(np.float64)
    np.testing.assert_allclose(after["item.cross"][changed], after["item.emb"][changed] @ w.T + b, atol=1e-6)


def test_replace_in_place_and_append_in_input_order(synth):
    t, m = synth
    n, attr_ids = len(t["item.ids"]), t["item.attr.ids"]
    items = [
        {"id": 9_000_000_000, "attributes": [int(attr_ids[0]), int(attr_ids[5])]},
        (int(t["item.ids"][7]), [int(attr_ids[2]), int(attr_ids[2])]),  # a bag: the repeat counts twice
        (-1, []),
        (int(t["item.ids"][9]), []),
    ]
    after, meta = encode_items(t, m, items)
    dims = model_file.check(after, meta, "<after>")
    model_file.check_ids(after, "<after>")
    model_file.check_contents(after, dims, "<after>")
    assert meta["items"] == str(n + 2)
    np.testing.assert_array_equal(after["item.ids"][:n], t["item.ids"])
    assert list(after["item.ids"][n:]) == [9_000_000_000, -1]

    def attrs(tensors, r):
        o = tensors["item.attr.offsets"]
        return list(tensors["item.attr.values"][o[r] : o[r + 1]])

    assert attrs(after, 7) == [2, 2] and attrs(after, 9) == []
    assert attrs(after, n) == [0, 5] and attrs(after, n + 1) == []
    for r in (0, 1, 8, 10, n - 1):
        assert attrs(after, r) == attrs(t, r)
        np.testing.assert_array_equal(after["item.emb"][r], t["item.emb"][r])
        np.testing.assert_array_equal(after["item.vec"][r], t["item.vec"][r])
        np.testing.assert_array_equal(after["item.codes"][:, r], t["item.codes"][:, r])

    e_attr = t["item.attr.emb"].astype(np.float64)
    old7 = t["item.emb"][7] - e_attr[attrs(t, 7)].mean(axis=0) if attrs(t, 7) else t["item.emb"][7]
    np.testing.assert_allclose(after["item.emb"][7], old7 + e_attr[2], atol=1e-6)
    old9 = t["item.emb"][9] - e_attr[attrs(t, 9)].mean(axis=0) if attrs(t, 9) else t["item.emb"][9]
    np.testing.assert_allclose(after["item.emb"][9], old9, atol=1e-6)
    np.testing.assert_allclose(after["item.emb"][n], (e_attr[0] + e_attr[5]) / 2, atol=1e-6)
    assert not after["item.emb"][n + 1].any(), "cold start without attributes: e = 0"
    np.testing.assert_array_equal(after["item.codes"][:, [7, 9, n, n + 1]],
                                  model_file.greedy_rq(after["item.emb"][[7, 9, n, n + 1]], t["rq.codebooks"]))
    w0, b0, w2, b2 = (t[k] for k in ("item.mlp.0.weight", "item.mlp.0.bias", "item.mlp.2.weight", "item.mlp.2.bias"))
    v = np.maximum(after["item.emb"][n:] @ w0.T + b0, 0) @ w2.T + b2
    np.testing.assert_allclose(after["item.vec"][n:], v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-5)
    # The inputs are not modified.
    assert len(t["item.ids"]) == n and m["items"] == str(n)


def test_bad_input_names_the_item(synth):
    t, m = synth
    known = int(t["item.attr.ids"][0])
    with pytest.raises(EncodeError, match=r"item id 5: attribute id 4 at attributes\[1\] is not in the model's item.attr.ids"):
        encode_items(t, m, [(5, [known, 4])])
    with pytest.raises(EncodeError, match="items 0 and 2 both give item id 5"):
        encode_items(t, m, [(5, []), (6, []), (5, [known])])
    plain, meta = model_file.synth_model(items=50)
    with pytest.raises(EncodeError, match=r"tensors item.mlp.\*: missing: encoding items needs the item tower"):
        encode_items(plain, meta, [(5, [])])
    tower_only, meta = model_file.synth_model(items=50, item_tower=True)
    with pytest.raises(EncodeError, match=r"tensors item.attr.\*: missing"):
        encode_items(tower_only, meta, [(5, [])])


def test_command_line_reads_jsonl_and_names_bad_lines(synth, tmp_path, capsys):
    t, m = synth
    model = tmp_path / "m.safetensors"
    safetensors_np.write(model, t, m)
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": 1, "attributes": [int(t["item.attr.ids"][3])]}) + "\n\n"
                     + json.dumps({"attributes": [], "id": 2}) + "\n")
    out = tmp_path / "out.safetensors"
    assert encode.main([str(model), "--items", str(items), "--out", str(out)]) == 0
    assert model_file.verify(out, full=True).startswith("OK")
    assert safetensors_np.read(out)[1]["items"] == "1502"

    for text, fault in [
        ('{"id": 1, "attributes": []}\n{"id": 2, "attributes": [1.5]}\n', "line 2: ids must be 64-bit integers"),
        ('{"id": 1, "attributes": []}\n{"id": 1, "attributes": []}\n', "lines 1 and 2 both give item id 1"),
        ('{"id": 1}\n', 'line 1: an item is {"id": id, "attributes": [ids]}'),
        ("{\n", "line 1: "),
    ]:
        items.write_text(text)
        assert encode.main([str(model), "--items", str(items), "--out", str(tmp_path / "never.safetensors")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(items) in err and fault in err, err
    assert not (tmp_path / "never.safetensors").exists()
