"""tarq.data: the S3-Rec and MovieLens readers, their errors, the leave-one-out split and the synthetic generator."""

import json
import subprocess
import sys
import os
from pathlib import Path

import numpy as np
import pytest

from tarq.data import (
    PAD,
    UNKNOWN_USER_ID,
    DataError,
    Dataset,
    build_dataset,
    leave_one_out,
    read_movielens,
    read_s3rec,
    synthetic_dataset,
)

# The public datasets are never in the repository: $TARQ_DATA names the directory that holds them (the $DATA of
# docs/results.md); without it the tests on real data skip.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TARQ_DATA", "/nonexistent-tarq-data"))
BEAUTY = DATA / "amazon-s3rec"
MOVIELENS = DATA / "movielens-latest-small"


def write(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def error(call, *args, **kwargs) -> str:
    """The DataError message of ``call``, checked to be one line."""
    with pytest.raises(DataError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return message


def test_the_data_layer_does_not_import_torch():
    # The readers and the split must run where torch is absent (a fresh interpreter: pytest may have loaded it).
    code = "import sys, tarq.data; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=PACKAGE_ROOT).returncode == 0


# ------------------------------------------------------------------------------------------------------------ S3-Rec

SEQUENCES = "3 30 10 20\n1 10 20 30 40\n\n2 20\t50\n"  # users out of order, a blank line, a tab
ATTRIBUTES = {"10": [7, 5], "20": [5], "30": [], "40": [9, 7, 9], "99": [1]}  # 50 has none; 99 is not in a sequence


@pytest.fixture
def s3rec_files(tmp_path):
    sequences = write(tmp_path / "Tiny.txt", SEQUENCES, newline="\r\n")
    attributes = write(tmp_path / "Tiny_item2attributes.json", json.dumps(ATTRIBUTES))
    return sequences, attributes


def test_s3rec_reads_sequences_and_attributes(s3rec_files):
    d = read_s3rec(*s3rec_files)
    assert d.name == "Tiny"
    assert d.user_ids.tolist() == [UNKNOWN_USER_ID, 1, 2, 3]  # row 0 reserved, then ascending external ids
    assert d.item_ids.tolist() == [10, 20, 30, 40, 50]  # only items of the sequences, ascending
    assert [s.tolist() for s in d.sequences] == [[], [0, 1, 2, 3], [1, 4], [2, 0, 1]]  # file order kept
    assert all(s.dtype == np.int32 for s in d.sequences)
    # Attribute 1 belongs only to item 99, outside the catalog: dropped. Item 40's repeated 9 counted once.
    assert d.attr_ids.tolist() == [5, 7, 9]
    assert d.attr_offsets.tolist() == [0, 2, 3, 3, 5, 5]
    assert d.attr_values.tolist() == [1, 0, 0, 2, 1]
    assert d.item_attributes(0).tolist() == [1, 0]  # input order kept: 7 then 5
    assert d.attr_offsets.dtype == d.attr_values.dtype == d.attr_ids.dtype == np.int64
    assert d.stats() == {
        "users": 3, "items": 5, "interactions": 9, "attributes": 3, "attribute_values": 5,
        "items_without_attributes": 2, "mean_length": 3.0, "max_length": 4, "min_length": 2,
    }


def test_s3rec_without_attributes_and_with_a_name(s3rec_files):
    d = read_s3rec(s3rec_files[0], name="mine")
    assert d.name == "mine"
    assert d.num_attributes == 0 and d.attr_offsets.tolist() == [0] * 6


def test_s3rec_bad_sequences(tmp_path):
    path = tmp_path / "Beauty.txt"
    good = "".join(f"{u} {u + 1} {u + 2}\n" for u in range(1, 17))

    write(path, good + "17 4 abc 5\n")
    assert error(read_s3rec, path) == f"{path}: line 17: 'abc' is not an integer item id"
    write(path, "x1 2 3\n")
    assert error(read_s3rec, path) == f"{path}: line 1: 'x1' is not an integer user id"
    write(path, "1 2 3.5\n")
    assert "line 1: '3.5' is not an integer item id" in error(read_s3rec, path)
    write(path, "1 2 +3\n")  # int() would take it; the format's writers never emit a sign
    assert "'+3' is not an integer item id" in error(read_s3rec, path)
    write(path, "1 2 3\n2\n")
    assert error(read_s3rec, path) == f"{path}: line 2: user 2 has no items"
    write(path, "1 2 3\n\n1 4 5\n")
    assert error(read_s3rec, path) == f"{path}: line 3: user 1 appears again (first on line 1)"
    write(path, "-1 2 3\n")
    assert "line 1: user id -1 is reserved for the unknown user" in error(read_s3rec, path)
    write(path, "1 2 99999999999999999999\n")
    assert "line 1: an id does not fit in 64 bits" in error(read_s3rec, path)
    path.write_bytes(b"1 2 3\n1 \xff\n")
    assert error(read_s3rec, path).startswith(f"{path}: line 2: not UTF-8 text")


@pytest.mark.parametrize("content", ["", "\n \n"])
def test_s3rec_empty_file(tmp_path, content):
    path = write(tmp_path / "Empty.txt", content)
    assert error(read_s3rec, path) == f"{path}: file is empty"


def test_s3rec_missing_files(tmp_path, s3rec_files):
    missing = tmp_path / "nope.txt"
    assert error(read_s3rec, missing) == f"{missing}: cannot open: No such file or directory"
    assert error(read_s3rec, s3rec_files[0], missing).startswith(f"{missing}: cannot open")


@pytest.mark.parametrize("content, fault", [
    ('{"1": [1, 2],\n "2": [3,]}', "line 2: not valid JSON: "),
    ("", "file is empty"),
    ("[1, 2]", 'expected a JSON object {"item_id": [attribute ids]}'),
    ('{"a": [1]}', "key 'a' is not an integer item id"),
    ('{"1": [1], "1": [2]}', "item 1 appears twice"),
    ('{"1": 5}', "item 1: attributes must be a list of integers, found '5'"),
    ('{"1": ["x"]}', "item 1: attributes must be a list of integers"),
    ('{"1": [true]}', "item 1: attributes must be a list of integers"),
    ('{"1": [NaN]}', "not valid JSON: NaN is not JSON"),
])
def test_s3rec_bad_attributes(tmp_path, s3rec_files, content, fault):
    path = write(tmp_path / "attrs.json", content)
    assert error(read_s3rec, s3rec_files[0], path).startswith(f"{path}: {fault}")


# --------------------------------------------------------------------------------------------------------- MovieLens

RATINGS = """userId,movieId,rating,timestamp
1,9,4.0,100
1,3,3.0,200
1,5,5.0,100
1,7,2.5,50
2,3,4.5,50
2,5,2.0,40
4,7,1.0,10
4,77,2.0,20
"""
MOVIES = """movieId,title,genres
3,"Three, The (1999)",Drama|Comedy
5,Five (2001),(no genres listed)
7,Seven (1995),Thriller|Crime|Drama
9,"Nine ""quoted"" (2000)",Comedy
11,Never Rated (2010),Western
"""


def movielens_dir(tmp_path, ratings=RATINGS, movies=MOVIES) -> Path:
    directory = tmp_path / "ml-tiny"
    directory.mkdir(exist_ok=True)
    if ratings is not None:
        write(directory / "ratings.csv", ratings, newline="\r\n")  # CRLF, as the official files
    if movies is not None:
        write(directory / "movies.csv", movies, newline="\r\n")
    return directory


def test_movielens_reads_ratings_and_genres(tmp_path):
    d = read_movielens(movielens_dir(tmp_path))
    assert d.name == "ml-tiny"
    assert d.user_ids.tolist() == [UNKNOWN_USER_ID, 1, 2, 4]
    assert d.item_ids.tolist() == [3, 5, 7, 9, 77]  # rated movies only: 11 is in movies.csv but never rated
    external = [d.item_ids[s].tolist() for s in d.sequences]
    # By timestamp; user 1's tie at 100 keeps the file order (9 before 5), not movieId order.
    assert external == [[], [7, 9, 5, 3], [5, 3], [7, 77]]
    # Genre ids are 1.. in sorted name order over the whole movies.csv (Western of the unrated movie included),
    # and only genres of catalog movies are kept.
    names = ["Comedy", "Crime", "Drama", "Thriller", "Western"]
    assert d.attr_ids.tolist() == [1, 2, 3, 4]
    assert d.attr_names == names[:4]
    genres = [[d.attr_names[a] for a in d.item_attributes(i)] for i in range(d.num_items)]
    assert genres == [["Drama", "Comedy"], [], ["Thriller", "Crime", "Drama"], ["Comedy"], []]  # 77: not in movies


def test_movielens_min_rating(tmp_path):
    d = read_movielens(movielens_dir(tmp_path), min_rating=4.0)
    assert d.name == "ml-tiny:rating>=4"
    assert d.user_ids.tolist() == [UNKNOWN_USER_ID, 1, 2]  # user 4 rated nothing >= 4: gone
    assert d.item_ids.tolist() == [3, 5, 9]
    assert [d.item_ids[s].tolist() for s in d.sequences] == [[], [9, 5], [3]]
    assert error(read_movielens, movielens_dir(tmp_path), min_rating=6).endswith("ratings.csv: no rating is >= 6")


def test_movielens_missing_files(tmp_path):
    missing = tmp_path / "none"
    assert error(read_movielens, missing) == f"{missing}: no such directory"
    directory = movielens_dir(tmp_path, movies=None)
    assert error(read_movielens, directory) == f"{directory / 'movies.csv'}: cannot open: No such file or directory"
    (directory / "ratings.csv").unlink()
    assert error(read_movielens, directory).startswith(f"{directory / 'ratings.csv'}: cannot open")
    assert error(read_movielens, directory / "x").endswith("no such directory")


@pytest.mark.parametrize("ratings, fault", [
    ("", "file is empty"),
    ("userId,movieId,rating,timestamp\n", "no ratings after the header"),
    ("user,movie,rating,timestamp\n1,2,3,4\n",
     "line 1: expected the header 'userId,movieId,rating,timestamp', found 'user,movie,rating,timestamp'"),
    ("userId,movieId,rating,timestamp\n1,2,3.0,4\n1,2,3.0\n",
     "line 3: expected 4 fields (userId,movieId,rating,timestamp), found 3"),
    ("userId,movieId,rating,timestamp\n1,2,3.0,4\nabc,2,3.0,4\n", "line 3: 'abc' is not an integer userId"),
    ("userId,movieId,rating,timestamp\n1,2.5,3.0,4\n", "line 2: '2.5' is not an integer movieId"),
    ("userId,movieId,rating,timestamp\n1,2,good,4\n", "line 2: 'good' is not a rating (a finite number)"),
    ("userId,movieId,rating,timestamp\n1,2,nan,4\n", "line 2: 'nan' is not a rating (a finite number)"),
    ("userId,movieId,rating,timestamp\n1,2,3.0,4.5\n", "line 2: '4.5' is not an integer timestamp"),
    ("userId,movieId,rating,timestamp\n-1,2,3.0,4\n", "line 2: userId -1 is reserved for the unknown user"),
    ('userId,movieId,rating,timestamp\n1,2,3.0,4\n1,"3"x,3.0,4\n', "line 3: not valid CSV: "),
])
def test_movielens_bad_ratings(tmp_path, ratings, fault):
    directory = movielens_dir(tmp_path, ratings=ratings)
    assert error(read_movielens, directory).startswith(f"{directory / 'ratings.csv'}: {fault}")


@pytest.mark.parametrize("movies, fault", [
    ("", "file is empty"),
    ("movieId,title,genres\n", "no movies after the header"),
    ("movieId,title\n3,x\n", "line 1: expected the header 'movieId,title,genres', found 'movieId,title'"),
    ("movieId,title,genres\n3,A (1999),Drama\n3,B (2000),Comedy\n", "line 3: movieId 3 appears twice"),
    ("movieId,title,genres\n3,A, (1999),Drama\n", "line 2: expected 3 fields (movieId,title,genres), found 4"),
    ("movieId,title,genres\nthree,A (1999),Drama\n", "line 2: 'three' is not an integer movieId"),
])
def test_movielens_bad_movies(tmp_path, movies, fault):
    directory = movielens_dir(tmp_path, movies=movies)
    assert error(read_movielens, directory).startswith(f"{directory / 'movies.csv'}: {fault}")


# ----------------------------------------------------------------------------------------------------------- Dataset


def test_user_row_zero_is_reserved():
    d = build_dataset("t", [7, 5], [[1, 2], [2]])
    assert d.user_ids.tolist() == [UNKNOWN_USER_ID, 5, 7] and d.num_users == 2
    assert d.sequences[0].size == 0
    with pytest.raises(ValueError, match="reserved for the unknown user"):
        build_dataset("t", [UNKNOWN_USER_ID], [[1]])
    with pytest.raises(ValueError, match="appears more than once"):
        build_dataset("t", [3, 3], [[1], [2]])
    # A hand-built Dataset must keep the convention too.
    fields = dict(name="t", item_ids=d.item_ids, user_ids=d.user_ids.copy(), sequences=d.sequences,
                  attr_ids=d.attr_ids, attr_offsets=d.attr_offsets, attr_values=d.attr_values)
    fields["user_ids"][0] = 0
    with pytest.raises(ValueError, match="sentinel"):
        Dataset(**fields)


# ------------------------------------------------------------------------------------------------------------- split


def small_dataset():
    """40 users of lengths 1..12 over 300 items (rows 1 and 2, of lengths 1 and 2, are too short to evaluate),
    each sequence repeat-free; the catalog is large enough for 99 negatives."""
    rng = np.random.default_rng(5)
    users = np.arange(101, 141)
    sequences = [rng.choice(np.arange(1000, 1300), size=1 + k % 12, replace=False) for k in range(40)]
    return build_dataset("small", users, sequences)


def test_split_evaluation_rows():
    d = small_dataset()
    s = leave_one_out(d, n_max=4, eval_negatives=99, seed=3)
    evaluated = [u for u in range(1, len(d.sequences)) if len(d.sequences[u]) >= 3]
    for examples, back in ((s.validation, 2), (s.test, 1)):
        assert examples.users.tolist() == evaluated  # one row per evaluated user: a GAUC group
        assert examples.candidates.shape == (len(evaluated), 100)
        assert examples.labels[:, 0].tolist() == [1.0] * len(evaluated) and examples.labels[:, 1:].sum() == 0
        for row, u in enumerate(examples.users):
            seq = d.sequences[u]
            target = len(seq) - back
            assert examples.candidates[row, 0] == seq[target]
            negatives = examples.candidates[row, 1:]
            assert len(set(negatives.tolist())) == 99  # distinct
            assert not set(negatives.tolist()) & set(seq.tolist())  # never touched by the user
            # History: everything before the target, newest n_max kept, right-aligned behind PAD.
            assert examples.history(row).tolist() == seq[max(0, target - 4) : target].tolist()
            assert examples.lengths[row] == min(target, 4)
            assert (examples.histories[row, : 4 - examples.lengths[row]] == PAD).all()
    rows, candidates, labels = s.test.flat()
    assert rows.shape == candidates.shape == labels.shape == (len(evaluated) * 100,)
    assert (rows[:100] == 0).all() and candidates[100] == s.test.candidates[1, 0] and labels.sum() == len(evaluated)
    assert s.test.mask().sum() == s.test.lengths.sum()


def test_split_training_rows_are_strict_prefixes_of_the_training_part():
    d = small_dataset()
    s = leave_one_out(d, n_max=4, seed=0)
    train = s.training(negatives_per_positive=4, seed=1)
    assert train.candidates.shape == (len(train), 5) and train.histories.shape == (len(train), 4)
    seen = []
    for row in range(len(train)):
        u = int(train.users[row])
        seq = d.sequences[u]
        part = seq if len(seq) < 3 else seq[:-2]  # short users train on everything
        assert s.train_sequence(u).tolist() == part.tolist()
        t = int(np.flatnonzero(part == train.candidates[row, 0])[0])  # sequences are repeat-free
        assert t >= 1
        # Newest n_max of the strict prefix; never the validation or test target.
        assert train.history(row).tolist() == part[max(0, t - 4) : t].tolist()
        if len(seq) >= 3:
            assert not {seq[-1], seq[-2]} & set(train.history(row).tolist() + [train.candidates[row, 0]])
        assert not set(train.candidates[row, 1:].tolist()) & set(seq.tolist())
        assert len(set(train.candidates[row, 1:].tolist())) == 4
        seen.append((u, t))
    expected = [(u, t) for u in range(1, len(d.sequences)) for t in range(1, int(s.train_lengths[u]))]
    assert seen == expected  # every prefix, user by user, t ascending
    # The user with 1 behaviour has no row; the one with 2 trains on (history [b1], target b2) and is not evaluated.
    assert s.train_lengths[1:3].tolist() == [1, 2] and 1 not in s.test.users and 2 not in s.test.users


def test_split_n_max_truncation_keeps_the_newest():
    d = build_dataset("long", [1], [np.arange(100, 130)])
    s = leave_one_out(d, n_max=5, eval_negatives=0)
    assert s.test.history(0).tolist() == list(range(24, 29))  # internal = external - 100; target is 29
    train = s.training(negatives_per_positive=0)
    assert train.lengths.tolist() == [1, 2, 3, 4] + [5] * 23
    assert train.histories[-1].tolist() == [22, 23, 24, 25, 26] and train.candidates[-1].tolist() == [27]
    assert train.histories[0].tolist() == [PAD] * 4 + [0]


def test_split_is_deterministic_and_streams_are_independent():
    d = small_dataset()
    a, b = leave_one_out(d, n_max=4, seed=7), leave_one_out(d, n_max=4, seed=7)
    for x, y in ((a.validation, b.validation), (a.test, b.test), (a.training(seed=2), b.training(seed=2))):
        for key in ("users", "histories", "lengths", "candidates", "labels"):
            assert np.array_equal(getattr(x, key), getattr(y, key))
    assert not np.array_equal(a.test.candidates, leave_one_out(d, n_max=4, seed=8).test.candidates)
    assert not np.array_equal(a.training(seed=2).candidates, a.training(seed=3).candidates)
    assert not np.array_equal(a.validation.candidates[:, 1:], a.test.candidates[:, 1:])
    # The evaluation candidates do not depend on n_max, so models with different n_max meet the same test.
    assert np.array_equal(a.test.candidates, leave_one_out(d, n_max=9, seed=7).test.candidates)


def test_negatives_are_uniform_over_untouched_items():
    d = build_dataset("u", [1], [np.arange(10)], None)  # catalog = the user's own items: nothing untouched
    with pytest.raises(ValueError, match="fewer than 99"):
        leave_one_out(d)
    d = build_dataset("u", [1, 2], [np.arange(5), np.arange(5, 20)])  # each user leaves the other's items
    s = leave_one_out(d, n_max=2, eval_negatives=5)  # user 2 has exactly 5 untouched items: all of them
    assert sorted(s.test.candidates[1, 1:].tolist()) == [0, 1, 2, 3, 4]
    first = np.concatenate([s.training(4, seed).candidates[0, 1:] for seed in range(300)])  # user 1's first row
    counts = np.bincount(first, minlength=20)
    assert counts[:5].sum() == 0 and counts[5:].min() > 300 * 4 / 15 * 0.6  # every untouched item comes up


# --------------------------------------------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic():
    a, ta = synthetic_dataset(60, 200, 6, 18, 12, seed=4)
    b, tb = synthetic_dataset(60, 200, 6, 18, 12, seed=4)
    c, _ = synthetic_dataset(60, 200, 6, 18, 12, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a.sequences, b.sequences))
    assert np.array_equal(a.attr_values, b.attr_values) and np.array_equal(ta.item_cluster, tb.item_cluster)
    assert all(np.array_equal(x, y) for x, y in zip(ta.sources, tb.sources))
    assert not all(np.array_equal(x, y) for x, y in zip(a.sequences[1:], c.sequences[1:]))


def test_synthetic_shape_and_truth():
    d, truth = synthetic_dataset(200, 300, 6, 18, 15, seed=1)
    stats = d.stats()
    assert stats["users"] == 200 and stats["min_length"] >= 3 and 13 <= stats["mean_length"] <= 17
    assert d.user_ids.tolist() == [UNKNOWN_USER_ID] + list(range(1, 201))
    assert all(len(set(s.tolist())) == len(s) for s in d.sequences)  # no repeats within a user
    assert all(2 <= len(i) <= 4 for i in truth.user_interests[1:])
    # The first attribute of every item is owned by its cluster: attributes carry the latent interest.
    first = d.attr_ids[d.attr_values[d.attr_offsets[:-1]]]
    assert np.array_equal((first - 1) % 6, truth.item_cluster)
    # A triggered behaviour is a ring neighbour of its source (the nearest free one when the close ones are taken).
    for u in range(1, 201):
        seq, src = d.sequences[u], truth.sources[u]
        assert src[0] == -1 and np.all(src < np.arange(len(seq)))
        t = np.flatnonzero(src >= 0)
        assert np.all(truth.ring_distance(seq[t], seq[src[t]]) >= 1)


def test_synthetic_planted_structure_is_visible():
    d, truth = synthetic_dataset(300, 400, 8, 24, 20, seed=2)
    shuffle = np.random.default_rng(0)

    def rates(sequences):
        """Share of next items whose cluster is the recency-weighted majority of the last 5, and share within ring
        distance 1..2 of one of the last 5 items."""
        cluster_hits = near_hits = total = 0
        for seq in sequences:
            clusters = truth.item_cluster[seq]
            for t in range(3, len(seq)):
                recent = slice(max(0, t - 5), t)
                weights = 0.6 ** np.arange(t - recent.start)[::-1]
                cluster_hits += clusters[t] == np.bincount(clusters[recent], weights=weights).argmax()
                distance = truth.ring_distance(np.full(t - recent.start, seq[t]), seq[recent])
                near_hits += np.any((distance >= 1) & (distance <= 2))
                total += 1
        return cluster_hits / total, near_hits / total

    cluster, near = rates(d.sequences[1:])
    cluster_shuffled, near_shuffled = rates([shuffle.permutation(s) for s in d.sequences[1:]])
    assert cluster > 4 / 8  # chance is 1/8 clusters
    assert cluster > cluster_shuffled + 0.04  # the order matters, not only the user's interests
    assert near > near_shuffled + 0.15  # the next item sits next to a specific recent item


def test_synthetic_attention_oracle_beats_a_cluster_average():
    """On the test split, scoring a candidate by its ring closeness to specific recent behaviours (what target
    attention can learn) ranks better than by the recency-weighted cluster mix of the history (what one averaged
    vector holds), so the generator rewards attention."""
    d, truth = synthetic_dataset(300, 400, 8, 24, 20, seed=2)
    test = leave_one_out(d, n_max=20).test
    history = np.where(test.mask(), test.histories, 0)
    recency = np.where(test.mask(), 0.6 ** np.arange(test.n_max)[::-1], 0.0)[:, None, :]  # [E, 1, n]
    candidates = np.broadcast_to(test.candidates[:, :, None], test.candidates.shape + (test.n_max,))
    behaviours = np.broadcast_to(history[:, None, :], candidates.shape)
    same_cluster = truth.item_cluster[candidates] == truth.item_cluster[behaviours]
    distance = truth.ring_distance(candidates, behaviours)
    average = (same_cluster * recency).sum(-1)
    attention = (same_cluster * np.where((distance >= 1) & (distance <= 2), 1.0, 0.05) * recency).sum(-1)

    def gauc(scores):  # one row per user; ties count half
        positive, negatives = scores[:, :1], scores[:, 1:]
        return ((positive > negatives).mean(1) + 0.5 * (positive == negatives).mean(1)).mean()

    assert gauc(attention) > gauc(average) + 0.03


# ----------------------------------------------------------------------------------------------------- real datasets


def test_beauty_counts():
    if not (BEAUTY / "Beauty.txt").exists():
        pytest.skip(f"{BEAUTY} is absent (set TARQ_DATA to the directory of the public datasets)")
    d = read_s3rec(BEAUTY / "Beauty.txt", BEAUTY / "Beauty_item2attributes.json")
    stats = d.stats()
    assert (stats["users"], stats["items"], stats["interactions"]) == (22_363, 12_101, 198_502)
    assert (stats["attributes"], stats["max_length"], stats["min_length"]) == (637, 204, 5)
    assert stats["items_without_attributes"] == 0
    assert d.user_ids[1:].tolist() == list(range(1, 22_364)) and d.item_ids.tolist() == list(range(1, 12_102))


def test_movielens_counts():
    if not (MOVIELENS / "ratings.csv").exists():
        pytest.skip(f"{MOVIELENS} is absent (set TARQ_DATA to the directory of the public datasets)")
    d = read_movielens(MOVIELENS)
    stats = d.stats()
    assert (stats["users"], stats["interactions"], stats["items"]) == (610, 100_836, 9_724)  # 9,724 rated movies
    assert stats["attributes"] == 19 and "(no genres listed)" not in d.attr_names  # "none", not a genre
    assert stats["items_without_attributes"] == 34
    assert stats["min_length"] == 20 and stats["max_length"] == 2_698
    s = leave_one_out(d, n_max=50)
    assert len(s.test) == 610 and s.test.candidates.shape == (610, 100)
