/*
 * json.c: kairo-console's JSON reader (json.h). Recursive descent, depth
 * limited, every allocation checked.
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p, *end;
    char *err;
    size_t errlen;
    int depth;
} parser;

static int fail(parser *ps, const char *what) {
    if (ps->err != NULL && ps->errlen != 0 && ps->err[0] == '\0')
        snprintf(ps->err, ps->errlen, "%s", what);
    return -1;
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(parser *ps, unsigned *out) {
    if (ps->end - ps->p < 4)
        return fail(ps, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(ps, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static size_t utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at ps->p (after the opening quote): decoded into *out. */
static int parse_string(parser *ps, char **out) {
    const char *q = ps->p;
    /* The decoded text is never longer than the source. */
    size_t cap = 1;
    while (q < ps->end && *q != '"') {
        if (*q == '\\' && q + 1 < ps->end)
            q++, cap++;
        q++, cap++;
    }
    if (q >= ps->end)
        return fail(ps, "unterminated string");
    char *s = malloc(cap + 4);
    if (s == NULL)
        return fail(ps, "out of memory");
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) {
            free(s);
            return fail(ps, "control character in string");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        char e = *ps->p++;
        unsigned cp;
        switch (e) {
        case '"':
            s[n++] = '"';
            break;
        case '\\':
            s[n++] = '\\';
            break;
        case '/':
            s[n++] = '/';
            break;
        case 'b':
            s[n++] = '\b';
            break;
        case 'f':
            s[n++] = '\f';
            break;
        case 'n':
            s[n++] = '\n';
            break;
        case 'r':
            s[n++] = '\r';
            break;
        case 't':
            s[n++] = '\t';
            break;
        case 'u':
            if (hex4(ps, &cp) != 0) {
                free(s);
                return -1;
            }
            /* A lone surrogate becomes U+FFFD; a pair, its code point. */
            if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 &&
                ps->p[0] == '\\' && ps->p[1] == 'u') {
                unsigned lo;
                ps->p += 2;
                if (hex4(ps, &lo) != 0) {
                    free(s);
                    return -1;
                }
                cp = lo >= 0xdc00 && lo < 0xe000
                         ? 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00)
                         : 0xfffd;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            n += utf8(s + n, cp);
            break;
        default:
            free(s);
            return fail(ps, "bad escape");
        }
    }
    ps->p++; /* the closing quote */
    s[n] = '\0';
    *out = s;
    return 0;
}

static int parse_value(parser *ps, json *v);

static int push(json *v, size_t *cap) {
    if (v->n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    json *items = realloc(v->items, nc * sizeof(*items));
    if (items == NULL)
        return -1;
    v->items = items;
    if (v->type == JSON_OBJECT) {
        char **keys = realloc(v->keys, nc * sizeof(*keys));
        if (keys == NULL)
            return -1;
        v->keys = keys;
    }
    *cap = nc;
    return 0;
}

static int parse_container(parser *ps, json *v, bool object) {
    char close = object ? '}' : ']';
    size_t cap = 0;
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    if (++ps->depth > 64)
        return fail(ps, "nested too deep");
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return 0;
    }
    for (;;) {
        if (push(v, &cap) != 0)
            return fail(ps, "out of memory");
        json *item = &v->items[v->n];
        memset(item, 0, sizeof(*item));
        if (object) {
            v->keys[v->n] = NULL;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected a member name");
            ps->p++;
            if (parse_string(ps, &v->keys[v->n]) != 0)
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                v->n++;
                return fail(ps, "expected ':'");
            }
            ps->p++;
        }
        v->n++;
        if (parse_value(ps, item) != 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return 0;
        }
        return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool word(parser *ps, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static int parse_number(parser *ps, json *v) {
    const char *s = ps->p;
    bool integer = true, neg = false;
    if (ps->p < ps->end && *ps->p == '-')
        neg = true, ps->p++;
    uint64_t u = 0;
    bool digits = false, overflow = false;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        unsigned d = (unsigned)(*ps->p++ - '0');
        if (u > (UINT64_MAX - d) / 10)
            overflow = true;
        u = u * 10 + d;
        digits = true;
    }
    if (!digits)
        return fail(ps, "bad number");
    if (ps->p < ps->end && *ps->p == '.') {
        integer = false;
        ps->p++;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integer = false;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char tmp[64];
    size_t n = (size_t)(ps->p - s);
    if (n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    v->type = JSON_NUMBER;
    v->number = strtod(tmp, NULL);
    v->u64 = integer && !neg && !overflow ? u : 0;
    return 0;
}

static int parse_value(parser *ps, json *v) {
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end");
    char c = *ps->p;
    if (c == '{' || c == '[') {
        ps->p++;
        return parse_container(ps, v, c == '{');
    }
    if (c == '"') {
        ps->p++;
        v->type = JSON_STRING;
        return parse_string(ps, &v->string);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, v);
    if (word(ps, "null")) {
        v->type = JSON_NULL;
        return 0;
    }
    if (word(ps, "true") || word(ps, "false")) {
        v->type = JSON_BOOL;
        v->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
        return 0;
    }
    return fail(ps, "unexpected character");
}

int json_parse(const char *s, size_t len, json *out, char *err, size_t errlen) {
    parser ps = {s, s + len, err, errlen, 0};
    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen != 0)
        err[0] = '\0';
    if (parse_value(&ps, out) != 0)
        return -1;
    skip_ws(&ps);
    if (ps.p != ps.end)
        return fail(&ps, "trailing characters");
    return 0;
}

void json_free(json *v) {
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        json_free(&v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    memset(v, 0, sizeof(*v));
}

const json *json_get(const json *obj, const char *key) {
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (obj->keys[i] != NULL && strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const json *json_at(const json *arr, size_t i) {
    if (arr == NULL || arr->type != JSON_ARRAY || i >= arr->n)
        return NULL;
    return &arr->items[i];
}

uint64_t json_u64(const json *v, uint64_t dflt) {
    if (v == NULL || v->type != JSON_NUMBER)
        return dflt;
    if (v->u64 != 0 || v->number == 0)
        return v->u64;
    return v->number > 0 ? (uint64_t)v->number : 0;
}

const char *json_str(const json *v) {
    return v != NULL && v->type == JSON_STRING ? v->string : NULL;
}

uint64_t json_get_u64(const json *obj, const char *key, uint64_t dflt) {
    return json_u64(json_get(obj, key), dflt);
}

const char *json_get_str(const json *obj, const char *key) {
    return json_str(json_get(obj, key));
}
