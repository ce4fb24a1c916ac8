/*
 * cmd_args.c: COMMAND DOCS "arguments", built from a one-line synopsis.
 *
 * Each command's synopsis (cmd_synopsis.c) is written in the usual
 * notation, with a few marks so it carries what Redis 7.0's argument tree
 * carries:
 *
 *   word          an argument named `word`, type string
 *   word:T        type T: k key, i integer, d double, p pattern,
 *                 t unix-time, s string
 *   WORD          a token: alone, a pure-token named `word`; followed by an
 *                 argument, that argument's token ("EX seconds:i")
 *   name=WORD     a pure-token with another name ("change=CH")
 *   [ ... ]       optional; ( ... ) required grouping
 *   { ... }       a block even when it holds one argument
 *   a|b|c         inside a group: a oneof (each branch one item)
 *   name=[...]    names the group (a oneof or a block)
 *   [TOK a b]     a block with token TOK holding a and b
 *   x ...         x is multiple; "x ...+" also multiple_token
 *
 * e.g. "key:k value condition=[NX|XX] [GET] expiration=[EX seconds:i|...]".
 * Key arguments get key_spec_index 0, 1, ... in order of appearance.
 *
 * The reply has Redis 7.0's shape: per argument a map of name, type,
 * key_spec_index (keys), token, flags (optional, multiple, multiple_token)
 * and, for oneof and block, arguments. A malformed synopsis (a bug in the
 * table) yields what parsed so far; the table test catches it.
 */
#include <ctype.h>
#include <string.h>

#include "server.h"

enum { MAX_NODES = 128 };

typedef struct anode {
    char name[48];
    char token[32];
    const char *type;
    int optional, multiple, mtoken;
    int ksi;         /* key_spec_index, -1 if none */
    int bare_token;  /* a token word not yet attached */
    int first, next; /* children / siblings, -1 terminated */
} anode;

typedef struct aparse {
    const char *p;
    anode n[MAX_NODES];
    int count;
    int keys;
    int bad;
} aparse;

static int new_node(aparse *a) {
    if (a->count >= MAX_NODES) {
        a->bad = 1;
        return -1;
    }
    anode *n = &a->n[a->count];
    memset(n, 0, sizeof(*n));
    n->ksi = -1;
    n->first = n->next = -1;
    n->type = "string";
    return a->count++;
}

static void skip_spaces(aparse *a) {
    while (*a->p == ' ')
        a->p++;
}

static int word_char(char ch) {
    return isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '/';
}

/* A word; a ':' inside it ("ip:port") is part of it unless it introduces a
 * one-letter type ("count:i"). */
static size_t read_word(aparse *a, char *out, size_t cap) {
    size_t len = 0;
    while (word_char(*a->p) ||
           (*a->p == ':' && word_char(a->p[1]) && word_char(a->p[2]))) {
        if (len + 1 < cap)
            out[len++] = *a->p;
        a->p++;
    }
    out[len] = '\0';
    return len;
}

static void lower_copy(char *dst, size_t cap, const char *src) {
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

static const char *type_name(char t) {
    switch (t) {
    case 'k':
        return "key";
    case 'i':
        return "integer";
    case 'd':
        return "double";
    case 'p':
        return "pattern";
    case 't':
        return "unix-time";
    default:
        return "string";
    }
}

static int parse_alt(aparse *a, char close, int *nbranches);

/* Links items of a sequence: a bare token followed by an argument becomes
 * that argument's token. Returns the first item of the resulting list. */
static int merge_tokens(aparse *a, int first) {
    int head = -1, tail = -1;
    for (int i = first; i >= 0;) {
        int nx = a->n[i].next;
        int keep = i;
        if (a->n[i].bare_token && nx >= 0 && !a->n[nx].bare_token &&
            a->n[nx].token[0] == '\0') {
            memcpy(a->n[nx].token, a->n[i].token, sizeof(a->n[nx].token));
            keep = nx;
            nx = a->n[nx].next;
        }
        a->n[keep].bare_token = 0;
        a->n[keep].next = -1;
        if (tail >= 0)
            a->n[tail].next = keep;
        else
            head = keep;
        tail = keep;
        i = nx;
    }
    return head;
}

static int list_len(const aparse *a, int first) {
    int n = 0;
    for (int i = first; i >= 0; i = a->n[i].next)
        n++;
    return n;
}

/* One item: a word or a bracketed group, with its "..." suffix. */
static int parse_item(aparse *a) {
    char word[48];
    char name[48] = "";
    const char *save = a->p;
    if (read_word(a, word, sizeof(word)) > 0 && *a->p == '=') {
        memcpy(name, word, sizeof(name));
        a->p++;
    } else {
        a->p = save;
    }
    int id;
    if (*a->p == '[' || *a->p == '(' || *a->p == '{') {
        char close = *a->p == '[' ? ']' : *a->p == '(' ? ')' : '}';
        int optional = *a->p == '[';
        int force_block = *a->p == '{';
        a->p++;
        int nbr = 0;
        int first = parse_alt(a, close, &nbr);
        if (*a->p != close) {
            a->bad = 1;
            return -1;
        }
        a->p++;
        if (first < 0)
            return -1;
        if (nbr > 1) {
            id = new_node(a);
            if (id < 0)
                return -1;
            a->n[id].type = "oneof";
            a->n[id].first = first;
        } else if (a->n[first].next < 0 &&
                   !(force_block && a->n[first].type[0] != 'b')) {
            id = first; /* a group of one item is that item */
        } else {
            id = new_node(a);
            if (id < 0)
                return -1;
            a->n[id].type = "block";
            a->n[id].first = first;
        }
        if (a->n[id].name[0] == '\0' || name[0])
            memcpy(a->n[id].name, name[0] ? name : "arg", sizeof(name));
        a->n[id].optional |= optional;
    } else {
        if (read_word(a, word, sizeof(word)) == 0) {
            a->bad = 1;
            return -1;
        }
        id = new_node(a);
        if (id < 0)
            return -1;
        anode *n = &a->n[id];
        if (isupper((unsigned char)word[0])) {
            n->type = "pure-token";
            memcpy(n->token, word, sizeof(n->token) - 1);
            n->token[sizeof(n->token) - 1] = '\0';
            lower_copy(n->name, sizeof(n->name), word);
            n->bare_token = 1;
        } else {
            memcpy(n->name, word, sizeof(n->name));
            if (*a->p == ':') {
                a->p++;
                n->type = type_name(*a->p);
                if (*a->p)
                    a->p++;
            }
            if (n->type[0] == 'k' && n->type[1] == 'e')
                n->ksi = a->keys++;
        }
        if (name[0])
            memcpy(n->name, name, sizeof(name));
    }
    skip_spaces(a);
    if (strncmp(a->p, "...", 3) == 0) {
        a->p += 3;
        a->n[id].multiple = 1;
        a->n[id].bare_token = 0;
        if (*a->p == '+') {
            a->p++;
            a->n[id].mtoken = 1;
        }
    }
    return id;
}

/* A sequence up to '|', the close character or the end. */
static int parse_seq(aparse *a, char close) {
    int head = -1, tail = -1;
    for (;;) {
        skip_spaces(a);
        if (*a->p == '\0' || *a->p == '|' || *a->p == close || a->bad)
            break;
        int id = parse_item(a);
        if (id < 0)
            break;
        if (tail >= 0)
            a->n[tail].next = id;
        else
            head = id;
        tail = id;
    }
    return head;
}

/* Wraps a sequence of several items as a block; [TOK a b] takes TOK as
 * the block's token. */
static int seq_to_item(aparse *a, int first) {
    if (first < 0)
        return -1;
    if (a->n[first].bare_token && list_len(a, first) > 2) {
        int id = new_node(a);
        if (id < 0)
            return -1;
        a->n[id].type = "block";
        memcpy(a->n[id].token, a->n[first].token, sizeof(a->n[id].token));
        memcpy(a->n[id].name, a->n[first].name, sizeof(a->n[id].name));
        a->n[id].first = merge_tokens(a, a->n[first].next);
        return id;
    }
    first = merge_tokens(a, first);
    if (a->n[first].next < 0)
        return first;
    int id = new_node(a);
    if (id < 0)
        return -1;
    a->n[id].type = "block";
    a->n[id].first = first;
    return id;
}

static int parse_alt(aparse *a, char close, int *nbranches) {
    int head = -1, tail = -1;
    *nbranches = 0;
    for (;;) {
        int item = seq_to_item(a, parse_seq(a, close));
        if (item >= 0) {
            (*nbranches)++;
            if (tail >= 0)
                a->n[tail].next = item;
            else
                head = item;
            tail = item;
        }
        if (*a->p != '|' || a->bad)
            break;
        a->p++;
    }
    return head;
}

static void reply_nodes(client *c, const aparse *a, int first) {
    add_reply_array_len(c, list_len(a, first));
    for (int i = first; i >= 0; i = a->n[i].next) {
        const anode *n = &a->n[i];
        int nflags = n->optional + n->multiple + n->mtoken;
        int fields = 2 + (n->ksi >= 0) + (n->token[0] != '\0') + (nflags > 0) +
                     (n->first >= 0);
        add_reply_map_len(c, fields);
        add_reply_bulk_cstr(c, "name");
        add_reply_bulk_cstr(c, n->name);
        add_reply_bulk_cstr(c, "type");
        add_reply_bulk_cstr(c, n->type);
        if (n->ksi >= 0) {
            add_reply_bulk_cstr(c, "key_spec_index");
            add_reply_long_long(c, n->ksi);
        }
        if (n->token[0]) {
            add_reply_bulk_cstr(c, "token");
            add_reply_bulk_cstr(c, n->token);
        }
        if (nflags > 0) {
            add_reply_bulk_cstr(c, "flags");
            add_reply_set_len(c, nflags);
            if (n->optional)
                add_reply_status(c, "optional");
            if (n->multiple)
                add_reply_status(c, "multiple");
            if (n->mtoken)
                add_reply_status(c, "multiple_token");
        }
        if (n->first >= 0) {
            add_reply_bulk_cstr(c, "arguments");
            reply_nodes(c, a, n->first);
        }
    }
}

void reply_command_args(client *c, const char *synopsis) {
    static aparse a; /* under server.lock, like every handler */
    memset(&a, 0, sizeof(a));
    a.p = synopsis;
    int first = merge_tokens(&a, parse_seq(&a, '\0'));
    reply_nodes(c, &a, first);
}
