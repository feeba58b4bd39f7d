/* clock — CLOCK_MONOTONIC in ns (the vDSO: async-signal-safe and cheap). */
#ifndef NS_CLOCK_H
#define NS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ns_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The CPU-time clock of any thread of this process, by tid (the kernel's encoding of
 * MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)), so the writer can read other threads'. */
static inline clockid_t ns_thread_cpu_clock(int tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 6);
}

static inline uint64_t ns_thread_cpu_ns(int tid)
{
    struct timespec ts;
    if (clock_gettime(ns_thread_cpu_clock(tid), &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
