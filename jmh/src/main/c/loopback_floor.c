// The machine's floor for one HTTP request/response over loopback, with no JVM on either side: a server that answers
// every request with the same small 200 (a /v1/model-like body, so `./tarq load --transport-floor` accepts it too),
// one thread a connection; and an open-loop client that sends `GET /ready` at a fixed rate over C connections (a
// blocking thread each), each request timed from its due send time, as `./tarq load` times them.
//
//   taskset -c 1 jmh/target/native/loopback_floor server PORT &     (build.sh builds it with the jmh module)
//   taskset -c 0 jmh/target/native/loopback_floor client PORT RATE SECONDS CONNECTIONS
//
// The client prints how late the sends left (its own wake-ups) and the latency percentiles, in microseconds; the
// first second is warm-up and not counted.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *REQUEST = "GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n";
static const char *ANSWER = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n"
                            "{\"item_vectors\":\"float32\",\"version\":1}";

static int port;
static double rate;
static long start_ns, end_ns, timed_from_ns;
static atomic_long next_request, recorded;
static long *latency_ns, *lateness_ns;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct sockaddr_in loopback(void) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void *answer_connection(void *arg) {
    int fd = (int) (long) arg;
    char buffer[4096];
    no_delay(fd);
    // One request a read: the client sends its next request only after the answer.
    while (read(fd, buffer, sizeof buffer) > 0) {
        if (write(fd, ANSWER, strlen(ANSWER)) < 0) {
            break;
        }
    }
    close(fd);
    return NULL;
}

static int serve(void) {
    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = loopback();
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *) &a, sizeof a) || listen(listener, 128)) {
        perror("loopback_floor: bind");
        return 1;
    }
    for (;;) {
        pthread_t thread;
        int fd = accept(listener, NULL, NULL);
        if (fd >= 0 && pthread_create(&thread, NULL, answer_connection, (void *) (long) fd) == 0) {
            pthread_detach(thread);
        }
    }
}

/** Reads one answer: its headers, then Content-Length bytes of body. */
static int read_answer(int fd) {
    char buffer[8192];
    int got = 0, need = -1;
    while (need < 0 || got < need) {
        int n = read(fd, buffer + got, sizeof buffer - 1 - got);
        if (n <= 0) {
            return -1;
        }
        got += n;
        buffer[got] = 0;
        char *end = need < 0 ? strstr(buffer, "\r\n\r\n") : NULL;
        if (end) {
            char *length = strcasestr(buffer, "content-length:");
            need = (int) (end - buffer) + 4 + (length ? atoi(length + 15) : 0);
        }
    }
    return 0;
}

static void *send_requests(void *unused) {
    (void) unused;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback();
    if (connect(fd, (struct sockaddr *) &a, sizeof a)) {
        perror("loopback_floor: connect");
        exit(1);
    }
    no_delay(fd);
    for (;;) {
        long i = atomic_fetch_add(&next_request, 1);
        long due = start_ns + (long) (i * 1e9 / rate), wait;
        if (due >= end_ns) {
            break;
        }
        while ((wait = due - now_ns()) > 0) {
            struct timespec t = {wait / 1000000000L, wait % 1000000000L};
            nanosleep(&t, NULL);
        }
        long sent = now_ns();
        if (write(fd, REQUEST, strlen(REQUEST)) < 0 || read_answer(fd)) {
            fprintf(stderr, "loopback_floor: the connection failed\n");
            exit(2);
        }
        if (due >= timed_from_ns) {
            long k = atomic_fetch_add(&recorded, 1);
            latency_ns[k] = now_ns() - due;
            lateness_ns[k] = sent - due;
        }
    }
    close(fd);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    long x = *(const long *) a, y = *(const long *) b;
    return (x > y) - (x < y);
}

static double percentile_us(long *sorted, long n, double p) {
    return sorted[(long) (p * (n - 1))] / 1e3;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "server")) {
        port = atoi(argv[2]);
        return serve();
    }
    if (argc != 6 || strcmp(argv[1], "client")) {
        fprintf(stderr, "usage: loopback_floor server PORT | client PORT RATE SECONDS CONNECTIONS\n");
        return 2;
    }
    port = atoi(argv[2]);
    rate = atof(argv[3]);
    double seconds = atof(argv[4]);
    int connections = atoi(argv[5]);
    if (rate <= 0 || seconds <= 0 || connections < 1 || connections > 1024) {
        fprintf(stderr, "loopback_floor: RATE and SECONDS must be positive, CONNECTIONS 1..1024\n");
        return 2;
    }
    long capacity = (long) (rate * (seconds + 1)) + 16;
    latency_ns = malloc(sizeof(long) * capacity);
    lateness_ns = malloc(sizeof(long) * capacity);
    start_ns = now_ns() + 20000000L;
    timed_from_ns = start_ns + 1000000000L;
    end_ns = timed_from_ns + (long) (seconds * 1e9);
    pthread_t *threads = malloc(sizeof(pthread_t) * connections);
    for (int c = 0; c < connections; c++) {
        pthread_create(&threads[c], NULL, send_requests, NULL);
    }
    for (int c = 0; c < connections; c++) {
        pthread_join(threads[c], NULL);
    }
    long n = recorded;
    if (n == 0) {
        fprintf(stderr, "loopback_floor: no request was timed\n");
        return 1;
    }
    qsort(latency_ns, n, sizeof(long), by_value);
    qsort(lateness_ns, n, sizeof(long), by_value);
    printf("rate %.0f/s, %d connections, %ld requests: latency p50 %.0f p99 %.0f p99.9 %.0f max %.0f us;"
           " sends late by p50 %.0f p99 %.0f us\n", rate, connections, n, percentile_us(latency_ns, n, 0.5),
           percentile_us(latency_ns, n, 0.99), percentile_us(latency_ns, n, 0.999), latency_ns[n - 1] / 1e3,
           percentile_us(lateness_ns, n, 0.5), percentile_us(lateness_ns, n, 0.99));
    return 0;
}
