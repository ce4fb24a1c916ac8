/* core/error.c: messages and names for kairo's return codes. */
#include <errno.h>
#include <string.h>

#include "kairo.h"

/* The public header spells Linux's errno values out so that it need not
 * include <errno.h>; make sure they agree. */
#define CHECK_ERRNO(name, value, msg)                                          \
    _Static_assert(-(name) == (value), "KR_" #name " disagrees with errno");
KR_ERRNO_MAP(CHECK_ERRNO)
#undef CHECK_ERRNO

const char *kr_strerror(int err) {
    if (err >= 0)
        return "success";
    switch (err) {
#define CASE(name, value, msg)                                                 \
    case value:                                                                \
        return msg;
        KR_ERRNO_MAP(CASE)
        KR_ERR_MAP(CASE)
#undef CASE
    }
    if (err > -4000)
        return strerror(-err); /* an errno kairo passes through unlisted */
    return "unknown kairo error";
}

const char *kr_err_name(int err) {
    if (err >= 0)
        return "OK";
    switch (err) {
#define CASE(name, value, msg)                                                 \
    case value:                                                                \
        return #name;
        KR_ERRNO_MAP(CASE)
        KR_ERR_MAP(CASE)
#undef CASE
    }
    return "UNKNOWN";
}
