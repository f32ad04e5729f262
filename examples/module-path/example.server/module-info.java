/** A server program that links the engine as a module: it reads only the engine's API package. */
module example.server {
    requires io.tarq.engine;
}
