/* core/vclock.c: the pausable clock (model and ownership in vclock.h). */
#include "core/vclock.h"
#include "util/debug.h"

#define MS 1000000u

void kr__vclock_init(kr__vclock *c, bool frozen) {
    c->virt = false;
    c->frozen = false;
    c->base = 0;
    c->since = 0;
    if (frozen)
        kr__vclock_pause(c);
}

void kr__vclock_pause(kr__vclock *c) {
    KR__REQUIRE(!c->frozen, "clock %p: paused twice", (void *)c);
    uint64_t now = kr__vclock_now(c);
    /* Onto the ms grid, rounding up: never backwards. */
    uint64_t up = now % MS ? MS - now % MS : 0;
    c->base = UINT64_MAX - now < up ? UINT64_MAX : now + up;
    c->virt = true;
    c->frozen = true;
}

void kr__vclock_resume(kr__vclock *c) {
    KR__REQUIRE(c->frozen, "clock %p: resumed while running", (void *)c);
    c->since = kr__now_ns();
    c->frozen = false;
}

void kr__vclock_advance(kr__vclock *c, uint64_t ns) {
    KR__REQUIRE(c->frozen, "clock %p: advanced while running", (void *)c);
    c->base = UINT64_MAX - c->base < ns ? UINT64_MAX : c->base + ns;
}

void kr__vclock_advance_to(kr__vclock *c, uint64_t ns) {
    KR__REQUIRE(c->frozen, "clock %p: advanced while running", (void *)c);
    if (ns > c->base)
        c->base = ns;
}
