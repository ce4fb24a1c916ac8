/*
 * networking.h: what networking.c, parse.c and the connection task share
 * (not for the command families: they use server.h).
 */
#ifndef KAIRO_REDIS_NETWORKING_H
#define KAIRO_REDIS_NETWORKING_H

#include <stdio.h>

#include "server.h"

/* Parses one command at c->qpos into c->argc/argv. Returns 1 (complete;
 * argc may be 0 for an empty line), 0 (incomplete: state kept, call again
 * with more bytes) or -1 (protocol error: replied, CLOSE_AFTER_REPLY set). */
int parse_command(client *c);
/* Bytes the parser knows it still needs (a large bulk), 0 if unknown. */
size_t parse_bytes_wanted(const client *c);

/* Runs every complete command in the query buffer (lock held). */
void process_input(client *c);

#endif /* KAIRO_REDIS_NETWORKING_H */
