/*
 * net/resolve.c: kr_resolve: getaddrinfo on the blocking pool.
 *
 * An IP literal needs no lookup and is answered on the first poll (as
 * Rust's ToSocketAddrs parses before it resolves). A name becomes a job:
 * a heap record with the host copied in and room for the answers, shared
 * by the future and the pool thread, each holding one reference. The
 * thread fills it and drops its reference; the future copies the answers
 * out and drops its own. A future dropped while the lookup runs only
 * drops its reference and detaches the job, which finishes on its own
 * (getaddrinfo cannot be interrupted, as Tokio's spawn_blocking lookups
 * cannot). A job cancelled before it ran (the runtime shut down with it
 * queued) never drops its reference: if the future is still there it
 * frees the record itself; if the future was dropped first, the record
 * leaks, which net.h documents (the pool has no hook for that).
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "net/sock.h"
#include "core/context.h"
#include "util/alloc.h"
#include "util/atomic.h"

typedef struct job {
    _Atomic int refs;
    int port;
    int err;    /* 0 or a negative code */
    size_t max; /* room in addrs */
    size_t n;   /* addresses found */
    kr_sockaddr *addrs;
    char host[]; /* NUL-terminated */
} job;

static void job_free(job *j) {
    kr__free(j->addrs);
    kr__free(j);
}

static void job_unref(job *j) {
    /* Acq-rel: the last one sees the other's writes to the record. */
    if (kr__fetch_sub_acqrel(&j->refs, 1) == 1)
        job_free(j);
}

static int map_gai(int r) {
    switch (r) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return KR_ENOENT;
    case EAI_AGAIN:
        return KR_EAGAIN;
    case EAI_MEMORY:
        return KR_ENOMEM;
    case EAI_SYSTEM:
        return errno != 0 ? -errno : KR_EIO;
    default:
        return KR_EIO;
    }
}

static void *lookup(void *arg) {
    job *j = arg;
    /* SOCK_STREAM: one entry per address rather than one per socket type.
     * No AI_ADDRCONFIG: it hides ::1 and 127.0.0.1 on a host whose only
     * interface is the loopback. */
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = NULL;
    int r;
    do {
        errno = 0;
        r = getaddrinfo(j->host, NULL, &hints, &res);
    } while (r == EAI_SYSTEM && errno == EINTR);
    if (r != 0) {
        j->err = map_gai(r);
    } else {
        for (struct addrinfo *ai = res; ai != NULL && j->n < j->max;
             ai = ai->ai_next) {
            if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
                ai->ai_addrlen > sizeof(j->addrs[0].storage))
                continue;
            kr_sockaddr *a = &j->addrs[j->n];
            memset(a, 0, sizeof(*a));
            memcpy(&a->storage, ai->ai_addr, ai->ai_addrlen);
            a->len = ai->ai_addrlen;
            if (kr_sockaddr_set_port(a, j->port) == 0)
                j->n++;
        }
        freeaddrinfo(res);
        if (j->n == 0)
            j->err = KR_ENOENT;
    }
    job_unref(j);
    return NULL;
}

/* Makes and spawns the job: 0, or a negative code (then nothing is left
 * behind). */
static int start(kr_resolution *r) {
    size_t hlen = strlen(r->host_);
    job *j = kr__malloc(sizeof(*j) + hlen + 1);
    if (j == NULL)
        return KR_ENOMEM;
    j->addrs = kr__calloc(r->max_, sizeof(kr_sockaddr));
    if (j->addrs == NULL) {
        kr__free(j);
        return KR_ENOMEM;
    }
    atomic_init(&j->refs, 2);
    j->port = r->port_;
    j->err = 0;
    j->max = r->max_;
    j->n = 0;
    memcpy(j->host, r->host_, hlen + 1);
    int rc = kr_spawn_blocking(lookup, j, &r->join_);
    if (rc < 0) {
        job_free(j);
        return rc;
    }
    r->job_ = j;
    return 0;
}

/* host_ once the output is written: no caller's string is at this address,
 * so a second poll can tell and abort (core.h). */
static const char spent[] = "";

static kr_poll resolve_poll(kr_future *f, kr_context *cx, void *out) {
    kr_resolution *r = (kr_resolution *)f;
    int rc;
    if (r->host_ == spent)
        kr__net_polled_after_ready(f);
    if (r->job_ == NULL) {
        if (r->host_ == NULL || r->addrs_ == NULL || r->max_ == 0 ||
            r->port_ < 0 || r->port_ > 65535) {
            rc = KR_EINVAL;
            goto done;
        }
        if (kr_sockaddr_from_ip(r->host_, r->port_, &r->addrs_[0]) == 0) {
            rc = 1;
            goto done;
        }
        if (kr__ctx.rt == NULL) {
            rc = KR_EINVAL;
            goto done;
        }
        rc = start(r);
        if (rc < 0)
            goto done;
    }
    if (kr_future_poll(&r->join_.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    job *j = r->job_;
    bool ran = kr_join_handle_error(&r->join_) == 0;
    kr_future_drop(&r->join_.base);
    r->job_ = NULL;
    if (!ran) {
        /* Cancelled unstarted (a shutdown): its reference is ours too. */
        job_free(j);
        rc = KR_ESHUTDOWN;
        goto done;
    }
    rc = j->err;
    if (rc == 0) {
        memcpy(r->addrs_, j->addrs, j->n * sizeof(kr_sockaddr));
        rc = (int)j->n;
    }
    job_unref(j);
done:
    r->host_ = spent;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void resolve_drop(kr_future *f) {
    kr_resolution *r = (kr_resolution *)f;
    job *j = r->job_;
    if (j == NULL)
        return;
    r->job_ = NULL;
    kr_future_drop(&r->join_.base); /* detaches: the lookup runs on */
    job_unref(j);
}

static const kr_future_vtable resolve_vt = {resolve_poll, resolve_drop,
                                            sizeof(kr_resolution), sizeof(int),
                                            "kr_resolution"};

kr_resolution kr_resolve(const char *host, int port, kr_sockaddr *addrs,
                         size_t max) {
    kr_resolution r;
    memset(&r, 0, sizeof(r));
    r.base.vtable = &resolve_vt;
    r.host_ = host;
    r.port_ = port;
    r.addrs_ = addrs;
    r.max_ = max;
    return r;
}
