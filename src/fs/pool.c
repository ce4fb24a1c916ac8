/*
 * fs/pool.c: the blocking backend of fs/job.h. submit spawns
 * kr__fs_exec(job) on the runtime's blocking pool; the job's join handle
 * says when it is done.
 *
 * References: submit takes one for the pool thread, which drops it after
 * the job ran. A job the pool cancels unstarted (a shutdown) never runs,
 * so its reference is never dropped: poll sees KR_ECANCELED and drops it
 * for the thread; after a detach nobody can, and the job leaks (fs.h).
 */
#include "fs/job.h"
#include "kairo/blocking.h"
#include "kairo/error.h"

static void *run(void *arg) {
    kr__fs_job *j = arg;
    kr__fs_exec(j);
    kr__fs_job_unref(j);
    return NULL;
}

static int submit(kr__fs_job *j) {
    kr__fs_job_ref(j);
    int rc = kr_spawn_blocking(run, j, &j->join_);
    if (rc < 0)
        kr__fs_job_unref(j);
    return rc;
}

static kr_poll backend_poll(kr__fs_job *j, kr_context *cx) {
    if (kr_future_poll(&j->join_.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    int e = kr_join_handle_error(&j->join_);
    kr_future_drop(&j->join_.base);
    if (e != 0) {
        j->res = KR_ESHUTDOWN;
        kr__fs_job_unref(j); /* the thread's, which never ran */
    }
    return KR_READY;
}

static void detach(kr__fs_job *j) {
    kr_future_drop(&j->join_.base); /* the job runs on */
}

const kr__fs_backend kr__fs_blocking_backend = {"blocking", submit,
                                                backend_poll, detach};
