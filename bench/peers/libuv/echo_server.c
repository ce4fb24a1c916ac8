/*
 * libuv-echo: a libuv TCP echo server, the libuv column of bench/echo/run.sh.
 *
 *     libuv-echo PORT
 *
 * Listens on 127.0.0.1:PORT, one loop on one thread. It is libuv's
 * test/echo-server.c (the server its ping_pongs and pump benchmarks run
 * against) cut down to TCP: uv_read_start with an allocator that mallocs a
 * suggested-size (64 KiB) buffer per read, and every read is echoed by a
 * uv_write whose request owns that buffer until after_write frees it. Two
 * additions shared by every server of run.sh: TCP_NODELAY on accepted
 * connections, and a backlog of 1024 (run.sh opens 1,000 connections).
 * One addition of its own: glibc's heap trim threshold is raised to 64 MiB.
 * Without it, freeing the 64 KiB read buffer after each echo leaves more
 * than the default 128 KiB free at the top of the heap, glibc gives it back
 * with brk, and the next read's malloc takes it back: about one brk call
 * per three messages, which cost this server a third of its throughput at
 * 64 connections on the 2-core VM (measured: 61-68k vs 96-109k msgs/s).
 * That is the allocator, not libuv. Runs until killed.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

typedef struct write_req {
    uv_write_t req;
    uv_buf_t buf;
} write_req;

static uv_loop_t *loop;
static uv_tcp_t server;

static void check(const char *what, int rc) {
    if (rc != 0) {
        fprintf(stderr, "libuv-echo: %s: %s\n", what, uv_strerror(rc));
        exit(1);
    }
}

static void on_close(uv_handle_t *handle) { free(handle); }

static void after_write(uv_write_t *req, int status) {
    write_req *wr = (write_req *)req;
    uv_handle_t *stream = (uv_handle_t *)req->handle;
    free(wr->buf.base);
    free(wr);
    if (status != 0 && !uv_is_closing(stream))
        uv_close(stream, on_close);
}

static void echo_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)handle;
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

static void after_read(uv_stream_t *stream, ssize_t nread,
                       const uv_buf_t *buf) {
    if (nread < 0) { /* EOF or error */
        free(buf->base);
        if (!uv_is_closing((uv_handle_t *)stream))
            uv_close((uv_handle_t *)stream, on_close);
        return;
    }
    if (nread == 0) {
        free(buf->base);
        return;
    }
    write_req *wr = malloc(sizeof(*wr));
    if (wr == NULL) {
        fprintf(stderr, "libuv-echo: out of memory\n");
        exit(1);
    }
    wr->buf = uv_buf_init(buf->base, (unsigned)nread);
    if (uv_write(&wr->req, stream, &wr->buf, 1, after_write) != 0) {
        free(wr->buf.base);
        free(wr);
        if (!uv_is_closing((uv_handle_t *)stream))
            uv_close((uv_handle_t *)stream, on_close);
    }
}

static void on_connection(uv_stream_t *srv, int status) {
    if (status != 0) {
        fprintf(stderr, "libuv-echo: connection error: %s\n",
                uv_strerror(status));
        return;
    }
    uv_tcp_t *conn = malloc(sizeof(*conn));
    if (conn == NULL) {
        fprintf(stderr, "libuv-echo: out of memory\n");
        exit(1);
    }
    check("uv_tcp_init", uv_tcp_init(loop, conn));
    if (uv_accept(srv, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, on_close);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    check("uv_read_start",
          uv_read_start((uv_stream_t *)conn, echo_alloc, after_read));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: libuv-echo PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "libuv-echo: bad port %s\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    loop = uv_default_loop();
    struct sockaddr_in addr;
    check("uv_ip4_addr", uv_ip4_addr("127.0.0.1", port, &addr));
    check("uv_tcp_init", uv_tcp_init(loop, &server));
    check("uv_tcp_bind",
          uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0));
    check("uv_listen", uv_listen((uv_stream_t *)&server, 1024, on_connection));
    fprintf(stderr, "libuv-echo: listening on 127.0.0.1:%d (libuv %s)\n", port,
            uv_version_string());
    return uv_run(loop, UV_RUN_DEFAULT);
}
