package io.tarq.jmh.serve;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.tarq.engine.ModelLease;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.TarqEngine;
import io.tarq.tools.jsonl.LineReader;
import io.tarq.tools.jsonl.RequestFormatException;
import io.tarq.tools.jsonl.ServeRequestParser;
import io.tarq.tools.serve.ModelDirectory;
import io.tarq.tools.serve.ScoreAnswer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code POST /v1/score}, {@code POST /v1/topk}, {@code GET /ready} and the version part of {@code GET /v1/model} of
 * {@code ./tarq serve} on Netty, to measure the HTTP stack against the JDK's: the same parser, admission limit, pool of
 * scoring platform threads and answer bytes ({@link ScoreAnswer}), so {@code ./tarq load} checks it the same way. One
 * event loop thread does the I/O; nothing else of the server (versions, reload, metrics) is here.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks-netty.jar io.tarq.jmh.serve.NettyScoreServer \
 *       MODEL_DIR/1/model.safetensors PORT [THREADS [MAX_INFLIGHT]]
 * </pre>
 */
public final class NettyScoreServer implements AutoCloseable {
    private final TarqEngine engine;
    private final ExecutorService scoring;
    private final int maxInflight;
    private final AtomicInteger inflight = new AtomicInteger();
    private final RequestLimits limits = RequestLimits.DEFAULT;
    private final int maxBodyBytes = LineReader.maxChars(limits);
    private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;
    private final long version;

    /**
     * Opens the model and listens on loopback.
     *
     * @param modelFile   {@code MODEL_DIR/<N>/model.safetensors}: N is the version the answers name
     * @param port        the port, 0 for any free one
     * @param threads     scoring threads
     * @param maxInflight scoring requests admitted at once; more get 503
     * @throws IOException the model does not open
     */
    public NettyScoreServer(Path modelFile, int port, int threads, int maxInflight) throws IOException {
        this.version = ModelDirectory.versionOf(modelFile); // refuses a file outside a version folder
        this.engine = TarqEngine.open(modelFile);
        this.scoring = Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon().name("tarq-score-", 0).factory());
        this.maxInflight = maxInflight;
        try {
            channel = new ServerBootstrap().group(loop).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(maxBodyBytes), new Handler());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", port)).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The port it listens on. */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        loop.shutdownGracefully().syncUninterruptibly();
        scoring.shutdown();
        engine.close();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            String path = request.uri();
            if (path.equals("/ready") && request.method().equals(HttpMethod.GET)) {
                send(ctx, keepAlive, HttpResponseStatus.OK, "{\"ready\":true,\"version\":" + version + "}\n", false);
            } else if (path.equals("/v1/model") && request.method().equals(HttpMethod.GET)) {
                send(ctx, keepAlive, HttpResponseStatus.OK, model(), false); // what ./tarq load asks first
            } else if ((path.equals("/v1/score") || path.equals("/v1/topk")) && request.method().equals(HttpMethod.POST)) {
                score(ctx, keepAlive, request.content().toString(StandardCharsets.UTF_8), path.equals("/v1/topk"));
            } else {
                send(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, ScoreAnswer.error("no endpoint " + path), false);
            }
        }

        private String model() {
            try (ModelLease lease = engine.acquire()) {
                return "{\"version\":" + ModelDirectory.versionOf(lease.path()) + ",\"item_vectors\":\""
                        + lease.model().itemVectors().cliName() + "\"}\n";
            }
        }

        private void score(ChannelHandlerContext ctx, boolean keepAlive, String body, boolean topk) {
            if (inflight.incrementAndGet() > maxInflight) {
                inflight.decrementAndGet();
                send(ctx, keepAlive, HttpResponseStatus.SERVICE_UNAVAILABLE,
                        ScoreAnswer.error("overloaded: " + maxInflight + " requests in flight, the limit"), true);
                return;
            }
            // Parse and score off the event loop, which must stay free for the other connections' I/O.
            scoring.execute(() -> {
                HttpResponseStatus status = HttpResponseStatus.OK;
                String answer;
                try {
                    ServeRequestParser.Body parsed = new ServeRequestParser(limits, 64).parse(body);
                    try (ModelLease lease = engine.acquire()) {
                        answer = ScoreAnswer.write(lease, parsed, topk);
                    }
                } catch (RequestFormatException | RuntimeException e) {
                    status = HttpResponseStatus.BAD_REQUEST;
                    answer = ScoreAnswer.error(String.valueOf(e.getMessage()));
                } finally {
                    // Before the answer leaves: a client that sends its next request on receiving this one must find
                    // the slot free, as it does with the JDK server.
                    inflight.decrementAndGet();
                }
                send(ctx, keepAlive, status, answer, false);
            });
        }

        private void send(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status, String text, boolean retry) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8)));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            if (retry) {
                response.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
            }
            if (keepAlive) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                ctx.writeAndFlush(response); // from a scoring thread too: Netty hands the write to the event loop
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    /**
     * Serves until killed.
     *
     * @param args MODEL_FILE PORT [THREADS [MAX_INFLIGHT]]
     * @throws Exception the model does not open or the port is taken
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: NettyScoreServer MODEL_DIR/<N>/model.safetensors PORT [THREADS [MAX_INFLIGHT]]");
            System.exit(2);
        }
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        int maxInflight = args.length > 3 ? Integer.parseInt(args[3]) : 4 * threads;
        NettyScoreServer server = new NettyScoreServer(Path.of(args[0]), Integer.parseInt(args[1]), threads, maxInflight);
        System.err.println("netty: " + args[0] + " on http://127.0.0.1:" + server.port() + " (threads " + threads
                + ", max in-flight " + maxInflight + ")");
        Thread.currentThread().join();
    }
}
