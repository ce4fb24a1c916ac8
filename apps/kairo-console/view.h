/*
 * view.h: kairo-console's frame: the text of one screen, made from two
 * snapshots of the console protocol (docs/observability.md) a refresh
 * apart. Fields are read by name; a field the runtime does not send (an
 * older or newer kairo) shows as "-" or leaves its column out.
 */
#ifndef KAIRO_CONSOLE_VIEW_H
#define KAIRO_CONSOLE_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

typedef enum view_sort {
    SORT_POLLS = 0, /* most polled (or most time in polls) first */
    SORT_IDLE = 1   /* longest since its last poll first */
} view_sort;

typedef struct view_opts {
    const char *path;
    unsigned width;     /* columns */
    unsigned height;    /* rows; 0: no limit (--once) */
    unsigned max_tasks; /* with no height: at most this many task rows */
    view_sort sort;
    uint64_t seen_seq;  /* warnings up to this seq were shown before */
    const char *status; /* a line at the bottom (connection trouble), or NULL */
} view_opts;

/* A frame: lines of text, each at most width bytes, no newlines. */
typedef struct frame {
    char **line;
    size_t n, cap;
    unsigned width;
} frame;

/* Builds the frame for `cur` (and `prev`, the snapshot before it, NULL for
 * the first) into f. */
void view_render(frame *f, const json *cur, const json *prev,
                 const view_opts *o);
void frame_free(frame *f);

#endif
