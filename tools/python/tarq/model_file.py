"""The TARQ layer over safetensors: what a TARQ model file must hold, the checks, and a synthetic model.

The tensor names, shapes and metadata keys are those of ``docs/model-format.md`` ("The TARQ layer"), which follows
the contract ``docs/model.md``. :func:`check` is what the Java ``TarqModelFile.open`` checks (metadata,
presence, dtype and shape of every tensor), :func:`check_ids` the id uniqueness it finds while building its indexes,
and :func:`check_contents` what ``verify --full`` adds by reading every byte.

Format versions: this reader serves 1 and 2. Version 2 is exactly a file with the contract's cross head
(:data:`CROSS_HEAD`, metadata ``cross_dim``); version 1 is every file without it. The two are kept apart both ways,
each with one line naming the tensor or metadata key at fault: a version-1 file must not carry the cross head (a
version-1 reader would serve it without its cross term, silently wrong), and a version-2 file must carry all of it.
:func:`cross_rows` is the one definition of ``item.cross`` that every writer uses (bit for bit the Java writers').

Command line::

    python3 -m tarq.model_file synth --out FILE [--items N] [--seed S] [--null-keys] [--ta-mlp | --cross-dim DX] ...
    python3 -m tarq.model_file verify FILE [--full]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from . import __version__
from . import safetensors_np
from .safetensors_np import SafetensorsError

__all__ = [
    "CROSS_HEAD",
    "CROSS_TOLERANCE",
    "CROSS_VERSION",
    "DIMENSION_KEYS",
    "FORMAT",
    "FORMAT_VERSION",
    "OPTIONAL_GROUPS",
    "PRODUCER",
    "READ_VERSIONS",
    "REQUIRED",
    "Dimensions",
    "TensorSpec",
    "check",
    "check_contents",
    "check_ids",
    "cross_rows",
    "format_version",
    "greedy_rq",
    "synth_model",
]

FORMAT = "tarq"
FORMAT_VERSION = 2  # the newest version this reader reads
CROSS_VERSION = 2  # the version of a file with the cross head; a file without it is version 1
READ_VERSIONS = (1, 2)
PRODUCER = f"tarq-python {__version__}"
UNIT_TOLERANCE = 1e-3  # |‖item.vec[i]‖ − 1| allowed by verify --full
CROSS_TOLERANCE = 1e-5  # |item.cross − (W_x·item.emb + b_x)| allowed by verify --full, times max(1, |expected|)

# Metadata key -> (shape symbol, smallest, largest, must be a multiple of). `heads` must also divide d.
DIMENSION_KEYS: dict[str, tuple[str, int, int, int]] = {
    "d": ("d", 16, 4096, 16),
    "heads": ("h", 1, 4096, 1),
    "dv": ("dv", 16, 4096, 16),
    "mlp_hidden": ("f", 1, 65536, 1),
    "n_max": ("n_max", 1, 1024, 1),
    "levels": ("L", 1, 8, 1),
    "codebook_size": ("K", 2, 256, 1),
    "items": ("N", 1, 2**31 - 1, 1),
    "users": ("U", 1, 2**31 - 1, 1),
}
# Shape symbols of the optional groups that the metadata does not give: read from the shapes (Dimensions field).
_FREE_SYMBOLS = {"f_ta": "ta_mlp_hidden", "f_i": "item_mlp_hidden", "A": "attributes", "nnz": "attribute_values"}
_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # digits only: no sign, no spaces, no leading zeros


@dataclass(frozen=True)
class Dimensions:
    """The metadata's dimensions, plus the sizes read from the shapes of the optional groups present."""

    d: int
    heads: int
    dv: int
    mlp_hidden: int
    n_max: int
    levels: int
    codebook_size: int
    items: int
    users: int
    format_version: int = 1
    cross_dim: int | None = None  # dx, in a version-2 file (the cross head)
    ta_mlp_hidden: int | None = None  # f_ta, when the file has the DIN teacher head
    item_mlp_hidden: int | None = None  # f_i, when the file has the item tower
    attributes: int | None = None  # A, when the file has item attributes
    attribute_values: int | None = None  # nnz of the attribute CSR
    optional: tuple[str, ...] = ()  # the optional groups present

    @property
    def dh(self) -> int:
        return self.d // self.heads

    def symbols(self) -> dict[str, int]:
        """Values of the shape symbols used in :data:`REQUIRED` and :data:`OPTIONAL_GROUPS`."""
        env = {"dh": self.dh}
        env.update({symbol: getattr(self, key) for key, (symbol, *_) in DIMENSION_KEYS.items()})
        if self.cross_dim is not None:
            env["dx"] = self.cross_dim
        for symbol, attribute in _FREE_SYMBOLS.items():
            if getattr(self, attribute) is not None:
                env[symbol] = getattr(self, attribute)
        return env


@dataclass(frozen=True)
class TensorSpec:
    """A tensor the format names: its dtype and its shape as symbols, e.g. ``("L", "K", "d")`` or ``("f", "2*d")``.

    A dimension is an integer, ``SYMBOL``, ``k*SYMBOL`` or ``SYMBOL+k``. In an optional group a bare symbol that the
    metadata does not define (f_ta, f_i, A, nnz) is read from the first tensor that has it.
    """

    name: str
    shape: tuple[str | int, ...]
    dtype: str = "F32"

    def shape_text(self) -> str:
        return "[" + ", ".join(str(s) for s in self.shape) + "]"


_DIM = re.compile(r"(?:(\d+)\*)?([A-Za-z_]+)(?:\+(\d+))?")


def _dim(expr: str | int, env: Mapping[str, int]) -> int | None:
    """The value of one shape dimension, or None for a bare symbol not in ``env`` (one to bind)."""
    if isinstance(expr, int):
        return expr
    factor, symbol, plus = _DIM.fullmatch(expr).groups()
    if symbol not in env:
        if factor or plus:
            raise AssertionError(f"spec dimension {expr} uses unbound {symbol}")  # a bug in the tables below
        return None
    return int(factor or 1) * env[symbol] + int(plus or 0)


def _attention(prefix: str) -> tuple[TensorSpec, ...]:
    return tuple(TensorSpec(f"{prefix}.{w}", ("d", "d")) for w in ("wq", "wk", "wv", "wo")) + tuple(
        TensorSpec(f"{prefix}.{b}", ("d",)) for b in ("bq", "bk", "bv", "bo")
    )


REQUIRED: tuple[TensorSpec, ...] = (
    TensorSpec("item.ids", ("N",), "I64"),
    TensorSpec("item.emb", ("N", "d")),
    TensorSpec("item.vec", ("N", "dv")),
    TensorSpec("item.codes", ("L", "N"), "U8"),
    TensorSpec("user.ids", ("U",), "I64"),
    TensorSpec("user.emb", ("U", "d")),
    TensorSpec("seq.pos", ("n_max", "d")),
    *_attention("seq.attn"),
    TensorSpec("seq.ln.weight", ("d",)),
    TensorSpec("seq.ln.bias", ("d",)),
    *_attention("user.attn"),
    *_attention("ta.attn"),
    TensorSpec("user.mlp.0.weight", ("f", "2*d")),
    TensorSpec("user.mlp.0.bias", ("f",)),
    TensorSpec("user.mlp.2.weight", ("dv", "f")),
    TensorSpec("user.mlp.2.bias", ("dv",)),
    TensorSpec("ta.readout.weight", ("d", "dv")),
    TensorSpec("ta.readout.bias", ("d",)),
    TensorSpec("head.tau", (1,)),
    TensorSpec("head.beta", (1,)),
    TensorSpec("rq.codebooks", ("L", "K", "d")),
    TensorSpec("rq.attn.wq", ("L", "d", "d")),
    TensorSpec("rq.attn.bq", ("L", "d")),
    *(TensorSpec(f"rq.attn.{w}", ("d", "d")) for w in ("wk", "wv", "wo")),
    *(TensorSpec(f"rq.attn.{b}", ("d",)) for b in ("bk", "bv", "bo")),
)

# Each group is all or none; each null key is a group of its own.
OPTIONAL_GROUPS: dict[str, tuple[TensorSpec, ...]] = {
    "ta.attn.null_k": (TensorSpec("ta.attn.null_k", ("h", "dh")),),
    "rq.attn.null_k": (TensorSpec("rq.attn.null_k", ("h", "dh")),),
    "ta.mlp": (
        TensorSpec("ta.mlp.0.weight", ("f_ta", "3*d")),
        TensorSpec("ta.mlp.0.bias", ("f_ta",)),
        TensorSpec("ta.mlp.2.weight", (1, "f_ta")),
        TensorSpec("ta.mlp.2.bias", (1,)),
    ),
    "item.mlp": (
        TensorSpec("item.mlp.0.weight", ("f_i", "d")),
        TensorSpec("item.mlp.0.bias", ("f_i",)),
        TensorSpec("item.mlp.2.weight", ("dv", "f_i")),
        TensorSpec("item.mlp.2.bias", ("dv",)),
    ),
    "item.attr": (
        TensorSpec("item.attr.ids", ("A",), "I64"),
        TensorSpec("item.attr.emb", ("A", "d")),
        TensorSpec("item.attr.offsets", ("N+1",), "I64"),
        TensorSpec("item.attr.values", ("nnz",), "I64"),
    ),
}


# The cross head (format version 2): all four in a version-2 file, none in a version-1 file. dx is metadata cross_dim.
CROSS_HEAD: tuple[TensorSpec, ...] = (
    TensorSpec("ta.cross.a", ("dx", "d")),
    TensorSpec("ta.cross.item.weight", ("dx", "d")),
    TensorSpec("ta.cross.item.bias", ("dx",)),
    TensorSpec("item.cross", ("N", "dx")),
)


def format_version(cross_head: bool) -> int:
    """The ``format_version`` a writer puts in a file with or without the cross head."""
    return CROSS_VERSION if cross_head else 1


# ----------------------------------------------------------------------------------------------------------- checks


def check(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str], path) -> Dimensions:
    """Check the metadata and the presence, dtype and shape of every required tensor and present optional group.

    Tensors under other names are ignored (the format allows extensions). Raises :class:`SafetensorsError` naming
    the metadata key or the tensor at fault; returns the dimensions.
    """
    dims = _check_metadata(metadata, path)
    env = dims.symbols()
    for spec in REQUIRED:
        if spec.name not in tensors:
            raise SafetensorsError(path, "missing (a required tensor)", tensor=spec.name)
        _check_tensor(spec, tensors[spec.name], env, path)
    _check_cross_head(tensors, dims, env, path)

    present_groups = []
    for group, specs in OPTIONAL_GROUPS.items():
        present = [s.name for s in specs if s.name in tensors]
        if not present:
            continue
        for spec in specs:
            if spec.name not in tensors:
                raise SafetensorsError(path, f"missing: the {group} group is all or none, and {present[0]} is present",
                                       tensor=spec.name)
            _check_tensor(spec, tensors[spec.name], env, path)
        present_groups.append(group)
    bound = {attr: env[symbol] for symbol, attr in _FREE_SYMBOLS.items() if symbol in env}
    return replace(dims, optional=tuple(present_groups), **bound)


def _check_cross_head(tensors: Mapping[str, np.ndarray], dims: Dimensions, env: dict[str, int], path) -> None:
    """The cross head's tensors: none in a version-1 file, all of them (and no DIN head) in a version-2 file."""
    if dims.cross_dim is None:
        present = [spec.name for spec in CROSS_HEAD if spec.name in tensors]
        if present:
            raise SafetensorsError(path, f"present in a format_version {dims.format_version} file: the cross head "
                                         f"needs format_version {CROSS_VERSION} (a version-1 reader would score "
                                         "without its cross term)", tensor=present[0])
        return
    din = [spec.name for spec in OPTIONAL_GROUPS["ta.mlp"] if spec.name in tensors]
    if din:
        raise SafetensorsError(path, f"present in a format_version {CROSS_VERSION} file: the cross head replaces the "
                                     "DIN teacher head", tensor=din[0])
    for spec in CROSS_HEAD:
        if spec.name not in tensors:
            raise SafetensorsError(path, f"missing (format_version {CROSS_VERSION} has the cross head)",
                                   tensor=spec.name)
        _check_tensor(spec, tensors[spec.name], env, path)


def _check_metadata(metadata: Mapping[str, str], path) -> Dimensions:
    def fail(key, fault):
        raise SafetensorsError(path, fault, key=key)

    if "format" not in metadata:
        fail("format", f"missing (a TARQ model has format = {FORMAT})")
    if metadata["format"] != FORMAT:
        fail("format", f"is {metadata['format']!r}, expected {FORMAT!r}: not a TARQ model")
    version = _decimal(metadata, "format_version", fail)
    readable = " and ".join(str(v) for v in READ_VERSIONS)
    if version > FORMAT_VERSION:
        fail("format_version", f"{version}: the file is newer than this reader (it reads {readable})")
    if version not in READ_VERSIONS:
        fail("format_version", f"{version} is not a TARQ format version (this reader reads {readable})")

    values = {}
    for key, (_, low, high, multiple) in DIMENSION_KEYS.items():
        value = _decimal(metadata, key, fail)
        if not low <= value <= high:
            fail(key, f"{value} is outside {low}..{high}")
        if value % multiple:
            fail(key, f"{value} is not a multiple of {multiple}")
        values[key] = value
    if values["d"] % values["heads"]:
        fail("heads", f"{values['heads']} does not divide d = {values['d']}")
    cross_dim = _cross_dim(metadata, version, values["d"], fail)
    if "producer" not in metadata:
        fail("producer", "missing (what wrote the file, with its version)")
    return Dimensions(**values, format_version=version, cross_dim=cross_dim)


def _cross_dim(metadata: Mapping[str, str], version: int, d: int, fail) -> int | None:
    """dx: ``cross_dim`` of a version-2 file, in 1..d; None for version 1, which must not have the key."""
    if version < CROSS_VERSION:
        if "cross_dim" in metadata:
            fail("cross_dim", f"set in a format_version {version} file: the cross head needs format_version "
                              f"{CROSS_VERSION} (a version-1 reader would score without its cross term)")
        return None
    if "cross_dim" not in metadata:
        fail("cross_dim", f"missing (format_version {CROSS_VERSION} has the cross head, and cross_dim is its width dx)")
    value = _decimal(metadata, "cross_dim", fail)
    if not 1 <= value <= d:
        fail("cross_dim", f"{value} is outside 1..{d} (1..d)")
    return value


def _decimal(metadata: Mapping[str, str], key: str, fail) -> int:
    if key not in metadata:
        fail(key, "missing")
    text = metadata[key]
    # The length bound keeps int() away from absurd inputs; no accepted value has more than 10 digits.
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text) or len(text) > 20:
        fail(key, f"{text!r} is not a decimal number (digits only, no sign, spaces or leading zeros)")
    return int(text)


def _check_tensor(spec: TensorSpec, array: np.ndarray, env: dict[str, int], path) -> None:
    """dtype and shape of one tensor; binds the group's free symbols in ``env`` on their first use."""
    try:
        dtype = safetensors_np.dtype_name(array.dtype)
    except ValueError:
        dtype = str(array.dtype)
    if dtype != spec.dtype:
        raise SafetensorsError(path, f"dtype {dtype}, expected {spec.dtype}", tensor=spec.name)
    shape = tuple(array.shape)
    expected = []
    if len(shape) == len(spec.shape):
        for expr, actual in zip(spec.shape, shape):
            value = _dim(expr, env)
            if value is None:  # a free symbol (f_ta, f_i, A, nnz): this tensor defines it
                env[expr] = value = actual
            expected.append(value)
    if tuple(expected) != shape:
        want = spec.shape_text()
        if len(expected) == len(spec.shape):
            want += " = " + str(list(expected))
        raise SafetensorsError(path, f"shape {list(shape)}, expected {want}", tensor=spec.name)


def check_ids(tensors: Mapping[str, np.ndarray], path) -> None:
    """``item.ids`` and ``user.ids`` hold no id twice (the Java reader finds this while building its indexes).

    ``user.ids`` row 0 (the unknown user) counts too: the format says the ids are unique, without exception.
    """
    for name in ("item.ids", "user.ids"):
        _check_unique(tensors[name], name, path)


def _check_unique(ids: np.ndarray, name: str, path) -> None:
    ids = np.asarray(ids)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    same = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if same.size:
        first, second = sorted(order[same[0] : same[0] + 2])
        raise SafetensorsError(path, f"id {ids[first]} appears twice, at rows {first} and {second}", tensor=name)


def check_contents(tensors: Mapping[str, np.ndarray], dims: Dimensions, path) -> None:
    """The ``verify --full`` checks, reading every byte: ids unique, every F32 tensor finite, codes < K, item.vec
    rows of unit length (within 1e-3), the attribute CSR well formed with unique attribute ids, and in a version-2
    file ``item.cross`` equal to W_x·item.emb + b_x (:func:`_check_cross_rows`).

    Large tensors are scanned in blocks so that no full-size temporary is made.
    """
    check_ids(tensors, path)
    for name, array in tensors.items():
        if array.dtype == np.float32:
            _check_finite(array, name, path)

    codes = tensors["item.codes"]
    for start, block in _blocks(codes.reshape(-1)):
        bad = np.flatnonzero(block >= dims.codebook_size)
        if bad.size:
            level, item = np.unravel_index(start + bad[0], codes.shape)
            raise SafetensorsError(path, f"code {block[bad[0]]} at [{level}, {item}] is not < K = "
                                         f"{dims.codebook_size}", tensor="item.codes")

    vec = tensors["item.vec"]
    for start, block in _blocks(vec, rows=True):
        rows = block.astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        bad = np.flatnonzero(~(np.abs(norms - 1.0) <= UNIT_TOLERANCE))  # written so that NaN fails too
        if bad.size:
            raise SafetensorsError(path, f"row {start + bad[0]} has norm {norms[bad[0]]:.6g}, not within "
                                         f"{UNIT_TOLERANCE} of 1", tensor="item.vec")

    if "item.attr" in dims.optional:
        _check_attributes(tensors, dims, path)
    if dims.cross_dim is not None:
        _check_cross_rows(tensors, path)


def _check_cross_rows(tensors, path) -> None:
    """``item.cross`` is derived data (like ``item.vec``): each element within CROSS_TOLERANCE·max(1, |expected|) of
    expected = W_x·item.emb + b_x, computed in float64 from the stored float32 tensors.

    The tolerance is absolute up to magnitude 1 and relative above it: a correct writer's only error is its float32
    rounding (and, for a writer that accumulates in float32, d roundings), which grows with the value; a fixed absolute
    bound would refuse correctly rounded large values (float32's spacing passes 1e-5 at 128), a purely relative one
    would refuse correct values near 0. The expected values come from one float64 matrix product, in whatever order
    BLAS sums: any order is far inside the tolerance.
    """
    weight = tensors["ta.cross.item.weight"].astype(np.float64)
    bias = tensors["ta.cross.item.bias"].astype(np.float64)
    emb = tensors["item.emb"]
    for start, stored in _blocks(tensors["item.cross"], rows=True):
        expected = emb[start : start + stored.shape[0]].astype(np.float64) @ weight.T + bias
        allowed = CROSS_TOLERANCE * np.maximum(1.0, np.abs(expected))
        bad = np.argwhere(~(np.abs(stored - expected) <= allowed))  # written so that NaN fails too
        if bad.size:
            row, column = bad[0]
            raise SafetensorsError(path, f"row {start + row} is not W_x·item.emb[{start + row}] + b_x "
                                         f"(ta.cross.item.weight, ta.cross.item.bias): column {column} holds "
                                         f"{stored[row, column]:.9g}, expected {expected[row, column]:.9g} (allowed: "
                                         f"{CROSS_TOLERANCE:g}·max(1, |expected|))", tensor="item.cross")


def _check_attributes(tensors, dims: Dimensions, path) -> None:
    offsets = np.asarray(tensors["item.attr.offsets"])
    values = tensors["item.attr.values"]
    if offsets[0] != 0:
        raise SafetensorsError(path, f"offsets[0] is {offsets[0]}, not 0", tensor="item.attr.offsets")
    falls = np.flatnonzero(offsets[1:] < offsets[:-1])
    if falls.size:
        i = falls[0]
        raise SafetensorsError(path, f"offsets decrease at item {i}: {offsets[i]} then {offsets[i + 1]}",
                               tensor="item.attr.offsets")
    if offsets[-1] != values.shape[0]:
        raise SafetensorsError(path, f"offsets end at {offsets[-1]}, not at nnz = {values.shape[0]} (the length of "
                                     "item.attr.values)", tensor="item.attr.offsets")
    count = dims.attributes
    for start, block in _blocks(values):
        bad = np.flatnonzero((block < 0) | (block >= count))
        if bad.size:
            raise SafetensorsError(path, f"value {block[bad[0]]} at [{start + bad[0]}] is not an attribute row "
                                         f"(0 <= row < A = {count})", tensor="item.attr.values")
    _check_unique(tensors["item.attr.ids"], "item.attr.ids", path)


def _check_finite(array: np.ndarray, name: str, path) -> None:
    flat = array.reshape(-1)
    for start, block in _blocks(flat):
        bad = np.flatnonzero(~np.isfinite(block))
        if bad.size:
            where = list(np.unravel_index(start + bad[0], array.shape)) if array.ndim else []
            raise SafetensorsError(path, f"{block[bad[0]]} at {[int(i) for i in where]} is not finite", tensor=name)


def _blocks(array: np.ndarray, rows: bool = False, elements: int = 1 << 20):
    """(start, block) over the first axis, about ``elements`` elements a block (whole rows when ``rows``)."""
    per_row = int(np.prod(array.shape[1:])) if rows else 1
    step = max(1, elements // max(per_row, 1))
    for start in range(0, array.shape[0], step):
        yield start, array[start : start + step]


# --------------------------------------------------------------------------------------------------- quantization


def greedy_rq(emb: np.ndarray, codebooks: np.ndarray) -> np.ndarray:
    """Greedy residual quantization as the contract defines it, codes [L, N] uint8.

    rho_1 = e_i; z_l = argmin_k ||rho_l - C_l[k]||^2; rho_{l+1} = rho_l - C_l[z_l]. The residuals are float32, as
    the engine keeps them; the squared distances are summed in float64 from the differences (not expanded as
    ||a||^2 - 2ab + ||b||^2, which cancels badly), and a tie goes to the lowest k.
    """
    emb = np.asarray(emb, dtype=np.float32)
    codebooks = np.asarray(codebooks, dtype=np.float32)
    if emb.ndim != 2 or codebooks.ndim != 3 or codebooks.shape[2] != emb.shape[1]:
        raise ValueError(f"emb {emb.shape} and codebooks {codebooks.shape} are not [N, d] and [L, K, d]")
    levels, size, width = codebooks.shape
    if size > 256:
        raise ValueError(f"K = {size}: a code is one byte")
    codes = np.empty((levels, emb.shape[0]), np.uint8)
    centers = codebooks.astype(np.float64)
    block = max(1, (1 << 21) // max(size * width, 1))  # bounds the [block, K, d] float64 temporary (~16 MB)
    for start in range(0, emb.shape[0], block):
        rho = emb[start : start + block].copy()
        for level in range(levels):
            diff = rho[:, None, :].astype(np.float64) - centers[level][None, :, :]
            z = np.einsum("bkd,bkd->bk", diff, diff).argmin(axis=1)  # argmin returns the first minimum
            codes[level, start : start + block] = z
            rho -= codebooks[level][z]
    return codes


# ------------------------------------------------------------------------------------------------------ cross head


def cross_rows(emb: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """q_i = W_x·e_i + b_x for the rows e_i of ``emb`` [n, d]: ``item.cross`` rows [n, dx], float32.

    The arithmetic is fixed so that every writer (the trainer's export, :mod:`tarq.encode`, the Java engine's
    ``encode-items``) produces the same bits. Per item and output k::

        acc = (double) b_x[k]
        for j = 0 .. d-1:  acc += (double) W_x[k, j] * (double) e[j]      # j ascending
        q[k] = (float) acc                                               # rounded once, to nearest

    The product of two float32 values is exact in float64 (48 significant bits of 53), so each step rounds once,
    and a fused multiply-add gives the same result as a multiply then an add: only the order of the sums matters,
    and it is the one above (bias first, then j ascending). Not a BLAS product, whose summation order is its own.
    Computed in blocks of rows, a column j at a time (vectorized over the rows and the dx outputs).
    """
    emb = np.asarray(emb, np.float32)
    weight = np.asarray(weight, np.float32)
    bias = np.asarray(bias, np.float32)
    if emb.ndim != 2 or weight.ndim != 2 or weight.shape[1] != emb.shape[1] or bias.shape != (weight.shape[0],):
        raise ValueError(f"emb {emb.shape}, weight {weight.shape} and bias {bias.shape} are not [n, d], [dx, d], [dx]")
    columns = weight.T.astype(np.float64)  # [d, dx]: column j of W_x as a row
    out = np.empty((emb.shape[0], weight.shape[0]), np.float32)
    for start, block in _blocks(emb, rows=True, elements=1 << 18):
        acc = np.repeat(bias.astype(np.float64)[None, :], block.shape[0], axis=0)
        e = block.astype(np.float64)
        for j in range(emb.shape[1]):
            acc += e[:, j : j + 1] * columns[j]
        out[start : start + block.shape[0]] = acc
    return out


# ------------------------------------------------------------------------------------------------ synthetic models


def synth_model(
    *,
    items: int = 200,
    users: int = 20,
    d: int = 16,
    heads: int = 2,
    dv: int = 16,
    mlp_hidden: int = 32,
    n_max: int = 20,
    levels: int = 3,
    codebook_size: int = 16,
    seed: int = 0,
    null_keys: bool = False,
    ta_mlp: bool = False,
    ta_mlp_hidden: int | None = None,
    item_tower: bool = False,
    attributes: int = 0,
    cross_dim: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """A small valid TARQ model with random weights: (tensors, metadata), ready for :func:`safetensors_np.write`.

    Weights are N(0, 1/sqrt(fan_in)); biases, positions and null keys small; the codebooks shrink level by level
    (each level quantizes what the previous left); ``item.codes`` is :func:`greedy_rq` of ``item.emb``. Item ids are
    1000 + i; user row 0 (the unknown user) has id 0, the others distinct ids. Options add the null keys, the DIN
    teacher head (``ta.mlp.*``, hidden width ``ta_mlp_hidden`` or ``mlp_hidden``), the item tower (``item.vec`` is
    then normalize(MLP_item(e_i))) and ``attributes`` > 0 item attributes (``item.emb`` is then E_item[i] plus the
    mean of the item's attribute embeddings, as the contract's exporter computes it). ``cross_dim`` > 0 makes it a
    version-2 file with the cross head of that width (``item.cross`` by :func:`cross_rows`); it excludes ``ta_mlp``.
    """
    if cross_dim and ta_mlp:
        raise ValueError("the cross head (cross_dim) and the DIN teacher head (ta_mlp) exclude each other")
    metadata = {
        "format": FORMAT,
        "format_version": str(format_version(cross_head=bool(cross_dim))),
        "d": str(d),
        "heads": str(heads),
        "dv": str(dv),
        "mlp_hidden": str(mlp_hidden),
        "n_max": str(n_max),
        "levels": str(levels),
        "codebook_size": str(codebook_size),
        "items": str(items),
        "users": str(users),
        **({"cross_dim": str(cross_dim)} if cross_dim else {}),
        "producer": PRODUCER,
        "synthetic_seed": str(seed),
    }
    _check_metadata(metadata, "<synth_model>")  # refuses impossible dimensions up front
    rng = np.random.default_rng(seed)

    def normal(shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def linear(out: int, fan_in: int):
        return normal((out, fan_in), 1 / np.sqrt(fan_in)), normal((out,), 0.1)

    def attention(prefix: str, t: dict):
        for w in ("wq", "wk", "wv", "wo"):
            t[f"{prefix}.{w}"] = normal((d, d), 1 / np.sqrt(d))
        for b in ("bq", "bk", "bv", "bo"):
            t[f"{prefix}.{b}"] = normal((d,), 0.1)

    t: dict[str, np.ndarray] = {}
    t["item.ids"] = 1000 + np.arange(items, dtype=np.int64)
    emb = normal((items, d), 1.0)
    attr = None
    if attributes:
        counts = rng.integers(0, 4, size=items)  # 0..3 attributes an item; items without use E_item alone
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        values = rng.integers(0, attributes, size=int(offsets[-1])).astype(np.int64)
        attr_emb = normal((attributes, d), 0.5)
        for i in np.flatnonzero(counts):
            emb[i] += attr_emb[values[offsets[i] : offsets[i + 1]]].mean(axis=0)
        attr = {
            "item.attr.ids": 5000 + 3 * np.arange(attributes, dtype=np.int64),
            "item.attr.emb": attr_emb,
            "item.attr.offsets": offsets,
            "item.attr.values": values,
        }
    t["item.emb"] = emb
    if item_tower:
        w0, b0 = linear(mlp_hidden, d)
        w2, b2 = linear(dv, mlp_hidden)
        vec = np.maximum(emb @ w0.T + b0, 0) @ w2.T + b2
        tower = {"item.mlp.0.weight": w0, "item.mlp.0.bias": b0, "item.mlp.2.weight": w2, "item.mlp.2.bias": b2}
    else:
        vec = rng.standard_normal((items, dv))
        tower = {}
    t["item.vec"] = (vec / np.linalg.norm(vec, axis=1, keepdims=True)).astype(np.float32)
    codebooks = np.stack([normal((codebook_size, d), 0.5**level) for level in range(levels)])
    t["item.codes"] = greedy_rq(emb, codebooks)
    t["user.ids"] = np.concatenate([[0], 100_000 + 7 * np.arange(1, users)]).astype(np.int64)
    t["user.emb"] = normal((users, d), 1.0)
    t["seq.pos"] = normal((n_max, d), 0.1)
    attention("seq.attn", t)
    t["seq.ln.weight"] = (1 + normal((d,), 0.1)).astype(np.float32)
    t["seq.ln.bias"] = normal((d,), 0.1)
    attention("user.attn", t)
    attention("ta.attn", t)
    t["user.mlp.0.weight"], t["user.mlp.0.bias"] = linear(mlp_hidden, 2 * d)
    t["user.mlp.2.weight"], t["user.mlp.2.bias"] = linear(dv, mlp_hidden)
    t["ta.readout.weight"], t["ta.readout.bias"] = linear(d, dv)
    t["head.tau"] = np.array([5.0], np.float32)
    t["head.beta"] = normal((1,), 0.1)
    t["rq.codebooks"] = codebooks
    t["rq.attn.wq"] = normal((levels, d, d), 1 / np.sqrt(d))
    t["rq.attn.bq"] = normal((levels, d), 0.1)
    for w in ("wk", "wv", "wo"):
        t[f"rq.attn.{w}"] = normal((d, d), 1 / np.sqrt(d))
    for b in ("bk", "bv", "bo"):
        t[f"rq.attn.{b}"] = normal((d,), 0.1)
    if null_keys:
        t["ta.attn.null_k"] = normal((heads, d // heads), 1 / np.sqrt(d // heads))
        t["rq.attn.null_k"] = normal((heads, d // heads), 1 / np.sqrt(d // heads))
    if ta_mlp:
        hidden = ta_mlp_hidden or mlp_hidden
        t["ta.mlp.0.weight"], t["ta.mlp.0.bias"] = linear(hidden, 3 * d)
        t["ta.mlp.2.weight"], t["ta.mlp.2.bias"] = linear(1, hidden)
    if cross_dim:
        t["ta.cross.a"] = normal((cross_dim, d), 1 / np.sqrt(d))
        t["ta.cross.item.weight"], t["ta.cross.item.bias"] = linear(cross_dim, d)
        t["item.cross"] = cross_rows(emb, t["ta.cross.item.weight"], t["ta.cross.item.bias"])
    t.update(tower)
    if attr:
        t.update(attr)
    return t, metadata


# ------------------------------------------------------------------------------------------------------ command line


def _describe(path, dims: Dimensions, tensor_count: int, full: bool) -> str:
    optional = ", ".join(dims.optional) or "none"
    cross = f" cross_dim={dims.cross_dim}" if dims.cross_dim is not None else ""
    return (f"OK {path}: TARQ format_version {dims.format_version}, N={dims.items} U={dims.users} d={dims.d} "
            f"heads={dims.heads} dv={dims.dv} f={dims.mlp_hidden} n_max={dims.n_max} L={dims.levels} "
            f"K={dims.codebook_size}{cross}, {tensor_count} tensors, optional: {optional}, "
            + ("contents checked" if full else "contents not checked (--full reads every byte)"))


def verify(path, full: bool = False) -> str:
    """Open ``path`` as the Java reader does (plus :func:`check_contents` when ``full``); the summary line."""
    tensors, metadata = safetensors_np.read(path)
    dims = check(tensors, metadata, path)
    check_ids(tensors, path)
    if full:
        check_contents(tensors, dims, path)
    return _describe(path, dims, len(tensors), full)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m tarq.model_file", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write a small random TARQ model")
    synth.add_argument("--out", required=True, help="the file to write")
    synth.add_argument("--items", type=int, default=200)
    synth.add_argument("--users", type=int, default=20)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--d", type=int, default=16)
    synth.add_argument("--heads", type=int, default=2)
    synth.add_argument("--dv", type=int, default=16)
    synth.add_argument("--mlp-hidden", type=int, default=32)
    synth.add_argument("--n-max", type=int, default=20)
    synth.add_argument("--levels", type=int, default=3)
    synth.add_argument("--codebook-size", type=int, default=16)
    synth.add_argument("--null-keys", action="store_true", help="add ta.attn.null_k and rq.attn.null_k")
    synth.add_argument("--ta-mlp", action="store_true", help="add the DIN teacher head ta.mlp.*")
    synth.add_argument("--item-tower", action="store_true", help="add item.mlp.* (item.vec computed by it)")
    synth.add_argument("--attributes", type=int, default=0, metavar="A", help="add A item attributes")
    synth.add_argument("--cross-dim", type=int, default=0, metavar="DX",
                       help="add the cross head of width DX (a format_version 2 file; not with --ta-mlp)")

    verify_cmd = commands.add_parser("verify", help="check a TARQ model file; one line on stdout, exit 0 if valid")
    verify_cmd.add_argument("file")
    verify_cmd.add_argument("--full", action="store_true", help="also read and check every tensor byte")

    args = parser.parse_args(argv)
    try:
        if args.command == "synth":
            tensors, metadata = synth_model(
                items=args.items, users=args.users, d=args.d, heads=args.heads, dv=args.dv,
                mlp_hidden=args.mlp_hidden, n_max=args.n_max, levels=args.levels,
                codebook_size=args.codebook_size, seed=args.seed, null_keys=args.null_keys, ta_mlp=args.ta_mlp,
                item_tower=args.item_tower, attributes=args.attributes, cross_dim=args.cross_dim,
            )
            safetensors_np.write(args.out, tensors, metadata)
            print(f"wrote {args.out}: {len(tensors)} tensors, N={args.items} U={args.users} d={args.d}")
        else:
            print(verify(args.file, full=args.full))
    except (SafetensorsError, ValueError, OSError) as e:
        print(str(e).replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
