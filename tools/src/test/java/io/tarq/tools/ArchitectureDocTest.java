package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@code docs/architecture.md} and {@code docs/architecture.svg} true: every package ({@code io.tarq...}),
 * class ({@code TarqModel}, {@code Mode.cliName}) and repository path ({@code tools/python/tarq/model_file.py}) they
 * name in code font must exist in the source tree, and every link to another page must reach a file and heading.
 */
class ArchitectureDocTest {
    private static final Path ROOT = Path.of(System.getProperty("tarq.root", "..")).toAbsolutePath().normalize();
    private static final List<String> MODULES = List.of("memory-layout", "engine", "tools", "jmh");

    private static final Pattern PACKAGE_LINE = Pattern.compile("^package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern TYPE_DECLARATION =
            Pattern.compile("\\b(?:class|interface|enum|record|@interface)\\s+([A-Z]\\w*)");
    /** `Type`, `Type.member`, `Type#member` or `Type.member()`: a capitalized name with a lowercase letter in it. */
    private static final Pattern TYPE_NAME =
            Pattern.compile("([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)(?:[.#]([A-Za-z_][A-Za-z0-9_]*)(?:\\(\\))?)?");
    private static final Pattern PACKAGE_NAME = Pattern.compile("io\\.tarq(?:\\.[A-Za-z_][A-Za-z0-9_]*)+");
    private static final Pattern CODE_SPAN = Pattern.compile("`([^`\\n]+)`");
    private static final Pattern SVG_CODE = Pattern.compile("<text[^>]*class=\"code\"[^>]*>([^<]*)</text>");
    private static final Pattern MD_LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    /** Package → the types declared in it; simple type name → the files that declare it. */
    private static final Map<String, Set<String>> TYPES_BY_PACKAGE = new HashMap<>();
    private static final Map<String, List<Path>> FILES_BY_TYPE = new HashMap<>();

    @BeforeAll
    static void indexSources() throws IOException {
        for (String module : MODULES) {
            Path src = ROOT.resolve(module).resolve("src");
            if (!Files.isDirectory(src)) {
                fail("no " + src + ": is tarq.root (" + ROOT + ") the repository?");
            }
            try (Stream<Path> files = Files.walk(src)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(file);
                    Matcher p = PACKAGE_LINE.matcher(text);
                    String pkg = p.find() ? p.group(1) : "";
                    Set<String> types = TYPES_BY_PACKAGE.computeIfAbsent(pkg, k -> new HashSet<>());
                    String fileType = file.getFileName().toString().replace(".java", "");
                    types.add(fileType);
                    FILES_BY_TYPE.computeIfAbsent(fileType, k -> new ArrayList<>()).add(file);
                    Matcher t = TYPE_DECLARATION.matcher(text);
                    while (t.find()) {
                        types.add(t.group(1));
                        List<Path> declaring = FILES_BY_TYPE.computeIfAbsent(t.group(1), k -> new ArrayList<>());
                        if (!declaring.contains(file)) {
                            declaring.add(file);
                        }
                    }
                }
            }
        }
    }

    @Test
    void everyNameOnThePageExists() throws IOException {
        Path page = ROOT.resolve("docs/architecture.md");
        List<String> spans = new ArrayList<>();
        Matcher m = CODE_SPAN.matcher(stripFencedBlocks(Files.readString(page)));
        while (m.find()) {
            spans.add(m.group(1).trim());
        }
        assertNamesExist(page, spans, 40);
    }

    @Test
    void everyNameInThePictureExists() throws IOException {
        Path picture = ROOT.resolve("docs/architecture.svg");
        List<String> names = new ArrayList<>();
        Matcher m = SVG_CODE.matcher(Files.readString(picture));
        while (m.find()) {
            // A code line may list several names: "TarqModel · TarqEngine · ModelLease".
            for (String part : m.group(1).split("[\\s·,/]+")) {
                if (!part.isEmpty()) {
                    names.add(part);
                }
            }
        }
        assertNamesExist(picture, names, 15);
    }

    @Test
    void everyLinkOfThePageLeadsSomewhere() throws IOException {
        Path page = ROOT.resolve("docs/architecture.md");
        Set<String> broken = new TreeSet<>();
        Matcher m = MD_LINK.matcher(Files.readString(page));
        while (m.find()) {
            String target = m.group(1);
            if (target.startsWith("http://") || target.startsWith("https://")) {
                continue;
            }
            String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
            String anchor = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
            Path linked = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
            if (!Files.exists(linked)) {
                broken.add(target + " (no file " + ROOT.relativize(linked) + ")");
            } else if (anchor != null && !headingAnchors(linked).contains(anchor)) {
                broken.add(target + " (no heading #" + anchor + ")");
            }
        }
        if (!broken.isEmpty()) {
            fail(page + " links to what does not exist: " + String.join("; ", broken));
        }
    }

    private static void assertNamesExist(Path doc, List<String> spans, int atLeast) {
        Set<String> missing = new TreeSet<>();
        int checked = 0;
        for (String span : spans) {
            String problem;
            if (PACKAGE_NAME.matcher(span).matches()) {
                problem = checkQualifiedName(span);
            } else if (TYPE_NAME.matcher(span).matches()) {
                Matcher t = TYPE_NAME.matcher(span);
                t.matches();
                problem = checkType(t.group(1), t.group(2));
            } else if (looksLikeRepositoryPath(span)) {
                problem = Files.exists(ROOT.resolve(span)) ? null : "no file or directory " + span;
            } else {
                continue; // formulas, modes, commands: not names of code
            }
            checked++;
            if (problem != null) {
                missing.add(problem);
            }
        }
        if (!missing.isEmpty()) {
            fail(doc + " names what the source tree does not have (update the page or the picture): "
                    + String.join("; ", missing));
        }
        assertTrue(checked >= atLeast, doc + ": only " + checked + " names checked; has the page's format changed?");
    }

    /** {@code io.tarq.engine.kernel} (a package) or {@code io.tarq.engine.kernel.panama.PanamaKernels} (a class). */
    private static String checkQualifiedName(String name) {
        if (TYPES_BY_PACKAGE.containsKey(name)) {
            return null;
        }
        int dot = name.lastIndexOf('.');
        String pkg = name.substring(0, dot), type = name.substring(dot + 1);
        if (Character.isUpperCase(type.charAt(0)) && TYPES_BY_PACKAGE.getOrDefault(pkg, Set.of()).contains(type)) {
            return null;
        }
        return "no package or class " + name;
    }

    private static String checkType(String type, String member) {
        List<Path> files = FILES_BY_TYPE.get(type);
        if (files == null) {
            return "no class " + type;
        }
        if (member == null) {
            return null;
        }
        Pattern word = Pattern.compile("\\b" + Pattern.quote(member) + "\\b");
        for (Path file : files) {
            try {
                if (word.matcher(Files.readString(file)).find()) {
                    return null;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return "no member " + member + " in " + type;
    }

    /** {@code engine/}, {@code tools/python/tarq/model_file.py}, {@code jmh/src/ort/}: starts at a top directory. */
    private static boolean looksLikeRepositoryPath(String span) {
        if (span.contains(" ") || !span.contains("/")) {
            return false;
        }
        String top = span.substring(0, span.indexOf('/'));
        return Files.isDirectory(ROOT.resolve(top)) || MODULES.contains(top) || top.equals("docs");
    }

    private static String stripFencedBlocks(String markdown) {
        return markdown.replaceAll("(?s)```.*?```", "");
    }

    /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
    private static Set<String> headingAnchors(Path markdown) throws IOException {
        Set<String> anchors = new HashSet<>();
        for (String line : stripFencedBlocks(Files.readString(markdown)).split("\n")) {
            if (line.startsWith("#")) {
                String title = line.replaceFirst("^#+\\s*", "").trim().toLowerCase(Locale.ROOT);
                anchors.add(title.replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
            }
        }
        return anchors;
    }
}
