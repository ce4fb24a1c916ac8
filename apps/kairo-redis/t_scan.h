/*
 * t_scan.h: HSCAN, SSCAN and ZSCAN's shared half (the cursor, COUNT and
 * MATCH, the reply), over the dict that holds a hash's fields, a set's
 * members or a sorted set's members. Redis's scanGenericCommand for one
 * key.
 */
#ifndef KAIRO_REDIS_T_SCAN_H
#define KAIRO_REDIS_T_SCAN_H

#include "server.h"

/* Parses argv[idx] as a SCAN cursor ("ERR invalid cursor"). */
bool scan_parse_cursor(client *c, rslice arg, uint64_t *cursor);

/* What a scanned entry adds after its key: nothing (sets), its value
 * (hashes: val.ptr is a relem), or its score (sorted sets: val.ptr is a
 * zsl_node). */
enum { SCAN_KEYS = 0, SCAN_HASH = 1, SCAN_ZSET = 2 };

/* Replies to c->argv (KEY CURSOR [MATCH p] [COUNT n]) from argument 3 on,
 * scanning d (NULL: an empty key) from cursor. */
void scan_dict_command(client *c, const dict *d, uint64_t cursor, int kind);

#endif
