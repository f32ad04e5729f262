/**
 * The TARQ model file: a safetensors file mapped off-heap with the FFM API, checked against the contract
 * (docs/model.md) and read zero-copy. {@code io.tarq.layout} holds the model's dimensions, tensor table, id indexes
 * and its errors; {@code io.tarq.layout.safetensors} reads and writes the container. Both are API: tools that write
 * models use them as the engine does.
 */
module io.tarq.layout {
    exports io.tarq.layout;
    exports io.tarq.layout.safetensors;
}
