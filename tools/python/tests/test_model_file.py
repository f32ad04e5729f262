"""model_file: the TARQ tables, check / check_ids / check_contents, greedy_rq, synth_model and the CLI."""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tarq import __version__, model_file as mf
from tarq import safetensors_np as st
from tarq.safetensors_np import SafetensorsError

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PATH = "m.safetensors"  # the name messages are checked against when no file is involved


@pytest.fixture(scope="module")
def plain():
    return mf.synth_model(seed=1)


@pytest.fixture(scope="module")
def everything():
    return mf.synth_model(seed=2, null_keys=True, ta_mlp=True, ta_mlp_hidden=24, item_tower=True, attributes=12)


def copy(model):
    tensors, metadata = model
    return {k: np.array(v) for k, v in tensors.items()}, dict(metadata)


def raises(tensors, metadata, *fragments, contents=False):
    """Run check (and check_contents when asked) and return the one-line message, checking its fragments."""
    with pytest.raises(SafetensorsError) as caught:
        dims = mf.check(tensors, metadata, PATH)
        if contents:
            mf.check_contents(tensors, dims, PATH)
    message = str(caught.value)
    assert message.startswith(f"{PATH}: ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------------------------------------------------ the tables


def test_tables_match_the_documented_names():
    # Transcribed from the docs' tensor table, independently of the module's own tables.
    attention = {f"{w}": "[d, d]" for w in ("wq", "wk", "wv", "wo")} | {b: "[d]" for b in ("bq", "bk", "bv", "bo")}
    expected = {
        "item.ids": ("[N]", "I64"), "item.emb": ("[N, d]", "F32"), "item.vec": ("[N, dv]", "F32"),
        "item.codes": ("[L, N]", "U8"), "user.ids": ("[U]", "I64"), "user.emb": ("[U, d]", "F32"),
        "seq.pos": ("[n_max, d]", "F32"), "seq.ln.weight": ("[d]", "F32"), "seq.ln.bias": ("[d]", "F32"),
        **{f"{p}.{k}": (v, "F32") for p in ("seq.attn", "user.attn", "ta.attn") for k, v in attention.items()},
        "user.mlp.0.weight": ("[f, 2*d]", "F32"), "user.mlp.0.bias": ("[f]", "F32"),
        "user.mlp.2.weight": ("[dv, f]", "F32"), "user.mlp.2.bias": ("[dv]", "F32"),
        "ta.readout.weight": ("[d, dv]", "F32"), "ta.readout.bias": ("[d]", "F32"),
        "head.tau": ("[1]", "F32"), "head.beta": ("[1]", "F32"), "rq.codebooks": ("[L, K, d]", "F32"),
        "rq.attn.wq": ("[L, d, d]", "F32"), "rq.attn.bq": ("[L, d]", "F32"),
        **{f"rq.attn.{k}": (v, "F32") for k, v in attention.items() if k not in ("wq", "bq")},
    }
    assert {s.name: (s.shape_text(), s.dtype) for s in mf.REQUIRED} == expected
    assert len(mf.REQUIRED) == 50
    optional = {g: [(s.name, s.shape_text(), s.dtype) for s in specs] for g, specs in mf.OPTIONAL_GROUPS.items()}
    assert optional == {
        "ta.attn.null_k": [("ta.attn.null_k", "[h, dh]", "F32")],
        "rq.attn.null_k": [("rq.attn.null_k", "[h, dh]", "F32")],
        "ta.mlp": [("ta.mlp.0.weight", "[f_ta, 3*d]", "F32"), ("ta.mlp.0.bias", "[f_ta]", "F32"),
                   ("ta.mlp.2.weight", "[1, f_ta]", "F32"), ("ta.mlp.2.bias", "[1]", "F32")],
        "item.mlp": [("item.mlp.0.weight", "[f_i, d]", "F32"), ("item.mlp.0.bias", "[f_i]", "F32"),
                     ("item.mlp.2.weight", "[dv, f_i]", "F32"), ("item.mlp.2.bias", "[dv]", "F32")],
        "item.attr": [("item.attr.ids", "[A]", "I64"), ("item.attr.emb", "[A, d]", "F32"),
                      ("item.attr.offsets", "[N+1]", "I64"), ("item.attr.values", "[nnz]", "I64")],
    }


# ------------------------------------------------------------------------------------------------------ valid models


def test_synth_model_passes_every_check(plain):
    tensors, metadata = plain
    dims = mf.check(tensors, metadata, PATH)
    mf.check_contents(tensors, dims, PATH)
    assert (dims.d, dims.heads, dims.dh, dims.items, dims.users, dims.levels, dims.codebook_size) == \
        (16, 2, 8, 200, 20, 3, 16)
    assert dims.optional == () and dims.ta_mlp_hidden is None
    assert metadata["producer"] == f"tarq-python {__version__}"
    assert tensors["user.ids"][0] == 0
    assert tensors["item.ids"].tolist() == list(range(1000, 1200))


def test_synth_model_with_every_option(everything):
    tensors, metadata = everything
    dims = mf.check(tensors, metadata, PATH)
    mf.check_contents(tensors, dims, PATH)
    assert dims.optional == ("ta.attn.null_k", "rq.attn.null_k", "ta.mlp", "item.mlp", "item.attr")
    assert (dims.ta_mlp_hidden, dims.item_mlp_hidden, dims.attributes) == (24, 32, 12)
    assert dims.attribute_values == tensors["item.attr.values"].shape[0]
    # item.vec is the item tower's output, normalized (the documented decision).
    e = tensors["item.emb"]
    hidden = np.maximum(e @ tensors["item.mlp.0.weight"].T + tensors["item.mlp.0.bias"], 0)
    v = hidden @ tensors["item.mlp.2.weight"].T + tensors["item.mlp.2.bias"]
    np.testing.assert_allclose(tensors["item.vec"], v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-5)


def test_synth_model_codes_are_greedy_rq_of_the_embeddings(everything):
    tensors, _ = everything
    np.testing.assert_array_equal(tensors["item.codes"], mf.greedy_rq(tensors["item.emb"], tensors["rq.codebooks"]))


def test_synth_model_is_deterministic():
    a, _ = mf.synth_model(seed=7, items=30)
    b, _ = mf.synth_model(seed=7, items=30)
    c, _ = mf.synth_model(seed=8, items=30)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["item.emb"], c["item.emb"])


def test_synth_model_refuses_impossible_dimensions():
    with pytest.raises(SafetensorsError, match="metadata key d: 24 is not a multiple of 16"):
        mf.synth_model(d=24)


def test_file_round_trip(tmp_path, everything):
    tensors, metadata = everything
    path = tmp_path / "m.safetensors"
    st.write(path, tensors, metadata)
    got, got_metadata = st.read(path)
    assert got_metadata == metadata
    dims = mf.check(got, got_metadata, path)
    mf.check_contents(got, dims, path)
    for name in tensors:
        np.testing.assert_array_equal(got[name], tensors[name])


def test_extra_tensors_and_metadata_are_ignored(plain):
    tensors, metadata = copy(plain)
    tensors["item.vec.int8"] = np.zeros((3, 3), np.int8)
    metadata["dataset"] = "beauty"
    mf.check(tensors, metadata, PATH)


# ------------------------------------------------------------------------------------------------ metadata faults


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("format", "gguf", "metadata key format: is 'gguf', expected 'tarq'"),
        ("format", None, "metadata key format: missing"),
        ("format_version", "3", "metadata key format_version: 3: the file is newer than this reader (it reads 1 and "
                                "2)"),
        ("format_version", "10", "newer than this reader"),
        ("format_version", "0", "metadata key format_version: 0 is not a TARQ format version (this reader reads 1 "
                                "and 2)"),
        ("format_version", "01", "metadata key format_version: '01' is not a decimal number"),
        ("format_version", "1.0", "not a decimal number"),
        ("format_version", None, "metadata key format_version: missing"),
        ("d", "064", "metadata key d: '064' is not a decimal number"),
        ("d", "+64", "metadata key d: '+64'"),
        ("d", " 64", "metadata key d: ' 64'"),
        ("d", "６４", "metadata key d"),  # full-width digits are not decimal digits here
        ("d", "24", "metadata key d: 24 is not a multiple of 16"),
        ("d", "4112", "metadata key d: 4112 is outside 16..4096"),
        ("d", "0", "metadata key d: 0 is outside"),
        ("d", "9" * 5000, "metadata key d"),
        ("heads", "3", "metadata key heads: 3 does not divide d = 16"),
        ("heads", "0", "metadata key heads: 0 is outside"),
        ("dv", "8", "metadata key dv: 8 is outside 16..4096"),
        ("mlp_hidden", "65537", "metadata key mlp_hidden"),
        ("n_max", "1025", "metadata key n_max: 1025 is outside 1..1024"),
        ("levels", "9", "metadata key levels: 9 is outside 1..8"),
        ("codebook_size", "1", "metadata key codebook_size: 1 is outside 2..256"),
        ("codebook_size", "257", "metadata key codebook_size"),
        ("items", "2147483648", "metadata key items"),
        ("users", "0", "metadata key users"),
        ("users", None, "metadata key users: missing"),
        ("producer", None, "metadata key producer: missing"),
    ],
)
def test_metadata_faults(plain, key, value, fragment):
    tensors, metadata = copy(plain)
    if value is None:
        del metadata[key]
    else:
        metadata[key] = value
    raises(tensors, metadata, fragment)


def test_limits_are_inclusive():
    for dims in (dict(d=16, heads=16, dv=16, mlp_hidden=1, n_max=1, levels=1, codebook_size=2, items=1, users=1),
                 dict(d=32, heads=1, dv=32, n_max=1024, levels=8, codebook_size=256, items=3, users=2)):
        tensors, metadata = mf.synth_model(**dims)
        mf.check_contents(tensors, mf.check(tensors, metadata, PATH), PATH)


# -------------------------------------------------------------------------------------------------- tensor faults


def test_missing_tensor(plain):
    tensors, metadata = copy(plain)
    del tensors["rq.attn.wk"]
    raises(tensors, metadata, "tensor rq.attn.wk: missing")


def test_wrong_shape(plain):
    tensors, metadata = copy(plain)
    tensors["item.emb"] = tensors["item.emb"][:, :8]
    raises(tensors, metadata, "tensor item.emb: shape [200, 8], expected [N, d] = [200, 16]")


def test_wrong_rank(plain):
    tensors, metadata = copy(plain)
    tensors["rq.attn.wq"] = tensors["rq.attn.wq"][0]
    raises(tensors, metadata, "tensor rq.attn.wq: shape [16, 16], expected [L, d, d]")


def test_items_metadata_disagrees_with_tensors(plain):
    tensors, metadata = copy(plain)
    metadata["items"] = "199"
    raises(tensors, metadata, "tensor item.ids: shape [200], expected [N] = [199]")


@pytest.mark.parametrize("name, dtype, fragment", [
    ("item.emb", np.float64, "tensor item.emb: dtype F64, expected F32"),
    ("item.ids", np.int32, "tensor item.ids: dtype I32, expected I64"),
    ("item.codes", np.int8, "tensor item.codes: dtype I8, expected U8"),
    ("head.tau", np.float16, "tensor head.tau: dtype F16, expected F32"),
    ("seq.pos", np.complex64, "tensor seq.pos: dtype complex64, expected F32"),
])
def test_wrong_dtype(plain, name, dtype, fragment):
    tensors, metadata = copy(plain)
    tensors[name] = tensors[name].astype(dtype)
    raises(tensors, metadata, fragment)


@pytest.mark.parametrize("group", ["ta.mlp", "item.mlp", "item.attr"])
def test_partial_group_names_the_missing_tensor(everything, group):
    tensors, metadata = copy(everything)
    last = mf.OPTIONAL_GROUPS[group][-1].name
    del tensors[last]
    raises(tensors, metadata, f"tensor {last}: missing: the {group} group is all or none")


def test_null_keys_stand_alone(everything):
    tensors, metadata = copy(everything)
    del tensors["ta.attn.null_k"]
    assert "ta.attn.null_k" not in mf.check(tensors, metadata, PATH).optional
    tensors["rq.attn.null_k"] = np.zeros((2, 4), np.float32)
    raises(tensors, metadata, "tensor rq.attn.null_k: shape [2, 4], expected [h, dh] = [2, 8]")


def test_free_dimension_must_agree_within_its_group(everything):
    tensors, metadata = copy(everything)
    tensors["ta.mlp.0.bias"] = np.zeros(25, np.float32)  # f_ta = 24 from ta.mlp.0.weight
    raises(tensors, metadata, "tensor ta.mlp.0.bias: shape [25], expected [f_ta] = [24]")


# ------------------------------------------------------------------------------------- the cross head (version 2)


@pytest.fixture(scope="module")
def crossed():
    return mf.synth_model(seed=5, null_keys=True, item_tower=True, attributes=12, cross_dim=8)


def test_cross_head_table_matches_the_documented_names():
    assert [(s.name, s.shape_text(), s.dtype) for s in mf.CROSS_HEAD] == [
        ("ta.cross.a", "[dx, d]", "F32"), ("ta.cross.item.weight", "[dx, d]", "F32"),
        ("ta.cross.item.bias", "[dx]", "F32"), ("item.cross", "[N, dx]", "F32")]
    assert (mf.format_version(cross_head=False), mf.format_version(cross_head=True)) == (1, 2)
    assert mf.READ_VERSIONS == (1, 2) and mf.FORMAT_VERSION == mf.CROSS_VERSION == 2


def test_version_1_files_stay_version_1(plain, everything):
    for tensors, metadata in (plain, everything):
        dims = mf.check(tensors, metadata, PATH)
        assert metadata["format_version"] == "1" and "cross_dim" not in metadata
        assert (dims.format_version, dims.cross_dim) == (1, None)


def test_synth_model_with_the_cross_head_passes_every_check(crossed):
    tensors, metadata = crossed
    dims = mf.check(tensors, metadata, PATH)
    mf.check_contents(tensors, dims, PATH)
    assert metadata["format_version"] == "2" and metadata["cross_dim"] == "8"
    assert (dims.format_version, dims.cross_dim) == (2, 8)
    assert tensors["ta.cross.a"].shape == (8, 16) and tensors["item.cross"].shape == (200, 8)
    np.testing.assert_array_equal(tensors["item.cross"], mf.cross_rows(
        tensors["item.emb"], tensors["ta.cross.item.weight"], tensors["ta.cross.item.bias"]))
    with pytest.raises(ValueError, match="exclude each other"):
        mf.synth_model(cross_dim=8, ta_mlp=True)


@pytest.mark.parametrize("dx", [1, 16])
def test_cross_dim_limits_are_inclusive(dx):
    tensors, metadata = mf.synth_model(items=30, cross_dim=dx)
    mf.check_contents(tensors, mf.check(tensors, metadata, PATH), PATH)


def documented_cross_rows(emb, weight, bias):
    """cross_rows' documented arithmetic, one element at a time in Python floats (IEEE doubles)."""
    out = np.zeros((emb.shape[0], weight.shape[0]), np.float32)
    for i, e in enumerate(emb):
        for k, w in enumerate(weight):
            acc = float(bias[k])
            for j in range(len(e)):
                acc += float(w[j]) * float(e[j])
            out[i, k] = np.float32(acc)
    return out


@pytest.mark.parametrize("seed, n, d, dx", [(0, 7, 16, 8), (1, 3, 64, 64), (2, 5, 48, 1)])
def test_cross_rows_follow_the_documented_arithmetic_bit_for_bit(seed, n, d, dx):
    rng = np.random.default_rng(seed)
    emb = (rng.standard_normal((n, d)) * 10.0 ** rng.integers(-3, 3, (n, d))).astype(np.float32)  # mixed magnitudes
    weight = rng.standard_normal((dx, d)).astype(np.float32)
    bias = rng.standard_normal(dx).astype(np.float32)
    got = mf.cross_rows(emb, weight, bias)
    assert got.dtype == np.float32 and got.shape == (n, dx)
    assert got.tobytes() == documented_cross_rows(emb, weight, bias).tobytes()


def test_cross_rows_are_the_same_in_blocks():
    rng = np.random.default_rng(3)
    emb = rng.standard_normal((20_000, 16)).astype(np.float32)  # more than one block of 2^18 elements
    weight, bias = rng.standard_normal((4, 16)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    whole = mf.cross_rows(emb, weight, bias)
    assert whole[-3:].tobytes() == mf.cross_rows(emb[-3:], weight, bias).tobytes()
    with pytest.raises(ValueError, match="are not"):
        mf.cross_rows(emb, weight[:, :8], bias)


@pytest.mark.parametrize("change, fragment", [
    # A version-1 file must not carry any of the cross head (a version-1 reader would drop its term silently).
    (lambda t, m: m.update(cross_dim="8"),
     "metadata key cross_dim: set in a format_version 1 file: the cross head needs format_version 2"),
    (lambda t, m: t.update({"ta.cross.a": np.zeros((8, 16), np.float32)}),
     "tensor ta.cross.a: present in a format_version 1 file: the cross head needs format_version 2"),
    (lambda t, m: t.update({"item.cross": np.zeros((200, 8), np.float32)}),
     "tensor item.cross: present in a format_version 1 file"),
    # Version 2 is the cross head: without it, or without its width, the file is refused.
    (lambda t, m: m.update(format_version="2"),
     "metadata key cross_dim: missing (format_version 2 has the cross head, and cross_dim is its width dx)"),
    (lambda t, m: m.update(format_version="2", cross_dim="8"),
     "tensor ta.cross.a: missing (format_version 2 has the cross head)"),
])
def test_version_rules_for_a_version_1_file(plain, change, fragment):
    tensors, metadata = copy(plain)
    change(tensors, metadata)
    raises(tensors, metadata, fragment)


@pytest.mark.parametrize("change, fragment", [
    (lambda t, m: m.pop("cross_dim"), "metadata key cross_dim: missing (format_version 2 has the cross head"),
    (lambda t, m: m.update(format_version="1"), "metadata key cross_dim: set in a format_version 1 file"),
    (lambda t, m: (m.update(format_version="1"), m.pop("cross_dim")),
     "tensor ta.cross.a: present in a format_version 1 file"),
    (lambda t, m: m.update(cross_dim="0"), "metadata key cross_dim: 0 is outside 1..16 (1..d)"),
    (lambda t, m: m.update(cross_dim="17"), "metadata key cross_dim: 17 is outside 1..16 (1..d)"),
    (lambda t, m: m.update(cross_dim="08"), "metadata key cross_dim: '08' is not a decimal number"),
    (lambda t, m: m.update(cross_dim="4"), "tensor ta.cross.a: shape [8, 16], expected [dx, d] = [4, 16]"),
    (lambda t, m: t.pop("ta.cross.item.weight"), "tensor ta.cross.item.weight: missing (format_version 2 has the "
                                                 "cross head)"),
    (lambda t, m: t.pop("item.cross"), "tensor item.cross: missing (format_version 2 has the cross head)"),
    (lambda t, m: t.update({"item.cross": t["item.cross"][:, :4]}),
     "tensor item.cross: shape [200, 4], expected [N, dx] = [200, 8]"),
    (lambda t, m: t.update({"ta.cross.item.bias": np.zeros((8, 1), np.float32)}),
     "tensor ta.cross.item.bias: shape [8, 1], expected [dx]"),
    (lambda t, m: t.update({"ta.cross.a": t["ta.cross.a"].astype(np.float64)}),
     "tensor ta.cross.a: dtype F64, expected F32"),
    (lambda t, m: t.update({k: v for k, v in mf.synth_model(seed=5, ta_mlp=True)[0].items() if k.startswith("ta.mlp")}),
     "tensor ta.mlp.0.weight: present in a format_version 2 file: the cross head replaces the DIN teacher head"),
    (lambda t, m: m.update(format_version="3"), "metadata key format_version: 3: the file is newer than this reader"),
])
def test_version_rules_for_a_version_2_file(crossed, change, fragment):
    tensors, metadata = copy(crossed)
    change(tensors, metadata)
    raises(tensors, metadata, fragment)


@pytest.mark.parametrize("name, index", [("ta.cross.a", (7, 15)), ("ta.cross.item.weight", (0, 3)),
                                         ("ta.cross.item.bias", (2,)), ("item.cross", (199, 7))])
def test_non_finite_cross_tensor(crossed, name, index):
    tensors, metadata = copy(crossed)
    tensors[name][index] = np.nan
    raises(tensors, metadata, f"tensor {name}: nan at {list(index)} is not finite", contents=True)


def test_item_cross_must_be_the_projection_of_item_emb(crossed):
    tensors, metadata = copy(crossed)
    dims = mf.check(tensors, metadata, PATH)
    expected = tensors["item.emb"].astype(np.float64) @ tensors["ta.cross.item.weight"].T.astype(np.float64) \
        + tensors["ta.cross.item.bias"]
    good = tensors["item.cross"].copy()

    def with_element(row, column, value):
        tensors["item.cross"] = good.copy()
        tensors["item.cross"][row, column] = value

    # Absolute 1e-5 up to magnitude 1, relative above.
    small = int(np.argwhere(np.abs(expected) < 0.5)[0][0]), int(np.argwhere(np.abs(expected) < 0.5)[0][1])
    with_element(*small, expected[small] + 0.9e-5)
    mf.check_contents(tensors, dims, PATH)
    with_element(*small, expected[small] + 1.2e-5)
    raises(tensors, metadata, f"tensor item.cross: row {small[0]} is not W_x·item.emb[{small[0]}] + b_x "
                              f"(ta.cross.item.weight, ta.cross.item.bias): column {small[1]} holds", contents=True)
    tensors["ta.cross.item.bias"] = tensors["ta.cross.item.bias"] + np.float32(1000)  # every q near 1000
    tensors["item.cross"] = mf.cross_rows(tensors["item.emb"], tensors["ta.cross.item.weight"],
                                          tensors["ta.cross.item.bias"])
    mf.check_contents(tensors, dims, PATH)
    large = tensors["item.cross"].copy()
    tensors["item.cross"][3, 2] = large[3, 2] * np.float32(1 + 0.8e-5)  # 0.008 off: within 1e-5 relative
    mf.check_contents(tensors, dims, PATH)
    tensors["item.cross"][3, 2] = large[3, 2] * np.float32(1 + 1.5e-5)
    raises(tensors, metadata, "tensor item.cross: row 3 is not W_x·item.emb[3] + b_x", "column 2 holds",
           "(allowed: 1e-05·max(1, |expected|))", contents=True)


def test_item_cross_names_the_first_bad_row(crossed):
    tensors, metadata = copy(crossed)
    tensors["item.cross"][[150, 40], 0] += 1.0
    raises(tensors, metadata, "tensor item.cross: row 40 is not", contents=True)


# ------------------------------------------------------------------------------------------------ content faults


def test_code_out_of_range(plain):
    tensors, metadata = copy(plain)
    tensors["item.codes"][2, 57] = 16  # K = 16
    raises(tensors, metadata, "tensor item.codes: code 16 at [2, 57] is not < K = 16", contents=True)


@pytest.mark.parametrize("name", ["item.ids", "user.ids"])
def test_duplicate_id(plain, name):
    tensors, metadata = copy(plain)
    tensors[name][9] = tensors[name][4]
    raises(tensors, metadata, f"tensor {name}: id {tensors[name][4]} appears twice, at rows 4 and 9", contents=True)
    with pytest.raises(SafetensorsError, match=f"tensor {name}"):
        mf.check_ids(tensors, PATH)


def test_non_unit_item_vec(plain):
    tensors, metadata = copy(plain)
    tensors["item.vec"][33] *= 1.01
    raises(tensors, metadata, "tensor item.vec: row 33 has norm 1.01", contents=True)
    tensors["item.vec"][33] *= 0.9995 / 1.01  # within 1e-3 of 1: accepted
    mf.check_contents(tensors, mf.check(tensors, metadata, PATH), PATH)


@pytest.mark.parametrize("name, index, value", [
    ("seq.pos", (3, 5), np.nan),
    ("item.emb", (199, 15), np.inf),
    ("head.beta", (0,), -np.inf),
    ("rq.codebooks", (1, 2, 3), np.nan),
])
def test_non_finite(plain, name, index, value):
    tensors, metadata = copy(plain)
    tensors[name][index] = value
    raises(tensors, metadata, f"tensor {name}: {value} at {list(index)} is not finite", contents=True)


def test_non_finite_in_an_extra_tensor(plain):
    tensors, metadata = copy(plain)
    tensors["extra.scale"] = np.array(np.nan, np.float32)  # 0-d
    raises(tensors, metadata, "tensor extra.scale: nan at [] is not finite", contents=True)


@pytest.mark.parametrize("change, fragment", [
    (lambda t: t["item.attr.offsets"].__setitem__(0, 1), "tensor item.attr.offsets: offsets[0] is 1, not 0"),
    (lambda t: t["item.attr.offsets"].__setitem__(-1, 10**6), "tensor item.attr.offsets: offsets end at 1000000"),
    (lambda t: t["item.attr.offsets"].__setitem__(slice(5, 7), [9, 2]), "tensor item.attr.offsets: offsets decrease"),
    (lambda t: t["item.attr.values"].__setitem__(0, 12), "tensor item.attr.values: value 12 at [0]"),
    (lambda t: t["item.attr.values"].__setitem__(1, -1), "tensor item.attr.values: value -1 at [1]"),
    (lambda t: t["item.attr.ids"].__setitem__(3, t["item.attr.ids"][0]), "tensor item.attr.ids: id 5000 appears twice"),
])
def test_attribute_csr_faults(everything, change, fragment):
    tensors, metadata = copy(everything)
    change(tensors)
    raises(tensors, metadata, fragment, contents=True)


# ---------------------------------------------------------------------------------------------------------- greedy rq


def brute_force_rq(emb, codebooks):
    """The contract's recursion, one item, one level, one codeword at a time, in plain Python arithmetic."""
    levels, size, width = codebooks.shape
    codes = np.zeros((levels, len(emb)), np.uint8)
    for i, e in enumerate(emb):
        rho = e.astype(np.float32)
        for level in range(levels):
            best, best_k = None, None
            for k in range(size):
                distance = sum((float(rho[j]) - float(codebooks[level, k, j])) ** 2 for j in range(width))
                if best is None or distance < best:  # strict: the first of equal distances wins
                    best, best_k = distance, k
            codes[level, i] = best_k
            rho = (rho - codebooks[level, best_k]).astype(np.float32)
    return codes


@pytest.mark.parametrize("seed, n, levels, size, width", [(0, 40, 3, 8, 5), (1, 25, 1, 2, 3), (2, 30, 4, 16, 8)])
def test_greedy_rq_matches_brute_force(seed, n, levels, size, width):
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, width)).astype(np.float32)
    codebooks = np.stack([rng.standard_normal((size, width)) * 0.6**l for l in range(levels)]).astype(np.float32)
    np.testing.assert_array_equal(mf.greedy_rq(emb, codebooks), brute_force_rq(emb, codebooks))


def test_greedy_rq_is_greedy_not_joint():
    # Greedy picks the nearest first-level codeword even when another pair of codewords reconstructs better.
    emb = np.array([[1.0]], np.float32)
    codebooks = np.array([[[0.9], [2.0]], [[0.0], [-1.0]]], np.float32)
    assert mf.greedy_rq(emb, codebooks).tolist() == [[0], [0]]
    best = min(itertools.product(range(2), range(2)),
               key=lambda z: abs(1.0 - codebooks[0, z[0], 0] - codebooks[1, z[1], 0]))
    assert best == (1, 1)


def test_greedy_rq_ties_go_to_the_lowest_code():
    emb = np.zeros((3, 4), np.float32)
    codebooks = np.array([[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]], np.float32)  # all at distance 1
    assert mf.greedy_rq(emb, codebooks).tolist() == [[0, 0, 0]]


def test_greedy_rq_blocks_large_inputs():
    rng = np.random.default_rng(3)
    emb = rng.standard_normal((3000, 16)).astype(np.float32)  # more than one block at K = 256, d = 16
    codebooks = rng.standard_normal((2, 256, 16)).astype(np.float32)
    codes = mf.greedy_rq(emb, codebooks)
    first = ((emb[:, None, :].astype(np.float64) - codebooks[0][None].astype(np.float64)) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(codes[0], first)


# ---------------------------------------------------------------------------------------------------------------- CLI


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    return subprocess.run([sys.executable, "-m", "tarq.model_file", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_cli_synth_then_verify(tmp_path):
    path = tmp_path / "m.safetensors"
    made = run_cli("synth", "--out", str(path), "--items", "50", "--seed", "3", "--null-keys", "--ta-mlp")
    assert made.returncode == 0, made.stderr
    assert os.listdir(tmp_path) == ["m.safetensors"]
    for flags in ([], ["--full"]):
        result = run_cli("verify", str(path), *flags)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        lines = result.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"OK {path}: ") and "N=50" in lines[0]
        assert "ta.mlp" in lines[0]


def test_cli_synth_then_verify_a_cross_head_file(tmp_path):
    path = tmp_path / "m.safetensors"
    made = run_cli("synth", "--out", str(path), "--items", "40", "--null-keys", "--cross-dim", "4")
    assert made.returncode == 0, made.stderr
    result = run_cli("verify", str(path), "--full")
    assert result.returncode == 0, result.stderr
    assert "TARQ format_version 2," in result.stdout and " K=16 cross_dim=4," in result.stdout


def test_cli_verify_refuses_a_version_1_file_with_the_cross_head(tmp_path):
    tensors, metadata = mf.synth_model(items=20, cross_dim=4)
    metadata["format_version"] = "1"
    del metadata["cross_dim"]
    path = tmp_path / "m.safetensors"
    st.write(path, tensors, metadata)
    result = run_cli("verify", str(path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"{path}: tensor ta.cross.a: present in a format_version 1 file: the cross head needs "
                             "format_version 2 (a version-1 reader would score without its cross term)\n")


def test_cli_verify_failure(tmp_path):
    tensors, metadata = mf.synth_model(items=20)
    tensors["item.codes"][0, 3] = 200
    path = tmp_path / "m.safetensors"
    st.write(path, tensors, metadata)
    assert run_cli("verify", str(path)).returncode == 0  # codes are content: only --full reads them
    result = run_cli("verify", str(path), "--full")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"{path}: tensor item.codes: code 200 at [0, 3] is not < K = 16\n"


def test_cli_verify_not_safetensors(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"GGUF")
    result = run_cli("verify", str(path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"{path}: file is 4 bytes, shorter than the 8-byte header length\n"
