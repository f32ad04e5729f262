"""The trainer's in-memory dataset: a catalog of items with attributes, and one behaviour sequence per user.

Every reader (:mod:`.s3rec`, :mod:`.movielens`) and the synthetic generator (:mod:`.synthetic`) ends in
:func:`build_dataset`, so that all datasets share one set of conventions:

- **Items.** The catalog is the set of items that occur in at least one sequence; internal item index ``i`` is the
  rank of the external id in ascending order (``item_ids`` is sorted). An item that no user touched has no trained
  embedding and would only ever be a sampled negative, so it stays out (this also gives the documented catalog
  sizes: Beauty 12,101 items, ml-latest-small 9,724 rated movies).
- **Users.** Internal user index 0 is the model's row 0, the unknown / anonymous user: ``user_ids[0]`` is the
  sentinel :data:`UNKNOWN_USER_ID` (-1), which no real user may have, and ``sequences[0]`` is empty. Real users are
  rows 1..U-1 in ascending order of external id. So ``user_ids`` can be exported as ``user.ids`` unchanged, and
  ``len(user_ids)`` is the contract's U.
- **Sequences** hold internal item indices, oldest first.
- **Attributes** are stored CSR exactly as the model file's ``item.attr.*`` tensors (docs/model-format.md):
  item ``i`` has attribute rows ``attr_values[attr_offsets[i]:attr_offsets[i + 1]]``, indices into ``attr_ids``
  (external attribute ids, ascending). Only attributes of catalog items are kept; an item's list keeps its input
  order with repeats removed (Beauty lists one attribute twice for 5 items: a repeat would weigh double in the
  contract's mean over attributes).

Bad input files raise :class:`DataError`, one line naming the file (and the line when there is one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["UNKNOWN_USER_ID", "DataError", "Dataset", "build_dataset"]

# The external id of user row 0. Dataset ids are non-negative in both public formats, so -1 cannot be a real user;
# a file that uses it anyway is refused rather than silently merged with the unknown user.
UNKNOWN_USER_ID = -1

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class DataError(ValueError):
    """A data file that cannot be read as its format says.

    The message is one line: the file path, then ``line N`` when the fault belongs to one line, then the fault, e.g.
    ``Beauty.txt: line 17: 'abc' is not an integer item id``.
    """

    def __init__(self, path, fault: str, *, line: int | None = None):
        self.path = os.fspath(path)
        self.line = line
        self.fault = fault
        parts = [self.path] + ([f"line {line}"] if line is not None else []) + [fault]
        # Faults quote file content with repr(), so they hold no raw newline; this guards the one-line promise.
        super().__init__(": ".join(parts).replace("\n", " ").replace("\r", " "))


def show(token: str, limit: int = 40) -> str:
    """A token from a file, quoted for a message (repr escapes control characters), shortened when long."""
    return repr(token) if len(token) <= limit else repr(token[:limit]) + "..."


def in_int64(value: int) -> bool:
    return _INT64_MIN <= value <= _INT64_MAX


def read_text(path) -> str:
    """The whole file as text: UTF-8 (a leading byte-order mark is dropped); DataError when it cannot be read or
    holds nothing but white space."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(path, f"cannot open: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(path, f"not UTF-8 text (byte {e.start}: {e.reason})", line=line) from None
    if not text.strip():
        raise DataError(path, "file is empty")
    return text


@dataclass(frozen=True, eq=False)
class Dataset:
    """Items, users, behaviour sequences and item attributes, in internal indices (see the module doc).

    ``attr_names`` optionally names the attributes (MovieLens genres), aligned with ``attr_ids``.
    """

    name: str
    item_ids: np.ndarray  # int64 [I], external item ids, ascending; index = internal item index
    user_ids: np.ndarray  # int64 [U], external user ids; [0] = UNKNOWN_USER_ID, the rest ascending
    sequences: list[np.ndarray]  # U int32 arrays of internal item indices, oldest first; [0] is empty
    attr_ids: np.ndarray  # int64 [A], external attribute ids, ascending
    attr_offsets: np.ndarray  # int64 [I + 1]
    attr_values: np.ndarray  # int64 [nnz], internal attribute indices
    attr_names: list[str] | None = field(default=None, compare=False)

    def __post_init__(self):
        self.check()

    # The checks are cheap (numpy over every array once) and catch a hand-built Dataset that breaks a convention
    # the trainer relies on, e.g. a real user in row 0.
    def check(self) -> None:
        """ValueError naming the first broken invariant of the module doc."""

        def need(condition, fault):
            if not condition:
                raise ValueError(f"dataset {self.name!r}: {fault}")

        for key in ("item_ids", "user_ids", "attr_ids", "attr_offsets", "attr_values"):
            array = getattr(self, key)
            need(isinstance(array, np.ndarray) and array.dtype == np.int64 and array.ndim == 1,
                 f"{key} must be a 1-D int64 array")
        items, attrs = len(self.item_ids), len(self.attr_ids)
        need(np.all(np.diff(self.item_ids) > 0), "item_ids must be ascending and unique")
        need(len(self.user_ids) >= 1 and self.user_ids[0] == UNKNOWN_USER_ID,
             f"user_ids[0] must be the unknown user's sentinel {UNKNOWN_USER_ID}")
        need(np.all(np.diff(self.user_ids[1:]) > 0), "user_ids[1:] must be ascending and unique")
        need(not np.any(self.user_ids[1:] == UNKNOWN_USER_ID), f"a real user has the sentinel id {UNKNOWN_USER_ID}")
        need(len(self.sequences) == len(self.user_ids), "sequences must have one entry per user row")
        need(len(self.sequences[0]) == 0, "sequences[0] (the unknown user) must be empty")
        for s in self.sequences:
            need(isinstance(s, np.ndarray) and s.dtype == np.int32 and s.ndim == 1,
                 "every sequence must be a 1-D int32 array")
        flat = np.concatenate(self.sequences)
        need(flat.size == 0 or (flat.min() >= 0 and flat.max() < items), "a sequence holds an item index out of range")
        need(np.all(np.diff(self.attr_ids) > 0), "attr_ids must be ascending and unique")
        offsets = self.attr_offsets
        need(len(offsets) == items + 1 and offsets[0] == 0 and offsets[-1] == len(self.attr_values)
             and np.all(np.diff(offsets) >= 0), "attr_offsets must run from 0 to nnz, non-decreasing, [I + 1]")
        need(self.attr_values.size == 0 or (self.attr_values.min() >= 0 and self.attr_values.max() < attrs),
             "attr_values holds an attribute index out of range")
        need(self.attr_names is None or len(self.attr_names) == attrs, "attr_names must align with attr_ids")

    @property
    def num_items(self) -> int:
        """I, the catalog size (the contract's N)."""
        return len(self.item_ids)

    @property
    def num_users(self) -> int:
        """Real users, without row 0. The model's user table has ``num_users + 1`` rows."""
        return len(self.user_ids) - 1

    @property
    def num_attributes(self) -> int:
        return len(self.attr_ids)

    def item_attributes(self, item: int) -> np.ndarray:
        """Internal attribute indices of internal item ``item``."""
        return self.attr_values[self.attr_offsets[item] : self.attr_offsets[item + 1]]

    def stats(self) -> dict:
        """Counts for logs and metadata: users (real ones), items, interactions, attributes, and sequence lengths."""
        lengths = np.array([len(s) for s in self.sequences[1:]], dtype=np.int64)
        per_item = np.diff(self.attr_offsets)
        return {
            "users": self.num_users,
            "items": self.num_items,
            "interactions": int(lengths.sum()),
            "attributes": self.num_attributes,
            "attribute_values": int(len(self.attr_values)),
            "items_without_attributes": int(np.count_nonzero(per_item == 0)),
            "mean_length": float(lengths.mean()) if lengths.size else 0.0,
            "max_length": int(lengths.max()) if lengths.size else 0,
            "min_length": int(lengths.min()) if lengths.size else 0,
        }


def build_dataset(
    name: str,
    users: Sequence[int] | np.ndarray,
    sequences: Sequence[Sequence[int] | np.ndarray],
    item_attributes: Mapping[int, Sequence[int]] | None = None,
    attribute_names: Mapping[int, str] | None = None,
) -> Dataset:
    """A :class:`Dataset` from external ids: ``users[k]`` behaved ``sequences[k]`` (external item ids, oldest first).

    ``item_attributes`` maps external item id -> external attribute ids (items missing from it get none; entries for
    items outside the catalog are ignored). ``attribute_names`` maps external attribute id -> name. ValueError for a
    repeated user id or a user with the sentinel id; readers check these first to name the line.
    """
    users = np.asarray(users, dtype=np.int64).reshape(-1)
    if len(users) != len(sequences):
        raise ValueError(f"{len(users)} users but {len(sequences)} sequences")
    unique, counts = np.unique(users, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"user id {unique[np.argmax(counts > 1)]} appears more than once")
    if np.any(users == UNKNOWN_USER_ID):
        raise ValueError(f"user id {UNKNOWN_USER_ID} is reserved for the unknown user (row 0)")

    order = np.argsort(users, kind="stable")
    ext_sequences = [np.asarray(sequences[k], dtype=np.int64).reshape(-1) for k in order]
    lengths = np.array([len(s) for s in ext_sequences], dtype=np.int64)
    flat = np.concatenate(ext_sequences) if ext_sequences else np.zeros(0, np.int64)
    # np.unique sorts, which makes internal item index = rank of the external id.
    item_ids, inverse = np.unique(flat, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int32)
    # Views of one array: one allocation instead of one per user.
    split_at = np.cumsum(lengths)[:-1]
    internal = [np.zeros(0, np.int32)] + (np.split(inverse, split_at) if len(lengths) else [])

    # Attributes: deduplicate each item's list in input order, then map external attribute ids to their ranks.
    per_item: list[list[int]] = []
    item_attributes = item_attributes or {}
    for item in item_ids.tolist():
        per_item.append(list(dict.fromkeys(item_attributes.get(item, ()))))
    counts_per_item = np.array([len(a) for a in per_item], dtype=np.int64)
    ext_values = np.array([a for attrs in per_item for a in attrs], dtype=np.int64)
    attr_ids, attr_values = np.unique(ext_values, return_inverse=True)
    attr_offsets = np.concatenate([[0], np.cumsum(counts_per_item)]).astype(np.int64)
    names = None
    if attribute_names is not None:
        names = [attribute_names.get(a, str(a)) for a in attr_ids.tolist()]

    return Dataset(
        name=name,
        item_ids=item_ids.astype(np.int64),
        user_ids=np.concatenate([[UNKNOWN_USER_ID], users[order]]).astype(np.int64),
        sequences=internal,
        attr_ids=attr_ids.astype(np.int64),
        attr_offsets=attr_offsets,
        attr_values=attr_values.reshape(-1).astype(np.int64),
        attr_names=names,
    )
