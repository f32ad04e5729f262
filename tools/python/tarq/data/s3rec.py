"""Reader for the S3-Rec sequence format (Amazon Beauty, or any file like it).

Sequences file: one line per user, ``user_id item_1 ... item_n``, integers separated by white space, items oldest
first. Blank lines are skipped; a line with a user id and no item, a repeated user id, or a token that is not an
integer is an error. Attributes file (optional): one JSON object ``{"<item_id>": [attr_id, ...], ...}``.

Decisions (the format does not say):

- The catalog is the items of the sequences file. Items that appear only in the attributes file are left out (they
  would have no interaction to train on), but their entries are still checked.
- Items without an entry in the attributes file have no attributes. Brand and category ids share one id space in
  Beauty, so all attribute ids are treated alike.
- A user may repeat an item (a re-purchase is a behaviour); Beauty has no repeats.
"""

from __future__ import annotations

import json
import os
import re

from .dataset import DataError, Dataset, UNKNOWN_USER_ID, build_dataset, in_int64, read_text, show

__all__ = ["read_s3rec", "read_s3rec_attributes"]

# ASCII digits only: int() would also take '+5', '1_000' and non-ASCII digits, which no writer of this format emits.
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_LINE = re.compile(r"[ \t]*-?[0-9]+(?:[ \t]+-?[0-9]+)*[ \t]*", re.ASCII)


def read_s3rec(sequences_path, attributes_path=None, name: str | None = None) -> Dataset:
    """Read an S3-Rec sequences file (and its item-attributes JSON). ``name`` defaults to the file's stem
    (``Beauty.txt`` -> ``Beauty``). Raises :class:`DataError` for a missing, empty or malformed file."""
    users, sequences = _read_sequences(sequences_path)
    attributes = read_s3rec_attributes(attributes_path) if attributes_path is not None else None
    if name is None:
        name = os.path.splitext(os.path.basename(os.fspath(sequences_path)))[0]
    return build_dataset(name, users, sequences, attributes)


def _read_sequences(path) -> tuple[list[int], list[list[int]]]:
    text = read_text(path)
    users: list[int] = []
    sequences: list[list[int]] = []
    first_line: dict[int, int] = {}  # user id -> line it was first seen on, for the duplicate message
    # split("\n") rather than splitlines(): the latter also breaks at \x0b, \x1c, ... and would shift line numbers.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if not _LINE.fullmatch(line):
            tokens = line.split()
            bad = next((k for k, t in enumerate(tokens) if not _INTEGER.fullmatch(t)), None)
            if bad is None:  # only unusual white space (e.g. a form feed) between integers
                raise DataError(path, "integers must be separated by spaces or tabs", line=number)
            what = "user id" if bad == 0 else "item id"
            raise DataError(path, f"{show(tokens[bad])} is not an integer {what}", line=number)
        values = [int(t) for t in line.split()]
        if not all(in_int64(v) for v in (min(values), max(values))):
            raise DataError(path, "an id does not fit in 64 bits", line=number)
        user, items = values[0], values[1:]
        if user == UNKNOWN_USER_ID:
            raise DataError(path, f"user id {UNKNOWN_USER_ID} is reserved for the unknown user", line=number)
        if not items:
            raise DataError(path, f"user {user} has no items", line=number)
        if user in first_line:
            raise DataError(path, f"user {user} appears again (first on line {first_line[user]})", line=number)
        first_line[user] = number
        users.append(user)
        sequences.append(items)
    return users, sequences


class _Pairs(list):
    """A JSON object as its (key, value) pairs, so that a repeated key can be reported instead of silently kept."""


def read_s3rec_attributes(path) -> dict[int, list[int]]:
    """The attributes JSON as {external item id: [external attribute ids]}; DataError when malformed."""
    text = read_text(path)
    try:
        root = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise DataError(path, f"not valid JSON: {e.msg} (column {e.colno})", line=e.lineno) from None
    except (ValueError, RecursionError) as e:  # NaN/Infinity, a 4300+ digit number, absurd nesting
        raise DataError(path, f"not valid JSON: {e}") from None
    if not isinstance(root, _Pairs):
        raise DataError(path, "expected a JSON object {\"item_id\": [attribute ids]}")
    attributes: dict[int, list[int]] = {}
    for key, value in root:
        if not _INTEGER.fullmatch(key):
            raise DataError(path, f"key {show(key)} is not an integer item id")
        item = int(key)
        if item in attributes:
            raise DataError(path, f"item {item} appears twice")
        if not isinstance(value, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in value):
            found = show(json.dumps(value))
            raise DataError(path, f"item {item}: attributes must be a list of integers, found {found}")
        if not (in_int64(item) and all(in_int64(a) for a in value)):
            raise DataError(path, f"item {item}: an id does not fit in 64 bits")
        attributes[item] = value
    return attributes


def _reject_constant(name: str):
    # Python's json accepts NaN and Infinity, which strict JSON does not.
    raise ValueError(f"{name} is not JSON")
