/*
 * resp_fuzz.c: a libFuzzer target for kairo-redis's request parser
 * (parse.c): RESP multibulk and inline commands, resumed across reads.
 *
 * Each input is cut in two at a point its first byte chooses, and the
 * parser sees the first part, then the whole, as it sees two reads from a
 * socket; every complete command is checked (arguments inside the buffer,
 * NUL-terminated) and dropped, without running it. A protocol error ends
 * the input, as it ends a connection. The first byte's top bit also makes
 * the client unauthenticated (requirepass set), which has limits of its
 * own.
 *
 *   make fuzz                  libFuzzer, FUZZ_SECONDS (default 300)
 *   build/bin/kairo-redis-fuzz-replay FILE...  (the corpus, fuzz/corpus)
 *                              the corpus once, with any compiler (a ctest
 *                              case: redis-fuzz/corpus)
 *
 * Built with kairo-redis's own sources (its main renamed away).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../networking.h"

static client *fc;

static void setup(void) {
    static int done;
    if (done)
        return;
    done = 1;
    config_init_defaults();
    server.loglevel = LL_WARNING + 1; /* quiet: protocol errors log */
    for (int i = 0; i < REDIS_DBNUM; i++) {
        server.db[i].keys = dict_new();
        server.db[i].expires = dict_new();
        server.db[i].id = i;
    }
    commands_init();
    fc = client_new_fake(true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (size == 0)
        return 0;
    size_t split = data[0] % (size + 1);
    static char pass[] = "secret";
    server.requirepass = (data[0] & 0x80) ? pass : NULL;
    if (server.requirepass)
        fc->flags &= ~(uint32_t)CLIENT_AUTHENTICATED;
    else
        fc->flags |= CLIENT_AUTHENTICATED;
    data++;
    size--;
    if (split > size)
        split = size;

    /* The query buffer, with the byte after it that the parser may write
     * a NUL to (networking.c allocates qcap + 1). */
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    fc->qbuf = buf;
    fc->qcap = size;
    fc->qpos = 0;
    fc->reqtype = 0;
    fc->multibulklen = 0;
    fc->bulklen = -1;
    fc->argc = 0;
    fc->flags &= ~(uint32_t)CLIENT_CLOSE_AFTER_REPLY;
    fc->obuf.len = 0;

    size_t lens[2] = {split, size};
    for (int part = 0; part < 2; part++) {
        fc->qlen = lens[part];
        while (fc->qpos < fc->qlen && !(fc->flags & CLIENT_CLOSE_AFTER_REPLY)) {
            int r = parse_command(fc);
            if (r <= 0)
                break;
            for (int i = 0; i < fc->argc; i++) {
                rslice a = fc->argv[i];
                if (a.ptr < buf || a.ptr + a.len > buf + size ||
                    a.ptr[a.len] != '\0')
                    abort(); /* an argument outside the buffer */
            }
            fc->argc = 0;
        }
        if (fc->flags & CLIENT_CLOSE_AFTER_REPLY)
            break;
    }
    fc->qbuf = NULL;
    fc->qcap = fc->qlen = fc->qpos = 0;
    fc->argc = 0;
    fc->obuf.len = 0;
    free(buf);
    return 0;
}

#ifdef KR_FUZZ_REPLAY
/* Without libFuzzer: runs each file named on the command line once. (The
 * build renames the server's main with -Dmain=...; this one is ours.) */
#undef main
int main(int argc, char **argv) {
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t data[1 << 20];
        size_t len = fread(data, 1, sizeof(data), f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, len);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return 0;
}
#endif
