/*
 * server_info.c: CLIENT, COMMAND and INFO.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"

void client_command(client *c) {
    add_reply_error(c, "CLIENT is not implemented yet");
}

void command_command(client *c) {
    add_reply_error(c, "COMMAND is not implemented yet");
}

void info_command(client *c) {
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "# Server\r\nredis_version:%s\r\n",
                     KAIRO_REDIS_VERSION);
    add_reply_verbatim(c, buf, (size_t)n, "txt");
}
