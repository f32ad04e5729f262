package io.tarq.tools.demo;

import io.tarq.engine.Mode;
import io.tarq.layout.TarqDimensions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** What the demo measured, written as one self-contained HTML page with inline SVG charts (no script, no fetch). */
final class DemoReport {
    private static final String[] COLORS = {"#4e79a7", "#f28e2b", "#e15759", "#59a14f"};

    private record Quality(String mode, double auc, double gauc) {}

    private record Latency(String title, String[] modes, double[][] microseconds, long[] samples) {}

    private String modelLine = "", kernels = "", agreementLine = "";
    private final List<Quality> quality = new ArrayList<>();
    private final List<Latency> latencies = new ArrayList<>();

    void model(Path path, String producer, TarqDimensions d, String dataset) {
        modelLine = String.format(Locale.ROOT, "%s (%s; dataset %s): N = %,d items, U = %,d users, d = %d, h = %d, "
                        + "L = %d levels × K = %d codewords", path.getFileName(), producer, dataset == null ? "?" : dataset,
                d.items(), d.users(), d.d(), d.heads(), d.levels(), d.codebookSize());
    }

    void kernels(String description) {
        kernels = description;
    }

    void quality(String mode, double auc, double gauc) {
        quality.add(new Quality(mode, auc, gauc));
    }

    void agreement(int requests, int candidates, int top, double recall, double spearman, double uint8Recall,
                   double stressRecall, double stressSpearman) {
        agreementLine = String.format(Locale.ROOT, "On %d requests of %,d distinct random candidates for held-out users "
                + "with their histories, TARQ (uint8 tables) keeps %.1f%% of exact TA's top-%d in its own top-%d; "
                + "Spearman correlation of the two rankings over all candidates: %.3f. With random histories (behaviours "
                + "drawn from the whole catalog, a stress test): %.1f%%, Spearman %.3f. Against TARQ with float tables, "
                + "the uint8 tables keep %.1f%% of its top-%d.",
                requests, candidates, 100 * recall, top, top, spearman, 100 * stressRecall, stressSpearman,
                100 * uint8Recall, top);
    }

    void latency(String title, Mode[] modes, Histogram[] h) {
        String[] names = new String[modes.length];
        double[][] us = new double[modes.length][3];
        long[] samples = new long[modes.length];
        for (int m = 0; m < modes.length; m++) {
            names[m] = modes[m].cliName();
            us[m][0] = h[m].getValueAtPercentile(50) / 1e3;
            us[m][1] = h[m].getValueAtPercentile(99) / 1e3;
            us[m][2] = h[m].getValueAtPercentile(99.9) / 1e3;
            samples[m] = h[m].getTotalCount();
        }
        latencies.add(new Latency(title, names, us, samples));
    }

    void writeHtml(Path target) throws IOException {
        StringBuilder s = new StringBuilder();
        s.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>TARQ demo</title><style>")
                .append("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:right}")
                .append("th:first-child,td:first-child{text-align:left}code{background:#f4f4f4;padding:0 .2em}")
                .append("</style></head><body><h1>TARQ demo</h1>");
        s.append("<p>Model: ").append(escape(modelLine)).append("<br>Kernels: <code>").append(escape(kernels))
                .append("</code></p>");
        s.append("<h2>Quality on held-out events</h2><p>Each event is a user's next click among sampled negatives; "
                + "<em>tt</em> is the model's own two-tower score, <em>ta</em> exact target attention (the teacher), "
                + "<em>tarq</em> the student served from uint8 lookup tables.</p><table><tr><th>mode</th><th>AUC</th>"
                + "<th>GAUC</th></tr>");
        for (Quality q : quality) {
            s.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%.4f</td><td>%.4f</td></tr>", q.mode, q.auc, q.gauc));
        }
        s.append("</table>").append(aucChart());
        s.append("<h2>TARQ against exact TA</h2><p>").append(escape(agreementLine)).append("</p>");
        for (Latency l : latencies) {
            s.append("<h2>Latency a request: ").append(escape(l.title)).append("</h2><table><tr><th>mode</th>")
                    .append("<th>p50 µs</th><th>p99 µs</th><th>p99.9 µs</th><th>samples</th></tr>");
            for (int m = 0; m < l.modes.length; m++) {
                s.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%d</td></tr>",
                        l.modes[m], l.microseconds[m][0], l.microseconds[m][1], l.microseconds[m][2], l.samples[m]));
            }
            s.append("</table>").append(latencyChart(l));
        }
        s.append("<p style=\"color:#777\">Written by <code>./tarq demo</code>. Latency here is a quick interleaved run; "
                + "docs/benchmarks.md has the JMH figures.</p></body></html>\n");
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, s, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Horizontal bars of AUC and GAUC per mode, the axis starting at 0.5 (a random ranking). */
    private String aucChart() {
        int rowHeight = 22, left = 80, width = 460, top = 24;
        int height = top + quality.size() * 2 * rowHeight + 30;
        StringBuilder s = svgStart(left + width + 80, height);
        s.append(text(left, 16, "AUC (dark) and GAUC (light); axis from 0.5", "start"));
        double lo = 0.5, hi = 1.0;
        for (int i = 0; i < quality.size(); i++) {
            Quality q = quality.get(i);
            int y = top + i * 2 * rowHeight;
            s.append(text(left - 8, y + rowHeight, q.mode, "end"));
            s.append(bar(left, y + 2, (q.auc - lo) / (hi - lo) * width, rowHeight - 4, COLORS[i % COLORS.length], 1.0));
            s.append(bar(left, y + rowHeight, (q.gauc - lo) / (hi - lo) * width, rowHeight - 4, COLORS[i % COLORS.length], 0.5));
            s.append(text(left + (q.auc - lo) / (hi - lo) * width + 4, y + rowHeight - 6, String.format(Locale.ROOT, "%.4f", q.auc), "start"));
        }
        return s.append("</svg>").toString();
    }

    /** Grouped bars per mode: p50, p99, p99.9 on a log axis (TA is 10-100x the others). */
    private String latencyChart(Latency l) {
        int left = 80, width = 460, rowHeight = 16, top = 24;
        int height = top + l.modes.length * (3 * rowHeight + 8) + 24;
        double max = 1;
        for (double[] us : l.microseconds) {
            max = Math.max(max, us[2]);
        }
        double logMin = Math.log10(10), logMax = Math.log10(max * 1.2);
        StringBuilder s = svgStart(left + width + 100, height);
        s.append(text(left, 16, "µs, log scale: p50, p99, p99.9", "start"));
        String[] labels = {"p50", "p99", "p99.9"};
        for (int m = 0; m < l.modes.length; m++) {
            int y = top + m * (3 * rowHeight + 8);
            s.append(text(left - 8, y + 1.8 * rowHeight, l.modes[m], "end"));
            for (int p = 0; p < 3; p++) {
                double v = Math.max(l.microseconds[m][p], 10);
                double w = (Math.log10(v) - logMin) / (logMax - logMin) * width;
                s.append(bar(left, y + p * rowHeight, w, rowHeight - 2, COLORS[m % COLORS.length], 1.0 - 0.25 * p));
                s.append(text(left + w + 4, y + p * rowHeight + rowHeight - 4,
                        String.format(Locale.ROOT, "%s %.0f", labels[p], l.microseconds[m][p]), "start"));
            }
        }
        return s.append("</svg>").toString();
    }

    private static StringBuilder svgStart(int width, int height) {
        return new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                + "height=\"%d\" font-size=\"12\" font-family=\"system-ui,sans-serif\">", width, height));
    }

    private static String bar(double x, double y, double w, double h, String color, double opacity) {
        return String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                + "fill-opacity=\"%.2f\"/>", x, y, Math.max(0, w), h, color, opacity);
    }

    private static String text(double x, double y, String t, String anchor) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", x, y, anchor, escape(t));
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
