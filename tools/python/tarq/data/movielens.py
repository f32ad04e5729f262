"""Reader for MovieLens CSV directories (ml-latest-small, or any directory like it).

Files: ``ratings.csv`` (``userId,movieId,rating,timestamp``) and ``movies.csv`` (``movieId,title,genres``), UTF-8,
one header row, CRLF or LF line ends, fields with commas double-quoted. ``tags.csv`` and ``links.csv`` are not
read: tags are free text per (user, movie), not an item attribute, and the contract has no place for them.

Decisions (the dataset README leaves these to the trainer):

- **Behaviours.** Every rating is a behaviour (implicit feedback, like Beauty's reviews). ``min_rating`` keeps only
  ratings >= it (the README's label (a) uses 4.0); users left with no behaviour disappear, and so do movies no
  kept rating touches.
- **Order.** A user's sequence is sorted by timestamp; equal timestamps keep the file order. In the official file
  rows are sorted by (userId, movieId), so this is the README's (timestamp, movieId) order (15,790 rows share a
  timestamp with another row of their user).
- **Catalog.** The rated movies (9,724 in ml-latest-small), not every row of movies.csv; a rated movie missing
  from movies.csv has no attributes.
- **Attributes** are the genres, split on ``|``; ``(no genres listed)`` means none. External attribute ids are
  1..G in the sorted order (Python string order) of the distinct genre names of the whole movies.csv, so they do not
  depend on ``min_rating``; ``Dataset.attr_names`` holds the names. Year and tags are not used.
"""

from __future__ import annotations

import csv
import io
import math
import os

import numpy as np

from .dataset import DataError, Dataset, UNKNOWN_USER_ID, build_dataset, in_int64, read_text, show

__all__ = ["NO_GENRES", "read_movielens", "read_movies"]

NO_GENRES = "(no genres listed)"
_RATINGS_HEADER = ["userId", "movieId", "rating", "timestamp"]
_MOVIES_HEADER = ["movieId", "title", "genres"]


def read_movielens(directory, min_rating: float | None = None, name: str | None = None) -> Dataset:
    """Read ``ratings.csv`` and ``movies.csv`` of ``directory``. ``name`` defaults to the directory's name, with
    ``:rating>=X`` appended when ``min_rating`` is given. Raises :class:`DataError` for a missing directory or file,
    an empty file, a wrong header or a malformed row."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise DataError(directory, "not a directory" if os.path.exists(directory) else "no such directory")
    ratings_path = os.path.join(directory, "ratings.csv")
    movies_path = os.path.join(directory, "movies.csv")
    users, movies, ratings, times = _read_ratings(ratings_path)
    genres_by_movie, genre_ids = read_movies(movies_path)

    if min_rating is not None:
        keep = ratings >= min_rating
        users, movies, times = users[keep], movies[keep], times[keep]
        if users.size == 0:
            raise DataError(ratings_path, f"no rating is >= {min_rating:g}")

    # lexsort is stable and sorts by its last key first: by user, then timestamp, then file order (kept by stability).
    order = np.lexsort((times, users))
    users, movies = users[order], movies[order]
    starts = np.flatnonzero(np.concatenate([[True], users[1:] != users[:-1]]))
    sequences = np.split(movies, starts[1:])

    if name is None:
        name = os.path.basename(os.path.normpath(directory))
        if min_rating is not None:
            name += f":rating>={min_rating:g}"
    names = {attr: genre for genre, attr in genre_ids.items()}
    return build_dataset(name, users[starts], sequences, genres_by_movie, names)


def _rows(path, header: list[str]):
    """(line number, fields) of each data row of a CSV file, after checking its header. Blank lines are skipped."""
    text = read_text(path)
    # newline="" leaves \r\n to the csv module, which also keeps quoted line breaks inside a field.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        first = next(reader)
        if first != header:
            expected, found = show(",".join(header), 80), show(",".join(first), 80)
            raise DataError(path, f"expected the header {expected}, found {found}", line=1)
        for fields in reader:
            if fields:
                if len(fields) != len(header):
                    raise DataError(path, f"expected {len(header)} fields ({','.join(header)}), found {len(fields)}",
                                    line=reader.line_num)
                yield reader.line_num, fields
    except csv.Error as e:
        raise DataError(path, f"not valid CSV: {e}", line=reader.line_num) from None


def _integer(path, line: int, token: str, what: str) -> int:
    # Strict ASCII digits with an optional minus: int() would also take '+5', ' 5', '1_000' and non-ASCII digits.
    body = token[1:] if token.startswith("-") else token
    if not (body.isascii() and body.isdigit()):
        raise DataError(path, f"{show(token)} is not an integer {what}", line=line)
    value = int(token)
    if not in_int64(value):
        raise DataError(path, f"{what} {token} does not fit in 64 bits", line=line)
    return value


def _read_ratings(path):
    users, movies, ratings, times = [], [], [], []
    for line, (user, movie, rating, timestamp) in _rows(path, _RATINGS_HEADER):
        users.append(_integer(path, line, user, "userId"))
        movies.append(_integer(path, line, movie, "movieId"))
        try:
            value = float(rating)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or rating.strip() != rating:
            raise DataError(path, f"{show(rating)} is not a rating (a finite number)", line=line)
        ratings.append(value)
        times.append(_integer(path, line, timestamp, "timestamp"))
        if users[-1] == UNKNOWN_USER_ID:
            raise DataError(path, f"userId {UNKNOWN_USER_ID} is reserved for the unknown user", line=line)
    if not users:
        raise DataError(path, "no ratings after the header")
    return (np.array(users, np.int64), np.array(movies, np.int64), np.array(ratings, np.float64),
            np.array(times, np.int64))


def read_movies(path) -> tuple[dict[int, list[int]], dict[str, int]]:
    """movies.csv as ({movieId: [genre attribute ids]}, {genre name: attribute id}); ids are 1.. in sorted name
    order. DataError for a malformed row or a repeated movieId."""
    genres_by_name: dict[int, list[str]] = {}
    for line, (movie, _title, genres) in _rows(path, _MOVIES_HEADER):
        movie_id = _integer(path, line, movie, "movieId")
        if movie_id in genres_by_name:
            raise DataError(path, f"movieId {movie_id} appears twice", line=line)
        # Empty names (from 'A||B' or an empty field) carry nothing: dropped rather than made an attribute.
        names = [] if genres == NO_GENRES else [g for g in genres.split("|") if g and g != NO_GENRES]
        genres_by_name[movie_id] = names
    if not genres_by_name:
        raise DataError(path, "no movies after the header")
    genre_ids = {genre: k + 1 for k, genre in enumerate(sorted({g for gs in genres_by_name.values() for g in gs}))}
    return {movie: [genre_ids[g] for g in names] for movie, names in genres_by_name.items()}, genre_ids
