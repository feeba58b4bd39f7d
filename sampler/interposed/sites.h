/*
 * sites — what interposed calls cost, aggregated in the process per thread and call site.
 *
 * A site is (family, stack, resource) in one thread: e.g. "write() from save_log() on
 * /var/log/app.log". Its counters (calls, bytes, time, a size histogram) are written by its
 * own thread only, with plain stores — no lock and no atomic on the interposers' hot path —
 * and the writer thread reads them and writes the increase since its last visit into the
 * profile (SITE_SAMPLES, HISTOGRAM), at least once a second.
 *
 * Memory: a thread's sites live in chunks in the shared region (shm.h) that never move (the
 * reader walks them while the thread adds more); the index from key to site is the thread's
 * own, in private memory. Bounded per thread (NS_SITES_MAX); past it calls land in one
 * overflow site per family (counter sites_overflowed).
 */
#ifndef NS_SITES_H
#define NS_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "stacks.h"

struct ns_db_site;
#include "../sources/threads.h"

enum ns_site_family {
    NS_SITE_ALLOC = 1, /* calls = allocations, bytes = bytes allocated (estimates in sample mode) */
    NS_SITE_IO,        /* I/O that reached the kernel: calls, bytes, time_ns, size histogram */
    NS_SITE_STDIO,     /* stdio calls served from the FILE's buffer alone */
    NS_SITE_LOCK,      /* contended lock acquisitions: calls, time_ns waited */
    NS_SITE_COND,      /* condition-variable waits: calls, time_ns idle */
    NS_SITE_BLOCKED,   /* blocking calls (blocking.h): calls, time_ns inside; reason kept */
    /* database client calls (resource: a query, or a database), db_sites.h */
    NS_SITE_DB_EXEC,    /* statement executions: calls, bytes = rows, time_ns; `db` holds more */
    NS_SITE_DB_PREPARE, /* statements prepared: calls, time_ns */
    NS_SITE_DB_CONNECT, /* connections opened: calls, time_ns */
    NS_SITE_DB_CLOSE,   /* connections closed: calls, time_ns */
    NS_SITE__COUNT
};

#define NS_HIST_BUCKETS 33 /* 0, then [2^(i-1), 2^i) up to 2^31, and larger in the last */
#define NS_SITES_MAX    65536

struct ns_site {
    struct ns_stack_entry *stack;
    uint32_t resource; /* resources.h id, 0 = none */
    uint16_t family;
    uint16_t reason; /* NS_SITE_BLOCKED: enum ns_block_reason */
    /* written by the owning thread */
    uint64_t calls, bytes, time_ns;
    uint64_t hist[NS_HIST_BUCKETS];
    /* the writer's: what it already wrote */
    uint64_t sent_calls, sent_bytes, sent_time;
    uint64_t sent_hist[NS_HIST_BUCKETS];
    /* NS_SITE_DB_EXEC: what else an execution leaves (db_sites.h); kept when the slot is
     * reused. Published with a release store once initialised. */
    struct ns_db_site *db;
};

/* A thread's sites as the reader walks them: chunks from first, each with count sites
 * published (release store after the site is initialised). */
#define NS_CHUNK_SITES 256
struct ns_site_chunk {
    struct ns_site_chunk *next; /* atomic */
    uint32_t count;             /* atomic: initialised sites */
    struct ns_site sites[NS_CHUNK_SITES];
};

struct ns_site_table {
    struct ns_site_chunk *first, *last; /* first: atomic */
    uint32_t total;
    struct ns_site **index; /* private memory: open addressing; NULL = empty */
    size_t index_slots;
    struct ns_site *overflow[NS_SITE__COUNT];
    /* the site last returned: a hot loop asks for the same one call after call */
    struct ns_site *hot;
};

/* The calling thread's site for the key, created on first use; NULL when out of memory.
 * Owner thread only. */
struct ns_site *ns_site_get(struct ns_thread *th, unsigned family, struct ns_stack_entry *stack,
                            uint32_t resource);

/* Adds one call of `bytes` (also counted in the histogram when with_hist) taking time_ns. */
static inline void ns_site_add(struct ns_site *s, uint64_t bytes, uint64_t time_ns, int with_hist)
{
    s->calls++;
    s->bytes += bytes;
    s->time_ns += time_ns;
    if (with_hist) {
        unsigned b = bytes ? 64 - (unsigned)__builtin_clzll(bytes) : 0;
        s->hist[b < NS_HIST_BUCKETS ? b : NS_HIST_BUCKETS - 1]++;
    }
}

/* A slot being reused for a new thread: forget the old sites (after the writer emitted
 * them). */
void ns_sites_reset(struct ns_thread *th);

#endif
