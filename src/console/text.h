/*
 * console/text.h: a growable text buffer and the JSON pieces the console
 * writes into it. Used by the console thread only.
 */
#ifndef KR_CONSOLE_TEXT_H
#define KR_CONSOLE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kr__text {
    char *buf;
    size_t len, cap;
    bool failed; /* an allocation failed: the text is incomplete */
} kr__text;

/* Makes room for `n` more bytes; false (and `failed`) without memory. */
bool kr__text_reserve(kr__text *t, size_t n);
void kr__text_put(kr__text *t, const char *s, size_t n);
void kr__text_puts(kr__text *t, const char *s);
void kr__text_printf(kr__text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string with its quotes (NULL: null). */
void kr__text_json_str(kr__text *t, const char *s);
/* `"key": 123` with a leading ", " unless `first`. */
void kr__text_json_u64(kr__text *t, bool first, const char *key, uint64_t v);
void kr__text_free(kr__text *t);

#endif
