/* sched/idle.h: which workers of the multi-thread runtime search for work
 * and which sleep (the protocol is in idle.c). */
#ifndef KR_SCHED_IDLE_H
#define KR_SCHED_IDLE_H

#include "sched/mt.h"

void kr__mt_idle_init(mt_rt *rt);
bool kr__mt_to_searching(mt_worker *w);
void kr__mt_from_searching(mt_worker *w);
/* Wakes one parked worker if nobody is searching (any thread). */
void kr__mt_notify_parked(mt_rt *rt);
bool kr__mt_to_parked(mt_worker *w);
bool kr__mt_still_sleeping(mt_worker *w);
void kr__mt_unpark_self(mt_worker *w);
void kr__mt_notify_if_work_pending(mt_rt *rt);
void kr__mt_unpark_all(mt_rt *rt);

#endif
