/*
 * files.h: the pure parts of kairo-http's static files: the request path
 * made a safe relative path, Content-Type by extension, the ETag, the Range
 * header. No I/O here (conn.c does that through kairo/fs.h).
 */
#ifndef KAIRO_HTTP_FILES_H
#define KAIRO_HTTP_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The URL's path (up to '?' or '#'), percent-decoded, as a path relative
 * to the root in out (no leading '/', "" for the root itself). Returns 0,
 * or -1 for a path that must be refused: not starting with '/', a bad or
 * NUL escape, a ".." segment (also when encoded: "%2e%2e"), a backslash,
 * or longer than cap - 1. "." and empty segments are dropped.
 */
int files_safe_path(const char *url, size_t url_len, char *out, size_t cap);

/* The Content-Type for a file name (by its extension), never NULL. */
const char *files_mime(const char *name);

/* A strong ETag for the file: "size-mtime" in hex, quoted, into out
 * (at least 48 bytes). */
void files_etag(uint64_t size, int64_t mtime_ns, char *out, size_t cap);

/* Whether an If-None-Match value matches etag ("*", or a list with it,
 * weak comparison: W/ prefixes ignored). */
bool files_etag_match(const char *inm, const char *etag);

/*
 * One byte range of "bytes=A-B", "bytes=A-", "bytes=-N" against a file of
 * `size` bytes. Returns 1 with [*first, *last] (inclusive) set, 0 for a
 * header to ignore (not bytes, several ranges, malformed: the whole file
 * is sent, RFC 9110 14.2), or -1 for unsatisfiable (416).
 */
int files_range(const char *range, uint64_t size, uint64_t *first,
                uint64_t *last);

/* An HTTP date (IMF-fixdate) for seconds since the epoch, into out (at
 * least 30 bytes). */
void files_http_date(int64_t secs, char *out, size_t cap);

#endif
