"""The trainer's data layer (numpy and the standard library only; no torch): datasets, readers, the synthetic
generator, and the leave-one-out split with sampled negatives.

- :mod:`.dataset`: :class:`Dataset` (internal indices; user row 0 = the unknown user), :class:`DataError`.
- :mod:`.s3rec`: :func:`read_s3rec` for the S3-Rec sequence format (Amazon Beauty).
- :mod:`.movielens`: :func:`read_movielens` for MovieLens CSV directories (ml-latest-small).
- :mod:`.synthetic`: :func:`synthetic_dataset`, with planted target-attention structure.
- :mod:`.split`: :func:`leave_one_out`, :class:`Split`, :class:`Examples`.
"""

from .dataset import UNKNOWN_USER_ID, DataError, Dataset, build_dataset
from .movielens import read_movielens
from .s3rec import read_s3rec
from .split import PAD, Examples, Split, leave_one_out
from .synthetic import SyntheticTruth, synthetic_dataset

__all__ = [
    "PAD",
    "UNKNOWN_USER_ID",
    "DataError",
    "Dataset",
    "Examples",
    "Split",
    "SyntheticTruth",
    "build_dataset",
    "leave_one_out",
    "read_movielens",
    "read_s3rec",
    "synthetic_dataset",
]
