package io.tarq.tools.serve;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A model directory laid out as TF Serving's: {@code DIR/<N>/model.safetensors}, N a positive integer written in
 * decimal without leading zeros. Any other name ({@code 2.tmp}, {@code latest}, {@code 007}) is not a version, so a
 * version can be written under a temporary name and renamed into place when complete.
 */
public final class ModelDirectory {
    public static final String MODEL_FILE = "model.safetensors";
    private static final Pattern VERSION_NAME = Pattern.compile("[1-9][0-9]{0,17}");

    private final Path dir;

    public ModelDirectory(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    /** The model file of version {@code version}. */
    public Path modelFile(long version) {
        return dir.resolve(Long.toString(version)).resolve(MODEL_FILE);
    }

    /** The version a model file of this directory belongs to, or −1 when its folder's name is not a version. */
    public static long versionOf(Path modelFile) {
        Path folder = modelFile.getParent();
        if (folder == null || folder.getFileName() == null) {
            return -1;
        }
        String name = folder.getFileName().toString();
        return VERSION_NAME.matcher(name).matches() ? Long.parseLong(name) : -1;
    }

    /** A version present on disk: its number, and its file's size and modification time (to notice a rewrite). */
    public record Entry(long version, Path file, long byteSize, long modifiedMillis) {
    }

    /** The versions whose folder holds a regular {@code model.safetensors}, highest first. */
    public List<Entry> versions() throws IOException {
        List<Entry> found = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                String name = child.getFileName().toString();
                if (!VERSION_NAME.matcher(name).matches()) {
                    continue;
                }
                Path file = child.resolve(MODEL_FILE);
                BasicFileAttributes attributes;
                try {
                    attributes = Files.readAttributes(file, BasicFileAttributes.class);
                } catch (IOException e) {
                    continue; // no model file (yet): not a version
                }
                if (attributes.isRegularFile()) {
                    found.add(new Entry(Long.parseLong(name), file, attributes.size(), attributes.lastModifiedTime().toMillis()));
                }
            }
        }
        found.sort(Comparator.comparingLong(Entry::version).reversed());
        return found;
    }
}
