"""Read and write safetensors files with numpy alone.

The byte layout, the reader's checks and the writer's layout are those of ``docs/model-format.md``; the Java side
(``io.tarq.safetensors``) implements the same page, so a file written by either is read by both.

Reading returns numpy arrays in little-endian dtypes, backed by a read-only memory map of the file (or by one
read-only buffer with ``mmap=False``). numpy has no bfloat16 or float8 type, so ``BF16`` tensors are returned as raw
``uint16`` arrays and ``F8_E5M2`` / ``F8_E4M3`` tensors as raw ``uint8`` arrays; :func:`read_header` tells their
real dtype and :func:`as_float` decodes them. ``BOOL`` bytes are returned as numpy bools without checking that they
are 0 or 1 (the format does not say what other values mean, and the reference reader does not check either).

Command line: ``python3 -m tarq.safetensors_np summary FILE`` prints one JSON object describing the file.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DTYPES",
    "DATA_ALIGNMENT",
    "MAX_HEADER_LENGTH",
    "MAX_NESTING",
    "Header",
    "SafetensorsError",
    "TensorInfo",
    "alignment_class",
    "as_float",
    "dtype_name",
    "read",
    "read_header",
    "write",
]

MAX_HEADER_LENGTH = 100_000_000  # the reference implementation's limit
MAX_NESTING = 64
DATA_ALIGNMENT = 64  # the writers start the data section at a multiple of this
_MAX_BYTES = 2**63 - 1  # sizes must fit a signed 64-bit integer (Java's long)

# safetensors dtype -> numpy dtype the reader returns. BF16 and F8 have no numpy type: they come back raw.
DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("?"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "F8_E5M2": np.dtype("u1"),
    "F8_E4M3": np.dtype("u1"),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
}

# (numpy kind, item size) -> safetensors dtype, for the dtypes numpy has. The raw BF16/F8 carriers map to U16/U8.
_NAMES_BY_KIND = {
    ("f", 8): "F64", ("f", 4): "F32", ("f", 2): "F16",
    ("i", 8): "I64", ("i", 4): "I32", ("i", 2): "I16", ("i", 1): "I8",
    ("u", 8): "U64", ("u", 4): "U32", ("u", 2): "U16", ("u", 1): "U8",
    ("b", 1): "BOOL",
}

_ENTRY_FIELDS = ("dtype", "shape", "data_offsets")


class SafetensorsError(ValueError):
    """A file (or a set of tensors) that breaks the format.

    The message is one line: the file path, then ``tensor NAME`` or ``metadata key KEY`` when the fault belongs to
    one, then the fault, e.g. ``m.safetensors: tensor item.emb: data_offsets [0, 12] hold 12 bytes but shape [2, 3]
    of F32 needs 24``.
    """

    def __init__(self, path, fault: str, *, tensor: str | None = None, key: str | None = None):
        self.path = os.fspath(path)
        self.tensor = tensor
        self.key = key
        self.fault = fault
        parts = [_show(self.path)]
        if tensor is not None:
            parts.append(f"tensor {_show(tensor)}")
        if key is not None:
            parts.append(f"metadata key {_show(key)}")
        parts.append(fault)
        super().__init__(": ".join(parts))


def _show(text: str) -> str:
    """The text as is when it prints on one line, else JSON-quoted (a name may hold a newline)."""
    return text if text.isprintable() and text.strip() == text and text else json.dumps(text)


def _json(value) -> str:
    """A header value shown in a message: JSON with Python's default spacing, `[2, 3]`."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(frozen=True)
class TensorInfo:
    """One header entry, checked. ``begin`` and ``end`` are relative to the data start."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class Header:
    """A checked header: tensors in header order, the metadata ({} when absent) and where the data starts."""

    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    data_start: int
    file_size: int


# ---------------------------------------------------------------------------------------------------------- writing


def dtype_name(dtype) -> str:
    """The safetensors dtype of a numpy dtype (either byte order); ValueError for one the format lacks."""
    dtype = np.dtype(dtype)
    name = _NAMES_BY_KIND.get((dtype.kind, dtype.itemsize))
    if name is None or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"numpy dtype {dtype} has no safetensors equivalent")
    return name


def alignment_class(nbytes: int) -> int:
    """The writer's alignment class: min(64, largest power of two dividing nbytes), 64 for an empty tensor."""
    return DATA_ALIGNMENT if nbytes == 0 else min(DATA_ALIGNMENT, nbytes & -nbytes)


def write(path, tensors, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``tensors`` (a mapping or an iterable of (name, array) pairs, in order) to ``path`` atomically.

    Layout (docs/model-format.md, "What the writers produce"): compact JSON header with ``__metadata__`` first (left
    out when ``metadata`` is None or empty, as the Java writer does), then the tensors in data order; the header is
    padded with spaces so the data starts at a multiple of 64 bytes; the tensors are ordered by alignment class,
    largest first, stably, so each starts at a multiple of its own class. The bytes go to a temporary file beside the
    target, which is then renamed over it.

    Raises ValueError for a non-string name, a duplicate name, the name ``__metadata__``, a dtype the format lacks,
    metadata that is not str -> str, or a header longer than readers accept.
    """
    pairs = list(tensors.items()) if isinstance(tensors, Mapping) else list(tensors)
    entries = []  # (name, safetensors dtype, little-endian C-order array)
    seen = set()
    for name, value in pairs:
        if not isinstance(name, str):
            raise ValueError(f"tensor name {name!r} is not a string")
        if name == "__metadata__":
            raise ValueError("a tensor cannot be named __metadata__ (the header's metadata key)")
        if name in seen:
            raise ValueError(f"duplicate tensor name {name!r}")
        seen.add(name)
        array = np.asarray(value)
        try:
            st_dtype = dtype_name(array.dtype)
        except ValueError as e:
            raise ValueError(f"tensor {name!r}: {e}") from None
        # astype keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d) and copies only when needed.
        array = array.astype(array.dtype.newbyteorder("<"), order="C", copy=False)
        entries.append((name, st_dtype, array))

    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ValueError("metadata must be a mapping of str to str")
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f"metadata {key!r}: {value!r}: keys and values must be str")

    # list.sort is stable, so ties keep the order the tensors were given in.
    entries.sort(key=lambda e: -alignment_class(e[2].nbytes))

    # Built by hand rather than with json.dumps so that the bytes match the Java writer's exactly (same escapes).
    members = []
    if metadata:
        body = ",".join(f"{_quote(key)}:{_quote(value)}" for key, value in metadata.items())
        members.append(f'"__metadata__":{{{body}}}')
    offset = 0
    for name, st_dtype, array in entries:
        shape = ",".join(str(s) for s in array.shape)
        members.append(f'{_quote(name)}:{{"dtype":"{st_dtype}","shape":[{shape}],'
                       f'"data_offsets":[{offset},{offset + array.nbytes}]}}')
        offset += array.nbytes
    text = ("{" + ",".join(members) + "}").encode("utf-8")  # UTF-8 as is: only what JSON requires is escaped
    text += b" " * (-(8 + len(text)) % DATA_ALIGNMENT)
    if len(text) > MAX_HEADER_LENGTH:
        raise ValueError(f"the header would be {len(text)} bytes, more than any reader accepts ({MAX_HEADER_LENGTH})")

    _write_atomically(path, len(text).to_bytes(8, "little") + text, [array for _, _, array in entries])


# JSON escapes for a string literal: the quote, the backslash and the control characters (\n, \r, \t by name, the
# others as \u00xx, as the Java writer does); everything else, non-ASCII included, is written as UTF-8.
_ESCAPES = {c: f"\\u{c:04x}" for c in range(0x20)} | {
    ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
}


def _quote(text: str) -> str:
    return '"' + text.translate(_ESCAPES) + '"'


def _write_atomically(path, head: bytes, arrays) -> None:
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 (not mkstemp's 0o600) so the model gets the usual permissions after the rename.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            for array in arrays:
                if array.nbytes:
                    # A uint8 view of the C-ordered array: no second copy of a large tensor.
                    f.write(array.reshape(-1).view(np.uint8))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---------------------------------------------------------------------------------------------------------- reading


class _Pairs(list):
    """A JSON object as the list of its (key, value) pairs, so that duplicate keys can be found and reported."""


def _reject_constant(name: str):
    # Python's json accepts NaN and Infinity, which strict JSON does not.
    raise ValueError(f"{name} is not JSON")


def _nesting(value) -> int:
    """Depth of nested arrays/objects, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _Pairs):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for _, v in node)
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in node)
    return deepest


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _utf8(text: str) -> bool:
    """False for strings that hold an unpaired surrogate (Python's json lets a \\ud800 escape through)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def read_header(path) -> Header:
    """Read and check the header of ``path`` (every check of the reader table), without touching tensor bytes."""
    with _open(path) as f:
        return _parse_header(f, path, os.fstat(f.fileno()).st_size)


def read(path, mmap: bool = True) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read ``path``: (tensors in header order, metadata). Raises :class:`SafetensorsError` on any fault.

    With ``mmap`` the arrays are read-only views of one memory map of the file (nothing is read until used);
    without, of one read-only copy of the data section. See the module doc for BF16, F8 and BOOL.
    """
    return _read(path, mmap)[1:]


def _read(path, mmap: bool):
    with _open(path) as f:
        size = os.fstat(f.fileno()).st_size
        header = _parse_header(f, path, size)
        data_size = size - header.data_start
        if data_size == 0:
            data = np.zeros(0, np.uint8)  # np.memmap refuses an empty mapping; only empty tensors remain
            data.flags.writeable = False
        elif mmap:
            data = np.memmap(f, dtype=np.uint8, mode="r", offset=header.data_start, shape=(data_size,))
        else:
            f.seek(header.data_start)
            raw = f.read(data_size)
            if len(raw) != data_size:
                raise SafetensorsError(path, "file shrank while being read: file truncated?")
            data = np.frombuffer(raw, np.uint8)  # read-only: it shares the bytes object
    tensors = {
        t.name: data[t.begin : t.end].view(DTYPES[t.dtype]).reshape(t.shape) for t in header.tensors.values()
    }
    return header, tensors, header.metadata


def _open(path):
    try:
        return open(path, "rb")
    except OSError as e:
        raise SafetensorsError(path, f"cannot open: {e.strerror or e}") from e


def _parse_header(f, path, size: int) -> Header:
    def fail(fault, **where):
        raise SafetensorsError(path, fault, **where)

    if size < 8:
        fail(f"file is {size} bytes, shorter than the 8-byte header length")
    length = int.from_bytes(f.read(8), "little")
    if length > MAX_HEADER_LENGTH:
        fail(f"header length {length} is absurd (the limit is {MAX_HEADER_LENGTH} bytes)")
    if 8 + length > size:
        fail(f"header length {length} runs past the end of the file ({size} bytes)")
    raw = f.read(length)
    if len(raw) != length:
        fail("file shrank while its header was read: file truncated?")
    data_start = 8 + length

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"header is not valid UTF-8 (file byte {8 + e.start}: {e.reason})")
    try:
        root = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except RecursionError:
        fail(f"header is not valid JSON: nested deeper than {MAX_NESTING} levels")
    except ValueError as e:  # JSONDecodeError says where; int() of a 4300+ digit number lands here too
        fail(f"header is not valid JSON: {e}".replace("\n", " "))
    if _nesting(root) > MAX_NESTING:
        fail(f"header is not valid JSON: nested deeper than {MAX_NESTING} levels")
    if not isinstance(root, _Pairs):
        fail("header is not a JSON object")

    metadata: dict[str, str] = {}
    infos: dict[str, TensorInfo] = {}
    seen_metadata = False
    for name, entry in root:
        if not _utf8(name):
            fail(f"header is not valid JSON: key {_json(name)} holds an unpaired surrogate")
        if name == "__metadata__":
            if seen_metadata:
                fail("duplicate key __metadata__")
            seen_metadata = True
            metadata = _parse_metadata(entry, fail)
            continue
        if name in infos:
            fail("appears twice in the header (duplicate tensor)", tensor=name)
        infos[name] = _parse_entry(name, entry, data_start, size, fail)

    _check_tiling(infos, size - data_start, fail)
    return Header(infos, metadata, data_start, size)


def _parse_metadata(value, fail) -> dict[str, str]:
    if not isinstance(value, _Pairs):
        fail(f"__metadata__ is {_kind(value)}, not an object of strings")
    metadata = {}
    for key, text in value:
        if key in metadata:
            fail("duplicate key in __metadata__", key=key)
        if not isinstance(text, str):
            fail(f"value {_json(_plain(text))} is not a string", key=key)
        if not (_utf8(key) and _utf8(text)):
            fail("holds an unpaired surrogate", key=key)
        metadata[key] = text
    return metadata


def _parse_entry(name: str, entry, data_start: int, size: int, fail) -> TensorInfo:
    def bad(fault):
        fail(fault, tensor=name)

    if not isinstance(entry, _Pairs):
        bad(f"entry is {_kind(entry)}, not an object")
    fields = {}
    for key, value in entry:
        if key in fields:
            bad(f"field {_json(key)} appears twice")
        if key not in _ENTRY_FIELDS:
            bad(f"unexpected field {_json(key)} (an entry has exactly dtype, shape, data_offsets)")
        fields[key] = value
    for key in _ENTRY_FIELDS:
        if key not in fields:
            bad(f"missing field {key}")

    dtype = fields["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        bad(f"unknown dtype {_json(_plain(dtype))}")
    shape = fields["shape"]
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        bad(f"shape {_json(_plain(shape))} is not a list of non-negative integers")
    itemsize = DTYPES[dtype].itemsize
    # Stop multiplying as soon as the size is too large: the entries may be huge.
    nbytes = 0 if 0 in shape else itemsize
    for s in shape:
        if nbytes > _MAX_BYTES:
            break
        nbytes *= s
    if nbytes > _MAX_BYTES or any(s > _MAX_BYTES for s in shape):
        bad(f"shape {_json(shape)} of {dtype} overflows: its byte size does not fit in 63 bits")

    offsets = fields["data_offsets"]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        bad(f"data_offsets {_json(_plain(offsets))} is not a list of two integers")
    begin, end = offsets
    if begin < 0 or end < 0:
        bad(f"data_offsets {_json(offsets)} are negative")
    if begin > end:
        bad(f"data_offsets {_json(offsets)} begin after they end")
    if end - begin != nbytes:
        bad(f"data_offsets {_json(offsets)} hold {end - begin} bytes but shape {_json(shape)} of {dtype} "
            f"needs {nbytes}")
    if data_start + end > size:
        bad(f"data_offsets {_json(offsets)} end at file byte {data_start + end} but the file has {size} bytes: "
            "file truncated?")
    return TensorInfo(name, dtype, tuple(shape), begin, end)


def _check_tiling(infos: dict[str, TensorInfo], data_size: int, fail) -> None:
    """Sorted by begin, the tensors must cover [0, data_size) exactly. Empty tensors may sit at any boundary."""
    expected, previous = 0, None
    for t in sorted(infos.values(), key=lambda t: (t.begin, t.end)):
        if t.begin < expected:
            fail(f"overlaps tensor {_show(previous.name)}: it starts at data byte {t.begin}, "
                 f"{previous.name} holds [{previous.begin}, {previous.end})", tensor=t.name)
        if t.begin > expected:
            before = f"tensor {_show(previous.name)} ends at {expected}" if previous else "the data section starts at 0"
            fail(f"hole of {t.begin - expected} bytes before it: {before}, it starts at {t.begin}", tensor=t.name)
        expected, previous = t.end, t
    if expected < data_size:
        stray = data_size - expected
        if previous is None:
            fail(f"{stray} stray bytes after the header, and there is no tensor")
        fail(f"{stray} stray bytes after the last tensor: it ends at data byte {expected}, the data section has "
             f"{data_size} bytes", tensor=previous.name)


def _plain(value):
    """A parsed header value turned back into plain JSON types, for messages."""
    if isinstance(value, _Pairs):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _kind(value) -> str:
    if isinstance(value, _Pairs):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


# --------------------------------------------------------------------------------------------------------- decoding


def _e4m3_table() -> np.ndarray:
    # OCP float8 E4M3 ("e4m3fn", the one safetensors and PyTorch use): bias 7, no infinities, S.1111.111 is NaN.
    table = np.empty(256, np.float32)
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exponent, mantissa = (byte >> 3) & 0xF, byte & 0x7
        if exponent == 0xF and mantissa == 0x7:
            table[byte] = np.nan
        elif exponent == 0:
            table[byte] = sign * mantissa / 8 * 2.0**-6
        else:
            table[byte] = sign * (1 + mantissa / 8) * 2.0 ** (exponent - 7)
    return table


_E4M3 = _e4m3_table()


def as_float(array: np.ndarray, dtype: str) -> np.ndarray:
    """Decode a raw BF16 / F8_E5M2 / F8_E4M3 array (as :func:`read` returns them) to float32; others pass through."""
    if dtype == "BF16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F8_E5M2":  # the top byte of an IEEE half
        return (array.astype(np.uint16) << 8).view(np.float16).astype(np.float32)
    if dtype == "F8_E4M3":
        return _E4M3[array]
    return array


# ------------------------------------------------------------------------------------------------------ command line


def _number(value):
    """A JSON-safe number: ints stay exact; NaN and infinities, which JSON lacks, become strings."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def summary(path) -> dict:
    """What ``summary`` prints: metadata, and per tensor its dtype, shape, float64 sum and first four elements."""
    header, tensors, metadata = _read(path, mmap=True)
    out = {}
    for name, array in tensors.items():
        info = header.tensors[name]
        values = as_float(array, info.dtype).reshape(-1)
        out[name] = {
            "dtype": info.dtype,
            "shape": list(info.shape),
            # np.sum casts chunk by chunk with dtype=float64: no float64 copy of a large tensor.
            "sum": _number(np.sum(values, dtype=np.float64)),
            "first": [_number(v) for v in values[:4].tolist()],
        }
    return {"metadata": metadata, "tensors": out}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m tarq.safetensors_np", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("summary", help="print metadata and per-tensor dtype, shape, sum, first elements")
    cmd.add_argument("file")
    args = parser.parse_args(argv)
    try:
        result = summary(args.file)
    except SafetensorsError as e:
        print(e, file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
