package io.tarq.tools.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * MovieLens CSV directories as the trainer reads them ({@code tarq/data/movielens.py}): every rating in
 * {@code ratings.csv} is a behaviour (those {@code >= minRating} when it is given), a user's sequence sorted by
 * timestamp with equal timestamps in file order; the catalog is the rated movies. {@code movies.csv} must be there
 * and well formed (the trainer reads the genres from it) but changes nothing here. Malformed input is reported as
 * the trainer reports it, one line naming the file and the line.
 */
public final class MovieLensReader {
    static final List<String> RATINGS_HEADER = List.of("userId", "movieId", "rating", "timestamp");
    static final List<String> MOVIES_HEADER = List.of("movieId", "title", "genres");
    /** What Python's float() accepts, in ASCII (digits with single underscores between them, an exponent). */
    private static final Pattern FLOAT = Pattern.compile(
            "[+-]?(?:(?:[0-9](?:_?[0-9])*)?\\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?");

    private MovieLensReader() {
    }

    /** {@code minRating} may be null: every rating. */
    public static SequenceDataset read(Path directory, Double minRating) throws DataFormatException {
        if (!Files.isDirectory(directory)) {
            throw new DataFormatException(directory, Files.exists(directory) ? "not a directory" : "no such directory");
        }
        Path ratingsPath = directory.resolve("ratings.csv");
        Path moviesPath = directory.resolve("movies.csv");
        Ratings ratings = readRatings(ratingsPath);
        readMovies(moviesPath);

        int n = ratings.size;
        int[] kept = new int[n];
        int count = 0;
        for (int r = 0; r < n; r++) {
            if (minRating == null || ratings.rating[r] >= minRating) {
                kept[count++] = r;
            }
        }
        if (count == 0) {
            throw new DataFormatException(ratingsPath, "no rating is >= " + formatG(minRating));
        }
        // By user, then timestamp, then file order (the trainer's stable lexsort).
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) {
            order[i] = kept[i];
        }
        Arrays.sort(order, (a, b) -> ratings.user[a] != ratings.user[b] ? Long.compare(ratings.user[a], ratings.user[b])
                : ratings.time[a] != ratings.time[b] ? Long.compare(ratings.time[a], ratings.time[b]) : Integer.compare(a, b));
        int groups = 0;
        for (int i = 0; i < count; i++) {
            groups += i == 0 || ratings.user[order[i]] != ratings.user[order[i - 1]] ? 1 : 0;
        }
        long[] users = new long[groups];
        long[][] sequences = new long[groups][];
        for (int i = 0, g = 0; i < count; g++) {
            int j = i;
            while (j < count && ratings.user[order[j]] == ratings.user[order[i]]) {
                j++;
            }
            users[g] = ratings.user[order[i]];
            long[] s = new long[j - i];
            for (int k = i; k < j; k++) {
                s[k - i] = ratings.movie[order[k]];
            }
            sequences[g] = s;
            i = j;
        }
        Path normal = directory.normalize();
        String name = normal.getFileName() == null || normal.toString().isEmpty() ? "." : normal.getFileName().toString();
        if (minRating != null) {
            name += ":rating>=" + formatG(minRating);
        }
        return SequenceDataset.build(name, users, sequences);
    }

    private record Ratings(int size, long[] user, long[] movie, double[] rating, long[] time) {
    }

    private static Ratings readRatings(Path path) throws DataFormatException {
        PythonCsv csv = rows(path, RATINGS_HEADER);
        long[] users = new long[1024], movies = new long[1024], times = new long[1024];
        double[] ratings = new double[1024];
        int n = 0;
        for (List<String> fields; (fields = nextRow(csv, path, RATINGS_HEADER)) != null; ) {
            int line = csv.lineNumber();
            if (n == users.length) {
                users = Arrays.copyOf(users, 2 * n);
                movies = Arrays.copyOf(movies, 2 * n);
                times = Arrays.copyOf(times, 2 * n);
                ratings = Arrays.copyOf(ratings, 2 * n);
            }
            users[n] = integer(path, line, fields.get(0), "userId");
            movies[n] = integer(path, line, fields.get(1), "movieId");
            ratings[n] = rating(path, line, fields.get(2));
            times[n] = integer(path, line, fields.get(3), "timestamp");
            if (users[n] == -1) {
                throw new DataFormatException(path, line, "userId -1 is reserved for the unknown user");
            }
            n++;
        }
        if (n == 0) {
            throw new DataFormatException(path, "no ratings after the header");
        }
        return new Ratings(n, users, movies, ratings, times);
    }

    private static void readMovies(Path path) throws DataFormatException {
        PythonCsv csv = rows(path, MOVIES_HEADER);
        Set<Long> seen = new HashSet<>();
        for (List<String> fields; (fields = nextRow(csv, path, MOVIES_HEADER)) != null; ) {
            long movie = integer(path, csv.lineNumber(), fields.get(0), "movieId");
            if (!seen.add(movie)) {
                throw new DataFormatException(path, csv.lineNumber(), "movieId " + movie + " appears twice");
            }
        }
        if (seen.isEmpty()) {
            throw new DataFormatException(path, "no movies after the header");
        }
    }

    /** The CSV reader of {@code path} past its header, which must be {@code header}. */
    private static PythonCsv rows(Path path, List<String> header) throws DataFormatException {
        PythonCsv csv = new PythonCsv(path, Text.read(path));
        List<String> first = csv.next();
        if (!header.equals(first)) {
            String found = first == null ? "" : String.join(",", first);
            throw new DataFormatException(path, 1, "expected the header " + Text.show(String.join(",", header), 80)
                    + ", found " + Text.show(found, 80));
        }
        return csv;
    }

    /** The next non-empty row, checked to have the header's field count; null at the end. */
    private static List<String> nextRow(PythonCsv csv, Path path, List<String> header) throws DataFormatException {
        List<String> fields;
        do {
            fields = csv.next();
        } while (fields != null && fields.isEmpty());
        if (fields != null && fields.size() != header.size()) {
            throw new DataFormatException(path, csv.lineNumber(), "expected " + header.size() + " fields ("
                    + String.join(",", header) + "), found " + fields.size());
        }
        return fields;
    }

    /** Strict ASCII digits with an optional minus, in 64 bits. */
    private static long integer(Path path, int line, String token, String what) throws DataFormatException {
        String body = token.startsWith("-") ? token.substring(1) : token;
        if (body.isEmpty() || !body.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new DataFormatException(path, line, Text.show(token) + " is not an integer " + what);
        }
        try {
            return Long.parseLong(token);
        } catch (NumberFormatException e) {
            throw new DataFormatException(path, line, what + " " + token + " does not fit in 64 bits");
        }
    }

    private static double rating(Path path, int line, String token) throws DataFormatException {
        double value = FLOAT.matcher(token).matches() ? Double.parseDouble(token.replace("_", "")) : Double.NaN;
        if (!Double.isFinite(value)) {
            throw new DataFormatException(path, line, Text.show(token) + " is not a rating (a finite number)");
        }
        return value;
    }

    /** Python's {@code f"{x:g}"} for the ratings people write (4, 3.5, 0.5). */
    static String formatG(double x) {
        if (x == Math.rint(x) && Math.abs(x) < 1e6) {
            return Long.toString((long) x);
        }
        String s = String.format(Locale.ROOT, "%.6g", x);
        if (s.contains("e")) {
            return s;
        }
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }
}
