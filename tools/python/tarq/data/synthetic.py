"""A synthetic dataset with planted target-attention structure, for tests and the demo.

The generative story (all randomness from one ``numpy.random.default_rng(seed)``, so a seed gives the same data):

- **Interests.** Items are dealt at random into ``interests`` latent clusters. Within a cluster the items sit on a
  ring, in random order; ring neighbours are "similar" items (think: same product line).
- **Attributes** correlate with the cluster *and* the ring: each cluster owns a share of the ``attributes`` ids
  (id ``a`` belongs to cluster ``(a - 1) % interests``), and an item's first attribute is the one owning its arc of
  the ring; with probability ``noise_attribute`` it gets a second, uniformly random attribute. (With fewer
  attributes than clusters, clusters share them.)
- **Users** each have 2..4 interests (fewer when there are fewer clusters) with Dirichlet weights, and a sequence of
  ``3 + Poisson(mean_length - 3)`` distinct items.
- **Clicks.** The first behaviour, and each later one with probability ``explore``, is *fresh*: a cluster drawn by
  the user's interest weights, then an item of it drawn by popularity (Zipf-like, random per item). Every other
  behaviour is *triggered* by one earlier behaviour ``j``, chosen with weight ``decay ** age`` (age 0 = the newest):
  the new item is a ring neighbour (distance 1..``width``) of behaviour ``j``'s item, or the nearest item of that
  ring not clicked yet.

So the next click is driven by its similarity to one specific, recent part of the history: the next item's cluster
is drawn in proportion to how recently and how often each cluster appears in the history, and within the cluster
the item is near one history item. Attending to the matching behaviour (target attention) recovers that; an
average of the history blurs 2..4 interests and their positions into one vector (two-tower).

:func:`synthetic_dataset` returns the :class:`~tarq.data.dataset.Dataset` (built like the readers', so only
clicked items are in the catalog) and a :class:`SyntheticTruth` with the latent structure, in internal indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .dataset import Dataset, build_dataset

__all__ = ["SyntheticTruth", "synthetic_dataset"]


@dataclass(frozen=True, eq=False)
class SyntheticTruth:
    """The latent structure behind a synthetic :class:`Dataset`, indexed by its internal item / user indices."""

    item_cluster: np.ndarray  # int32 [I], the latent interest cluster of each catalog item
    item_ring: np.ndarray  # int32 [I], the item's position on its cluster's ring
    ring_sizes: np.ndarray  # int32 [interests], items per cluster ring (clicked or not)
    user_interests: list[np.ndarray]  # per user row (row 0 empty): the user's clusters, int32
    user_weights: list[np.ndarray]  # per user row: their weights (sum 1), float64
    sources: list[np.ndarray]  # per user row: for behaviour t, the index j < t that triggered it, or -1 if fresh
    params: dict  # the generator's arguments

    def ring_distance(self, a, b) -> np.ndarray:
        """Distance on the ring between items ``a`` and ``b`` of the same cluster (-1 where clusters differ)."""
        a, b = np.asarray(a), np.asarray(b)
        same = self.item_cluster[a] == self.item_cluster[b]
        size = self.ring_sizes[self.item_cluster[a]]
        d = np.abs(self.item_ring[a].astype(np.int64) - self.item_ring[b])
        return np.where(same, np.minimum(d, size - d), -1)


def synthetic_dataset(
    users: int,
    items: int,
    interests: int,
    attributes: int,
    mean_length: float,
    seed: int,
    *,
    explore: float = 0.2,
    decay: float = 0.6,
    width: int = 2,
    noise_attribute: float = 0.3,
    name: str | None = None,
) -> tuple[Dataset, SyntheticTruth]:
    """Generate ``users`` sequences over ``items`` items in ``interests`` clusters (see the module doc).

    ``explore`` is the chance of a fresh click, ``decay`` the recency weight per step back of the triggering
    behaviour, ``width`` the ring distance of a triggered click. User ids are 1..users, item ids 1..items, attribute
    ids 1..attributes (only those of clicked items end up in the dataset).
    """
    if users < 1 or items < 2 or interests < 1 or attributes < 1:
        raise ValueError("synthetic_dataset needs users >= 1, items >= 2, interests >= 1, attributes >= 1")
    if items < 2 * interests:
        raise ValueError(f"{items} items cannot fill {interests} interest rings of at least 2 items")
    if not 3 <= mean_length <= items:
        raise ValueError(f"mean_length must be in [3, items], not {mean_length}")
    if not (0 <= explore <= 1 and 0 < decay <= 1 and width >= 1 and 0 <= noise_attribute <= 1):
        raise ValueError("need 0 <= explore <= 1, 0 < decay <= 1, width >= 1, 0 <= noise_attribute <= 1")
    rng = np.random.default_rng(seed)

    # Items, in generator indices g = external id - 1: a random deal into clusters, a random order on each ring.
    deal = rng.permutation(items)
    cluster_of = np.empty(items, np.int32)
    ring_of = np.empty(items, np.int32)
    rings: list[list[int]] = []
    for c in range(interests):
        members = deal[c::interests]
        cluster_of[members] = c
        ring_of[members] = np.arange(len(members))
        rings.append(members.tolist())
    # Zipf-like popularity in random item order, so popularity says nothing about the ring position.
    popularity = 1.0 / (1.0 + rng.permutation(items)) ** 0.8
    ring_cdf = [np.cumsum(popularity[r]) / popularity[r].sum() for r in rings]

    owned = [[a for a in range(1, attributes + 1) if (a - 1) % interests == c] or [c % attributes + 1]
             for c in range(interests)]
    item_attributes: dict[int, list[int]] = {}
    noise = rng.random(items) < noise_attribute
    noise_ids = rng.integers(1, attributes + 1, size=items)
    for g in range(items):
        own = owned[cluster_of[g]]
        arc = own[ring_of[g] * len(own) // len(rings[cluster_of[g]])]
        item_attributes[g + 1] = [arc, int(noise_ids[g])] if noise[g] else [arc]

    low, high = min(2, interests), min(4, interests)
    user_interests, user_weights, sequences, sources = [], [], [], []
    log_decay = math.log(decay) if decay < 1 else 0.0
    for _ in range(users):
        k = int(rng.integers(low, high + 1))
        chosen = rng.choice(interests, size=k, replace=False).astype(np.int32)
        weights = rng.dirichlet(np.full(k, 2.0))  # alpha 2: no interest is negligible
        length = min(items, 3 + int(rng.poisson(mean_length - 3)))
        draws = rng.random((length, 4))  # per step: fresh?, source age, cluster / offset, item
        seq, src = _user_sequence(length, draws, chosen, weights, rings, ring_cdf, cluster_of, ring_of,
                                  explore, decay, log_decay, width)
        user_interests.append(chosen)
        user_weights.append(weights)
        sequences.append(seq)
        sources.append(np.array(src, np.int32))

    dataset = build_dataset(name or f"synthetic-{seed}", np.arange(1, users + 1), [np.array(s) + 1 for s in sequences],
                            item_attributes)
    g = dataset.item_ids - 1  # generator index of each catalog item
    truth = SyntheticTruth(
        item_cluster=cluster_of[g],
        item_ring=ring_of[g],
        ring_sizes=np.array([len(r) for r in rings], np.int32),
        user_interests=[np.zeros(0, np.int32)] + user_interests,
        user_weights=[np.zeros(0)] + user_weights,
        sources=[np.zeros(0, np.int32)] + sources,
        params=dict(users=users, items=items, interests=interests, attributes=attributes, mean_length=mean_length,
                    seed=seed, explore=explore, decay=decay, width=width, noise_attribute=noise_attribute),
    )
    return dataset, truth


def _user_sequence(length, draws, chosen, weights, rings, ring_cdf, cluster_of, ring_of, explore, decay, log_decay,
                   width):
    """One user's items (generator indices) and, per behaviour, the index of the behaviour that triggered it."""
    seq: list[int] = []
    src: list[int] = []
    clicked: set[int] = set()
    interest_cdf = np.cumsum(weights)
    for t in range(length):
        u_fresh, u_age, u_pick, u_item = draws[t]
        item = -1
        if t > 0 and u_fresh >= explore:
            # Age with P(age) ∝ decay**age on 0..t-1, by inverting its CDF (no O(t) weight vector per step).
            if log_decay:
                age = int(math.log(1 - u_age * (1 - decay**t)) / log_decay)
            else:
                age = int(u_age * t)
            j = t - 1 - min(age, t - 1)
            base = seq[j]
            ring = rings[cluster_of[base]]
            offset = 1 + int(u_pick * width)
            item = _nearest_free(ring, ring_of[base], offset if u_item < 0.5 else -offset, clicked)
            if item >= 0:
                src.append(j)
        if item < 0:
            # Fresh: interest cluster by weight, then an item by popularity; the ring's nearest free item if taken.
            c = int(chosen[min(int(np.searchsorted(interest_cdf, u_pick * interest_cdf[-1], side="right")),
                               len(chosen) - 1)])
            start = int(np.searchsorted(ring_cdf[c], u_item, side="right"))
            item = _nearest_free(rings[c], min(start, len(rings[c]) - 1), 0, clicked)
            if item < 0:  # the user's clusters are exhausted: any free item
                item = next(g for g in range(len(cluster_of)) if g not in clicked)
            src.append(-1)
        seq.append(item)
        clicked.add(item)
    return seq, src


def _nearest_free(ring: list[int], position: int, offset: int, clicked: set[int]) -> int:
    """The item at ``position + offset`` on the ring if not clicked, else the nearest free one around it; -1 if the
    ring is full. A non-zero offset never returns the item at ``position`` itself."""
    size = len(ring)
    target = (position + offset) % size
    for step in range(size):
        for candidate in ((target + step) % size, (target - step) % size):
            if candidate != position or offset == 0:
                item = ring[candidate]
                if item not in clicked:
                    return item
    return -1
