/*
 * ds_alloc.h: the allocator of kairo-redis's data structures (rlist,
 * zskiplist, zset): server.h's counting zmalloc, declared alone so that
 * the structures' unit tests link them without the server (the tests
 * define zmalloc/zfree over malloc).
 */
#ifndef KAIRO_REDIS_DS_ALLOC_H
#define KAIRO_REDIS_DS_ALLOC_H

#include <stddef.h>

void *zmalloc(size_t size);
void zfree(void *ptr);

#endif
