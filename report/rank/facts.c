/*
 * facts — sampling facts derived from the model (see facts.h).
 */
#include "facts.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

void ns_facts_stack_quality(const struct ns_event *ev, struct ns_stack_quality *q)
{
    memset(q, 0, sizeof(*q));
    q->root = ev->end_count[NSP_END_ROOT];
    q->truncated = sat_add(ev->end_count[NSP_END_DEPTH], ev->end_count[NSP_END_STACK_END]);
    for (unsigned e = NSP_END_NO_MODULE; e <= NSP_END_BAD_FRAME; e++)
        q->unknown = sat_add(q->unknown, ev->end_count[e]);
    q->no_stack = ev->end_count[NSP_END__COUNT];
    q->total = ev->count;
}

void ns_facts_stack_quality_by_weight(const struct ns_event *ev, struct ns_stack_quality *q)
{
    memset(q, 0, sizeof(*q));
    q->root = ev->end_weight[NSP_END_ROOT];
    q->truncated = sat_add(ev->end_weight[NSP_END_DEPTH], ev->end_weight[NSP_END_STACK_END]);
    for (unsigned e = NSP_END_NO_MODULE; e <= NSP_END_BAD_FRAME; e++)
        q->unknown = sat_add(q->unknown, ev->end_weight[e]);
    q->no_stack = ev->end_weight[NSP_END__COUNT];
    q->total = ev->weight;
}

const char *ns_stack_end_name(unsigned bucket)
{
    static const char *const names[NS_END_BUCKETS] = {
        "root", "depth", "stack_end", "no_module", "no_cfi", "bad_cfi", "bad_frame", "other",
    };
    return bucket < NS_END_BUCKETS ? names[bucket] : "other";
}

struct ns_rate ns_facts_rate_of(uint64_t samples, uint64_t cpu_ns)
{
    struct ns_rate r = {.samples = samples, .cpu_ns = cpu_ns};
    r.valid = cpu_ns > 0;
    r.hz = r.valid ? (double)samples / ((double)cpu_ns / 1e9) : 0.0;
    return r;
}

int ns_facts_thread_rate_shown(uint64_t samples, uint64_t cpu_ns)
{
    return cpu_ns > 0 && (samples > 0 || cpu_ns >= 20000000ull);
}

struct ns_rate ns_facts_rate(const struct ns_model *m, uint32_t process)
{
    uint64_t samples = 0, cpu_ns = 0;
    for (size_t i = 0; i < m->nthreads; i++) {
        const struct ns_thread *t = &m->threads[i];
        if (!t->matched || !t->has_stats || !m->processes[t->process].has_cpu_event)
            continue;
        if (process != NS_NONE && t->process != process)
            continue;
        samples = sat_add(samples, t->stat_samples);
        cpu_ns = sat_add(cpu_ns, t->cpu_ns);
    }
    return ns_facts_rate_of(samples, cpu_ns);
}

int ns_facts_setting_groups(const struct ns_model *m, const char *key,
                            struct ns_setting_group **out, size_t *n)
{
    struct ns_setting_group *g = NULL;
    size_t ng = 0;
    for (size_t p = 0; p < m->nprocesses; p++) {
        const char *v = ns_model_setting(&m->processes[p], key);
        size_t j = 0;
        /* Values are interned: equal strings are equal pointers. */
        while (j < ng && g[j].value != v)
            j++;
        if (j == ng) {
            struct ns_setting_group *ngp = realloc(g, (ng + 1) * sizeof(*g));
            if (!ngp)
                goto fail;
            g = ngp;
            g[ng++] = (struct ns_setting_group){.value = v};
        }
        uint32_t *np = realloc(g[j].processes, (g[j].n + 1) * sizeof(*np));
        if (!np)
            goto fail;
        g[j].processes = np;
        g[j].processes[g[j].n++] = (uint32_t)p;
    }
    *out = g;
    *n = ng;
    return 0;
fail:
    ns_facts_setting_groups_free(g, ng);
    return -1;
}

void ns_facts_setting_groups_free(struct ns_setting_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].processes);
    free(g);
}

const char *ns_mechanism_description(const char *value)
{
    if (!value)
        return NULL;
    if (strcmp(value, "perf") == 0)
        return "perf_event rings";
    if (strcmp(value, "signal") == 0)
        return "signal timers";
    return NULL;
}

static int counter_name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ns_counter *)a)->name, ((const struct ns_counter *)b)->name);
}

int ns_facts_drops(const struct ns_model *m, struct ns_counter **out, size_t *n, uint64_t *total,
                   uint64_t *taken)
{
    struct ns_counter *v = NULL;
    size_t nv = 0;
    *total = *taken = 0;
    for (size_t p = 0; p < m->nprocesses; p++) {
        const struct ns_process *proc = &m->processes[p];
        *taken = sat_add(*taken, ns_model_counter(proc, "samples"));
        for (size_t c = 0; c < proc->ncounters; c++) {
            const struct ns_counter *ctr = &proc->counters[c];
            if (strncmp(ctr->name, "dropped_", 8) != 0 || ctr->value == 0)
                continue;
            size_t j = 0;
            while (j < nv && v[j].name != ctr->name)
                j++;
            if (j == nv) {
                struct ns_counter *nvp = realloc(v, (nv + 1) * sizeof(*v));
                if (!nvp) {
                    free(v);
                    return -1;
                }
                v = nvp;
                v[nv++] = (struct ns_counter){.name = ctr->name};
            }
            v[j].value = sat_add(v[j].value, ctr->value);
            *total = sat_add(*total, ctr->value);
        }
    }
    if (nv)
        qsort(v, nv, sizeof(*v), counter_name_cmp);
    *out = v;
    *n = nv;
    return 0;
}

int ns_facts_kernel_excluded(const struct ns_model *m, int *some)
{
    int all = 1, any_recorded = 0;
    *some = 0;
    for (size_t p = 0; p < m->nprocesses; p++) {
        const char *v = ns_model_setting(&m->processes[p], "exclude_kernel");
        if (!v)
            continue;
        any_recorded = 1;
        if (strcmp(v, "1") == 0)
            *some = 1;
        else
            all = 0;
    }
    return any_recorded && all;
}

double ns_facts_unsampled_kernel_share(const struct ns_model *m)
{
    double expected = 0, taken = 0;
    for (size_t p = 0; p < m->nprocesses; p++) {
        const char *ex = ns_model_setting(&m->processes[p], "exclude_kernel");
        const char *freq = ns_model_setting(&m->processes[p], "freq");
        struct ns_rate r = ns_facts_rate(m, (uint32_t)p);
        if (!ex || strcmp(ex, "1") != 0 || !freq || !r.valid || atof(freq) <= 0)
            continue;
        expected += (double)r.cpu_ns * 1e-9 * atof(freq);
        taken += (double)r.samples;
    }
    if (expected <= 0)
        return -1;
    return taken >= expected ? 0 : (1 - taken / expected) * 100;
}

int ns_facts_complete(const struct ns_process *p)
{
    return p->has_end && !p->truncated;
}

const char *ns_end_reason_name(uint32_t reason)
{
    switch (reason) {
    case NSP_EXIT_NORMAL:
        return "exit";
    case NSP_EXIT_EXEC:
        return "exec";
    case NSP_EXIT_SIGNAL:
        return "signal";
    case NSP_EXIT_STOPPED:
        return "stopped";
    case NSP_EXIT_GONE:
        return "gone";
    default:
        return "unknown";
    }
}

static void describe_end(const struct ns_process *p, char *buf, size_t len)
{
    const char *abbrev = NULL;
    switch (p->end_reason) {
    case NSP_EXIT_NORMAL:
        snprintf(buf, len, "the process exited with status %llu",
                 (unsigned long long)p->end_status);
        return;
    case NSP_EXIT_EXEC:
        snprintf(buf, len,
                 "the process replaced its program (execve); the new program was "
                 "profiled into its own file");
        return;
    case NSP_EXIT_SIGNAL:
        if (p->end_status > 0 && p->end_status < 65)
            abbrev = sigabbrev_np((int)p->end_status);
        if (abbrev)
            snprintf(buf, len, "the process was killed by signal %llu (SIG%s)",
                     (unsigned long long)p->end_status, abbrev);
        else
            snprintf(buf, len, "the process was killed by signal %llu",
                     (unsigned long long)p->end_status);
        return;
    case NSP_EXIT_STOPPED:
        snprintf(buf, len, "profiling was stopped while the process kept running");
        return;
    case NSP_EXIT_GONE:
        snprintf(buf, len,
                 "the process ended, how is not known (killed by SIGKILL, or it ended where "
                 "nsprof's library could not see its exit status); nothing sampled was lost");
        return;
    default:
        snprintf(buf, len, "the profile was closed for an unknown reason (%u)", p->end_reason);
        return;
    }
}

void ns_facts_end_sentence(const struct ns_process *p, char *buf, size_t len)
{
    char what[256];
    if (p->has_end)
        describe_end(p, what, sizeof(what));
    else
        snprintf(what, sizeof(what),
                 "the process did not finish normally (killed or crashed): data after the last "
                 "flush (<= 1 s) is missing");
    if (p->truncated)
        snprintf(buf, len,
                 "%s; the file is cut short at offset %llu: its incomplete last chunk "
                 "was ignored",
                 what, (unsigned long long)p->truncated_at);
    else
        snprintf(buf, len, "%s", what);
}

static int problem_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct ns_model *m = ctx;
    const struct ns_module *a = &m->modules[*(const uint32_t *)pa];
    const struct ns_module *b = &m->modules[*(const uint32_t *)pb];
    if (a->unnamed_samples != b->unnamed_samples)
        return a->unnamed_samples > b->unnamed_samples ? -1 : 1;
    if (a->leaf_samples != b->leaf_samples)
        return a->leaf_samples > b->leaf_samples ? -1 : 1;
    return strcmp(a->path, b->path);
}

int ns_facts_symbol_problems(const struct ns_model *m, uint32_t **out, size_t *n)
{
    uint32_t *v = malloc((m->nmodules ? m->nmodules : 1) * sizeof(*v));
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < m->nmodules; i++)
        if (!m->modules[i].own &&
            ((m->modules[i].status_known && m->modules[i].status != NS_SYM_OK) ||
             m->modules[i].unnamed_samples))
            v[k++] = (uint32_t)i;
    qsort_r(v, k, sizeof(*v), problem_cmp, (void *)m);
    *out = v;
    *n = k;
    return 0;
}

const char *ns_sym_status_name(enum ns_sym_status s)
{
    switch (s) {
    case NS_SYM_OK:
        return "ok";
    case NS_SYM_NO_DEBUG_INFO:
        return "no_debug_info";
    case NS_SYM_NO_SYMBOLS:
        return "no_symbols";
    case NS_SYM_MISSING:
        return "missing";
    case NS_SYM_BUILD_ID_MISMATCH:
        return "build_id_mismatch";
    case NS_SYM_NOT_ELF:
        return "not_elf";
    }
    return "unknown";
}

const char *ns_sym_status_sentence(enum ns_sym_status s)
{
    switch (s) {
    case NS_SYM_OK:
        return "symbols and source lines available";
    case NS_SYM_NO_DEBUG_INFO:
        return "function names only, no source lines";
    case NS_SYM_NO_SYMBOLS:
        return "stripped and no debug file found: frames are shown as module+0xADDR";
    case NS_SYM_MISSING:
        return "file not found, nor a debug file with its build-id: frames are shown as "
               "module+0xADDR";
    case NS_SYM_BUILD_ID_MISMATCH:
        return "the file on disk is a different build than the one profiled, so it is not "
               "used: frames are shown as module+0xADDR";
    case NS_SYM_NOT_ELF:
        return "not a readable ELF file: frames are shown as module+0xADDR";
    }
    return "unknown symbol status";
}

const char *ns_facts_symbol_fix(const struct ns_module *mod, char *buf, size_t len)
{
    char where[160] = "its .debug file";
    if (mod->build_id[0] && mod->build_id[1] && mod->build_id[2])
        snprintf(where, sizeof(where), ".build-id/%.2s/%.120s.debug", mod->build_id,
                 mod->build_id + 2);
    switch (mod->status) {
    case NS_SYM_NO_DEBUG_INFO:
    case NS_SYM_NO_SYMBOLS:
        if (mod->package && mod->package[0])
            snprintf(buf, len,
                     "install %s-dbgsym (the debug symbols of Debian's %s, from the "
                     "debian-debug archive), or pass --debug-dir DIR holding %s",
                     mod->package, mod->package, where);
        else
            snprintf(buf, len,
                     "install its debug symbols (Debian: the -dbgsym package of the package "
                     "that ships it) or pass --debug-dir DIR holding %s",
                     where);
        return buf;
    case NS_SYM_MISSING:
    case NS_SYM_BUILD_ID_MISMATCH:
        snprintf(buf, len,
                 "report on the machine that ran the program (same build), or pass --debug-dir "
                 "DIR holding %s of the profiled build",
                 where);
        return buf;
    default:
        return NULL;
    }
}

uint64_t ns_facts_duration_ns(const struct ns_process *p)
{
    /* END's time is relative to start_mono_ns, like every time in the file. */
    uint64_t end = p->has_end ? p->end_mono_ns : 0;
    uint64_t last = p->last_sample_ns > 0 ? (uint64_t)p->last_sample_ns : 0;
    return end > last ? end : last;
}
