/*
 * The buffered reader (kairo/bufio.h) against a scripted stream: Tokio's
 * io_buf_reader.rs, io_read_line.rs, io_read_until.rs, io_read_exact.rs
 * and io_read_to_end.rs, then kairo's own: read_line split at every
 * position of its input (and at every pair of positions), over-long
 * lines (bounded memory, nothing consumed), end of stream in the middle
 * of a line, cancel-safety, frames parsed in place, files and pipes.
 *
 * Differences from Tokio, deliberate: lines are not copied into a string
 * but returned in place (valid until the next operation); a failed
 * read_line leaves what it had read in the buffer (Tokio appends it to
 * the caller's string) so nothing is lost; read_line does not check
 * UTF-8 (read_line_invalid_utf8 and read_line_fail_and_utf8_fail are not
 * ported: bytes are bytes); there is no seek (the *_seek tests).
 * KR_TEST_FLAVORS: ct mt
 */
#include <fcntl.h>
#include <unistd.h>

#include "test-bufio.h"

typedef struct fixture {
    kr_runtime *rt;
    mock m;
    kr_buf_reader *r;
} fixture;

static void fx_open(fixture *fx, const mock_step *steps, size_t n, size_t cap) {
    fx->rt = test_runtime(0);
    mock_init(&fx->m, steps, n);
    assert_rc(kr_buf_reader_new(mock_stream(&fx->m), cap, &fx->r), 0);
}

static void fx_close(fixture *fx) {
    kr_buf_reader_free(fx->r);
    mock_destroy(&fx->m);
    test_runtime_free(fx->rt);
}

static int64_t rd(fixture *fx, void *buf, size_t len) {
    kr_buf_op op = kr_buf_read(fx->r, buf, len);
    return run64(fx->rt, &op.base);
}

static int64_t line(fixture *fx, int delim, size_t max, const char **l) {
    kr_buf_op op = kr_buf_read_until(fx->r, delim, max, l);
    return run64(fx->rt, &op.base);
}

static void assert_buffer(fixture *fx, const void *want, size_t n) {
    size_t len;
    const char *p = kr_buf_reader_data(fx->r, &len);
    assert_int_equal(len, n);
    if (n > 0)
        assert_memory_equal(p, want, n);
}

static const mock_step inner8[] = {
    {MOCK_DATA, "\5\6\7\0\1\2\3\4", 8, 0},
};

/* ---- io_buf_reader.rs ----------------------------------------------- */

static void buffered_reader_run(bool maybe_pending) {
    fixture fx;
    fx_open(&fx, inner8, 1, 2);
    fx.m.maybe_pending = maybe_pending;
    unsigned char buf[3] = {0};
    assert_int_equal(rd(&fx, buf, 3), 3);
    assert_memory_equal(buf, "\5\6\7", 3);
    assert_buffer(&fx, "", 0);
    assert_int_equal(rd(&fx, buf, 2), 2);
    assert_memory_equal(buf, "\0\1", 2);
    assert_buffer(&fx, "", 0);
    assert_int_equal(rd(&fx, buf, 1), 1);
    assert_int_equal(buf[0], 2);
    assert_buffer(&fx, "\3", 1);
    memset(buf, 0, 3);
    assert_int_equal(rd(&fx, buf, 3), 1);
    assert_memory_equal(buf, "\3\0\0", 3);
    assert_buffer(&fx, "", 0);
    assert_int_equal(rd(&fx, buf, 3), 1);
    assert_int_equal(buf[0], 4);
    assert_int_equal(rd(&fx, buf, 3), 0);
    fx_close(&fx);
}

static void io_buf_reader__test_buffered_reader(void **state) {
    (void)state;
    buffered_reader_run(false);
}

static void io_buf_reader__maybe_pending(void **state) {
    (void)state;
    buffered_reader_run(true);
}

/* Short reads pass through, a 0 included: end of stream is not sticky. */
static void io_buf_reader__test_short_reads(void **state) {
    (void)state;
    static const mock_step steps[] = {
        MOCK_READ(""), MOCK_READ("a"), MOCK_READ("bc"),
        MOCK_READ(""), MOCK_READ("d"), MOCK_READ(""),
    };
    fixture fx;
    fx_open(&fx, steps, 6, 0);
    char buf[2];
    long want[] = {0, 1, 2, 0, 1, 0, 0};
    for (int i = 0; i < 7; i++)
        assert_int_equal(rd(&fx, buf, 2), want[i]);
    fx_close(&fx);
}

static void io_buf_reader__maybe_pending_buf_read(void **state) {
    (void)state;
    static const mock_step steps[] = {{MOCK_DATA, "\0\1\2\3\1\0", 6, 0}};
    fixture fx;
    fx_open(&fx, steps, 1, 2);
    fx.m.maybe_pending = true;
    const char *l;
    assert_int_equal(line(&fx, 3, 100, &l), 4);
    assert_memory_equal(l, "\0\1\2\3", 4);
    assert_int_equal(line(&fx, 1, 100, &l), 1);
    assert_memory_equal(l, "\1", 1);
    assert_int_equal(line(&fx, 8, 100, &l), 1);
    assert_memory_equal(l, "\0", 1);
    assert_int_equal(line(&fx, 9, 100, &l), 0);
    assert_null(l);
    fx_close(&fx);
}

/* fill_buf, consume, a fill pending until more comes, end of stream. */
static void io_buf_reader__test_fill_buf_wrapper(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("hello world"), MOCK_WAIT,
                                      MOCK_READ("foo bar")};
    fixture fx;
    fx_open(&fx, steps, 3, 0);
    kr_buf_op op = kr_buf_reader_fill(fx.r, 0);
    assert_int_equal(run64(fx.rt, &op.base), 11);
    assert_buffer(&fx, "hello world", 11);
    kr_buf_reader_consume(fx.r, 6);
    op = kr_buf_reader_fill(fx.r, 0);
    assert_int_equal(run64(fx.rt, &op.base), 5);
    assert_buffer(&fx, "world", 5);
    kr_buf_reader_consume(fx.r, 5);
    /* Pending once (the script's wait), by hand: then ready. */
    op = kr_buf_reader_fill(fx.r, 0);
    int64_t n = 0;
    assert_int_equal(poll_once(&op.base, &n), KR_PENDING);
    assert_int_equal(poll_once(&op.base, &n), KR_READY);
    assert_int_equal(n, 7);
    kr_future_drop(&op.base);
    assert_buffer(&fx, "foo bar", 7);
    kr_buf_reader_consume(fx.r, 7);
    op = kr_buf_reader_fill(fx.r, 0);
    assert_int_equal(run64(fx.rt, &op.base), 0);
    fx_close(&fx);
}

/* ---- io_read_line.rs, io_read_until.rs ------------------------------- */

static void io_read_line__read_line(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("hello\nworld\n\n")};
    fixture fx;
    fx_open(&fx, steps, 1, 0);
    const char *l;
    kr_buf_op op = kr_buf_read_line(fx.r, 100, &l);
    assert_int_equal(run64(fx.rt, &op.base), 6);
    assert_memory_equal(l, "hello\n", 6);
    op = kr_buf_read_line(fx.r, 100, &l);
    assert_int_equal(run64(fx.rt, &op.base), 6);
    assert_memory_equal(l, "world\n", 6);
    op = kr_buf_read_line(fx.r, 100, &l);
    assert_int_equal(run64(fx.rt, &op.base), 1);
    assert_memory_equal(l, "\n", 1);
    op = kr_buf_read_line(fx.r, 100, &l);
    assert_int_equal(run64(fx.rt, &op.base), 0);
    fx_close(&fx);
}

static void io_read_line__read_line_not_all_ready(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("Hello Wor"), MOCK_WAIT,
                                      MOCK_READ("ld\nFizzBuz"), MOCK_WAIT,
                                      MOCK_READ("z\n1\n2")};
    fixture fx;
    fx_open(&fx, steps, 5, 0);
    const char *l;
    assert_int_equal(line(&fx, '\n', 100, &l), 12);
    assert_memory_equal(l, "Hello World\n", 12);
    assert_int_equal(line(&fx, '\n', 100, &l), 9);
    assert_memory_equal(l, "FizzBuzz\n", 9);
    assert_int_equal(line(&fx, '\n', 100, &l), 2);
    assert_memory_equal(l, "1\n", 2);
    assert_int_equal(line(&fx, '\n', 100, &l), 1);
    assert_memory_equal(l, "2", 1);
    assert_int_equal(line(&fx, '\n', 100, &l), 0);
    fx_close(&fx);
}

/* The error comes out; what was read before it stays buffered. */
static void io_read_line__read_line_fail(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("Hello Wor"),
                                      MOCK_READ_ERR(KR_EIO)};
    fixture fx;
    fx_open(&fx, steps, 2, 0);
    const char *l;
    assert_int_equal(line(&fx, '\n', 100, &l), KR_EIO);
    assert_buffer(&fx, "Hello Wor", 9);
    assert_int_equal(line(&fx, '\n', 100, &l), 9);
    assert_memory_equal(l, "Hello Wor", 9);
    fx_close(&fx);
}

static void io_read_until__read_until(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("hello world")};
    fixture fx;
    fx_open(&fx, steps, 1, 0);
    const char *l;
    assert_int_equal(line(&fx, ' ', 100, &l), 6);
    assert_memory_equal(l, "hello ", 6);
    assert_int_equal(line(&fx, ' ', 100, &l), 5);
    assert_memory_equal(l, "world", 5);
    assert_int_equal(line(&fx, ' ', 100, &l), 0);
    fx_close(&fx);
}

static void io_read_until__read_until_not_all_ready(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("Hello Wor"), MOCK_WAIT,
                                      MOCK_READ("ld#Fizz\xffuz"), MOCK_WAIT,
                                      MOCK_READ("z#1#2")};
    fixture fx;
    fx_open(&fx, steps, 5, 0);
    const char *l;
    assert_int_equal(line(&fx, '#', 100, &l), 12);
    assert_memory_equal(l, "Hello World#", 12);
    assert_int_equal(line(&fx, '#', 100, &l), 9);
    assert_memory_equal(l, "Fizz\xffuzz#", 9);
    assert_int_equal(line(&fx, '#', 100, &l), 2);
    assert_int_equal(line(&fx, '#', 100, &l), 1);
    assert_memory_equal(l, "2", 1);
    fx_close(&fx);
}

static void io_read_until__read_until_fail(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("\x00\xff\x01\x02"),
                                      MOCK_READ_ERR(KR_ECONNRESET)};
    fixture fx;
    fx_open(&fx, steps, 2, 0);
    const char *l;
    assert_int_equal(line(&fx, '#', 100, &l), KR_ECONNRESET);
    assert_buffer(&fx, "\x00\xff\x01\x02", 4);
    fx_close(&fx);
}

/* ---- io_read_exact.rs, io_read_to_end.rs ------------------------------- */

static void io_read_exact__read_exact(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("hello world")};
    fixture fx;
    fx_open(&fx, steps, 1, 4);
    char buf[8];
    kr_buf_op op = kr_buf_read_exact(fx.r, buf, 8);
    assert_int_equal(run64(fx.rt, &op.base), 8);
    assert_memory_equal(buf, "hello wo", 8);
    op = kr_buf_read_exact(fx.r, buf, 8);
    assert_int_equal(run64(fx.rt, &op.base), KR_EOF);
    assert_memory_equal(buf, "rld", 3);
    fx_close(&fx);
}

static void io_read_to_end__read_to_end(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("hello"), MOCK_WAIT,
                                      MOCK_READ(" world")};
    fixture fx;
    fx_open(&fx, steps, 3, 2);
    char *data;
    size_t len;
    kr_buf_op op = kr_buf_read_to_end(fx.r, 1 << 20, &data, &len);
    assert_int_equal(run64(fx.rt, &op.base), 11);
    assert_int_equal(len, 11);
    assert_string_equal(data, "hello world");
    kr_buf_free(data);
    fx_close(&fx);
}

/* Over the limit: KR_EMSGSIZE, no buffer handed out, nothing leaked. */
static void bufio__read_to_end_limit(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("0123456789"),
                                      MOCK_READ("abcdef")};
    fixture fx;
    fx_open(&fx, steps, 2, 4);
    char *data = (char *)1;
    size_t len = 99;
    kr_buf_op op = kr_buf_read_to_end(fx.r, 12, &data, &len);
    assert_int_equal(run64(fx.rt, &op.base), KR_EMSGSIZE);
    assert_null(data);
    fx_close(&fx);
}

/* A read_to_end dropped half-way frees what it collected. */
static void bufio__read_to_end_dropped(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("hello"), MOCK_WAIT};
    fixture fx;
    fx_open(&fx, steps, 2, 0);
    char *data;
    size_t len;
    kr_buf_op op = kr_buf_read_to_end(fx.r, 100, &data, &len);
    assert_int_equal(poll_once(&op.base, NULL), KR_PENDING);
    kr_future_drop(&op.base); /* ASan: the 4 KiB collection is freed */
    fx_close(&fx);
}

/* ---- kairo's own ---------------------------------------------------------- */

static const char lines_text[] = "alpha\nbe\n\ngamma delta\nz\nlast";
static const char *const lines_want[] = {"alpha\n",       "be\n", "\n",
                                         "gamma delta\n", "z\n",  "last"};

/* Reads every line of the script and checks them against lines_want. */
static void check_lines(fixture *fx) {
    for (int i = 0; i < 6; i++) {
        const char *l = NULL;
        int64_t n = line(fx, '\n', 64, &l);
        if (n != (int64_t)strlen(lines_want[i]))
            fail_msg("line %d: %lld bytes", i, (long long)n);
        assert_memory_equal(l, lines_want[i], (size_t)n);
    }
    const char *l;
    assert_int_equal(line(fx, '\n', 64, &l), 0);
}

/* The same input split at every position, then at every pair of
 * positions, with buffers of 1, 3 and 8 bytes to start: the lines come
 * out the same whatever the chunks. */
static void bufio__read_line_every_split(void **state) {
    (void)state;
    const size_t n = sizeof(lines_text) - 1;
    size_t caps[] = {1, 3, 8};
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i <= n; i++)
            for (size_t j = i; j <= n; j++) {
                size_t cut[4] = {0, i, j, n}, k = 0;
                mock_step st[6];
                for (int p = 0; p < 3; p++) {
                    if (cut[p + 1] == cut[p])
                        continue; /* an empty read would be end of stream */
                    st[k++] = (mock_step){MOCK_DATA, lines_text + cut[p],
                                          cut[p + 1] - cut[p], 0};
                    st[k++] = (mock_step)MOCK_WAIT;
                }
                fixture fx;
                fx_open(&fx, st, k, caps[c]);
                fx.m.maybe_pending = (i + j) % 2 == 1;
                check_lines(&fx);
                fx_close(&fx);
            }
}

/* One byte per read: the worst chunking of all. */
static void bufio__read_line_byte_at_a_time(void **state) {
    (void)state;
    const size_t n = sizeof(lines_text) - 1;
    mock_step st[sizeof(lines_text)];
    for (size_t i = 0; i < n; i++)
        st[i] = (mock_step){MOCK_DATA, lines_text + i, 1, 0};
    fixture fx;
    fx_open(&fx, st, n, 2);
    check_lines(&fx);
    fx_close(&fx);
}

/* A line longer than the maximum: KR_EMSGSIZE once max bytes are in
 * without a delimiter; the buffer grew to max and no further; nothing
 * was consumed; consuming the junk lets reading go on. */
static void bufio__read_line_too_long(void **state) {
    (void)state;
    static char big[100000];
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    mock_step st[] = {{MOCK_DATA, big, sizeof(big), 0}, MOCK_READ("ok\n")};
    fixture fx;
    fx_open(&fx, st, 2, 16);
    const char *l;
    assert_int_equal(line(&fx, '\n', 1000, &l), KR_EMSGSIZE);
    assert_true(kr_buf_reader_capacity(fx.r) <= 1000);
    size_t have;
    kr_buf_reader_data(fx.r, &have);
    assert_int_equal(have, 1000);
    /* Again: the same answer, no more memory. */
    assert_int_equal(line(&fx, '\n', 1000, &l), KR_EMSGSIZE);
    assert_true(kr_buf_reader_capacity(fx.r) <= 1000);
    /* Skip the rest of the long line in bounded pieces. */
    int64_t n;
    while ((n = line(&fx, '\n', 1000, &l)) == KR_EMSGSIZE)
        kr_buf_reader_consume(fx.r, 1000);
    assert_true(n > 0 && l[n - 1] == '\n');
    assert_int_equal(line(&fx, '\n', 1000, &l), 3);
    assert_memory_equal(l, "ok\n", 3);
    /* A line of exactly max bytes fits. */
    fx_close(&fx);
    static const mock_step exact[] = {MOCK_READ("abcd\nabcde\n")};
    fx_open(&fx, exact, 1, 1);
    assert_int_equal(line(&fx, '\n', 5, &l), 5);
    assert_int_equal(line(&fx, '\n', 5, &l), KR_EMSGSIZE);
    fx_close(&fx);
}

/* End of stream in the middle of a line: the partial line, then 0; and
 * end of stream at once: 0. */
static void bufio__read_line_eof_mid_line(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("one\ntw"), MOCK_WAIT,
                                      MOCK_READ("o")};
    fixture fx;
    fx_open(&fx, steps, 3, 0);
    const char *l;
    assert_int_equal(line(&fx, '\n', 64, &l), 4);
    assert_int_equal(line(&fx, '\n', 64, &l), 3);
    assert_memory_equal(l, "two", 3);
    assert_int_equal(line(&fx, '\n', 64, &l), 0);
    assert_null(l);
    fx_close(&fx);
    fx_open(&fx, NULL, 0, 0);
    assert_int_equal(line(&fx, '\n', 64, &l), 0);
    fx_close(&fx);
}

/* A read_line dropped while pending loses nothing. */
static void bufio__read_line_cancel_safe(void **state) {
    (void)state;
    static const mock_step steps[] = {MOCK_READ("par"), MOCK_WAIT,
                                      MOCK_READ("tial\nnext\n")};
    fixture fx;
    fx_open(&fx, steps, 3, 0);
    const char *l;
    kr_buf_op op = kr_buf_read_line(fx.r, 64, &l);
    assert_int_equal(poll_once(&op.base, NULL), KR_PENDING);
    kr_future_drop(&op.base);
    assert_buffer(&fx, "par", 3);
    assert_int_equal(line(&fx, '\n', 64, &l), 8);
    assert_memory_equal(l, "partial\n", 8);
    assert_int_equal(line(&fx, '\n', 64, &l), 5);
    fx_close(&fx);
}

/* RESP-style frames parsed in place with data / consume / fill(n + 1),
 * split at every position: "$<len>\r\n<bytes>\r\n". */
static size_t parse_bulk(const char *p, size_t n, size_t *body) {
    const char *crlf = memmem(p, n, "\r\n", 2);
    if (crlf == NULL)
        return 0;
    size_t len = (size_t)atol(p + 1);
    size_t head = (size_t)(crlf - p) + 2;
    if (n < head + len + 2)
        return 0;
    *body = head;
    return head + len + 2;
}

static void bufio__fill_frames_in_place(void **state) {
    (void)state;
    static const char text[] =
        "$5\r\nhello\r\n$0\r\n\r\n$11\r\nhello world\r\n";
    const size_t n = sizeof(text) - 1;
    const char *want[] = {"hello", "", "hello world"};
    for (size_t i = 0; i <= n; i++) {
        mock_step st[3] = {{MOCK_DATA, text, i, 0},
                           MOCK_WAIT,
                           {MOCK_DATA, text + i, n - i, 0}};
        size_t first = i == 0 ? 2 : 0; /* no empty read: end of stream */
        size_t count = i == n ? 1 : 3 - first;
        fixture fx;
        fx_open(&fx, st + first, count, 4);
        int frames = 0;
        for (;;) {
            size_t have, body = 0;
            const char *p = kr_buf_reader_data(fx.r, &have);
            size_t used = parse_bulk(p, have, &body);
            if (used > 0) {
                assert_true(frames < 3);
                size_t len = used - body - 2;
                assert_int_equal(len, strlen(want[frames]));
                assert_memory_equal(p + body, want[frames], len);
                frames++;
                kr_buf_reader_consume(fx.r, used);
                continue;
            }
            kr_buf_op op = kr_buf_reader_fill(fx.r, have + 1);
            int64_t got = run64(fx.rt, &op.base);
            if (got <= (int64_t)have)
                break;
        }
        assert_int_equal(frames, 3);
        fx_close(&fx);
    }
}

static void bufio__misuse(void **state) {
    (void)state;
    kr_buf_reader *r = (kr_buf_reader *)1;
    kr_io_stream none = {NULL, NULL};
    assert_rc(kr_buf_reader_new(none, 0, &r), KR_EINVAL);
    assert_null(r);
    assert_rc(kr_buf_reader_new(none, 0, NULL), KR_EINVAL);
    kr_runtime *rt = test_runtime(0);
    const char *l;
    kr_buf_op op = kr_buf_read_line(NULL, 10, &l);
    assert_int_equal(run64(rt, &op.base), KR_EINVAL);
    mock m;
    mock_init(&m, NULL, 0);
    assert_rc(kr_buf_reader_new(mock_stream(&m), 0, &r), 0);
    op = kr_buf_read_line(r, 0, &l);
    assert_int_equal(run64(rt, &op.base), KR_EINVAL);
    op = kr_buf_read_line(r, 10, NULL);
    assert_int_equal(run64(rt, &op.base), KR_EINVAL);
    kr_buf_reader_free(r);
    kr_buf_reader_free(NULL);
    mock_destroy(&m);
    test_runtime_free(rt);
}

/* ---- real streams: a file and a child's pipe -------------------------- */

static void bufio__lines_from_file(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/kairo-bufio-%d.txt", (int)getpid());
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 1000; i++)
        fprintf(fp, "line %d\n", i);
    fclose(fp);
    kr_runtime *rt = test_runtime(0);
    kr_file *f;
    kr_open_options o = kr_open_options_read();
    kr_fs_op open = kr_fs_open(path, &o, &f);
    assert_int_equal(run64(rt, &open.base), 0);
    kr_io_file rec;
    kr_buf_reader *r;
    assert_rc(kr_buf_reader_new(kr_io_file_stream(&rec, f), 100, &r), 0);
    for (int i = 0; i < 1000; i++) {
        const char *l;
        char want[32];
        int wn = snprintf(want, sizeof(want), "line %d\n", i);
        kr_buf_op op = kr_buf_read_line(r, 64, &l);
        assert_int_equal(run64(rt, &op.base), wn);
        assert_memory_equal(l, want, (size_t)wn);
    }
    const char *l;
    kr_buf_op op = kr_buf_read_line(r, 64, &l);
    assert_int_equal(run64(rt, &op.base), 0);
    kr_buf_reader_free(r);
    kr_io_file_drop(&rec);
    kr_file_close(f);
    unlink(path);
    test_runtime_free(rt);
}

static void bufio__lines_from_pipe(void **state) {
    (void)state;
    kr_command *cmd = kr_command_new("sh");
    kr_command_arg(cmd, "-c");
    kr_command_arg(cmd, "for i in 1 2 3; do echo \"n=$i\"; done; printf end");
    kr_command_stdout(cmd, KR_STDIO_PIPE);
    kr_child *child;
    assert_rc(kr_command_spawn(cmd, &child), 0);
    kr_command_free(cmd);
    kr_runtime *rt = test_runtime(0);
    kr_buf_reader *r;
    assert_rc(kr_buf_reader_new(kr_io_pipe(kr_child_stdout(child)), 0, &r), 0);
    const char *want[] = {"n=1\n", "n=2\n", "n=3\n", "end"};
    for (int i = 0; i < 4; i++) {
        const char *l;
        kr_buf_op op = kr_buf_read_line(r, 64, &l);
        assert_int_equal(run64(rt, &op.base), (int64_t)strlen(want[i]));
        assert_memory_equal(l, want[i], strlen(want[i]));
    }
    kr_exit_status st;
    kr_child_wait_future w = kr_child_wait(child, &st);
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(st.code, 0);
    kr_buf_reader_free(r);
    kr_child_free(child);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(io_buf_reader__test_buffered_reader),
        cmocka_unit_test(io_buf_reader__maybe_pending),
        cmocka_unit_test(io_buf_reader__test_short_reads),
        cmocka_unit_test(io_buf_reader__maybe_pending_buf_read),
        cmocka_unit_test(io_buf_reader__test_fill_buf_wrapper),
        cmocka_unit_test(io_read_line__read_line),
        cmocka_unit_test(io_read_line__read_line_not_all_ready),
        cmocka_unit_test(io_read_line__read_line_fail),
        cmocka_unit_test(io_read_until__read_until),
        cmocka_unit_test(io_read_until__read_until_not_all_ready),
        cmocka_unit_test(io_read_until__read_until_fail),
        cmocka_unit_test(io_read_exact__read_exact),
        cmocka_unit_test(io_read_to_end__read_to_end),
        cmocka_unit_test(bufio__read_to_end_limit),
        cmocka_unit_test(bufio__read_to_end_dropped),
        cmocka_unit_test(bufio__read_line_every_split),
        cmocka_unit_test(bufio__read_line_byte_at_a_time),
        cmocka_unit_test(bufio__read_line_too_long),
        cmocka_unit_test(bufio__read_line_eof_mid_line),
        cmocka_unit_test(bufio__read_line_cancel_safe),
        cmocka_unit_test(bufio__fill_frames_in_place),
        cmocka_unit_test(bufio__misuse),
        cmocka_unit_test(bufio__lines_from_file),
        cmocka_unit_test(bufio__lines_from_pipe),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
