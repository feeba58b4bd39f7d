/*
 * The model's format 1.1 parts: named [nsprof] frames, aggregate and snapshot events, call
 * sites that skip allocator and runtime frames, resources per sample, histograms summed per
 * (event, site, resource), series sorted and cut to --from/--to.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "nsp_format.h"
#include "rank_sites.h"

#define PATH(...) ((const char *const[]){__VA_ARGS__, NULL})
#define MS        1000000

static struct ns_profile *prof;
static struct ns_model *model;
static struct ns_resolver resolver;

static void build(const struct ns_model_options *extra)
{
    resolver = ip_resolver();
    struct ns_model_options o = extra ? *extra : (struct ns_model_options){0};
    o.resolver = &resolver;
    model = build1(prof, &o);
}

static void setup(void)
{
    prof = ip_profile("ip.nsp", 300, "full");
}

static void teardown(void)
{
    ns_model_free(model);
    tp_free(prof);
    model = NULL;
}

TestSuite(sites, .init = setup, .fini = teardown);

static uint32_t event(const char *name)
{
    uint32_t e = ns_model_event_index(model, name);
    cr_assert_neq(e, NS_NONE, "no event %s", name);
    return e;
}

/* The site of the first kept sample of `ev` whose leaf is below function `via`. */
static const struct ns_site *site_named(const char *func, uint32_t ev)
{
    for (size_t i = 0; i < model->nsamples; i++) {
        const struct ns_sample *s = &model->samples[i];
        if (model->nodes[s->node].event != ev || s->site == NS_NONE)
            continue;
        const struct ns_site *site = &model->sites[s->site];
        if (strcmp(model->funcs[site->func].name, func) == 0)
            return site;
    }
    cr_assert_fail("no site %s", func);
    return NULL;
}

static void site_is(const char *func, uint32_t ev, const char *file, uint32_t line,
                    const char *callee)
{
    const struct ns_site *s = site_named(func, ev);
    cr_assert_str_eq(s->file, file, "site %s", func);
    cr_assert_eq(s->line, line, "site %s", func);
    cr_assert_neq(s->callee, NS_NONE, "site %s", func);
    cr_assert_str_eq(model->funcs[s->callee].name, callee, "site %s", func);
}

Test(sites, named_frames_are_functions_of_module_nsprof)
{
    build(NULL);
    uint32_t f = find_func(model, "malloc");
    cr_assert_neq(f, NS_NONE);
    cr_assert(model->funcs[f].named);
    cr_assert_str_eq(model->funcs[f].module, "[nsprof]");
    uint32_t leaf = find_path(model, event("alloc_bytes"), PATH("app", "main", "load", "malloc"));
    cr_assert_neq(leaf, NS_NONE, "main;load;malloc reads like any other stack");
    cr_assert_eq(model->nodes[leaf].self_weight, 8000);
    cr_assert_not(model->funcs[find_func(model, "load")].named);
}

Test(sites, named_frame_with_a_bad_string_id_or_no_path)
{
    struct ns_profile *p = tp_new("n.nsp", 1, "/bin/n");
    uint32_t ns = tp_mapping(p, "", NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    uint32_t name = tp_string(p, "write");
    tp_event_flags(p, 1, "io_calls", "count", 1, NSP_EVENT_AGGREGATE);
    uint32_t good = tp_stack(p, 0, 1, (uint64_t[]){ns, name});
    uint32_t bad = tp_stack(p, 0, 1, (uint64_t[]){ns, 9999});
    tp_sample(p, 1, 0, 1, good, 2);
    tp_sample(p, 1, 0, 1, bad, 3);
    struct ns_model *m = build1(p, NULL);
    uint32_t w = find_func(m, "write");
    cr_assert_neq(w, NS_NONE);
    cr_assert_str_eq(m->funcs[w].module, "[nsprof]", "a named mapping without a path");
    cr_assert_eq(m->events[0].weight, 5, "the bad frame is still counted");
    ns_model_free(m);
    tp_free(p);
}

Test(sites, aggregate_and_snapshot_flags_reach_the_model)
{
    build(NULL);
    cr_assert(ns_event_is_aggregate(&model->events[event("alloc_bytes")]));
    cr_assert_eq(model->events[event("leak_bytes")].flags,
                 NSP_EVENT_AGGREGATE | NSP_EVENT_SNAPSHOT);
    cr_assert_eq(model->events[event("io_time")].flags, NSP_EVENT_AGGREGATE);
    cr_assert_not(model->processes[0].has_sampled_event, "event=none samples nothing");
}

Test(sites, allocation_sites_skip_allocator_and_runtime_frames)
{
    build(NULL);
    uint32_t ev = event("alloc_bytes");
    site_is("load", ev, "/src/load.c", 22, "malloc");
    /* malloc <- strdup (libc) <- parse: the site is parse's call of strdup. */
    site_is("parse", ev, "/src/parse.c", 31, "malloc");
    /* malloc <- operator new (libstdc++) <- std::vector::_M_realloc_insert [inlined] <- fill */
    site_is("fill", ev, "/src/fill.cc", 12, "malloc");
    /* cond: pthread_cond_wait <- std::condition_variable::wait (libstdc++) <- wait_job */
    site_is("wait_job", event("cond_wait"), "/src/job.cc", 9, "pthread_cond_wait");
}

Test(sites, a_stack_of_runtime_frames_only_falls_back_to_the_first_caller)
{
    struct ns_profile *p = tp_new("r.nsp", 1, "/bin/r");
    uint32_t libc = tp_mapping(p, "/lib/x86_64-linux-gnu/libc.so.6", 0);
    uint32_t ns = tp_mapping(p, "[nsprof]", NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    uint32_t m_ = tp_string(p, "malloc");
    tp_event_flags(p, 1, "alloc_bytes", "bytes", 1, NSP_EVENT_AGGREGATE);
    uint32_t s1 = tp_stack(p, 0, 2, (uint64_t[]){ns, m_, libc, 0x50});
    uint32_t s2 = tp_stack(p, 0, 1, (uint64_t[]){ns, m_});
    tp_sample(p, 1, 0, 1, s1, 10);
    tp_sample(p, 1, 0, 1, s2, 20);
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    cr_assert_eq(m->nsamples, 2);
    int seen = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_site *s = &m->sites[m->samples[i].site];
        if (m->samples[i].weight == 10) {
            cr_assert_str_eq(m->funcs[s->func].name, "strdup");
            cr_assert_str_eq(m->funcs[s->callee].name, "malloc");
        } else {
            cr_assert_str_eq(m->funcs[s->func].name, "malloc", "only the call: its own site");
            cr_assert_eq(s->callee, NS_NONE);
        }
        seen++;
    }
    cr_assert_eq(seen, 2);
    ns_model_free(m);
    tp_free(p);
}

Test(sites, snapshots_of_one_stack_are_never_added)
{
    build(NULL);
    uint32_t leak = event("leak_bytes");
    /* load: 100 B at 5 ms, then 300 B at 9 ms: only the later snapshot counts. */
    cr_assert_eq(model->events[leak].weight, 340);
    cr_assert_eq(model->events[leak].count, 2);
    size_t n = 0;
    for (size_t i = 0; i < model->nsamples; i++)
        if (model->nodes[model->samples[i].node].event == leak) {
            cr_assert_eq(model->samples[i].time_ns, 9 * MS, "an earlier snapshot was kept");
            n++;
        }
    cr_assert_eq(n, 2);
    uint32_t node = find_path(model, leak, PATH("app", "main", "load", "malloc"));
    cr_assert_eq(model->nodes[node].self_weight, 300);
    cr_assert_eq(model->events[event("peak_bytes")].weight, 6600);
}

Test(sites, entries_of_one_snapshot_from_several_threads_add_up)
{
    /* Entries at the same (latest) time are one snapshot, whatever their order. */
    uint32_t load = prof->samples.stack[0];
    tp_sample(prof, 12, 9 * MS, 101, load, 50);
    tp_sample(prof, 12, 2 * MS, 101, load, 7000);
    build(NULL);
    cr_assert_eq(model->events[event("leak_bytes")].weight, 390);
}

Test(sites, resources_are_per_sample_and_keep_their_creation_site)
{
    build(NULL);
    cr_assert_eq(model->nresources, 5);
    const struct ns_resource *lock = &model->resources[2];
    cr_assert_eq(lock->kind, NSP_RES_LOCK);
    cr_assert_str_eq(lock->name, "mutex");
    cr_assert_neq(lock->site, NS_NONE);
    cr_assert_str_eq(model->funcs[model->sites[lock->site].func].name, "init_locks");
    cr_assert_eq(model->sites[lock->site].line, 5);
    cr_assert_eq(model->resources[0].site, NS_NONE, "a resource without a stack");
    uint32_t io = event("io_time");
    for (size_t i = 0; i < model->nsamples; i++) {
        const struct ns_sample *s = &model->samples[i];
        uint32_t ev = model->nodes[s->node].event;
        if (ev == io && s->weight == 20 * MS)
            cr_assert_str_eq(model->resources[s->resource].name, "tcp 10.0.0.5:5432");
        if (ev == event("alloc_bytes"))
            cr_assert_eq(s->resource, NS_NONE);
    }
}

Test(sites, resources_of_several_processes_stay_apart)
{
    struct ns_profile *other = ip_profile("ip2.nsp", 301, "full");
    resolver = ip_resolver();
    struct ns_model_options o = {.resolver = &resolver};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    cr_assert_eq(model->nresources, 10);
    for (size_t i = 0; i < model->nsamples; i++) {
        const struct ns_sample *s = &model->samples[i];
        if (s->resource == NS_NONE)
            continue;
        uint32_t proc = ns_model_node_process(model, s->node);
        cr_assert_eq(model->resources[s->resource].process, proc);
    }
    tp_free(other);
}

Test(sites, histograms_add_up_per_site_and_resource)
{
    build(NULL);
    struct ns_hist h;
    const struct ns_site *flush = site_named("flush", event("io_time"));
    ns_rank_histogram(model, event("io_bytes"), 0, (uint32_t)(flush - model->sites), &h);
    cr_assert_eq(h.total, 10, "two records of flush's histogram");
    cr_assert_eq(h.buckets[6], 10);
    cr_assert_eq(h.nbuckets, 7);
    ns_rank_histogram(model, event("io_bytes"), 1, 1, &h); /* by resource: the socket */
    cr_assert_eq(h.total, 10);
    ns_rank_histogram(model, event("io_bytes"), 1, 0, &h); /* the log file: 2 x 4 KiB */
    cr_assert_eq(h.buckets[13], 2);
}

Test(sites, histograms_follow_the_thread_filter)
{
    struct ns_model_options o = {.thread = "worker"};
    build(&o);
    cr_assert_eq(model->nhistograms, 0, "every histogram is of thread 100 (app)");
}

Test(sites, series_are_sorted_and_cut_to_the_time_range)
{
    int64_t late[] = {7 * MS, 3000, 5 * MS, 1000};
    tp_series(prof, "heap_live_bytes", "bytes", 2, late);
    struct ns_model_options o = {.has_from = 1, .from_s = 0.001, .has_to = 1, .to_s = 0.006};
    build(&o);
    cr_assert_eq(model->nseries, 2, "a model series per profile series");
    size_t n = 0;
    int64_t last = -1;
    for (size_t s = 0; s < model->nseries; s++)
        for (size_t i = 0; i < model->series[s].n; i++, n++) {
            const struct ns_point *pt = &model->series[s].points[i];
            cr_assert(pt->time_ns >= 1 * MS && pt->time_ns < 6 * MS);
            if (i)
                cr_assert_geq(pt->time_ns, last);
            last = pt->time_ns;
        }
    cr_assert_eq(n, 3, "1 ms, 3 ms and 5 ms");
}

Test(sites, event_filter_of_another_family_drops_the_heap_series)
{
    struct ns_model_options o = {.event = "io_time"};
    build(&o);
    cr_assert_eq(model->nseries, 0);
    cr_assert_eq(model->nevents, 1);
}
