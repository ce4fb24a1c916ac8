/*
 * pubsub.c: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
 * PUBSUB CHANNELS / NUMSUB / NUMPAT, as Redis 7.0's pubsub.c (without the
 * sharded S* commands).
 *
 * Registries (server.lock held, as everything): channel -> subscribers and
 * pattern -> subscribers, each a vector in subscription order (Redis's
 * lists: a message reaches a channel's subscribers in the order they
 * subscribed); per client, a table of its channels and a vector of its
 * patterns (PUNSUBSCRIBE without arguments goes through them in order).
 * Patterns match as Redis's stringmatchlen (glob.h).
 *
 * Delivery appends the message to the subscriber's obuf (RESP2 array or
 * RESP3 push, as the subscriber speaks) and wakes its task. The output-
 * buffer limit of the pubsub class (client-output-buffer-limit pubsub
 * <hard> <soft> <seconds>, default 32mb 8mb 60) is checked after each
 * message against everything the client has not yet sent (obuf plus what
 * its task holds unsent): over the hard limit, or over the soft one for
 * longer than the seconds, the client is closed at once without further
 * output, as Redis does, so a subscriber that never reads costs at most
 * the limit.
 */
#include <stdio.h>
#include <string.h>

#include "glob.h"
#include "server.h"

typedef struct client_vec {
    client **v;
    int n, cap;
} client_vec;

struct pubsub_state {
    dict *channels;   /* the client's channels (no values) */
    rslice *patterns; /* zmalloc'd copies, in subscription order */
    int npatterns, cappatterns;
    int64_t soft_since_ms; /* over the soft limit since, 0 if under */
};

static dict *channels; /* channel -> client_vec* */
static dict *patterns; /* pattern -> client_vec* */

static pubsub_state *state_of(client *c) {
    if (c->pubsub == NULL) {
        c->pubsub = zcalloc(sizeof(pubsub_state));
        c->pubsub->channels = dict_new();
    }
    return c->pubsub;
}

static int subscription_count(const client *c) {
    if (c->pubsub == NULL)
        return 0;
    return (int)dict_size(c->pubsub->channels) + c->pubsub->npatterns;
}

static void vec_add(dict **reg, rslice name, client *c) {
    if (*reg == NULL)
        *reg = dict_new();
    bool existed;
    dict_entry *e = dict_add_or_find(*reg, name.ptr, name.len, &existed);
    if (!existed)
        e->val.ptr = zcalloc(sizeof(client_vec));
    client_vec *cv = e->val.ptr;
    if (cv->n == cv->cap) {
        cv->cap = cv->cap ? cv->cap * 2 : 4;
        cv->v = zrealloc(cv->v, sizeof(client *) * (size_t)cv->cap);
    }
    cv->v[cv->n++] = c;
}

static void vec_remove(dict *reg, rslice name, client *c) {
    dict_entry *e = reg ? dict_find(reg, name.ptr, name.len) : NULL;
    if (e == NULL)
        return;
    client_vec *cv = e->val.ptr;
    for (int i = 0; i < cv->n; i++) {
        if (cv->v[i] == c) {
            memmove(&cv->v[i], &cv->v[i + 1],
                    sizeof(client *) * (size_t)(cv->n - i - 1));
            cv->n--;
            break;
        }
    }
    if (cv->n == 0) {
        /* Gone with its last subscriber, so that millions of one-time
         * channels cost nothing afterwards. */
        zfree(cv->v);
        zfree(cv);
        dict_delete(reg, name.ptr, name.len, NULL);
    }
}

/* ---- replies ------------------------------------------------------------------ */

static void reply_subscription(client *c, const char *kind, size_t kindlen,
                               const rslice *name) {
    add_reply_push_len(c, 3);
    add_reply_bulk(c, kind, kindlen);
    if (name != NULL)
        add_reply_bulk(c, name->ptr, name->len);
    else
        add_reply_null(c);
    add_reply_long_long(c, subscription_count(c));
}

/* ---- subscribe / unsubscribe -------------------------------------------------- */

static void subscribe_channel(client *c, rslice ch) {
    pubsub_state *ps = state_of(c);
    bool existed;
    dict_add_or_find(ps->channels, ch.ptr, ch.len, &existed);
    if (!existed)
        vec_add(&channels, ch, c);
    reply_subscription(c, "subscribe", 9, &ch);
}

static bool unsubscribe_channel(client *c, rslice ch, bool notify) {
    bool was = false;
    if (c->pubsub != NULL &&
        dict_delete(c->pubsub->channels, ch.ptr, ch.len, NULL)) {
        vec_remove(channels, ch, c);
        was = true;
    }
    if (notify)
        reply_subscription(c, "unsubscribe", 11, &ch);
    return was;
}

static int pattern_index(const client *c, rslice pat) {
    for (int i = 0; c->pubsub != NULL && i < c->pubsub->npatterns; i++)
        if (rslice_eq(c->pubsub->patterns[i], pat))
            return i;
    return -1;
}

static void subscribe_pattern(client *c, rslice pat) {
    pubsub_state *ps = state_of(c);
    if (pattern_index(c, pat) < 0) {
        if (ps->npatterns == ps->cappatterns) {
            ps->cappatterns = ps->cappatterns ? ps->cappatterns * 2 : 4;
            ps->patterns = zrealloc(ps->patterns,
                                    sizeof(rslice) * (size_t)ps->cappatterns);
        }
        ps->patterns[ps->npatterns].ptr = zstrndup(pat.ptr, pat.len);
        ps->patterns[ps->npatterns].len = pat.len;
        ps->npatterns++;
        vec_add(&patterns, pat, c);
    }
    reply_subscription(c, "psubscribe", 10, &pat);
}

static bool unsubscribe_pattern(client *c, rslice pat, bool notify) {
    bool was = false;
    int i = pattern_index(c, pat);
    char *copy = NULL;
    if (i >= 0) {
        pubsub_state *ps = c->pubsub;
        copy = ps->patterns[i].ptr; /* pat may be this very copy */
        memmove(&ps->patterns[i], &ps->patterns[i + 1],
                sizeof(rslice) * (size_t)(ps->npatterns - i - 1));
        ps->npatterns--;
        vec_remove(patterns, pat, c);
        was = true;
    }
    if (notify)
        reply_subscription(c, "punsubscribe", 12, &pat);
    zfree(copy);
    return was;
}

static int unsubscribe_all_channels(client *c, bool notify) {
    int count = 0;
    if (c->pubsub != NULL && dict_size(c->pubsub->channels) > 0) {
        dict_iter it;
        dict_iter_init(&it, c->pubsub->channels);
        dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            /* The entry is deleted by the call: copy its name first. */
            size_t len = e->keylen;
            char *name = zstrndup(e->key, len);
            count += unsubscribe_channel(c, rslice_of(name, len), notify);
            zfree(name);
        }
    }
    if (notify && count == 0)
        reply_subscription(c, "unsubscribe", 11, NULL);
    return count;
}

static int unsubscribe_all_patterns(client *c, bool notify) {
    int count = 0;
    while (c->pubsub != NULL && c->pubsub->npatterns > 0)
        count += unsubscribe_pattern(c, c->pubsub->patterns[0], notify);
    if (notify && count == 0)
        reply_subscription(c, "punsubscribe", 12, NULL);
    return count;
}

static void update_pubsub_flag(client *c) {
    if (subscription_count(c) == 0)
        c->flags &= ~(uint32_t)CLIENT_PUBSUB;
}

static void subscribe_command(client *c) {
    for (int i = 1; i < c->argc; i++)
        subscribe_channel(c, c->argv[i]);
    c->flags |= CLIENT_PUBSUB;
}

static void unsubscribe_command(client *c) {
    if (c->argc == 1)
        unsubscribe_all_channels(c, true);
    else
        for (int i = 1; i < c->argc; i++)
            unsubscribe_channel(c, c->argv[i], true);
    update_pubsub_flag(c);
}

static void psubscribe_command(client *c) {
    for (int i = 1; i < c->argc; i++)
        subscribe_pattern(c, c->argv[i]);
    c->flags |= CLIENT_PUBSUB;
}

static void punsubscribe_command(client *c) {
    if (c->argc == 1)
        unsubscribe_all_patterns(c, true);
    else
        for (int i = 1; i < c->argc; i++)
            unsubscribe_pattern(c, c->argv[i], true);
    update_pubsub_flag(c);
}

void pubsub_free_client(client *c) {
    if (c->pubsub == NULL)
        return;
    unsubscribe_all_channels(c, false);
    unsubscribe_all_patterns(c, false);
    dict_free(c->pubsub->channels, NULL);
    zfree(c->pubsub->patterns);
    zfree(c->pubsub);
    c->pubsub = NULL;
}

/* ---- publish -------------------------------------------------------------------- */

/* Closes a subscriber over its output-buffer limit (see the top). */
static void enforce_limit(client *c) {
    size_t pending = c->obuf.len + c->wpending;
    size_t hard = server.pubsub_obuf_hard, soft = server.pubsub_obuf_soft;
    bool over = hard != 0 && pending >= hard;
    if (!over && soft != 0 && pending >= soft) {
        int64_t now = command_time_ms();
        pubsub_state *ps = state_of(c);
        if (ps->soft_since_ms == 0)
            ps->soft_since_ms = now;
        else if (now - ps->soft_since_ms >=
                 (int64_t)server.pubsub_obuf_soft_s * 1000)
            over = true;
    } else if (c->pubsub != NULL) {
        c->pubsub->soft_since_ms = 0;
    }
    if (over) {
        server_log(LL_WARNING,
                   "Client id=%llu addr=%s scheduled to be closed ASAP for "
                   "overcoming of output buffer limits.",
                   (unsigned long long)c->id, c->addr);
        /* Its pending output goes now: it will never be written. */
        c->obuf.len = 0;
        client_close_async(c);
    }
}

static bool deliverable(const client *c) {
    return !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_FAKE));
}

static void deliver_message(client *c, rslice ch, rslice msg) {
    add_reply_push_len(c, 3);
    add_reply_bulk(c, "message", 7);
    add_reply_bulk(c, ch.ptr, ch.len);
    add_reply_bulk(c, msg.ptr, msg.len);
    enforce_limit(c);
    client_wake(c);
}

static void deliver_pmessage(client *c, rslice pat, rslice ch, rslice msg) {
    add_reply_push_len(c, 4);
    add_reply_bulk(c, "pmessage", 8);
    add_reply_bulk(c, pat.ptr, pat.len);
    add_reply_bulk(c, ch.ptr, ch.len);
    add_reply_bulk(c, msg.ptr, msg.len);
    enforce_limit(c);
    client_wake(c);
}

/* Returns the receivers, as PUBLISH replies. */
static int64_t publish_message(rslice ch, rslice msg) {
    int64_t receivers = 0;
    dict_entry *e = channels ? dict_find(channels, ch.ptr, ch.len) : NULL;
    if (e != NULL) {
        client_vec *cv = e->val.ptr;
        for (int i = 0; i < cv->n; i++) {
            if (deliverable(cv->v[i]))
                deliver_message(cv->v[i], ch, msg);
            receivers++;
        }
    }
    if (dict_size(patterns) > 0) {
        dict_iter it;
        dict_iter_init(&it, patterns);
        while ((e = dict_iter_next(&it)) != NULL) {
            if (!rd_glob_match(e->key, e->keylen, ch.ptr, ch.len, false))
                continue;
            client_vec *cv = e->val.ptr;
            rslice pat = rslice_of(e->key, e->keylen);
            for (int i = 0; i < cv->n; i++) {
                if (deliverable(cv->v[i]))
                    deliver_pmessage(cv->v[i], pat, ch, msg);
                receivers++;
            }
        }
    }
    return receivers;
}

static void publish_command(client *c) {
    add_reply_long_long(c, publish_message(c->argv[1], c->argv[2]));
}

/* ---- PUBSUB ----------------------------------------------------------------------- */

static void pubsub_channels(client *c) {
    rslice *pat = c->argc == 3 ? &c->argv[2] : NULL;
    size_t h = add_reply_deferred_len(c);
    int64_t n = 0;
    if (channels != NULL) {
        dict_iter it;
        dict_iter_init(&it, channels);
        dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            if (pat == NULL ||
                rd_glob_match(pat->ptr, pat->len, e->key, e->keylen, false)) {
                add_reply_bulk(c, e->key, e->keylen);
                n++;
            }
        }
    }
    set_deferred_array_len(c, h, n);
}

static void pubsub_command(client *c) {
    if (c->argc == 2 && rslice_eqi(c->argv[1], "help")) {
        static const char *help[] = {
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> "
            "(default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, "
            "excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a "
            "<pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard "
            "level channel(s)",
            "HELP",
            "    Prints this help.",
        };
        size_t n = sizeof(help) / sizeof(help[0]);
        add_reply_array_len(c, (int64_t)n);
        for (size_t i = 0; i < n; i++)
            add_reply_status(c, help[i]);
        return;
    }
    rslice sub = c->argv[1];
    if (rslice_eqi(sub, "channels") && (c->argc == 2 || c->argc == 3)) {
        pubsub_channels(c);
    } else if (rslice_eqi(sub, "numsub")) {
        add_reply_array_len(c, (int64_t)(c->argc - 2) * 2);
        for (int i = 2; i < c->argc; i++) {
            dict_entry *e =
                channels ? dict_find(channels, c->argv[i].ptr, c->argv[i].len)
                         : NULL;
            add_reply_bulk(c, c->argv[i].ptr, c->argv[i].len);
            add_reply_long_long(c, e ? ((client_vec *)e->val.ptr)->n : 0);
        }
    } else if (rslice_eqi(sub, "numpat") && c->argc == 2) {
        add_reply_long_long(c, (int64_t)dict_size(patterns));
    } else if (rslice_eqi(sub, "shardchannels") &&
               (c->argc == 2 || c->argc == 3)) {
        add_reply_array_len(c, 0); /* no shard channels without cluster */
    } else if (rslice_eqi(sub, "shardnumsub")) {
        add_reply_array_len(c, (int64_t)(c->argc - 2) * 2);
        for (int i = 2; i < c->argc; i++) {
            add_reply_bulk(c, c->argv[i].ptr, c->argv[i].len);
            add_reply_long_long(c, 0);
        }
    } else {
        add_reply_error_fmt(c,
                            "unknown subcommand or wrong number of arguments "
                            "for '%.128s'. Try PUBSUB HELP.",
                            sub.ptr);
    }
}

/* Redis 7's subcommands: arity errors name them ('pubsub|numpat'). */
#define PUBSUB_SUB(name, arity, summary)                                       \
    {                                                                          \
        "pubsub|" name, pubsub_command, arity,                                 \
            CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_NO_PROPAGATE, 0, 0, 0,  \
            "pubsub", summary, "2.8.0", NULL, NULL                             \
    }
static const redis_command pubsub_subcommands[] = {
    PUBSUB_SUB("channels", -2, "Returns the active channels."),
    PUBSUB_SUB("numpat", 2, "Returns a count of unique pattern subscriptions."),
    PUBSUB_SUB("numsub", -2, "Returns a count of subscribers to channels."),
    PUBSUB_SUB("shardchannels", -2, "Returns the active shard channels."),
    PUBSUB_SUB("shardnumsub", -2,
               "Returns the count of subscribers of shard channels."),
    PUBSUB_SUB("help", 2,
               "Returns helpful text about the different "
               "subcommands."),
    {0},
};

const redis_command pubsub_commands[] = {
    {"subscribe", subscribe_command, -2,
     CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_PUBSUB |
         CMD_NO_PROPAGATE,
     0, 0, 0, "pubsub", "Listens for messages published to channels.", "2.0.0",
     NULL, NULL},
    {"unsubscribe", unsubscribe_command, -1,
     CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_PUBSUB |
         CMD_NO_PROPAGATE,
     0, 0, 0, "pubsub", "Stops listening to messages posted to channels.",
     "2.0.0", NULL, NULL},
    {"psubscribe", psubscribe_command, -2,
     CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_PUBSUB |
         CMD_NO_PROPAGATE,
     0, 0, 0, "pubsub",
     "Listens for messages published to channels that "
     "match one or more patterns.",
     "2.0.0", NULL, NULL},
    {"punsubscribe", punsubscribe_command, -1,
     CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_PUBSUB |
         CMD_NO_PROPAGATE,
     0, 0, 0, "pubsub",
     "Stops listening to messages published to channels "
     "that match one or more patterns.",
     "2.0.0", NULL, NULL},
    {"publish", publish_command, 3,
     CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MAY_REPLICATE |
         CMD_NO_PROPAGATE,
     0, 0, 0, "pubsub", "Posts a message to a channel.", "2.0.0", NULL, NULL},
    {"pubsub", pubsub_command, -2, CMD_PUBSUB | CMD_NO_PROPAGATE, 0, 0, 0,
     "pubsub", "A container for Pub/Sub commands.", "2.8.0", pubsub_subcommands,
     NULL},
    {0},
};
