/*
 * helpers — in-memory profiles and a fake resolver for the report tests (see helpers.h).
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void *grow(void *ptr, size_t n, size_t elem)
{
    void *p = realloc(ptr, n * elem);
    cr_assert_not_null(p);
    return p;
}

static struct ns_str mkstr(const char *s)
{
    struct ns_str r = {strdup(s), (uint32_t)strlen(s)};
    cr_assert_not_null(r.s);
    return r;
}

struct ns_profile *tp_new(const char *path, uint64_t pid, const char *exe)
{
    struct ns_profile *p = calloc(1, sizeof(*p));
    cr_assert_not_null(p);
    p->path = strdup(path);
    p->has_process = 1;
    p->process.pid = pid;
    p->process.ppid = 1;
    p->process.start_mono_ns = 1000;
    p->process.start_realtime_ns = 1700000000ull * 1000000000ull;
    p->process.exe = mkstr(exe);
    p->process.session = mkstr("sess");
    p->process.cmdline = mkstr(exe);
    p->process.hostname = mkstr("host");
    p->process.kernel = mkstr("6.1.0");
    p->process.producer = mkstr("nsprof test");
    p->strings = grow(NULL, 1, sizeof(*p->strings));
    p->strings[0] = mkstr("");
    p->nstrings = 1;
    p->mappings = grow(NULL, 1, sizeof(*p->mappings));
    memset(p->mappings, 0, sizeof(*p->mappings));
    p->nmappings = 1;
    p->stacks = grow(NULL, 1, sizeof(*p->stacks));
    memset(p->stacks, 0, sizeof(*p->stacks));
    p->nstacks = 1;
    p->resources = grow(NULL, 1, sizeof(*p->resources));
    memset(p->resources, 0, sizeof(*p->resources));
    p->nresources = 1;
    p->file_bytes = 4096;
    return p;
}

static void free_str(struct ns_str *s)
{
    free(s->s);
}

void tp_free(struct ns_profile *p)
{
    struct ns_prof_process *pp = &p->process;
    free_str(&pp->exe), free_str(&pp->session), free_str(&pp->cmdline);
    free_str(&pp->hostname), free_str(&pp->kernel), free_str(&pp->producer);
    for (size_t i = 0; i < p->nstrings; i++)
        free_str(&p->strings[i]);
    for (size_t i = 0; i < p->nevents; i++)
        free_str(&p->events[i].name), free_str(&p->events[i].unit);
    for (size_t i = 0; i < p->nsettings; i++)
        free_str(&p->settings[i].key), free_str(&p->settings[i].value);
    for (size_t i = 0; i < p->ncounters; i++)
        free_str(&p->counters[i].name);
    for (size_t i = 0; i < p->nnotes; i++)
        free_str(&p->notes[i].code), free_str(&p->notes[i].text);
    free(p->strings), free(p->mappings), free(p->stacks), free(p->frames), free(p->events);
    free(p->threads), free(p->settings), free(p->counters), free(p->notes);
    free(p->samples.event), free(p->samples.time_ns), free(p->samples.tid);
    free(p->samples.stack), free(p->samples.weight), free(p->samples.resource);
    for (size_t i = 0; i < p->nseries; i++)
        free_str(&p->series[i].name), free_str(&p->series[i].unit);
    free(p->resources), free(p->histograms), free(p->hist_buckets), free(p->series);
    free(p->points);
    free(p->path);
    free(p);
}

uint32_t tp_string(struct ns_profile *p, const char *s)
{
    p->strings = grow(p->strings, p->nstrings + 1, sizeof(*p->strings));
    p->strings[p->nstrings] = mkstr(s);
    return (uint32_t)p->nstrings++;
}

uint32_t tp_mapping(struct ns_profile *p, const char *path, uint32_t flags)
{
    uint32_t sid = tp_string(p, path);
    p->mappings = grow(p->mappings, p->nmappings + 1, sizeof(*p->mappings));
    struct ns_prof_mapping *m = &p->mappings[p->nmappings];
    memset(m, 0, sizeof(*m));
    m->path = sid;
    m->flags = flags;
    m->lo = 0x400000 * p->nmappings;
    m->hi = m->lo + 0x100000;
    /* One build-id per path (the model keys modules by build-id): ab cd, then the path's
     * 16-bit FNV-1a hash. */
    uint32_t h = 2166136261u;
    for (const char *c = path; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    m->build_id_len = 4;
    memcpy(m->build_id, (uint8_t[]){0xab, 0xcd, (uint8_t)(h >> 8), (uint8_t)h}, 4);
    return (uint32_t)p->nmappings++;
}

void tp_event(struct ns_profile *p, uint32_t id, const char *name, const char *unit,
              uint64_t period)
{
    p->events = grow(p->events, p->nevents + 1, sizeof(*p->events));
    p->events[p->nevents++] = (struct ns_prof_event){
        .id = id, .name = mkstr(name), .unit = mkstr(unit), .period = period};
}

void tp_event_flags(struct ns_profile *p, uint32_t id, const char *name, const char *unit,
                    uint64_t period, uint32_t flags)
{
    tp_event(p, id, name, unit, period);
    p->events[p->nevents - 1].flags = flags;
}

uint32_t tp_stack(struct ns_profile *p, uint8_t end, size_t nframes, const uint64_t *pairs)
{
    p->frames = grow(p->frames, p->nframes + nframes + 1, sizeof(*p->frames));
    uint32_t first = (uint32_t)p->nframes;
    for (size_t i = 0; i < nframes; i++)
        p->frames[p->nframes++] = (struct ns_prof_frame){(uint32_t)pairs[2 * i], pairs[2 * i + 1]};
    p->stacks = grow(p->stacks, p->nstacks + 1, sizeof(*p->stacks));
    p->stacks[p->nstacks] = (struct ns_prof_stack){first, (uint32_t)nframes, end};
    return (uint32_t)p->nstacks++;
}

static struct ns_prof_thread *thread_slot(struct ns_profile *p, uint32_t tid)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].tid == tid)
            return &p->threads[i];
    p->threads = grow(p->threads, p->nthreads + 1, sizeof(*p->threads));
    size_t at = p->nthreads;
    while (at > 0 && p->threads[at - 1].tid > tid) {
        p->threads[at] = p->threads[at - 1];
        at--;
    }
    memset(&p->threads[at], 0, sizeof(p->threads[at]));
    p->threads[at].tid = tid;
    p->nthreads++;
    return &p->threads[at];
}

void tp_thread(struct ns_profile *p, uint32_t tid, const char *name)
{
    uint32_t sid = tp_string(p, name);
    thread_slot(p, tid)->name = sid;
}

void tp_thread_stats(struct ns_profile *p, uint32_t tid, uint64_t cpu_ns, uint64_t samples)
{
    struct ns_prof_thread *t = thread_slot(p, tid);
    t->has_stats = 1;
    t->cpu_ns = cpu_ns;
    t->samples = samples;
}

void tp_site_sample(struct ns_profile *p, uint32_t event, int64_t time_ns, uint32_t tid,
                    uint32_t stack, uint64_t weight, uint32_t resource)
{
    struct ns_prof_samples *s = &p->samples;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->event = grow(s->event, s->cap, sizeof(*s->event));
        s->time_ns = grow(s->time_ns, s->cap, sizeof(*s->time_ns));
        s->tid = grow(s->tid, s->cap, sizeof(*s->tid));
        s->stack = grow(s->stack, s->cap, sizeof(*s->stack));
        s->weight = grow(s->weight, s->cap, sizeof(*s->weight));
        s->resource = grow(s->resource, s->cap, sizeof(*s->resource));
    }
    s->event[s->n] = event;
    s->time_ns[s->n] = time_ns;
    s->tid[s->n] = tid;
    s->stack[s->n] = stack;
    s->weight[s->n] = weight;
    s->resource[s->n] = resource;
    s->n++;
}

void tp_sample(struct ns_profile *p, uint32_t event, int64_t time_ns, uint32_t tid, uint32_t stack,
               uint64_t weight)
{
    tp_site_sample(p, event, time_ns, tid, stack, weight, 0);
}

uint32_t tp_resource(struct ns_profile *p, uint32_t kind, const char *name, uint32_t stack)
{
    uint32_t sid = tp_string(p, name);
    p->resources = grow(p->resources, p->nresources + 1, sizeof(*p->resources));
    p->resources[p->nresources] =
        (struct ns_prof_resource){.kind = kind, .name = sid, .stack = stack};
    return (uint32_t)p->nresources++;
}

void tp_histogram(struct ns_profile *p, uint32_t event, uint32_t tid, uint32_t stack,
                  uint32_t resource, size_t nbuckets, const uint64_t *buckets)
{
    p->hist_buckets =
        grow(p->hist_buckets, p->nhist_buckets + nbuckets + 1, sizeof(*p->hist_buckets));
    memcpy(p->hist_buckets + p->nhist_buckets, buckets, nbuckets * sizeof(*buckets));
    p->histograms = grow(p->histograms, p->nhistograms + 1, sizeof(*p->histograms));
    p->histograms[p->nhistograms++] = (struct ns_prof_histogram){
        event, tid, stack, resource, (uint32_t)p->nhist_buckets, (uint32_t)nbuckets};
    p->nhist_buckets += nbuckets;
}

void tp_series(struct ns_profile *p, const char *name, const char *unit, size_t n,
               const int64_t *pairs)
{
    p->points = grow(p->points, p->npoints + n + 1, sizeof(*p->points));
    for (size_t i = 0; i < n; i++)
        p->points[p->npoints + i] =
            (struct ns_prof_point){pairs[2 * i], (uint64_t)pairs[2 * i + 1]};
    p->series = grow(p->series, p->nseries + 1, sizeof(*p->series));
    p->series[p->nseries++] = (struct ns_prof_series){mkstr(name), mkstr(unit), p->npoints, n};
    p->npoints += n;
}

void tp_samples(struct ns_profile *p, size_t n, uint32_t event, uint32_t tid, uint32_t stack,
                uint64_t weight)
{
    for (size_t i = 0; i < n; i++)
        tp_sample(p, event, (int64_t)i * 1000000, tid, stack, weight);
}

void tp_setting(struct ns_profile *p, const char *key, const char *value)
{
    p->settings = grow(p->settings, p->nsettings + 1, sizeof(*p->settings));
    p->settings[p->nsettings++] = (struct ns_prof_kv){mkstr(key), mkstr(value)};
}

void tp_counter(struct ns_profile *p, const char *name, uint64_t value)
{
    p->counters = grow(p->counters, p->ncounters + 1, sizeof(*p->counters));
    p->counters[p->ncounters++] = (struct ns_prof_counter){mkstr(name), value};
}

void tp_note(struct ns_profile *p, uint32_t level, const char *code, const char *text)
{
    p->notes = grow(p->notes, p->nnotes + 1, sizeof(*p->notes));
    p->notes[p->nnotes++] = (struct ns_prof_note){level, mkstr(code), mkstr(text)};
}

void tp_end(struct ns_profile *p, uint32_t reason, uint64_t status, uint64_t end_ns)
{
    p->has_end = 1;
    p->end_reason = reason;
    p->end_status = status;
    p->end_mono_ns = end_ns;
}

static void fake_lookup(void *ctx, const struct ns_sym_object *obj, uint64_t addr,
                        const struct ns_sym_frame **frames, size_t *nframes)
{
    struct fake_resolver *f = ctx;
    f->lookups++;
    for (size_t i = 0; i < f->nsyms; i++)
        if (strcmp(f->syms[i].path, obj->path) == 0 && f->syms[i].addr == addr) {
            *frames = f->syms[i].frames;
            *nframes = f->syms[i].n;
            return;
        }
    memset(&f->unknown, 0, sizeof(f->unknown));
    *frames = &f->unknown;
    *nframes = 1;
}

static enum ns_sym_status fake_status(void *ctx, const struct ns_sym_object *obj,
                                      const char **detail)
{
    struct fake_resolver *f = ctx;
    f->status_queries++;
    for (size_t i = 0; i < f->nstatuses; i++)
        if (strcmp(f->statuses[i].path, obj->path) == 0) {
            *detail = f->statuses[i].detail;
            return f->statuses[i].status;
        }
    *detail = NULL;
    return NS_SYM_OK;
}

struct ns_resolver fake_resolver(struct fake_resolver *f)
{
    return (struct ns_resolver){.ctx = f, .lookup = fake_lookup, .module_status = fake_status};
}

struct ns_model *buildn(const struct ns_profile *const *p, size_t n,
                        const struct ns_model_options *o)
{
    struct ns_model *m = NULL;
    char err[256] = "";
    int rc = ns_model_build(p, n, o, &m, err, sizeof(err));
    cr_assert_eq(rc, 0, "ns_model_build failed: %s", err);
    cr_assert_not_null(m);
    return m;
}

struct ns_model *build1(const struct ns_profile *p, const struct ns_model_options *o)
{
    return buildn(&p, 1, o);
}

static uint32_t child_named(const struct ns_model *m, uint32_t node, const char *name)
{
    for (uint32_t c = m->nodes[node].first_child; c != NS_NONE; c = m->nodes[c].next_sibling)
        if (strcmp(m->funcs[m->nodes[c].func].name, name) == 0)
            return c;
    return NS_NONE;
}

uint32_t find_path(const struct ns_model *m, uint32_t event, const char *const *path)
{
    uint32_t node = m->events[event].root;
    for (size_t i = 0; path[i] && node != NS_NONE; i++)
        node = child_named(m, node, path[i]);
    return node;
}

uint32_t find_func(const struct ns_model *m, const char *name)
{
    for (size_t i = 0; i < m->nfuncs; i++)
        if (strcmp(m->funcs[i].name, name) == 0)
            return (uint32_t)i;
    return NS_NONE;
}

size_t child_count(const struct ns_model *m, uint32_t node)
{
    size_t n = 0;
    for (uint32_t c = m->nodes[node].first_child; c != NS_NONE; c = m->nodes[c].next_sibling)
        n++;
    return n;
}

static const struct fake_sym std_syms[] = {
    {"/usr/bin/app", 0x100, 1, {{"main", "/src/app.c", 10, 0, NULL}}},
    {"/usr/bin/app", 0x200, 1, {{"run", "/src/app.c", 20, 0, NULL}}},
    {"/usr/bin/app", 0x300, 1, {{"compute", "/src/app.c", 30, 0, NULL}}},
    {"/usr/bin/app", 0x310, 1, {{"compute", "/src/app.c", 31, 0, NULL}}},
    {"/usr/bin/app",
     0x400,
     2,
     {{"helper", "/src/util.h", 5, 1, NULL}, {"compute", "/src/app.c", 33, 0, NULL}}},
    {"/lib/libc.so.6", 0x50, 1, {{"memcpy", "memcpy.S", 100, 0, NULL}}},
};

static const struct fake_status std_statuses[] = {
    {"/lib/libc.so.6", NS_SYM_NO_DEBUG_INFO, "no .debug_info in /lib/libc.so.6"},
};

struct fake_resolver std_fake;

struct ns_resolver std_resolver(void)
{
    memset(&std_fake, 0, sizeof(std_fake));
    std_fake.syms = std_syms;
    std_fake.nsyms = sizeof(std_syms) / sizeof(std_syms[0]);
    std_fake.statuses = std_statuses;
    std_fake.nstatuses = 1;
    return fake_resolver(&std_fake);
}

struct ns_profile *std_profile(const char *path, uint64_t pid)
{
    struct ns_profile *p = tp_new(path, pid, "/usr/bin/app");
    uint32_t app = tp_mapping(p, "/usr/bin/app", 1);
    uint32_t libc = tp_mapping(p, "/lib/libc.so.6", 0);
    tp_event(p, 1, "cpu", "ns", 1000000);
    uint32_t s1 = tp_stack(p, 0, 3, (uint64_t[]){app, 0x300, app, 0x200, app, 0x100});
    uint32_t s2 = tp_stack(p, 0, 3, (uint64_t[]){app, 0x310, app, 0x200, app, 0x100});
    uint32_t s3 = tp_stack(p, 1, 3, (uint64_t[]){libc, 0x50, app, 0x400, app, 0x100});
    uint32_t s4 = tp_stack(p, 4, 2, (uint64_t[]){app, 0x999, app, 0x100});
    uint32_t s5 = tp_stack(p, 0, 2, (uint64_t[]){app, 0x400, app, 0x100});
    tp_thread(p, 10, "app");
    tp_thread(p, 11, "worker");
    tp_thread(p, 12, "worker");
    tp_thread_stats(p, 10, 8000000, 6);
    tp_thread_stats(p, 11, 4000000, 3);
    tp_thread_stats(p, 12, 12000000, 6);
    for (int i = 0; i < 5; i++)
        tp_sample(p, 1, 1000000 * i, 10, s1, 1000000);
    for (int i = 0; i < 3; i++)
        tp_sample(p, 1, 1000000 * i + 10, 11, s2, 2000000);
    for (int i = 0; i < 2; i++)
        tp_sample(p, 1, 5000000 + 1000000 * i, 12, s3, 1000000);
    tp_sample(p, 1, 7000000, 10, s4, 1000000);
    for (int i = 0; i < 4; i++)
        tp_sample(p, 1, 8000000 + 1000000 * i, 12, s5, 1000000);
    tp_setting(p, "event", "cpu");
    tp_setting(p, "freq", "1000");
    tp_setting(p, "mechanism_used", "signal");
    tp_setting(p, "mechanism_reason", "perf_event_open refused (perf_event_paranoid=3)");
    tp_setting(p, "exclude_kernel", "1");
    tp_setting(p, "max_depth", "128");
    tp_setting(p, "stack_copy", "8192");
    tp_counter(p, "samples", 15);
    tp_counter(p, "dropped_ring_full", 3);
    tp_counter(p, "dropped_perf_lost", 0);
    tp_counter(p, "threads_failed", 1);
    tp_note(p, 1, "cpu_timer_rate", "signal timers deliver at most 250 Hz per thread");
    tp_note(p, 0, "sigprof_handler", "the program installed no SIGPROF handler");
    tp_end(p, 0, 0, 30000000);
    return p;
}
