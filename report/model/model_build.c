/*
 * model_build — builds the model (model.h) from loaded profiles.
 *
 * Per profile, in one pass over its samples (structure-of-arrays, a million of them in a
 * few milliseconds), the cheap filters are applied (--pid per file, then --event, --thread
 * and --from/--to per sample) and each surviving sample is added to the "key" of its
 * (event, stack id), found by direct indexing since stack ids are dense. Then each key is
 * symbolized, tested against --function, and inserted into its event's tree once with its
 * summed count and weight. Finally the kept samples are pointed at their leaf nodes.
 *
 * Snapshot events (leak_bytes, peak_bytes) keep, per stack, only the entries of the latest
 * time: a key restarts its sums when a later entry arrives, and the samples of earlier
 * snapshots are dropped when they are pointed at their leaves. Keys of aggregate events
 * also get their call site (model_sites.c) while their stack is resolved.
 *
 * Facts about the profile (settings, counters, notes, end, truncation, thread statistics)
 * are copied into the model so that renderers never reach back into the file.
 */
#include "model_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *intern_nsstr(struct ns_model *m, const struct ns_str *s)
{
    /* Names are shown up to an embedded NUL, if a file has one. */
    if (!s || !s->s)
        return ns_pool_str(&m->pool, "");
    return ns_pool_intern(&m->pool, s->s, strnlen(s->s, s->len));
}

static const struct ns_str *profile_string(const struct ns_profile *p, uint32_t id)
{
    return id < p->nstrings ? &p->strings[id] : NULL;
}

uint32_t ns_model_event_index(const struct ns_model *m, const char *name)
{
    for (size_t i = 0; i < m->nevents; i++)
        if (strcmp(m->events[i].name, name) == 0)
            return (uint32_t)i;
    return NS_NONE;
}

uint32_t ns_model_next_preorder(const struct ns_model *m, uint32_t root, uint32_t n)
{
    const struct ns_node *nodes = m->nodes;
    if (nodes[n].first_child != NS_NONE)
        return nodes[n].first_child;
    while (n != root && nodes[n].next_sibling == NS_NONE)
        n = nodes[n].parent;
    return n == root ? NS_NONE : nodes[n].next_sibling;
}

const char *ns_model_setting(const struct ns_process *p, const char *key)
{
    for (size_t i = p->nsettings; i-- > 0;)
        if (strcmp(p->settings[i].key, key) == 0)
            return p->settings[i].value;
    return NULL;
}

uint64_t ns_model_counter(const struct ns_process *p, const char *name)
{
    for (size_t i = 0; i < p->ncounters; i++)
        if (strcmp(p->counters[i].name, name) == 0)
            return p->counters[i].value;
    return 0;
}

uint32_t ns_model_node_process(const struct ns_model *m, uint32_t node)
{
    while (node != NS_NONE && m->nodes[node].depth > 1)
        node = m->nodes[node].parent;
    if (node == NS_NONE || m->nodes[node].depth != 1)
        return NS_NONE;
    return m->funcs[m->nodes[node].func].process;
}

static int note_seen(struct ns_build *b, const struct ns_profile *p)
{
    struct ns_filter_stats *f = &b->m->filter;
    for (size_t i = 0; i < p->nevents; i++) {
        const char *name = intern_nsstr(b->m, &p->events[i].name);
        if (!name)
            return -1;
        size_t j = 0;
        while (j < f->nevent_names && f->event_names[j] != name)
            j++;
        if (j == f->nevent_names) {
            const char **nn = realloc(f->event_names, (j + 1) * sizeof(*nn));
            if (!nn)
                return -1;
            f->event_names = nn;
            f->event_names[f->nevent_names++] = name;
        }
    }
    uint64_t *np = realloc(f->pids, (f->npids + 1) * sizeof(*np));
    if (!np)
        return -1;
    f->pids = np;
    f->pids[f->npids++] = p->has_process ? p->process.pid : 0;
    return 0;
}

static int split_cmdline(struct ns_model *m, struct ns_process *proc, const struct ns_str *c)
{
    size_t n = 0, len = c->s ? c->len : 0;
    for (size_t i = 0; i < len; i++)
        n += c->s[i] == '\0';
    n += len && c->s[len - 1] != '\0';
    proc->argv = calloc(n ? n : 1, sizeof(*proc->argv));
    if (!proc->argv)
        return -1;
    for (size_t start = 0; start < len && proc->argc < n;) {
        size_t end = start;
        while (end < len && c->s[end])
            end++;
        if (!(proc->argv[proc->argc++] = ns_pool_intern(&m->pool, c->s + start, end - start)))
            return -1;
        start = end + 1;
    }
    return 0;
}

static int copy_settings_notes(struct ns_model *m, struct ns_process *proc,
                               const struct ns_profile *p)
{
    proc->settings = calloc(p->nsettings ? p->nsettings : 1, sizeof(*proc->settings));
    proc->notes = calloc(p->nnotes ? p->nnotes : 1, sizeof(*proc->notes));
    if (!proc->settings || !proc->notes)
        return -1;
    for (size_t i = 0; i < p->nsettings; i++) {
        struct ns_kv *kv = &proc->settings[proc->nsettings++];
        kv->key = intern_nsstr(m, &p->settings[i].key);
        kv->value = intern_nsstr(m, &p->settings[i].value);
        if (!kv->key || !kv->value)
            return -1;
    }
    for (size_t i = 0; i < p->nnotes; i++) {
        struct ns_note *n = &proc->notes[proc->nnotes++];
        n->level = p->notes[i].level;
        n->code = intern_nsstr(m, &p->notes[i].code);
        n->text = intern_nsstr(m, &p->notes[i].text);
        if (!n->code || !n->text)
            return -1;
    }
    return 0;
}

static int counter_eq(const void *ctx, uint32_t value, const void *key)
{
    return ((const struct ns_process *)ctx)->counters[value].name == key;
}

/* Counters are cumulative: the last value of each name wins. */
static int copy_counters(struct ns_model *m, struct ns_process *proc, const struct ns_profile *p)
{
    struct ns_itab seen = {0};
    proc->counters = calloc(p->ncounters ? p->ncounters : 1, sizeof(*proc->counters));
    if (!proc->counters)
        return -1;
    for (size_t i = 0; i < p->ncounters; i++) {
        const char *name = intern_nsstr(m, &p->counters[i].name);
        if (!name)
            goto fail;
        uint64_t h = ns_mix64((uintptr_t)name);
        uint32_t idx = ns_itab_get(&seen, h, counter_eq, proc, name);
        if (idx == NS_NONE) {
            idx = (uint32_t)proc->ncounters++;
            proc->counters[idx].name = name;
            if (ns_itab_put(&seen, h, idx) < 0)
                goto fail;
        }
        proc->counters[idx].value = p->counters[i].value;
    }
    ns_itab_free(&seen);
    return 0;
fail:
    ns_itab_free(&seen);
    return -1;
}

static const char *exe_name(const char *exe)
{
    const char *slash = strrchr(exe, '/');
    const char *base = slash ? slash + 1 : exe;
    return *base ? base : "[unknown]";
}

/* The main thread's record of a profile, or NULL (threads are sorted by tid). */
static const struct ns_prof_thread *main_thread(const struct ns_profile *p)
{
    for (size_t i = 0; p->has_process && i < p->nthreads; i++)
        if (p->threads[i].tid == p->process.pid)
            return &p->threads[i];
    return NULL;
}

/* A process is named as ps, top and perf name it: its main thread's name (comm, e.g.
 * `python3`), which the thread table shows too; the executable's basename (`python3.11`)
 * when the file recorded no name, or when the comm is that basename cut at the kernel's 15
 * bytes (TASK_COMM_LEN - 1): the whole name then, not a stump. */
static const char *process_name(struct ns_model *m, const struct ns_profile *p, const char *exe)
{
    const struct ns_prof_thread *t = main_thread(p);
    const char *comm = t ? intern_nsstr(m, profile_string(p, t->name)) : NULL;
    const char *base = exe_name(exe);
    if (!comm || !comm[0] || (strlen(comm) == 15 && strncmp(base, comm, 15) == 0))
        return ns_pool_str(&m->pool, base);
    return comm;
}

static int add_process(struct ns_build *b, const struct ns_profile *p)
{
    struct ns_model *m = b->m;
    struct ns_process *np = realloc(m->processes, (m->nprocesses + 1) * sizeof(*np));
    if (!np)
        return -1;
    m->processes = np;
    b->process = (uint32_t)m->nprocesses++;
    struct ns_process *proc = &m->processes[b->process];
    memset(proc, 0, sizeof(*proc));
    const struct ns_prof_process *pp = &p->process;
    if (p->has_process) {
        proc->pid = pp->pid, proc->ppid = pp->ppid, proc->exec_index = pp->exec_index;
        proc->start_realtime_ns = pp->start_realtime_ns, proc->start_mono_ns = pp->start_mono_ns;
    }
    proc->path = ns_pool_str(&m->pool, p->path ? p->path : "");
    proc->exe = intern_nsstr(m, p->has_process ? &pp->exe : NULL);
    proc->session = intern_nsstr(m, p->has_process ? &pp->session : NULL);
    proc->hostname = intern_nsstr(m, p->has_process ? &pp->hostname : NULL);
    proc->kernel = intern_nsstr(m, p->has_process ? &pp->kernel : NULL);
    proc->producer = intern_nsstr(m, p->has_process ? &pp->producer : NULL);
    if (!proc->path || !proc->exe || !proc->session || !proc->hostname || !proc->kernel ||
        !proc->producer)
        return -1;
    proc->name = process_name(m, p, proc->exe);
    proc->has_end = p->has_end, proc->end_reason = p->end_reason;
    proc->end_status = p->end_status, proc->end_mono_ns = p->end_mono_ns;
    proc->truncated = p->truncated, proc->truncated_at = p->truncated_at;
    proc->file_bytes = p->file_bytes;
    for (size_t i = 0; i < p->nevents; i++) {
        proc->has_cpu_event |= p->events[i].name.s && strcmp(p->events[i].name.s, "cpu") == 0;
        proc->has_sampled_event |= !(p->events[i].flags & NSP_EVENT_AGGREGATE);
    }
    for (size_t i = 0; i < p->samples.n; i++)
        if (p->samples.time_ns[i] > proc->last_sample_ns)
            proc->last_sample_ns = p->samples.time_ns[i];
    if (!proc->name || (p->has_process && split_cmdline(m, proc, &pp->cmdline) < 0) ||
        copy_settings_notes(m, proc, p) < 0 || copy_counters(m, proc, p) < 0)
        return -1;
    struct ns_func f = {
        .name = proc->name,
        .module = ns_pool_str(&m->pool, ""),
        .file = ns_pool_str(&m->pool, ""),
        .module_index = NS_NONE,
        .process = b->process,
        .kind = NS_FUNC_PROCESS,
    };
    proc->func = f.module ? nsb_func(b, &f) : NS_NONE;
    return proc->func == NS_NONE ? -1 : 0;
}

/* Model event for each event of the profile (NS_NONE when --event excludes it). */
static uint32_t *map_events(struct ns_build *b, const struct ns_profile *p)
{
    struct ns_model *m = b->m;
    uint32_t *map = calloc(p->nevents ? p->nevents : 1, sizeof(*map));
    if (!map)
        return NULL;
    for (size_t i = 0; i < p->nevents; i++) {
        const struct ns_prof_event *pe = &p->events[i];
        const char *name = intern_nsstr(m, &pe->name);
        map[i] = NS_NONE;
        if (!name)
            goto fail;
        if (b->opt->event && strcmp(b->opt->event, name) != 0)
            continue;
        map[i] = ns_model_event_index(m, name);
        if (map[i] != NS_NONE) {
            m->events[map[i]].flags |= pe->flags;
            continue;
        }
        if (ns_grow((void **)&m->events, &b->events_cap, m->nevents + 1, sizeof(*m->events)))
            goto fail;
        struct ns_event *ev = &m->events[m->nevents];
        memset(ev, 0, sizeof(*ev));
        ev->name = name;
        ev->unit = intern_nsstr(m, &pe->unit);
        ev->period = pe->period;
        ev->flags = pe->flags;
        ev->root = nsb_new_root(b, (uint32_t)m->nevents);
        if (!ev->unit || ev->root == NS_NONE)
            goto fail;
        map[i] = (uint32_t)m->nevents++;
    }
    return map;
fail:
    free(map);
    return NULL;
}

static int thread_matches(const char *filter, uint32_t tid, const char *name)
{
    if (!filter)
        return 1;
    const char *c = filter;
    while (isdigit((unsigned char)*c))
        c++;
    if (*filter && !*c)
        return strtoull(filter, NULL, 10) == tid;
    return strstr(name, filter) != NULL;
}

struct thread_key {
    uint32_t process, tid;
};

static int thread_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_thread *t = &((const struct ns_model *)ctx)->threads[value];
    const struct thread_key *k = key;
    return t->process == k->process && t->tid == k->tid;
}

/* The model thread of (current process, tid), created with the profile's facts if new. */
uint32_t nsb_thread_index(struct ns_build *b, uint32_t tid)
{
    struct ns_model *m = b->m;
    struct thread_key k = {b->process, tid};
    uint64_t h = ns_mix64((uint64_t)b->process << 32 | tid);
    uint32_t idx = ns_itab_get(&b->thread_tab, h, thread_eq, m, &k);
    if (idx != NS_NONE)
        return idx;
    if (ns_grow((void **)&m->threads, &b->threads_cap, m->nthreads + 1, sizeof(*m->threads)))
        return NS_NONE;
    idx = (uint32_t)m->nthreads;
    struct ns_thread *t = &m->threads[idx];
    memset(t, 0, sizeof(*t));
    t->process = b->process;
    t->tid = tid;
    const struct ns_profile *p = b->prof;
    size_t lo = 0, hi = p->nthreads;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->threads[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct ns_prof_thread *pt =
        lo < p->nthreads && p->threads[lo].tid == tid ? &p->threads[lo] : NULL;
    t->name = pt ? intern_nsstr(m, profile_string(p, pt->name)) : ns_pool_str(&m->pool, "");
    if (!t->name || ns_itab_put(&b->thread_tab, h, idx) < 0)
        return NS_NONE;
    if (pt && pt->has_stats) {
        t->has_stats = 1;
        t->cpu_ns = pt->cpu_ns;
        t->stat_samples = pt->samples;
        t->exited = (pt->flags & NSP_THREAD_EXITED) != 0;
        t->has_times = (pt->flags & NSP_THREAD_TIMES) != 0;
        t->blocked_ns = pt->blocked_ns;
        t->runnable_ns = pt->runnable_ns;
        t->off_unknown_ns = pt->off_unknown_ns;
    }
    t->matched = thread_matches(b->opt->thread, tid, t->name);
    m->nthreads++;
    return idx;
}

int64_t nsb_seconds_to_ns(double s)
{
    if (!(s > -9.2e9))
        return INT64_MIN;
    if (s >= 9.2e9)
        return INT64_MAX;
    return (int64_t)llround(s * 1e9);
}

struct scan {
    uint32_t *events;           /* profile event position -> model event */
    uint32_t *key_of;           /* [event position * nstacks + stack] -> key */
    uint32_t last_id, last_pos; /* cache of the event id lookup */
    uint32_t last_tid, last_thread;
    size_t nstacks; /* at least 1 */
};

uint32_t nsb_event_position(const struct ns_profile *p, uint32_t id)
{
    for (size_t i = 0; i < p->nevents; i++)
        if (p->events[i].id == id)
            return (uint32_t)i;
    return NS_NONE;
}

static uint32_t event_position(const struct ns_profile *p, struct scan *s, uint32_t id)
{
    if (id == s->last_id && s->last_pos != NS_NONE)
        return s->last_pos;
    uint32_t pos = nsb_event_position(p, id);
    if (pos != NS_NONE)
        s->last_id = id;
    return s->last_pos = pos;
}

/* Adds an entry to its key; a snapshot key keeps only the entries of its latest time. */
static void key_add(struct nsb_key *k, int64_t time_ns, uint64_t weight)
{
    if (k->snapshot && (k->count == 0 || time_ns > k->snap_time)) {
        k->snap_time = time_ns;
        k->count = 0;
        k->weight = 0;
    }
    if (k->snapshot && time_ns != k->snap_time)
        return;
    k->count++;
    k->weight = nsb_sat_add(k->weight, weight);
}

static int add_sample(struct ns_build *b, struct scan *s, size_t i, uint32_t pos, uint32_t thread)
{
    const struct ns_prof_samples *ps = &b->prof->samples;
    struct ns_model *m = b->m;
    uint32_t stack = ps->stack[i] < s->nstacks ? ps->stack[i] : 0;
    uint32_t *slot = &s->key_of[(size_t)pos * s->nstacks + stack];
    if (*slot == NS_NONE) {
        if (ns_grow((void **)&b->keys, &b->keys_cap, b->nkeys + 1, sizeof(*b->keys)))
            return -1;
        *slot = (uint32_t)b->nkeys;
        uint32_t ev = s->events[pos];
        b->keys[b->nkeys++] = (struct nsb_key){
            .event = ev,
            .stack = stack,
            .site = NS_NONE,
            .snapshot = (m->events[ev].flags & NSP_EVENT_SNAPSHOT) != 0,
        };
    }
    key_add(&b->keys[*slot], ps->time_ns[i], ps->weight[i]);
    if (ns_grow((void **)&m->samples, &b->samples_cap, m->nsamples + 1, sizeof(*m->samples)))
        return -1;
    /* node holds the key until the keys are inserted into the trees. */
    m->samples[m->nsamples++] = (struct ns_sample){
        .time_ns = ps->time_ns[i],
        .weight = ps->weight[i],
        .node = *slot,
        .thread = thread,
        .site = NS_NONE,
        .resource = nsb_resource(b, ps->resource ? ps->resource[i] : 0),
    };
    return 0;
}

static int scan_samples(struct ns_build *b, struct scan *s)
{
    const struct ns_prof_samples *ps = &b->prof->samples;
    struct ns_filter_stats *f = &b->m->filter;
    const struct ns_model_options *o = b->opt;
    int64_t from = o->has_from ? nsb_seconds_to_ns(o->from_s) : INT64_MIN;
    int64_t to = o->has_to ? nsb_seconds_to_ns(o->to_s) : INT64_MAX;
    s->last_pos = s->last_thread = NS_NONE;
    for (size_t i = 0; i < ps->n; i++) {
        /* Samples of an event id the file never defined cannot be named; the reader
         * rejects them, and the model skips them rather than invent an event. */
        uint32_t pos = event_position(b->prof, s, ps->event[i]);
        if (pos == NS_NONE || s->events[pos] == NS_NONE)
            continue;
        f->after_event++;
        if (ps->tid[i] != s->last_tid || s->last_thread == NS_NONE) {
            s->last_tid = ps->tid[i];
            s->last_thread = nsb_thread_index(b, ps->tid[i]);
            if (s->last_thread == NS_NONE)
                return -1;
        }
        if (!b->m->threads[s->last_thread].matched)
            continue;
        f->after_thread++;
        if (ps->time_ns[i] < from || ps->time_ns[i] >= to)
            continue;
        f->after_time++;
        if (add_sample(b, s, i, pos, s->last_thread) < 0)
            return -1;
    }
    return 0;
}

/* Stack id 0 means "no stack": it falls in the bucket of undefined end reasons. */
static uint8_t stack_end(const struct ns_profile *p, uint32_t stack)
{
    if (stack == 0 || stack >= p->nstacks)
        return NSP_END__COUNT;
    return p->stacks[stack].end < NSP_END__COUNT ? p->stacks[stack].end : NSP_END__COUNT;
}

static int insert_keys(struct ns_build *b)
{
    const struct ns_model_options *o = b->opt;
    for (size_t i = 0; i < b->nkeys; i++) {
        struct nsb_key *k = &b->keys[i];
        if (o->progress && (i % 256 == 0))
            o->progress(o->progress_ctx, i, b->nkeys);
        k->leaf = NS_NONE;
        if (nsb_resolve_stack(b, k->stack) < 0)
            return -1;
        int match = nsb_path_matches(b);
        if (match < 0)
            return -1;
        if (!match)
            continue;
        if (nsb_insert_path(b, k, stack_end(b->prof, k->stack)) < 0)
            return -1;
        const struct ns_event *ev = &b->m->events[k->event];
        if (ns_event_has_sites(ev) && nsb_site(b, ns_model_event_family(ev->name), &k->site) < 0)
            return -1;
        b->m->filter.after_function += k->count;
    }
    if (o->progress)
        o->progress(o->progress_ctx, b->nkeys, b->nkeys);
    return 0;
}

/* Points this profile's samples (from index first on) at their leaf nodes and sites,
 * dropping the samples whose stack --function removed and those of superseded snapshots. */
static void resolve_samples(struct ns_build *b, size_t first)
{
    struct ns_model *m = b->m;
    size_t w = first;
    for (size_t i = first; i < m->nsamples; i++) {
        const struct nsb_key *k = &b->keys[m->samples[i].node];
        if (k->leaf == NS_NONE || (k->snapshot && m->samples[i].time_ns != k->snap_time))
            continue;
        m->samples[w] = m->samples[i];
        m->samples[w].site = k->site;
        m->samples[w++].node = k->leaf;
    }
    m->nsamples = w;
}

static int ingest_profile(struct ns_build *b, const struct ns_profile *p)
{
    struct ns_model *m = b->m;
    m->filter.in_files += p->samples.n;
    if (note_seen(b, p) < 0)
        return -1;
    if (b->opt->has_pid && (!p->has_process || p->process.pid != b->opt->pid))
        return 0;
    m->filter.after_pid += p->samples.n;
    b->prof = p;
    struct scan s = {0};
    int rc = -1;
    if (add_process(b, p) < 0 || nsb_map_modules(b) < 0 || !(s.events = map_events(b, p)) ||
        nsb_add_resources(b) < 0)
        goto out;
    b->event_map = s.events;
    /* Every thread of the file, so that its statistics show even without samples. */
    for (size_t i = 0; i < p->nthreads; i++)
        if (nsb_thread_index(b, p->threads[i].tid) == NS_NONE)
            goto out;
    s.nstacks = p->nstacks ? p->nstacks : 1;
    size_t nev = p->nevents ? p->nevents : 1;
    if (s.nstacks > SIZE_MAX / sizeof(uint32_t) / nev)
        goto out;
    s.key_of = malloc(nev * s.nstacks * sizeof(uint32_t));
    if (!s.key_of)
        goto out;
    memset(s.key_of, 0xff, nev * s.nstacks * sizeof(uint32_t));
    size_t first = m->nsamples;
    if (scan_samples(b, &s) < 0 || insert_keys(b) < 0)
        goto out;
    resolve_samples(b, first);
    if (nsb_add_histograms(b) < 0 || nsb_add_series(b) < 0 || nsb_add_db_stats(b) < 0)
        goto out;
    rc = 0;
out:
    b->event_map = NULL;
    free(s.events);
    free(s.key_of);
    nsb_free_profile_state(b);
    return rc;
}

static int finish(struct ns_build *b)
{
    struct ns_model *m = b->m;
    size_t n = m->nthreads * (m->nevents ? m->nevents : 1);
    m->thread_events = calloc(n ? n : 1, sizeof(*m->thread_events));
    if (!m->thread_events)
        return -1;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        struct ns_thread_event *te =
            &m->thread_events[(size_t)s->thread * m->nevents + m->nodes[s->node].event];
        te->count++;
        te->weight = nsb_sat_add(te->weight, s->weight);
    }
    if (nsb_find_packages(b) < 0)
        return -1;
    return nsb_sort_children(m);
}

static int compile_function_filter(struct ns_build *b, char *err, size_t errlen)
{
    if (!b->opt->function || !b->opt->function_regex)
        return 0;
    int rc = regcomp(&b->re, b->opt->function, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[200];
        regerror(rc, &b->re, why, sizeof(why));
        snprintf(err, errlen, "--function: '%s' is not a valid regular expression: %s",
                 b->opt->function, why);
        return -1;
    }
    b->has_re = 1;
    return 0;
}

static int record_filters(struct ns_build *b)
{
    const struct ns_model_options *o = b->opt;
    struct ns_filter_stats *f = &b->m->filter;
    struct ns_pool *pool = &b->m->pool;
    b->m->no_inline = o->no_inline;
    f->function_regex = o->function_regex;
    f->has_from = o->has_from, f->from_s = o->from_s;
    f->has_to = o->has_to, f->to_s = o->to_s;
    f->has_pid = o->has_pid, f->pid = o->pid;
    if ((o->thread && !(f->thread = ns_pool_str(pool, o->thread))) ||
        (o->function && !(f->function = ns_pool_str(pool, o->function))) ||
        (o->event && !(f->event = ns_pool_str(pool, o->event))))
        return -1;
    return 0;
}

static void free_build(struct ns_build *b)
{
    if (b->has_re)
        regfree(&b->re);
    free(b->func_match);
    ns_itab_free(&b->func_tab);
    ns_itab_free(&b->child_tab);
    ns_itab_free(&b->line_tab);
    ns_itab_free(&b->module_tab);
    ns_itab_free(&b->thread_tab);
    ns_itab_free(&b->site_tab);
    ns_itab_free(&b->hist_tab);
    ns_itab_free(&b->db_tab);
    free(b->path);
    free(b->module_mark);
    nsb_free_profile_state(b);
}

int ns_model_build(const struct ns_profile *const *profiles, size_t n,
                   const struct ns_model_options *opt, struct ns_model **out, char *err,
                   size_t errlen)
{
    static const struct ns_model_options defaults;
    struct ns_build b = {.opt = opt ? opt : &defaults};
    b.m = calloc(1, sizeof(*b.m));
    if (!b.m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (record_filters(&b) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (compile_function_filter(&b, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (ingest_profile(&b, profiles[i]) < 0) {
            snprintf(err, errlen, "out of memory while analysing %s",
                     profiles[i]->path ? profiles[i]->path : "the profile");
            goto fail;
        }
    }
    if (finish(&b) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    free_build(&b);
    *out = b.m;
    return 0;
fail:
    free_build(&b);
    ns_model_free(b.m);
    return -1;
}

void ns_model_free(struct ns_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nprocesses; i++) {
        free(m->processes[i].argv);
        free(m->processes[i].settings);
        free(m->processes[i].counters);
        free(m->processes[i].notes);
    }
    free(m->processes);
    free(m->funcs);
    free(m->nodes);
    free(m->events);
    free(m->threads);
    free(m->thread_events);
    free(m->modules);
    free(m->lines);
    free(m->samples);
    nsb_free_extras(m);
    free(m->filter.event_names);
    free(m->filter.pids);
    ns_pool_free(&m->pool);
    free(m);
}
