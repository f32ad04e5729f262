"""safetensors_np: round trips, the writers' layout, atomic writes, and every fault of the reader table."""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tarq import safetensors_np as st
from tarq.safetensors_np import SafetensorsError

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

ALL_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8,
    "BOOL": np.bool_,
}


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


# ------------------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_every_dtype(tmp_path, mmap):
    tensors = {}
    for name, dtype in ALL_DTYPES.items():
        tensors[f"{name}.matrix"] = sample(dtype, (3, 5))
        tensors[f"{name}.scalar"] = sample(dtype, ())  # 0-d: shape []
        tensors[f"{name}.empty"] = np.zeros((0, 7), dtype)
        tensors[f"{name}.odd"] = sample(dtype, (1, 3, 1))
    metadata = {"format": "x", "ünïcode": "välue ✓", "empty": ""}
    path = tmp_path / "all.safetensors"
    st.write(path, tensors, metadata)

    got, got_metadata = st.read(path, mmap=mmap)
    assert got_metadata == metadata
    assert set(got) == set(tensors)
    header = st.read_header(path)
    for name, expected in tensors.items():
        array = got[name]
        assert array.shape == expected.shape, name
        assert array.dtype == expected.dtype, name
        assert array.dtype.byteorder in "<|=", name
        assert not array.flags.writeable, name
        np.testing.assert_array_equal(array, expected)
        assert header.tensors[name].dtype == st.dtype_name(expected.dtype)
        assert header.tensors[name].shape == expected.shape


def test_big_endian_and_non_contiguous_input_are_written_little_endian_c_order(tmp_path):
    base = np.arange(12, dtype=">i4").reshape(3, 4)
    path = tmp_path / "m.safetensors"
    st.write(path, {"be": base, "t": base.T})
    got, _ = st.read(path)
    np.testing.assert_array_equal(got["be"], base)
    np.testing.assert_array_equal(got["t"], base.T)
    raw = path.read_bytes()
    data = raw[st.read_header(path).data_start :]
    assert np.arange(12, dtype="<i4").tobytes() in data  # C order, little-endian bytes


def test_memory_mapped_by_default(tmp_path):
    path = tmp_path / "m.safetensors"
    st.write(path, {"a": np.ones((4, 16), np.float32)})
    got, _ = st.read(path)
    assert isinstance(got["a"].base, np.memmap) or isinstance(got["a"], np.memmap)
    with pytest.raises(ValueError):
        got["a"][0, 0] = 2.0  # read-only


def test_header_is_compact_json_metadata_first(tmp_path):
    path = tmp_path / "m.safetensors"
    st.write(path, {"b": np.zeros(3, np.int8), "a": np.zeros(4, np.float32)}, {"k": "v"})
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    text = raw[8 : 8 + length].decode()
    body = text.rstrip(" ")
    assert set(text[len(body) :]) <= {" "}
    assert body == ('{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                    '"b":{"dtype":"I8","shape":[3],"data_offsets":[16,19]}}')


@pytest.mark.parametrize("metadata", [None, {}])
def test_absent_or_empty_metadata_is_left_out(tmp_path, metadata):
    path = tmp_path / "m.safetensors"
    st.write(path, {"a": np.zeros(1, np.uint8)}, metadata)
    assert b"__metadata__" not in path.read_bytes()
    assert st.read(path)[1] == {}


def test_names_and_metadata_are_escaped_like_the_java_writer(tmp_path):
    path = tmp_path / "m.safetensors"
    name = 'q"b\\s\n\r\t\b\f\x01\x7fé✓'
    st.write(path, {name: np.zeros(1, np.uint8)}, {"k\n": name})
    raw = path.read_bytes()
    literal = '"q\\"b\\\\s\\n\\r\\t\\u0008\\u000c\\u0001\x7fé✓"'.encode()
    assert raw.count(literal) == 2 and b'"k\\n":' in raw
    tensors, metadata = st.read(path)
    assert list(tensors) == [name] and metadata == {"k\n": name}


def test_no_tensors(tmp_path):
    path = tmp_path / "m.safetensors"
    st.write(path, {}, {"k": "v"})
    assert st.read(path) == ({}, {"k": "v"})


# --------------------------------------------------------------------------------------------------------- layout


def test_alignment_and_order_rule(tmp_path):
    # Sizes chosen to give every class: 64, 32, 16, 8, 4, 2, 1 and empty, given in a scrambled order.
    tensors = {
        "odd": np.zeros(3, np.uint8),  # 3 bytes: class 1
        "f32_row16": np.zeros((2, 16), np.float32),  # 128: class 64
        "i64_ids": np.zeros(5, np.int64),  # 40: class 8
        "tau": np.zeros(1, np.float32),  # 4: class 4
        "empty": np.zeros((0, 3), np.float32),  # 0: class 64
        "half": np.zeros(1, np.float16),  # 2: class 2
        "f32_12": np.zeros(12, np.float32),  # 48: class 16
        "u8_32": np.zeros(32, np.uint8),  # 32: class 32
        "odd2": np.zeros(5, np.int8),  # 5: class 1, after "odd" (tie keeps insertion order)
        "f64_8": np.zeros(8, np.float64),  # 64: class 64, after f32_row16 and empty
    }
    path = tmp_path / "m.safetensors"
    st.write(path, tensors)
    header = st.read_header(path)
    assert header.data_start % 64 == 0

    order = sorted(header.tensors.values(), key=lambda t: (t.begin, t.end))
    classes = [st.alignment_class(t.nbytes) for t in order]
    assert classes == sorted(classes, reverse=True)
    for t in order:
        assert t.begin % st.alignment_class(t.nbytes) == 0, t.name
        assert (header.data_start + t.begin) % st.alignment_class(t.nbytes) == 0, t.name
    # Header order is data order, and ties keep insertion order.
    assert list(header.tensors) == [
        "f32_row16", "empty", "f64_8", "u8_32", "f32_12", "i64_ids", "tau", "half", "odd", "odd2",
    ]


@pytest.mark.parametrize("nbytes, cls", [(0, 64), (1, 1), (6, 2), (12, 4), (24, 8), (48, 16), (96, 32), (64, 64),
                                         (128, 64), (2**40, 64), (3 * 2**10, 64)])
def test_alignment_class(nbytes, cls):
    assert st.alignment_class(nbytes) == cls


@pytest.mark.parametrize("names", [["a"], ["a", "bb"], ["x" * 55], ["x" * 56], ["x" * 57, "y" * 100]])
def test_data_start_multiple_of_64_for_any_header_length(tmp_path, names):
    path = tmp_path / "m.safetensors"
    st.write(path, {n: np.zeros(1, np.uint8) for n in names})
    assert st.read_header(path).data_start % 64 == 0


# ------------------------------------------------------------------------------------------------------ atomic write


def test_write_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.safetensors"
    st.write(path, {"a": np.zeros(3, np.float32)}, {"k": "v"})
    st.write(path, {"a": np.ones(3, np.float32)})  # over an existing file
    assert os.listdir(tmp_path) == ["m.safetensors"]
    np.testing.assert_array_equal(st.read(path)[0]["a"], np.ones(3))


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    st.write(path, {"a": np.zeros(3, np.float32)})
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        st.write(path, {"a": np.ones(3, np.float32)})
    assert os.listdir(tmp_path) == ["m.safetensors"]
    assert path.read_bytes() == before


# -------------------------------------------------------------------------------------------------- writer refusals


@pytest.mark.parametrize(
    "tensors, metadata, match",
    [
        ({"a": np.zeros(2, np.complex64)}, None, "complex64"),
        ({"a": np.array(["x"])}, None, "no safetensors"),
        ({"a": np.array([object()])}, None, "no safetensors"),
        ({"a": np.zeros(2, np.longdouble)}, None, "no safetensors"),
        ({"a": np.zeros(2, "datetime64[s]")}, None, "no safetensors"),
        ([("a", np.zeros(1)), ("a", np.zeros(1))], None, "duplicate"),
        ({"__metadata__": np.zeros(1)}, None, "__metadata__"),
        ([(3, np.zeros(1))], None, "not a string"),
        ({"a": np.zeros(1)}, {"k": 1}, "str"),
        ({"a": np.zeros(1)}, {1: "v"}, "str"),
        ({"a": np.zeros(1)}, {"k": None}, "str"),
        ({"\ud800": np.zeros(1)}, None, "surrogates"),  # not encodable as UTF-8
    ],
)
def test_write_refuses(tmp_path, tensors, metadata, match):
    with pytest.raises(ValueError, match=match):
        st.write(tmp_path / "m.safetensors", tensors, metadata)
    assert os.listdir(tmp_path) == []


# -------------------------------------------------------------------------------------------------- reader faults


def raw_file(path, header, data=b"", length=None):
    """A file built by hand: 8-byte length (the header's own unless given), the header, then ``data``."""
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32x2 = entry("F32", [2], 0, 8)

# (name, header or bytes, data, length override, fragments the message must hold (the tensor name among them))
BAD_FILES = [
    ("empty file", None, b"", None, ["file is 0 bytes, shorter than the 8-byte header length"]),
    ("5 bytes", None, b"\x01\x02\x03\x04\x05", None, ["file is 5 bytes"]),
    ("header past end", b'{"a":1}', b"", 1000, ["header length 1000 runs past the end of the file (15 bytes)"]),
    ("absurd header", b"{}", b"", 2**40, [f"header length {2**40} is absurd"]),
    ("max u64 header", b"{}", b"", 2**64 - 1, ["is absurd"]),
    ("invalid JSON", b'{"a":', b"", None, ["header is not valid JSON"]),
    ("trailing comma", b'{"a":{},}', b"", None, ["header is not valid JSON"]),
    ("NaN constant", b'{"a":NaN}', b"", None, ["not valid JSON", "NaN"]),
    ("invalid UTF-8", b'{"\xff":1}', b"", None, ["not valid UTF-8"]),
    ("lone surrogate", b'{"\\ud800":1}', b"", None, ["surrogate"]),
    ("too deep", b'{"a":' + b"[" * 70 + b"]" * 70 + b"}", b"", None, ["nested deeper than 64"]),
    ("not an object", b"[1,2]", b"", None, ["header is not a JSON object"]),
    ("duplicate tensor", b'{"t":' + json.dumps(F32x2).encode() + b',"t":' + json.dumps(F32x2).encode() + b"}",
     bytes(8), None, ["tensor t", "duplicate tensor"]),
    ("duplicate field", b'{"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', bytes(8), None,
     ["tensor t", '"dtype" appears twice']),
    ("entry not object", {"t": [1]}, b"", None, ["tensor t", "not an object"]),
    ("missing field", {"t": {"dtype": "F32", "shape": [2]}}, bytes(8), None,
     ["tensor t", "missing field data_offsets"]),
    ("extra field", {"t": dict(F32x2, extra=1)}, bytes(8), None, ["tensor t", 'unexpected field "extra"']),
    ("unknown dtype", {"t": entry("F128", [2], 0, 32)}, bytes(32), None, ["tensor t", 'unknown dtype "F128"']),
    ("dtype not string", {"t": entry(4, [2], 0, 8)}, bytes(8), None, ["tensor t", "unknown dtype 4"]),
    ("negative shape", {"t": entry("F32", [-2], 0, 8)}, bytes(8), None, ["tensor t", "shape [-2]"]),
    ("float shape", {"t": entry("F32", [2.0], 0, 8)}, bytes(8), None, ["tensor t", "shape [2.0]"]),
    ("bool shape", {"t": entry("U8", [True], 0, 1)}, bytes(1), None, ["tensor t", "shape [true]"]),
    ("shape not list", {"t": entry("U8", 3, 0, 3)}, bytes(3), None, ["tensor t", "shape 3"]),
    ("shape overflow", {"t": entry("F32", [2**62, 4], 0, 8)}, bytes(8), None, ["tensor t", "overflows"]),
    ("entry overflow", {"t": entry("U8", [0, 2**64], 0, 0)}, b"", None, ["tensor t", "overflows"]),
    ("size mismatch", {"item.emb": entry("F32", [2, 3], 0, 12)}, bytes(12), None,
     ["tensor item.emb: data_offsets [0, 12] hold 12 bytes but shape [2, 3] of F32 needs 24"]),
    ("negative offset", {"t": entry("F32", [2], -8, 0)}, b"", None, ["tensor t", "[-8, 0] are negative"]),
    ("begin > end", {"t": entry("F32", [0], 8, 4)}, bytes(8), None, ["tensor t", "[8, 4] begin after they end"]),
    ("offsets not pair", {"t": {"dtype": "U8", "shape": [1], "data_offsets": [0]}}, bytes(1), None,
     ["tensor t", "not a list of two integers"]),
    ("offsets past end", {"t": entry("F32", [4], 0, 16)}, bytes(10), None, ["tensor t", "file truncated?"]),
    ("overlap", {"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, bytes(12), None,
     ["tensor b", "overlaps tensor a"]),
    ("empty inside", {"a": entry("F32", [2], 0, 8), "e": entry("F32", [0], 4, 4)}, bytes(8), None,
     ["tensor e", "overlaps tensor a"]),
    ("hole", {"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)}, bytes(20), None,
     ["tensor b", "hole of 4 bytes", "tensor a ends at 8"]),
    ("hole at start", {"a": entry("F32", [2], 4, 12)}, bytes(12), None, ["tensor a", "hole of 4 bytes"]),
    ("trailing bytes", {"a": F32x2}, bytes(12), None, ["tensor a", "4 stray bytes after the last tensor"]),
    ("bytes, no tensor", {}, bytes(3), None, ["3 stray bytes after the header"]),
    ("metadata non-string", {"__metadata__": {"k": 1}, "a": F32x2}, bytes(8), None,
     ["metadata key k", "value 1 is not a string"]),
    ("metadata not object", {"__metadata__": ["x"], "a": F32x2}, bytes(8), None, ["__metadata__ is an array"]),
    ("metadata duplicate key", b'{"__metadata__":{"k":"a","k":"b"}}', b"", None, ["metadata key k", "duplicate"]),
    ("metadata twice", b'{"__metadata__":{},"__metadata__":{}}', b"", None, ["duplicate key __metadata__"]),
]


@pytest.mark.parametrize("header, data, length, fragments", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_reader_refuses(tmp_path, header, data, length, fragments):
    path = tmp_path / "m.safetensors"
    if header is None:
        path.write_bytes(data)
    else:
        raw_file(path, header, data, length)
    for read in (st.read_header, st.read, lambda p: st.read(p, mmap=False)):
        with pytest.raises(SafetensorsError) as caught:
            read(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: "), message
        assert "\n" not in message
        for fragment in fragments:
            assert fragment in message, message
        assert isinstance(caught.value, ValueError)


def test_truncated_file_after_a_valid_header(tmp_path):
    path = tmp_path / "m.safetensors"
    st.write(path, {"item.emb": np.ones((4, 16), np.float32), "item.ids": np.arange(4)})
    full = path.read_bytes()
    path.write_bytes(full[:-5])
    with pytest.raises(SafetensorsError, match=r"tensor item\.ids: .* file truncated\?") as caught:
        st.read(path)
    assert str(caught.value).startswith(str(path))


def test_reader_accepts_any_valid_layout(tmp_path):
    # Unaligned, unpadded, tensors listed out of data order, empty tensors at shared offsets: valid, so accepted.
    header = {
        "b": entry("I64", [1], 3, 11),
        "a": entry("U8", [3], 0, 3),
        "e1": entry("F32", [0], 3, 3),
        "e2": entry("F64", [0, 2], 11, 11),
        "__metadata__": {"x": "y"},
    }
    data = b"\x01\x02\x03" + struct.pack("<q", -5)
    path = raw_file(tmp_path / "m.safetensors", b"  " + json.dumps(header).encode() + b"\n\t ", data)
    tensors, metadata = st.read(path)
    assert metadata == {"x": "y"}
    assert list(tensors) == ["b", "a", "e1", "e2"]
    assert tensors["b"].tolist() == [-5] and tensors["a"].tolist() == [1, 2, 3]
    assert tensors["e2"].shape == (0, 2)


def test_tensor_name_with_newline_stays_on_one_line(tmp_path):
    path = raw_file(tmp_path / "m.safetensors", {"bad\nname": entry("F32", [3], 0, 4)}, bytes(4))
    with pytest.raises(SafetensorsError) as caught:
        st.read(path)
    assert "\n" not in str(caught.value) and '"bad\\nname"' in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(SafetensorsError, match="cannot open"):
        st.read(tmp_path / "nope.safetensors")


# ------------------------------------------------------------------------------------------------- raw dtypes, CLI


def test_bf16_and_f8_are_raw_and_decodable(tmp_path):
    values = np.array([1.0, -2.5, 0.15625, 448.0], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")
    e5m2 = (values.astype(np.float16).view(np.uint16) >> 8).astype(np.uint8)
    e4m3 = np.array([0x38, 0xC2, 0x22, 0x7E], np.uint8)  # 1.0, -2.5, 0.15625, 448 (the largest E4M3)
    header = {
        "bf": entry("BF16", [4], 0, 8),
        "e5": entry("F8_E5M2", [4], 8, 12),
        "e4": entry("F8_E4M3", [4], 12, 16),
    }
    path = raw_file(tmp_path / "m.safetensors", header, bf16.tobytes() + e5m2.tobytes() + e4m3.tobytes())
    tensors, _ = st.read(path)
    assert tensors["bf"].dtype == np.uint16 and tensors["e4"].dtype == np.uint8
    info = st.read_header(path).tensors
    assert [info[n].dtype for n in ("bf", "e5", "e4")] == ["BF16", "F8_E5M2", "F8_E4M3"]
    for name in ("bf", "e5", "e4"):
        np.testing.assert_array_equal(st.as_float(tensors[name], info[name].dtype), values)
    assert np.isnan(st.as_float(np.array([0x7F, 0xFF], np.uint8), "F8_E4M3")).all()


def run_cli(module, *args):
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, timeout=60)


def test_summary_cli(tmp_path):
    path = tmp_path / "m.safetensors"
    st.write(path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array([7, 9], np.int64),
                    "flag": np.array(True), "nan": np.array([np.nan, np.inf], np.float32)}, {"k": "v"})
    result = run_cli("tarq.safetensors_np", "summary", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    summary = json.loads(result.stdout)
    assert summary["metadata"] == {"k": "v"}
    assert summary["tensors"]["w"] == {"dtype": "F32", "shape": [2, 3], "sum": 15.0, "first": [0.0, 1.0, 2.0, 3.0]}
    assert summary["tensors"]["ids"] == {"dtype": "I64", "shape": [2], "sum": 16.0, "first": [7, 9]}
    assert summary["tensors"]["flag"] == {"dtype": "BOOL", "shape": [], "sum": 1.0, "first": [1]}
    assert summary["tensors"]["nan"]["first"] == ["NaN", "Infinity"]


def test_summary_cli_error(tmp_path):
    path = raw_file(tmp_path / "m.safetensors", {"t": entry("F32", [4], 0, 16)}, bytes(8))
    result = run_cli("tarq.safetensors_np", "summary", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().startswith(f"{path}: tensor t:") and result.stderr.count("\n") == 1
