/**
 * The TARQ model file: opening, checking and reading it, with no engine code.
 *
 * <ul>
 *   <li>{@link io.tarq.layout.TarqModelFile}: a model file mapped read-only and checked against the contract
 *       (metadata, every tensor's dtype and shape at open; every byte on request), with its id indexes.</li>
 *   <li>{@link io.tarq.layout.TarqDimensions}: the dimensions from the metadata (d, h, dv, f, n_max, L, K, N, U, dx)
 *       and the format version they imply.</li>
 *   <li>{@link io.tarq.layout.TarqTensors}: the tensor names, with their shapes and dtypes.</li>
 *   <li>{@link io.tarq.layout.IdIndex}: external int64 id to row, built at open.</li>
 *   <li>{@link io.tarq.layout.Layouts}: the little-endian, unaligned value layouts every read of model memory
 *       uses.</li>
 *   <li>{@link io.tarq.layout.ModelFormatException}: a file that cannot be served, with a one-line message naming the
 *       file, the tensor or metadata key, and the fault ({@link io.tarq.layout.OneLine}).</li>
 * </ul>
 *
 * <p>An open file is immutable and may be read from any thread until it is closed; reads after close throw
 * {@link java.lang.IllegalStateException}. The safetensors container itself is {@code io.tarq.layout.safetensors}.
 */
package io.tarq.layout;
