package io.tarq.tools.soak;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * Bytes of files this JVM has mapped and not yet unmapped: the JDK's "mapped" buffer pool, which counts every
 * {@code FileChannel.map} mapping, those made into an FFM {@code Arena} included, and drops it when the arena
 * closes. A model that is never closed shows here as its file size.
 */
public final class MappedBytes {
    private MappedBytes() {
    }

    public static long now() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("mapped")) {
                return pool.getMemoryUsed();
            }
        }
        throw new IllegalStateException("this JVM has no \"mapped\" buffer pool");
    }
}
