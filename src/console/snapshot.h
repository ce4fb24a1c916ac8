/*
 * console/snapshot.h: the JSON documents the console answers with
 * (docs/observability.md, "Protocol"), built from the public calls any
 * thread may make. Console thread only.
 */
#ifndef KR_CONSOLE_SNAPSHOT_H
#define KR_CONSOLE_SNAPSHOT_H

#include "console/ring.h"
#include "console/text.h"
#include "kairo.h"

/* What a snapshot is taken of. */
typedef struct kr__snap_src {
    kr_runtime *rt;
    kr_runtime_flavor flavor;
    kr_histogram_config poll_hist, sched_hist;
    uint64_t slow_poll_ns, blocked_worker_ns;
    kr__ring *ring;
    int memfd; /* the dump is written here, then read back */
    uint64_t started_ns;
} kr__snap_src;

/* Parts of a document. */
enum {
    KR__SNAP_METRICS = 1,  /* "metrics", "worker_metrics", "histograms" */
    KR__SNAP_TASKS = 2,    /* "dump" (kr_runtime_dump_format's JSON) */
    KR__SNAP_WARNINGS = 4, /* "warnings" */
    KR__SNAP_ALL = 7
};

/* Appends one document (one line, no newline) with the given parts. */
void kr__snapshot(kr__text *t, const kr__snap_src *src, unsigned parts);

#endif
