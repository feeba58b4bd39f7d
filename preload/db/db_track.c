/*
 * db_track — see db_track.h. The live handles are an open-addressing table keyed by the
 * handle's address (linear probing, deletion by shifting back), so a step costs one lookup;
 * the loop detection scans the table only when an execution starts.
 */
#include "db_track.h"

#include <sched.h>
#include <string.h>

#define MASK (NS_DBT_MAX - 1)

_Static_assert((NS_DBT_MAX & MASK) == 0, "NS_DBT_MAX is a power of two");

static void lock(struct ns_dbt *t)
{
    while (__atomic_exchange_n(&t->lock, 1, __ATOMIC_ACQUIRE))
        for (unsigned spins = 0; __atomic_load_n(&t->lock, __ATOMIC_RELAXED); spins++) {
            if (spins < 64)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
}

static void unlock(struct ns_dbt *t)
{
    __atomic_store_n(&t->lock, 0, __ATOMIC_RELEASE);
}

static unsigned slot_of(const void *h)
{
    uint64_t x = (uint64_t)(uintptr_t)h;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (unsigned)x & MASK;
}

static struct ns_dbt_entry *find(struct ns_dbt *t, const void *h)
{
    for (unsigned i = slot_of(h), n = 0; n < NS_DBT_MAX; i = (i + 1) & MASK, n++) {
        if (!t->v[i].handle)
            return NULL;
        if (t->v[i].handle == h)
            return &t->v[i];
    }
    return NULL;
}

/* The entry of h, added (zeroed) if new; NULL when the table is full. One slot always stays
 * free, so that every probe ends at an empty slot. */
static struct ns_dbt_entry *find_or_add(struct ns_dbt *t, const void *h)
{
    struct ns_dbt_entry *e = find(t, h);
    if (e)
        return e;
    if (t->live >= NS_DBT_MAX - 1) {
        t->dropped++;
        return NULL;
    }
    unsigned i = slot_of(h);
    while (t->v[i].handle)
        i = (i + 1) & MASK;
    memset(&t->v[i], 0, sizeof(t->v[i]));
    t->v[i].handle = h;
    t->live++;
    return &t->v[i];
}

/* Removes e, shifting back the entries that probed past it. */
static void remove_entry(struct ns_dbt *t, struct ns_dbt_entry *e)
{
    if (e->opened)
        t->open--;
    unsigned hole = (unsigned)(e - t->v);
    for (unsigned i = (hole + 1) & MASK; t->v[i].handle; i = (i + 1) & MASK) {
        unsigned home = slot_of(t->v[i].handle);
        /* The entry at i may move to the hole if its home is not in (hole, i]. */
        if (((i - home) & MASK) >= ((i - hole) & MASK)) {
            t->v[hole] = t->v[i];
            hole = i;
        }
    }
    memset(&t->v[hole], 0, sizeof(t->v[hole]));
    t->live--;
}

/* The query whose result set opened last among those still open on thread tid. */
static uint64_t outer_of(const struct ns_dbt *t, uint32_t tid, const void *self)
{
    uint64_t best = 0, query = 0;
    if (!t->open)
        return 0;
    for (unsigned i = 0; i < NS_DBT_MAX; i++) {
        const struct ns_dbt_entry *e = &t->v[i];
        if (e->handle && e->handle != self && e->tid == tid && e->opened > best) {
            best = e->opened;
            query = e->query;
        }
    }
    return query;
}

void ns_dbt_init(struct ns_dbt *t, void (*emit)(void *ctx, const struct ns_dbt_exec *e), void *ctx)
{
    memset(t, 0, sizeof(*t));
    t->emit = emit;
    t->ctx = ctx;
}

/* Ends e's execution: what to emit once the lock is released. */
static struct ns_dbt_exec finish(struct ns_dbt *t, struct ns_dbt_entry *e, int error)
{
    struct ns_dbt_exec x = {e->start, e->query, e->outer, e->rows, e->time_ns, error, e->tid};
    e->running = 0;
    if (e->opened)
        t->open--;
    e->opened = 0;
    e->rows = e->time_ns = 0;
    return x;
}

static void emit_unlocked(struct ns_dbt *t, const struct ns_dbt_exec *x)
{
    unlock(t);
    if (t->emit)
        t->emit(t->ctx, x);
}

void ns_dbt_prepared(struct ns_dbt *t, const void *stmt, uint64_t query, uint32_t tid,
                     uint64_t literal_hash, int has_literals)
{
    lock(t);
    struct ns_dbt_entry *e = find_or_add(t, stmt);
    if (e && e->running) { /* the address was reused: the old statement ended unseen */
        struct ns_dbt_exec x = finish(t, e, 0);
        e->query = query;
        e->tid = tid;
        e->literal_hash = literal_hash;
        e->has_literals = (uint8_t)(has_literals != 0);
        emit_unlocked(t, &x);
        return;
    }
    if (e) {
        e->query = query;
        e->tid = tid;
        e->literal_hash = literal_hash;
        e->has_literals = (uint8_t)(has_literals != 0);
    }
    unlock(t);
}

void ns_dbt_step(struct ns_dbt *t, const void *stmt, enum ns_dbt_outcome outcome, uint64_t time_ns,
                 uint32_t tid, const struct ns_dbt_start *start)
{
    lock(t);
    struct ns_dbt_entry *e = find_or_add(t, stmt); /* prepared before nsprof looked: query 0 */
    if (!e) {
        unlock(t);
        return;
    }
    if (!e->running) {
        e->running = 1;
        e->tid = tid;
        e->rows = e->time_ns = 0;
        e->outer = outer_of(t, tid, stmt);
        e->start = start ? *start : (struct ns_dbt_start){0};
        if (e->has_literals) {
            e->start.params_hash = (e->start.params_hash ^ e->literal_hash) * 0x9e3779b97f4a7c15ull;
            e->start.has_params = 1;
        }
    }
    e->time_ns += time_ns;
    if (outcome == NS_DBT_ROW) {
        e->rows++;
        if (!e->opened) {
            e->opened = ++t->seq;
            t->open++;
        }
        unlock(t);
        return;
    }
    struct ns_dbt_exec x = finish(t, e, outcome == NS_DBT_ERROR);
    emit_unlocked(t, &x);
}

void ns_dbt_reset(struct ns_dbt *t, const void *stmt)
{
    lock(t);
    struct ns_dbt_entry *e = find(t, stmt);
    if (e && e->running) {
        struct ns_dbt_exec x = finish(t, e, 0);
        emit_unlocked(t, &x);
        return;
    }
    unlock(t);
}

void ns_dbt_finalize(struct ns_dbt *t, const void *stmt)
{
    lock(t);
    struct ns_dbt_entry *e = find(t, stmt);
    if (!e) {
        unlock(t);
        return;
    }
    int running = e->running;
    struct ns_dbt_exec x = running ? finish(t, e, 0) : (struct ns_dbt_exec){0};
    remove_entry(t, e);
    if (running) {
        emit_unlocked(t, &x);
        return;
    }
    unlock(t);
}

void ns_dbt_executed(struct ns_dbt *t, const void *result, uint64_t query, uint64_t rows,
                     uint64_t time_ns, int error, uint32_t tid, const struct ns_dbt_start *start)
{
    lock(t);
    struct ns_dbt_exec x = {start ? *start : (struct ns_dbt_start){0},
                            query,
                            outer_of(t, tid, result),
                            rows,
                            time_ns,
                            error,
                            tid};
    struct ns_dbt_entry *e = result ? find_or_add(t, result) : NULL;
    if (e) {
        e->query = query;
        e->tid = tid;
        e->result = 1;
        if (!e->opened)
            t->open++;
        e->opened = ++t->seq;
    }
    emit_unlocked(t, &x);
}

void ns_dbt_cleared(struct ns_dbt *t, const void *result)
{
    lock(t);
    struct ns_dbt_entry *e = find(t, result);
    if (e)
        remove_entry(t, e);
    unlock(t);
}
