/* core/handle.c: a runtime handle's memory (see handle.h). */
#include "core/handle.h"
#include "util/alloc.h"

void kr__handle_unref(kr__handle *h) {
    /* Acq_rel: the last one sees every other holder's last touch. */
    if (h != NULL && kr__fetch_sub_acqrel(&h->refs, 1) == 1)
        kr__free(h);
}
