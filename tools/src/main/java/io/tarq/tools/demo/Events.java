package io.tarq.tools.demo;

import io.tarq.layout.ModelFormatException;
import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Held-out evaluation events as the trainer writes them ({@code --events-out}, docs/training.md): E requests of C
 * candidates each, in external ids, with a 0/1 label per candidate.
 *
 * <pre>
 * request.user            [E]      int64
 * request.history_offsets [E + 1]  int64   CSR over request.history
 * request.history         [nnz]    int64   oldest first
 * request.candidates      [E, C]   int64
 * request.labels          [E, C]   uint8
 * </pre>
 */
public record Events(long[] users, long[] historyOffsets, long[] histories, long[] candidates, byte[] labels,
                     int perRequest) {

    public int size() {
        return users.length;
    }

    public long[] history(int request) {
        return Arrays.copyOfRange(histories, (int) historyOffsets[request], (int) historyOffsets[request + 1]);
    }

    public long[] candidates(int request) {
        return Arrays.copyOfRange(candidates, request * perRequest, (request + 1) * perRequest);
    }

    public static Events read(Path path) throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            long[] users = file.tensor("request.user").toLongArray();
            long[] offsets = file.tensor("request.history_offsets").toLongArray();
            long[] histories = file.tensor("request.history").toLongArray();
            TensorView candidateView = file.tensor("request.candidates");
            TensorView labelView = file.tensor("request.labels");
            int requests = users.length;
            if (candidateView.rank() != 2 || candidateView.dim(0) != requests
                    || !Arrays.equals(labelView.shape(), candidateView.shape())) {
                throw new ModelFormatException(path, "request.candidates", "must be [E, C] with E = " + requests
                        + " and request.labels of the same shape");
            }
            if (offsets.length != requests + 1 || offsets[0] != 0 || offsets[requests] != histories.length) {
                throw new ModelFormatException(path, "request.history_offsets", "must be [E + 1], from 0 to nnz");
            }
            for (int r = 0; r < requests; r++) {
                if (offsets[r + 1] < offsets[r]) {
                    throw new ModelFormatException(path, "request.history_offsets", "decreases at request " + r);
                }
            }
            byte[] labels = new byte[Math.toIntExact(labelView.elementCount())];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = (byte) labelView.getUnsignedByte(i);
            }
            return new Events(users, offsets, histories, candidateView.toLongArray(), labels,
                    Math.toIntExact(candidateView.dim(1)));
        }
    }
}
