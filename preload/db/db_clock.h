/*
 * db_clock — the duration of a database step, read from the CPU's time-stamp counter when
 * the kernel itself keeps time with it (clocksource "tsc": constant and synchronized across
 * CPUs), else from CLOCK_MONOTONIC. A step of a prepared in-memory statement takes ~100 ns;
 * two vDSO clock reads per step were a fifth of what the hooks cost there (bench_db.py).
 *
 * Contract: ns_db_clock_start calibrates once (200 us of spinning, when a database library
 * is first patched) and is not thread-safe against itself; the rest is lock-free and
 * async-signal-safe. A reading taken before calibration finished is converted by the
 * mode it was taken in (ns_db_clock_now returns it).
 */
#ifndef NS_DB_CLOCK_H
#define NS_DB_CLOCK_H

#include <stdint.h>
#include <x86intrin.h>

#include "../../sampler/clock.h"

struct ns_db_clock {
    uint64_t mult; /* ns per tick, << 32 */
    int tsc;       /* 1 once calibrated and usable (release store after mult) */
};
extern struct ns_db_clock ns_db_clock;

void ns_db_clock_start(void);

/* The mode to read in for one duration: both ends must use the same. */
static inline int ns_db_clock_mode(void)
{
    return __atomic_load_n(&ns_db_clock.tsc, __ATOMIC_ACQUIRE);
}

static inline uint64_t ns_db_clock_read(int tsc)
{
    return tsc ? __rdtsc() : ns_now_ns();
}

static inline uint64_t ns_db_clock_ns(int tsc, uint64_t t0, uint64_t t1)
{
    uint64_t d = t1 > t0 ? t1 - t0 : 0;
    return tsc ? (uint64_t)(((unsigned __int128)d * ns_db_clock.mult) >> 32) : d;
}

#endif
