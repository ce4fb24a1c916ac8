/*
 * os/output.c: kr_command_output: spawn, read stdout and stderr to end of
 * file in one future (both pipes are polled on each wake, so a child
 * filling either never blocks), then wait.
 */
#include <string.h>

#include "os/process.h"
#include "util/alloc.h"

void kr_output_free(kr_output *o) {
    if (o == NULL)
        return;
    kr__free(o->out);
    kr__free(o->err);
    o->out = o->err = NULL;
    o->out_len = o->err_len = 0;
}

static int start(kr_command_output_future *f) {
    kr_command *cmd = f->cmd_;
    if (cmd == NULL || f->dst_ == NULL)
        return KR_EINVAL;
    kr_stdio saved[3];
    memcpy(saved, cmd->stdio, sizeof(saved));
    if (!cmd->stdio_set[0])
        cmd->stdio[0] = KR_STDIO_NULL;
    cmd->stdio[1] = cmd->stdio[2] = KR_STDIO_PIPE;
    int rc = kr_command_spawn(cmd, &f->child_);
    memcpy(cmd->stdio, saved, sizeof(saved));
    if (rc != 0) {
        f->child_ = NULL;
        return rc;
    }
    /* A piped stdin is not the caller's to write here: end of file. */
    kr_pipe_free(kr_child_take_stdin(f->child_));
    memset(f->dst_, 0, sizeof(*f->dst_));
    f->cap_[0] = f->cap_[1] = 0;
    return 0;
}

static void release(kr_command_output_future *f) {
    kr_child_free(f->child_);
    f->child_ = NULL;
    kr_output_free(f->dst_);
}

static kr_poll finish(kr_command_output_future *f, void *out, int rc) {
    if (rc != 0)
        release(f);
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

/* Reads pipe i (0 stdout, 1 stderr) until pending or end of file. Returns
 * 1 at end of file, 0 pending, or a negative code. */
static int drain(kr_command_output_future *f, kr_context *cx, int i) {
    kr_pipe *p =
        i == 0 ? kr_child_stdout(f->child_) : kr_child_stderr(f->child_);
    if (p == NULL)
        return 1;
    char **buf = i == 0 ? &f->dst_->out : &f->dst_->err;
    size_t *len = i == 0 ? &f->dst_->out_len : &f->dst_->err_len;
    for (;;) {
        char scratch[4096];
        char *to = scratch;
        size_t room = sizeof(scratch);
        if (*len < f->limit_) {
            if (f->cap_[i] - *len < 1 + 1) {
                size_t want = f->cap_[i] != 0 ? f->cap_[i] * 2 : 16384;
                if (want > f->limit_ + 1)
                    want = f->limit_ + 1;
                char *nb = kr__os_realloc(*buf, want);
                if (nb == NULL)
                    return KR_ENOMEM;
                *buf = nb;
                f->cap_[i] = want;
            }
            to = *buf + *len;
            room = f->cap_[i] - 1 - *len; /* one byte kept for the NUL */
            if (room > f->limit_ - *len)
                room = f->limit_ - *len;
        }
        int64_t n;
        if (kr__pipe_poll_io(p, cx, KR_READABLE, to, room, &n) == 0)
            return 0;
        if (n < 0)
            return (int)n;
        if (n == 0) {
            kr_pipe_free(i == 0 ? kr_child_take_stdout(f->child_)
                                : kr_child_take_stderr(f->child_));
            return 1;
        }
        if (to == scratch)
            f->dst_->truncated = true;
        else
            *len += (size_t)n;
    }
}

static int terminate(char **buf, size_t len) {
    if (*buf == NULL) {
        *buf = kr__malloc(1);
        if (*buf == NULL)
            return KR_ENOMEM;
    }
    (*buf)[len] = '\0';
    return 0;
}

static kr_poll output_poll(kr_future *fut, kr_context *cx, void *out) {
    kr_command_output_future *f = (kr_command_output_future *)fut;
    if (f->child_ == NULL) {
        int rc = start(f);
        if (rc != 0)
            return finish(f, out, rc);
    }
    int a = drain(f, cx, 0);
    if (a < 0)
        return finish(f, out, a);
    int b = drain(f, cx, 1);
    if (b < 0)
        return finish(f, out, b);
    if (a == 0 || b == 0)
        return KR_PENDING;
    kr_child_wait_future w = kr_child_wait(f->child_, &f->dst_->status);
    int rc = 0;
    if (kr_future_poll(&w.base, cx, &rc) == KR_PENDING)
        return KR_PENDING;
    if (rc == 0)
        rc = terminate(&f->dst_->out, f->dst_->out_len);
    if (rc == 0)
        rc = terminate(&f->dst_->err, f->dst_->err_len);
    if (rc != 0)
        return finish(f, out, rc);
    kr_child_free(f->child_);
    f->child_ = NULL;
    f->dst_ = NULL; /* the caller's now */
    return finish(f, out, 0);
}

static void output_drop(kr_future *fut) {
    kr_command_output_future *f = (kr_command_output_future *)fut;
    if (f->child_ != NULL)
        release(f);
}

static const kr_future_vtable output_vt = {output_poll, output_drop,
                                           sizeof(kr_command_output_future),
                                           sizeof(int), "kr_command_output"};

kr_command_output_future kr_command_output(kr_command *cmd, size_t limit,
                                           kr_output *dst) {
    kr_command_output_future f = {{&output_vt}, cmd, limit, dst, NULL, {0, 0}};
    return f;
}
