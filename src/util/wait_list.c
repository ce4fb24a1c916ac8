/* util/wait_list.c: the out-of-line parts of the wait list (wait_list.h). */
#include "util/wait_list.h"

void kr__wait_list_init(kr__wait_list *wl) {
    kr__parklock_init(&wl->lock);
    kr__list_init(&wl->waiters);
}

void kr__wait_list_destroy(kr__wait_list *wl, const char *what) {
    (void)what; /* only the debug build's message names it */
    KR__REQUIRE(kr__list_empty(&wl->waiters),
                "%s freed while futures wait on it (wait list %p)", what,
                (void *)wl);
}
