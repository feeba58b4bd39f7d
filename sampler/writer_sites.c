/*
 * writer_sites — the writer's side of interposed calls: the increase of every thread's site
 * counters since its last visit becomes SITE_SAMPLES entries (one per site and event, time =
 * now) and HISTOGRAM records; resources are described the first time a site refers to them;
 * the live heap is sampled into a SERIES; and at the end the stacks still holding memory
 * (leaks) and the ones that held it at the peak are written as snapshot events.
 */
#include <string.h>

#include "../preload/settings.h"
#include "alloc.h"
#include "alloc_series.h"
#include "clock.h"
#include "mem.h"
#include "nsp_format.h"
#include "resources.h"
#include "sites.h"
#include "writer_state.h"

#define SITE_BATCH 1024
#define SERIES_MAX 4096

struct family_events {
    uint32_t calls, bytes, time, hist; /* event ids (0: not written) */
};

/* What each family's counters mean, in the events of docs/FORMAT.md. */
static const struct family_events family_events[NS_SITE__COUNT] = {
    [NS_SITE_ALLOC] = {NS_EVID_ALLOC_COUNT, NS_EVID_ALLOC_BYTES, 0, 0},
    [NS_SITE_IO] = {NS_EVID_IO_CALLS, NS_EVID_IO_BYTES, NS_EVID_IO_TIME, NS_EVID_IO_BYTES},
    [NS_SITE_STDIO] = {NS_EVID_STDIO_CALLS, NS_EVID_STDIO_BYTES, NS_EVID_STDIO_TIME,
                       NS_EVID_STDIO_BYTES},
    /* The histogram of single waits (the hooks pass the wait as the value) gives the
     * report's `waits` distributions and the number of waits. */
    [NS_SITE_LOCK] = {0, 0, NS_EVID_LOCK_WAIT, NS_EVID_LOCK_WAIT},
    [NS_SITE_COND] = {0, 0, NS_EVID_COND_WAIT, NS_EVID_COND_WAIT},
};

static struct {
    struct ns_pw_site_sample batch[NS_EVID__COUNT][SITE_BATCH];
    size_t nbatch[NS_EVID__COUNT];
    uint64_t *resource_file_id; /* internal resource id → file id */
    size_t resource_ids_bytes;
    uint64_t next_resource_id;
    struct ns_pw_point live[SERIES_MAX], mapped[SERIES_MAX];
    size_t nseries;
    int64_t last_live, last_mapped;
    uint64_t halvings; /* times the series was kept at half resolution */
} S;

static int64_t now_us(void)
{
    uint64_t now = ns_now_ns();
    return now > W.start_mono_ns ? (int64_t)((now - W.start_mono_ns) / 1000) : 0;
}

static void flush_event(uint32_t ev)
{
    if (S.nbatch[ev]) {
        ns_pw_site_samples(&W.pw, ev, S.batch[ev], S.nbatch[ev]);
        S.nbatch[ev] = 0;
    }
}

static void add_entry(uint32_t ev, pid_t tid, uint64_t stack, uint64_t resource, uint64_t weight)
{
    if (!ev || !weight)
        return;
    if (S.nbatch[ev] == SITE_BATCH)
        flush_event(ev);
    S.batch[ev][S.nbatch[ev]++] =
        (struct ns_pw_site_sample){{now_us(), (uint64_t)tid, stack, weight}, resource};
}

static uint64_t stack_file_id(const struct ns_stack_entry *e)
{
    return e ? ns_stacks_intern(e->end, e->frames, (int)e->nframes) : 0;
}

/* File id of an internal resource, writing its RESOURCE record the first time. */
static uint64_t resource_file_id(uint32_t id)
{
    const struct ns_resource *r = ns_resource_get(id);
    if (!r)
        return 0;
    size_t need = ((size_t)id + 1) * sizeof(uint64_t);
    if (need > S.resource_ids_bytes) {
        size_t bytes = S.resource_ids_bytes ? S.resource_ids_bytes : 4096;
        while (bytes < need)
            bytes *= 2;
        uint64_t *p = ns_mem_grow(S.resource_file_id, S.resource_ids_bytes, bytes);
        if (!p)
            return 0;
        S.resource_file_id = p;
        S.resource_ids_bytes = bytes;
    }
    if (S.resource_file_id[id])
        return S.resource_file_id[id];
    uint64_t name = ns_strings_intern(r->name);
    uint64_t stack = stack_file_id(r->stack);
    uint64_t file_id = S.next_resource_id ? S.next_resource_id : 1;
    if (ns_pw_resource(&W.pw, file_id, r->kind, name, stack) < 0)
        return 0;
    S.next_resource_id = file_id + 1;
    S.resource_file_id[id] = file_id;
    return file_id;
}

static void emit_histogram(uint32_t ev, pid_t tid, uint64_t stack, uint64_t resource,
                           struct ns_site *s)
{
    uint64_t delta[NS_HIST_BUCKETS];
    size_t n = 0;
    for (size_t i = 0; i < NS_HIST_BUCKETS; i++) {
        uint64_t now = s->hist[i];
        delta[i] = now - s->sent_hist[i];
        s->sent_hist[i] = now;
        if (delta[i])
            n = i + 1;
    }
    if (n)
        ns_pw_histogram(&W.pw, ev, (uint64_t)tid, stack, resource, delta, n);
}

static void emit_site(void *ctx, struct ns_thread *th, struct ns_site *s)
{
    (void)ctx;
    uint64_t calls = s->calls, bytes = s->bytes, time = s->time_ns;
    if (calls == s->sent_calls && bytes == s->sent_bytes && time == s->sent_time)
        return;
    const struct family_events *fe = &family_events[s->family];
    uint64_t stack = stack_file_id(s->stack);
    uint64_t resource = s->resource ? resource_file_id(s->resource) : 0;
    add_entry(fe->calls, th->tid, stack, resource, calls - s->sent_calls);
    add_entry(fe->bytes, th->tid, stack, resource, bytes - s->sent_bytes);
    add_entry(fe->time, th->tid, stack, resource, time - s->sent_time);
    s->sent_calls = calls;
    s->sent_bytes = bytes;
    s->sent_time = time;
    if (fe->hist)
        emit_histogram(fe->hist, th->tid, stack, resource, s);
}

void ns_sites_emit_thread(struct ns_thread *th)
{
    ns_sites_each(th, emit_site, NULL);
}

static void flush_batches(void)
{
    for (uint32_t ev = 0; ev < NS_EVID__COUNT; ev++)
        flush_event(ev);
}

void ns_sites_emit(void)
{
    size_t count = ns_threads_count();
    for (size_t i = 0; i < count; i++) {
        struct ns_thread *th = ns_threads_at(i);
        if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) != NS_TH_FREE)
            ns_sites_emit_thread(th);
    }
    flush_batches();
    if (S.nseries) {
        ns_pw_series(&W.pw, "heap_live_bytes", "bytes", S.live, S.nseries);
        ns_pw_series(&W.pw, "heap_mapped_bytes", "bytes", S.mapped, S.nseries);
        S.nseries = 0;
    }
}

/*
 * A heap that moves faster than SERIES_MAX points between two flushes (a loop that
 * allocates and frees a large buffer thousands of times a second) is kept at half the
 * resolution: each pair of neighbours becomes the higher of the two, so the peaks survive
 * and the points stay bounded.
 */
static void halve_series(void)
{
    size_t n = 0;
    for (size_t i = 0; i + 1 < S.nseries; i += 2, n++) {
        size_t keep = S.live[i + 1].value > S.live[i].value ? i + 1 : i;
        S.live[n] = S.live[keep];
        S.mapped[n] = S.mapped[keep];
    }
    if (S.nseries % 2) {
        S.live[n] = S.live[S.nseries - 1];
        S.mapped[n] = S.mapped[S.nseries - 1];
        n++;
    }
    S.nseries = n;
    S.halvings++;
}

static void add_point(int64_t t, int64_t live, int64_t mapped)
{
    if (S.nseries == SERIES_MAX)
        halve_series();
    size_t i = S.nseries++;
    /* Points from several threads arrive nearly in time order: insertion sort is linear. */
    for (; i > 0 && S.live[i - 1].time_us > t; i--) {
        S.live[i] = S.live[i - 1];
        S.mapped[i] = S.mapped[i - 1];
    }
    S.live[i] = (struct ns_pw_point){t, (uint64_t)(live > 0 ? live : 0)};
    S.mapped[i] = (struct ns_pw_point){t, (uint64_t)(mapped > 0 ? mapped : 0)};
    S.last_live = live;
    S.last_mapped = mapped;
}

/* The points the program's threads took as the heap moved, then the heap now. */
void ns_sites_sample_heap(void)
{
    if (!ns_alloc_mode())
        return;
    struct ns_series_point pts[256];
    size_t n;
    while ((n = ns_series_drain(pts, sizeof(pts) / sizeof(pts[0])))) {
        for (size_t i = 0; i < n; i++) {
            int64_t t = pts[i].mono_ns > W.start_mono_ns
                            ? (int64_t)((pts[i].mono_ns - W.start_mono_ns) / 1000)
                            : 0;
            add_point(t, pts[i].live, pts[i].mapped);
        }
    }
    int64_t live = ns_alloc_live_bytes(), mapped = ns_alloc_mapped_bytes();
    if (live != S.last_live || mapped != S.last_mapped)
        add_point(now_us(), live, mapped);
}

uint64_t ns_sites_series_halvings(void)
{
    return S.halvings;
}

/* At the end: what each stack still holds (leaks) and held at the peak. */
void ns_sites_emit_final(void)
{
    if (!ns_alloc_mode()) {
        ns_sites_emit(); /* I/O and lock sites: the calls since the last flush */
        return;
    }
    ns_alloc_settle_peak();
    ns_sites_sample_heap();
    ns_sites_emit();
    pid_t pid = W.pid;
    size_t n = ns_stacks_count();
    for (size_t i = 0; i < n; i++) {
        struct ns_stack_entry *e = ns_stacks_at(i);
        if (!e)
            continue;
        int64_t live = __atomic_load_n(&e->live_bytes, __ATOMIC_RELAXED);
        int64_t peak = __atomic_load_n(&e->peak_bytes, __ATOMIC_RELAXED);
        if (live <= 0 && peak <= 0)
            continue;
        uint64_t stack = stack_file_id(e);
        if (live > 0)
            add_entry(NS_EVID_LEAK_BYTES, pid, stack, 0, (uint64_t)live);
        if (peak > 0)
            add_entry(NS_EVID_PEAK_BYTES, pid, stack, 0, (uint64_t)peak);
    }
    flush_batches();
}

void ns_sites_writer_reset(void)
{
    ns_mem_free(S.resource_file_id, S.resource_ids_bytes);
    memset(&S, 0, sizeof(S));
}
