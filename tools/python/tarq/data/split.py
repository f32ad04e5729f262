"""Leave-one-out split per user, training examples from sequence prefixes, and sampled negatives.

Protocol:

- **Split.** For a user with n >= 3 behaviours: the last behaviour is the test target, the one before it the
  validation target, ``sequence[:n-2]`` the training sequence. A user with fewer than 3 behaviours has too little
  to evaluate on and goes to training only (the whole sequence); neither public dataset has such users.
- **Training examples** are the prefixes of each training sequence: for every position t >= 1 one row with history
  ``seq[max(0, t - n_max):t]`` and the positive ``seq[t]``, plus ``negatives_per_positive`` sampled negatives.
  The default is 4: the S3-Rec README's 1:1 is the least, and since a row's candidates share its history (the
  expensive part of TA), more negatives per row buy the BCE loss more contrast at little cost. Rows come user by
  user, t ascending (the trainer shuffles). :meth:`Split.training` can be called again with a new seed to resample
  the negatives (e.g. per epoch).
- **Evaluation** (validation and test): one row per user with the target and ``eval_negatives`` (99) sampled
  negatives; the history is everything before the target, the newest ``n_max`` kept. So the test history includes
  the validation target.
- **Negatives** are items the user never touched anywhere in the full sequence (so a validation or test target is
  never a training negative), distinct within a row, uniform over the rest of the catalog.
- **Portable evaluation negatives.** Validation and test negatives come from the SplitMix64 sampler of
  :mod:`.portable`, which the Java engine reproduces (``./tarq eval`` scores the same candidates as the trainer);
  training negatives from numpy (vectorized; only the trainer needs them).
- **Seeds.** Evaluation negatives depend only on ``leave_one_out``'s ``seed`` (default 0), training negatives only
  on ``training``'s: keep the first fixed and vary the second across training runs, and every run is scored on the
  same test candidates. Validation, test and training draw from separate streams, so changing one never moves
  another. Same seed, same arrays.

Arrays are grouped per row, the compact form: :class:`Examples` holds one history per row and the row's
candidates, column 0 the positive. ``histories`` is right-aligned (left-padded with :data:`PAD`): column ``c``
holds the behaviour at recency ``n_max - 1 - c``, i.e. the newest behaviour is always in the last column, which
is the contract's ``seq.pos`` row 0 (``X_j = e_{b_j} + P[n - j]``); so ``P`` applies column-wise as
``P[::-1]`` and the valid columns are ``c >= n_max - length``. An evaluation row is one user: a GAUC group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dataset import Dataset
from .portable import portable_negatives

__all__ = ["PAD", "Examples", "Split", "leave_one_out"]

PAD = -1  # history padding: not an item index, so a missed mask fails loudly (an embedding lookup of -1 raises)

# Stream numbers for np.random.default_rng([seed, stream]): independent streams per purpose.
_VALIDATION, _TEST, _TRAINING = 1, 2, 3


@dataclass(frozen=True, eq=False)
class Examples:
    """Rows of (user, history) with their candidates. E rows, C candidates per row (column 0 = the positive)."""

    users: np.ndarray  # int32 [E], internal user index (>= 1)
    histories: np.ndarray  # int32 [E, n_max], right-aligned, PAD-filled on the left
    lengths: np.ndarray  # int32 [E], behaviours in the history, 0..n_max
    candidates: np.ndarray  # int32 [E, C], internal item indices
    labels: np.ndarray  # float32 [E, C], 1 for column 0, else 0

    def __len__(self) -> int:
        return len(self.users)

    @property
    def n_max(self) -> int:
        return self.histories.shape[1]

    def history(self, row: int) -> np.ndarray:
        """The unpadded history of ``row``, oldest first."""
        return self.histories[row, self.n_max - self.lengths[row] :]

    def mask(self) -> np.ndarray:
        """bool [E, n_max], True where ``histories`` holds a behaviour."""
        return np.arange(self.n_max)[None, :] >= (self.n_max - self.lengths)[:, None]

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pointwise form: (rows, candidates, labels), each [E·C]; ``rows`` indexes ``users`` / ``histories`` and is
        the GAUC group of an evaluation set (one row per user)."""
        per_row = self.candidates.shape[1]
        rows = np.repeat(np.arange(len(self), dtype=np.int64), per_row)
        return rows, self.candidates.reshape(-1), self.labels.reshape(-1)


class _Rows:
    """What building rows needs, shared by the evaluation sets and every call of :meth:`Split.training`."""

    def __init__(self, dataset: Dataset, n_max: int):
        self.dataset = dataset
        self.n_max = n_max
        sequences = dataset.sequences
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        # Each user's sequence behind n_max PADs, all users end to end. In a user's block, position n_max + t holds
        # sequence[t] and the n_max positions before it are exactly the right-aligned history sequence[:t] cut to
        # its newest n_max, PAD-filled: one sliding-window view gives every history, and no [E, n_max] index
        # matrix is ever built.
        self.padded = np.concatenate(
            [np.zeros(0, np.int32)] + [np.concatenate([np.full(n_max, PAD, np.int32), s]) for s in sequences])
        self.block_starts = np.concatenate([[0], np.cumsum(lengths + n_max)[:-1]]).astype(np.int64)
        items = np.int64(dataset.num_items)
        keys = np.concatenate([np.zeros(0, np.int64)] + [u * items + s for u, s in enumerate(sequences)])
        self.touched = np.unique(keys)  # sorted user * I + item keys of every (user, item) pair
        self.untouched = items - np.bincount(self.touched // max(items, 1), minlength=len(sequences))

    def build(self, users: np.ndarray, positions: np.ndarray, negatives: int, rng, portable=None) -> Examples:
        """Rows for (user, t): history = sequence[:t] (newest n_max), positive = sequence[t]. Negatives from numpy's
        ``rng``, or with ``portable`` = (seed, split) from the sampler Java reproduces (:mod:`.portable`)."""
        windows = np.lib.stride_tricks.sliding_window_view(self.padded, self.n_max)
        at = self.block_starts[users] + positions
        histories = windows[at]  # fancy indexing copies: [E, n_max] int32
        positives = self.padded[at + self.n_max]
        if portable is None:
            sampled = _sample_negatives(rng, users, negatives, self.touched, self.untouched, self.dataset)
        else:
            _check_room(users, negatives, self.untouched, self.dataset)
            sequences = self.dataset.sequences
            sampled = portable_negatives(portable[0], portable[1], users, negatives,
                                         lambda u: set(sequences[u].tolist()), self.dataset.num_items)
        candidates = np.concatenate([positives[:, None], sampled], axis=1)
        labels = np.zeros(candidates.shape, np.float32)
        labels[:, 0] = 1
        lengths = np.minimum(positions, self.n_max).astype(np.int32)
        return Examples(users.astype(np.int32), histories, lengths, candidates, labels)


@dataclass(frozen=True, eq=False)
class Split:
    """A leave-one-out split of a :class:`Dataset`: the evaluation sets, and the training sequences
    (``dataset.sequences[u][:train_lengths[u]]``) from which :meth:`training` builds the training rows."""

    dataset: Dataset
    n_max: int
    train_lengths: np.ndarray  # int64 [U]; row 0 (the unknown user) has 0
    validation: Examples
    test: Examples
    _rows: _Rows = field(repr=False, compare=False)

    def train_sequence(self, user: int) -> np.ndarray:
        return self.dataset.sequences[user][: self.train_lengths[user]]

    def training(self, negatives_per_positive: int = 4, seed: int = 0) -> Examples:
        """Training rows: every prefix of every training sequence, with ``negatives_per_positive`` negatives."""
        if negatives_per_positive < 0:
            raise ValueError("negatives_per_positive must be >= 0")
        counts = np.maximum(self.train_lengths - 1, 0)  # positions t = 1 .. train_length - 1
        users = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        # t for each row: 1, 2, ... restarting per user (row number minus the user's first row number, plus 1).
        first_row = np.repeat(np.cumsum(counts) - counts, counts)
        positions = np.arange(len(users), dtype=np.int64) - first_row + 1
        return self._rows.build(users, positions, negatives_per_positive, np.random.default_rng([seed, _TRAINING]))

    def stats(self) -> dict:
        return {
            "n_max": self.n_max,
            "train_positives": int(np.maximum(self.train_lengths - 1, 0).sum()),
            "validation_users": len(self.validation),
            "test_users": len(self.test),
            "eval_candidates": int(self.test.candidates.shape[1]),
        }


def leave_one_out(dataset: Dataset, n_max: int = 50, eval_negatives: int = 99, seed: int = 0) -> Split:
    """Split ``dataset`` per user (see the module doc) and sample the validation and test negatives.

    ``n_max`` is the longest history kept (the model's ``n_max``; the contract's requests have n <= 50, its cap is
    100). ValueError when an evaluated user has touched so much of the catalog that ``eval_negatives`` distinct
    untouched items do not exist.
    """
    if n_max < 1:
        raise ValueError("n_max must be >= 1")
    if eval_negatives < 0:
        raise ValueError("eval_negatives must be >= 0")
    lengths = np.array([len(s) for s in dataset.sequences], dtype=np.int64)
    evaluated = lengths >= 3
    train_lengths = np.where(evaluated, lengths - 2, lengths)
    rows = _Rows(dataset, n_max)
    eval_users = np.flatnonzero(evaluated)
    validation = rows.build(eval_users, lengths[eval_users] - 2, eval_negatives, None, portable=(seed, _VALIDATION))
    test = rows.build(eval_users, lengths[eval_users] - 1, eval_negatives, None, portable=(seed, _TEST))
    return Split(dataset, n_max, train_lengths, validation, test, rows)


def _check_room(users, k: int, untouched, dataset: Dataset) -> None:
    """ValueError naming the first user with fewer than k untouched items."""
    short = np.flatnonzero(untouched[users] < k) if k else np.zeros(0, np.int64)
    if short.size:
        u = int(users[short[0]])
        raise ValueError(f"dataset {dataset.name!r}: user {dataset.user_ids[u]} (row {u}) touched "
                         f"{dataset.num_items - untouched[u]} of {dataset.num_items} items: fewer than {k} "
                         "are left to sample as negatives")


def _sample_negatives(rng, users, k: int, touched, untouched, dataset: Dataset) -> np.ndarray:
    """int32 [len(users), k]: per row, k distinct items the row's user never touched, uniform over those items.

    Draws a block of uniform items per row and keeps the first k that are untouched and not seen earlier in the
    row: exactly sequential sampling without replacement. Rows that come up short draw again with a bigger block.
    """
    rows = len(users)
    out = np.empty((rows, k), np.int32)
    if k == 0 or rows == 0:
        return out
    _check_room(users, k, untouched, dataset)
    items = dataset.num_items
    pending = np.arange(rows)
    # Enough draws that nearly every row is done in one round: k over the lowest acceptance rate among the rows
    # (untouched share of the catalog), a quarter more for repeats and bad luck. Shorter rows are redrawn anyway.
    block = int(k * items / untouched[users].min() * 1.25) + 8
    while pending.size:
        u = users[pending].astype(np.int64)
        draws = rng.integers(0, items, size=(pending.size, block))
        keys = u[:, None] * items + draws
        at = np.minimum(np.searchsorted(touched, keys), max(len(touched) - 1, 0))
        hit = touched[at] == keys if len(touched) else np.zeros(keys.shape, bool)
        # Repeats within a row: a stable sort keeps equal draws in draw order, so all but the first are repeats.
        order = np.argsort(draws, axis=1, kind="stable")
        ordered = np.take_along_axis(draws, order, axis=1)
        repeat_sorted = np.zeros(draws.shape, bool)
        repeat_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        repeat = np.empty_like(repeat_sorted)
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        good = ~hit & ~repeat
        taken = np.cumsum(good, axis=1)
        done = taken[:, -1] >= k
        keep = good & (taken <= k) & done[:, None]
        out[pending[done]] = draws[keep].reshape(-1, k)  # row-major: each row's first k good draws, in order
        pending = pending[~done]
        block *= 2
    return out
