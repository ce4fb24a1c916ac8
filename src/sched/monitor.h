/* sched/monitor.h: the multi-thread runtime's monitor thread (monitor.c). */
#ifndef KR_SCHED_MONITOR_H
#define KR_SCHED_MONITOR_H

/* The thread's body; arg is its mt_rt. */
void *kr__mt_monitor_main(void *arg);

#endif
