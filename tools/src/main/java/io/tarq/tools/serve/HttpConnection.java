package io.tarq.tools.serve;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * One keep-alive HTTP/1.1 connection, used by one thread at a time, blocking: the load generator's client. The JDK's
 * {@code HttpClient} hands every exchange between a caller thread, a selector thread and an executor, and on a small
 * machine each hand-off is a wake-up that the measured latency would carry; here the calling thread writes the
 * request and the kernel wakes it with the answer. It speaks only what {@code ./tarq serve} answers: a status line,
 * headers, a body of {@code Content-Length} bytes (or up to the end of a {@code Connection: close} answer).
 */
final class HttpConnection implements AutoCloseable {
    /** A status, the headers the load generator reads (null when absent), and the body. */
    record Answer(int status, String contentType, String tarqVersion, byte[] bytes) {
        /** The body as UTF-8 text. */
        String body() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private final InetSocketAddress address;
    private final String host;
    private final int timeoutMillis;
    private final String accept;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private boolean answering; // the current answer's status line has arrived: the request reached the server

    HttpConnection(URI base, Duration timeout) {
        this(base, timeout, null);
    }

    /** A connection whose requests carry {@code Accept: accept} (none when null). */
    HttpConnection(URI base, Duration timeout, String accept) {
        this.accept = accept;
        int port = base.getPort() >= 0 ? base.getPort() : 80;
        this.address = new InetSocketAddress(base.getHost(), port);
        this.host = base.getHost() + ":" + port;
        this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    }

    /**
     * Sends one request and reads its answer. A connection the server closed while idle is reopened and the request
     * sent again once (scoring is idempotent); any other failure is thrown and the connection is closed.
     */
    Answer exchange(String method, String path, String body) throws IOException {
        byte[] request = request(method, path, body);
        boolean reused = socket != null;
        answering = false;
        try {
            return exchange(request);
        } catch (SocketTimeoutException e) {
            close();
            throw e;
        } catch (IOException e) {
            close();
            if (!reused || answering) {
                throw e;
            }
            return exchange(request); // the server closed the idle connection before this request reached it
        }
    }

    private Answer exchange(byte[] request) throws IOException {
        if (socket == null) {
            open();
        }
        out.write(request);
        out.flush();
        String statusLine = line();
        answering = true;
        if (!statusLine.startsWith("HTTP/1.1 ") || statusLine.length() < 12) {
            throw new IOException("not an HTTP/1.1 answer: " + statusLine);
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        long length = -1;
        boolean close = false;
        String contentType = null, tarqVersion = null;
        for (String header; !(header = line()).isEmpty(); ) {
            int colon = header.indexOf(':');
            if (colon < 0) {
                throw new IOException("bad header line: " + header);
            }
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            if (name.equals("content-length")) {
                length = Long.parseLong(value);
            } else if (name.equals("content-type")) {
                contentType = value;
            } else if (name.equals("tarq-version")) {
                tarqVersion = value;
            } else if (name.equals("connection")) {
                close = value.equalsIgnoreCase("close");
            } else if (name.equals("transfer-encoding") && !value.equalsIgnoreCase("identity")) {
                throw new IOException("transfer encoding " + value + " is not supported");
            }
        }
        byte[] bytes;
        if (length >= 0) {
            bytes = in.readNBytes((int) length);
            if (bytes.length < length) {
                throw new EOFException("the answer ended after " + bytes.length + " of " + length + " bytes");
            }
        } else {
            bytes = in.readAllBytes();
            close = true;
        }
        if (close) {
            close();
        }
        return new Answer(status, contentType, tarqVersion, bytes);
    }

    private void open() throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout(timeoutMillis);
            s.connect(address, timeoutMillis);
            in = new BufferedInputStream(s.getInputStream(), 1 << 16);
            out = s.getOutputStream();
            socket = s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private byte[] request(String method, String path, String body) {
        byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
                + (accept == null ? "" : "Accept: " + accept + "\r\n")
                + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + payload.length + "\r\n")
                + "\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream all = new ByteArrayOutputStream(headBytes.length + payload.length);
        all.writeBytes(headBytes);
        all.writeBytes(payload);
        return all.toByteArray();
    }

    /** One header line without its CRLF. */
    private String line() throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("the server closed the connection");
            }
            if (c == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) c);
        }
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing a failed connection: nothing to report
            }
            socket = null;
        }
    }
}
