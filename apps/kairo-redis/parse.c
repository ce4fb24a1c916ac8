/*
 * parse.c: the request parser. RESP multibulk ("*2\r\n$3\r\nGET\r\n...")
 * and inline commands ("GET key\r\n", as telnet and redis-cli's pipe
 * mode send them), parsed in place in the client's query buffer.
 *
 * c->argv[i] point into c->qbuf; each argument is NUL-terminated by
 * overwriting the byte after it (the CR of a bulk, a separator of an
 * inline line). A command cut by the end of what was read keeps its
 * parse state (multibulklen, bulklen, the arguments so far) and resumes
 * when more arrives, so a long command in many reads costs linear time;
 * networking.c fixes up the argv pointers when it moves the buffer.
 *
 * Errors are Redis's, with the same texts, and close the client after
 * the reply (CLIENT_CLOSE_AFTER_REPLY).
 */
#include <string.h>

#include "networking.h"

/* Redis's PROTO_INLINE_MAX_SIZE: an inline line or a header line longer
 * than this without its newline is an error. */
#define INLINE_MAX (64 * 1024)

static void protocol_error(client *c, const char *msg) {
    add_reply_error(c, msg);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    server_log(LL_VERBOSE, "Protocol error (%s) from client id=%llu addr=%s",
               msg, (unsigned long long)c->id, c->addr);
}

static void argv_push(client *c, char *p, size_t len) {
    if (c->argc == c->argv_cap) {
        int cap = c->argv_cap ? c->argv_cap * 2 : 8;
        c->argv = zrealloc(c->argv, (size_t)cap * sizeof(rslice));
        c->argv_cap = cap;
    }
    c->argv[c->argc].ptr = p;
    c->argv[c->argc].len = len;
    c->argc++;
}

static bool auth_required(const client *c) {
    return server.requirepass != NULL && !(c->flags & CLIENT_AUTHENTICATED);
}

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool is_space(char ch) {
    return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || ch == '\v' ||
           ch == '\f';
}

/*
 * Splits [p, end) into arguments in place, as Redis's sdssplitargs: spaces
 * separate; "..." takes \n \r \t \b \a \\ \" and \xHH escapes; '...'
 * takes \'; a closing quote must be followed by a space or the end.
 * Unescaped bytes are written over the source (never longer than it).
 * Returns false for unbalanced quotes.
 */
static bool split_inline(client *c, char *p, char *end) {
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p >= end)
            return true;
        char *start = p, *w = p;
        bool inq = false, insq = false, done = false;
        while (!done) {
            if (inq) {
                if (p >= end)
                    return false;
                if (p[0] == '\\' && p + 3 < end && p[1] == 'x' &&
                    hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                    *w++ = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (p[0] == '\\' && p + 1 < end) {
                    p++;
                    switch (*p) {
                    case 'n':
                        *w++ = '\n';
                        break;
                    case 'r':
                        *w++ = '\r';
                        break;
                    case 't':
                        *w++ = '\t';
                        break;
                    case 'b':
                        *w++ = '\b';
                        break;
                    case 'a':
                        *w++ = '\a';
                        break;
                    default:
                        *w++ = *p;
                        break;
                    }
                } else if (*p == '"') {
                    if (p + 1 < end && !is_space(p[1]))
                        return false;
                    done = true;
                } else {
                    *w++ = *p;
                }
            } else if (insq) {
                if (p >= end)
                    return false;
                if (p[0] == '\\' && p + 1 < end && p[1] == '\'') {
                    p++;
                    *w++ = '\'';
                } else if (*p == '\'') {
                    if (p + 1 < end && !is_space(p[1]))
                        return false;
                    done = true;
                } else {
                    *w++ = *p;
                }
            } else {
                if (p >= end) {
                    done = true;
                    break;
                }
                switch (*p) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                case '\0':
                    done = true;
                    break;
                case '"':
                    inq = true;
                    break;
                case '\'':
                    insq = true;
                    break;
                default:
                    *w++ = *p;
                    break;
                }
            }
            if (p < end)
                p++;
        }
        /* The terminator: w <= p - 1 always holds here except at the end
         * of the line, where the line's own CR/LF follows (still ours). */
        argv_push(c, start, (size_t)(w - start));
        *w = '\0';
    }
}

/* One inline command. 1: complete, 0: need more, -1: error. */
static int parse_inline(client *c) {
    char *base = c->qbuf + c->qpos;
    size_t avail = c->qlen - c->qpos;
    char *nl = memchr(base, '\n', avail);
    if (nl == NULL) {
        if (avail > INLINE_MAX) {
            protocol_error(c, "Protocol error: too big inline request");
            return -1;
        }
        return 0;
    }
    char *end = nl;
    if (end > base && end[-1] == '\r')
        end--;
    c->argc = 0;
    if (!split_inline(c, base, end)) {
        c->argc = 0;
        protocol_error(c, "Protocol error: unbalanced quotes in request");
        return -1;
    }
    c->qpos = (size_t)(nl + 1 - c->qbuf);
    return 1;
}

/* A header line "<ch><digits>\r\n" at c->qpos: its value in *v. Returns
 * 1, 0 (need more) or -1 after a protocol error. */
static int header_line(client *c, int64_t *v, bool *ok, const char *toobig) {
    char *base = c->qbuf + c->qpos;
    size_t avail = c->qlen - c->qpos;
    char *cr = memchr(base, '\r', avail);
    if (cr == NULL) {
        if (avail > INLINE_MAX) {
            protocol_error(c, toobig);
            return -1;
        }
        return 0;
    }
    /* The LF must be there too (Redis does not check what it is). */
    if ((size_t)(cr - base) + 2 > avail)
        return 0;
    *ok = string_to_ll(base + 1, (size_t)(cr - base - 1), v);
    c->qpos += (size_t)(cr - base) + 2;
    return 1;
}

static int parse_multibulk(client *c) {
    if (c->multibulklen == 0) {
        int64_t ll = 0;
        bool ok;
        int r = header_line(c, &ll, &ok,
                            "Protocol error: too big mbulk count string");
        if (r <= 0)
            return r;
        if (!ok || ll > INT32_MAX) {
            protocol_error(c, "Protocol error: invalid multibulk length");
            return -1;
        }
        if (ll > 10 && auth_required(c)) {
            protocol_error(c,
                           "Protocol error: unauthenticated multibulk length");
            return -1;
        }
        if (ll <= 0)
            return 1; /* an empty command: skipped */
        c->multibulklen = ll;
        c->argc = 0;
        c->bulklen = -1;
    }
    while (c->multibulklen > 0) {
        if (c->bulklen == -1) {
            if (c->qpos >= c->qlen)
                return 0;
            if (c->qbuf[c->qpos] != '$') {
                /* Only once the whole line is there, as Redis checks. */
                char *cr = memchr(c->qbuf + c->qpos, '\r', c->qlen - c->qpos);
                if (cr == NULL || (size_t)(cr - c->qbuf) + 2 > c->qlen) {
                    if (c->qlen - c->qpos > INLINE_MAX) {
                        protocol_error(
                            c, "Protocol error: too big bulk count string");
                        return -1;
                    }
                    return 0;
                }
                char msg[64];
                snprintf(msg, sizeof(msg),
                         "Protocol error: expected '$', got '%c'",
                         c->qbuf[c->qpos]);
                protocol_error(c, msg);
                return -1;
            }
            int64_t ll = 0;
            bool ok;
            int r = header_line(c, &ll, &ok,
                                "Protocol error: too big bulk count string");
            if (r <= 0)
                return r;
            if (!ok || ll < 0 || ll > server.proto_max_bulk_len) {
                protocol_error(c, "Protocol error: invalid bulk length");
                return -1;
            }
            if (ll > 16384 && auth_required(c)) {
                protocol_error(c,
                               "Protocol error: unauthenticated bulk length");
                return -1;
            }
            c->bulklen = ll;
        }
        size_t need = (size_t)c->bulklen + 2;
        if (c->qlen - c->qpos < need)
            return 0;
        char *p = c->qbuf + c->qpos;
        argv_push(c, p, (size_t)c->bulklen);
        p[c->bulklen] = '\0'; /* over the CR (Redis skips the 2 bytes) */
        c->qpos += need;
        c->bulklen = -1;
        c->multibulklen--;
    }
    return 1;
}

int parse_command(client *c) {
    if (c->reqtype == 0) {
        c->cmd_start = c->qpos;
        c->argc = 0;
        c->reqtype = c->qbuf[c->qpos] == '*' ? 1 : 2;
    }
    int r = c->reqtype == 1 ? parse_multibulk(c) : parse_inline(c);
    if (r != 0)
        c->reqtype = 0;
    return r;
}

size_t parse_bytes_wanted(const client *c) {
    /* A bulk of known length: read the rest of it in one go. */
    if (c->reqtype == 1 && c->bulklen >= 0) {
        size_t have = c->qlen - c->qpos;
        size_t need = (size_t)c->bulklen + 2;
        if (need > have)
            return need - have;
    }
    return 0;
}
