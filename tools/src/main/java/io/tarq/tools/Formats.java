package io.tarq.tools;

import java.util.Locale;

/** Numbers as people read them in a terminal. */
final class Formats {
    private Formats() {
    }

    /** 1,234,567 */
    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** 512 B, 1.5 KiB, 3.2 MiB, 1.1 GiB */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int unit = -1;
        while (v >= 1024 && unit < units.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[unit]);
    }
}
