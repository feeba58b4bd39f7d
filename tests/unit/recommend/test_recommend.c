/*
 * Unit tests of the recommendation rules on models built in memory: each rule fires on a
 * profile made to cross its threshold, at the right function and line, and stays silent
 * just below it; the engine sorts, frees and renders findings.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "nsp_format.h"
#include "recommend.h"

#define MS 1000000ull

enum {
    EV_CPU = 1,
    EV_BYTES = 10,
    EV_COUNT,
    EV_LEAK,
    EV_PEAK,
    EV_IO_TIME = 20,
    EV_IO_BYTES,
    EV_IO_CALLS,
    EV_LOCK = 30,
    EV_COND,
    EV_LOCK_CALLS,
    EV_LOCK_CONTENDED
};

static const struct fake_sym syms[] = {
    {"/usr/bin/app", 0x100, 1, {{"main", "/src/main.c", 10, 0, NULL}}},
    {"/usr/bin/app", 0x200, 1, {{"hot", "/src/hot.c", 20, 0, NULL}}},
    {"/usr/bin/app", 0x210, 1, {{"hot", "/src/hot.c", 21, 0, NULL}}},
    {"/usr/bin/app", 0x300, 1, {{"cool", "/src/cool.c", 30, 0, NULL}}},
    {"/usr/bin/app", 0x400, 1, {{"churn", "/src/churn.c", 40, 0, NULL}}},
    {"/usr/bin/app", 0x500, 1, {{"waiter", "/src/wait.c", 50, 0, NULL}}},
    {"/usr/bin/app", 0x600, 1, {{"evil\x1b[31m", "/src/evil\xff.c", 60, 0, NULL}}},
    {"/lib/x86_64-linux-gnu/libc.so.6", 0x50, 1, {{"_int_malloc", "malloc.c", 5, 0, NULL}}},
};
static struct fake_resolver fake;
static uint32_t app, libc, named;

static struct ns_profile *new_profile(const char *alloc)
{
    struct ns_profile *p = tp_new("t.nsp", 42, "/usr/bin/app");
    app = tp_mapping(p, "/usr/bin/app", NSP_MAP_MAIN);
    libc = tp_mapping(p, "/lib/x86_64-linux-gnu/libc.so.6", 0);
    named = tp_mapping(p, "[nsprof]", NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    tp_thread(p, 7, "app");
    if (alloc)
        tp_setting(p, "alloc", alloc);
    return p;
}

/* A stack main > fn@addr, leaf first. */
static uint32_t app_stack(struct ns_profile *p, uint64_t addr)
{
    return tp_stack(p, 0, 2, (uint64_t[]){app, addr, app, 0x100});
}

/* main > fn@addr > the named function `callee` (an interposed call). */
static uint32_t call_stack(struct ns_profile *p, uint64_t addr, const char *callee)
{
    return tp_stack(p, 0, 3, (uint64_t[]){named, tp_string(p, callee), app, addr, app, 0x100});
}

static struct ns_model *build(struct ns_profile *p)
{
    memset(&fake, 0, sizeof(fake));
    fake.syms = syms;
    fake.nsyms = sizeof(syms) / sizeof(syms[0]);
    struct ns_resolver r = fake_resolver(&fake);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    tp_free(p);
    return m;
}

static struct ns_findings run(struct ns_model *m)
{
    struct ns_findings f;
    cr_assert_eq(ns_recommend(m, &f), 0);
    return f;
}

static const struct ns_finding *only(const struct ns_model *m, const struct ns_findings *f,
                                     const char *rule, const char *func)
{
    cr_assert_eq(f->n, 1, "%zu findings", f->n);
    cr_assert_str_eq(f->v[0].rule, rule);
    cr_assert_str_eq(m->funcs[f->v[0].func].name, func);
    return &f->v[0];
}

/* ---- hot_function ---- */

static struct ns_model *cpu_model(size_t hot20, size_t hot21, size_t cool, size_t ncool_funcs)
{
    struct ns_profile *p = new_profile(NULL);
    tp_event(p, EV_CPU, "cpu", "ns", MS);
    tp_samples(p, hot20, EV_CPU, 7, app_stack(p, 0x200), MS);
    tp_samples(p, hot21, EV_CPU, 7, app_stack(p, 0x210), MS);
    /* Spread evenly over several frames of `cool` at different lines of other functions. */
    static const uint64_t others[] = {0x300, 0x400, 0x500, 0x600};
    for (size_t i = 0; i < ncool_funcs; i++)
        tp_samples(p, cool, EV_CPU, 7, app_stack(p, others[i]), MS);
    tp_end(p, NSP_EXIT_NORMAL, 0, 1000 * MS);
    return build(p);
}

Test(hot_function, fires_at_the_function_and_its_hottest_line)
{
    struct ns_model *m = cpu_model(40, 20, 10, 4); /* hot: 60 of 100 */
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "hot_function", "hot");
    cr_assert_eq(x->severity, NS_SEV_HIGH);
    cr_assert_eq(x->line, 20);
    cr_assert_str_eq(x->file, "/src/hot.c");
    cr_assert_float_eq(x->share, 0.6, 1e-9);
    cr_assert_neq(x->node, NS_NONE);
    cr_assert_eq(m->nodes[x->node].func, x->func);
    cr_assert(strstr(x->evidence, "60.0%") && strstr(x->evidence, "hot.c:20 (40.0%)"), "%s",
              x->evidence);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(hot_function, severity_grows_with_the_share)
{
    struct ns_model *m = cpu_model(25, 0, 25, 3); /* 25% each: four low findings */
    struct ns_findings f = run(m);
    cr_assert_eq(f.n, 4);
    for (size_t i = 0; i < f.n; i++)
        cr_assert_eq(f.v[i].severity, NS_SEV_LOW);
    ns_findings_free(&f);
    ns_model_free(m);
    m = cpu_model(40, 0, 20, 3); /* 40%: medium */
    f = run(m);
    cr_assert_eq(f.v[0].severity, NS_SEV_MEDIUM);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(hot_function, silent_below_the_threshold_or_with_few_samples)
{
    struct ns_model *m = cpu_model(19, 0, 27, 3); /* 19% and 27%... */
    struct ns_findings f = run(m);
    for (size_t i = 0; i < f.n; i++)
        cr_assert_str_neq(m->funcs[f.v[i].func].name, "hot");
    ns_findings_free(&f);
    ns_model_free(m);
    m = cpu_model(49, 0, 0, 0); /* 100% but 49 samples: too few to judge */
    f = run(m);
    cr_assert_eq(f.n, 0);
    ns_findings_free(&f);
    ns_model_free(m);
}

/* ---- alloc_churn, CPU form ---- */

Test(alloc_churn, cpu_form_names_the_allocators_caller)
{
    struct ns_profile *p = new_profile(NULL);
    tp_event(p, EV_CPU, "cpu", "ns", MS);
    uint32_t in_malloc = tp_stack(p, 0, 3, (uint64_t[]){libc, 0x50, app, 0x400, app, 0x100});
    tp_samples(p, 15, EV_CPU, 7, in_malloc, MS);
    for (uint64_t a = 0x200; a <= 0x600; a += 0x100) /* 17 each: below hot_function's 20% */
        tp_samples(p, 17, EV_CPU, 7, app_stack(p, a), MS);
    struct ns_model *m = build(p);
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "alloc_churn", "churn");
    cr_assert_float_eq(x->share, 0.15, 1e-9);
    cr_assert_eq(x->severity, NS_SEV_LOW);
    ns_findings_free(&f);
    ns_model_free(m);
}

/* ---- allocation sites: alloc_churn and leak ---- */

static struct ns_model *alloc_model(const char *mode, uint64_t count, uint64_t bytes, uint64_t peak,
                                    uint64_t leak, int exited)
{
    const uint32_t agg = NSP_EVENT_AGGREGATE, snap = agg | NSP_EVENT_SNAPSHOT;
    struct ns_profile *p = new_profile(mode);
    tp_event_flags(p, EV_BYTES, "alloc_bytes", "bytes", 1, agg);
    tp_event_flags(p, EV_COUNT, "alloc_count", "count", 1, agg);
    tp_event_flags(p, EV_LEAK, "leak_bytes", "bytes", 1, snap);
    tp_event_flags(p, EV_PEAK, "peak_bytes", "bytes", 1, snap);
    uint32_t s = call_stack(p, 0x400, "malloc");
    tp_sample(p, EV_COUNT, MS, 7, s, count);
    tp_sample(p, EV_BYTES, MS, 7, s, bytes);
    tp_sample(p, EV_PEAK, 2 * MS, 7, s, peak);
    if (leak)
        tp_sample(p, EV_LEAK, 3 * MS, 7, s, leak);
    if (exited)
        tp_end(p, NSP_EXIT_NORMAL, 0, 10 * MS);
    return build(p);
}

Test(alloc_churn, site_form_fires_on_millions_of_short_lived_blocks)
{
    struct ns_model *m = alloc_model("full", 2000000, 2000000 * 48, 48, 0, 1);
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "alloc_churn", "churn");
    cr_assert_eq(x->line, 40);
    cr_assert_str_eq(x->file, "/src/churn.c");
    cr_assert_str_eq(m->events[x->event].name, "alloc_count");
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(alloc_churn, site_form_silent_when_few_large_long_lived_or_estimated)
{
    const struct {
        const char *mode;
        uint64_t count, bytes, peak;
    } cases[] = {
        {"full", 999999, 999999 * 48, 48},          /* below a million */
        {"full", 2000000, 2000000ull * 4096, 4096}, /* large blocks */
        {"full", 2000000, 2000000 * 48, 48000000},  /* half live at the peak */
        {"sample", 2000000, 2000000 * 48, 48},      /* estimates */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ns_model *m =
            alloc_model(cases[i].mode, cases[i].count, cases[i].bytes, cases[i].peak, 0, 1);
        struct ns_findings f = run(m);
        cr_assert_eq(f.n, 0, "case %zu", i);
        ns_findings_free(&f);
        ns_model_free(m);
    }
}

Test(leak, fires_at_the_allocating_line_after_a_normal_exit)
{
    struct ns_model *m = alloc_model("full", 100, 4 << 20, 4 << 20, 2 << 20, 1);
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "leak", "churn");
    cr_assert_eq(x->severity, NS_SEV_MEDIUM);
    cr_assert_eq(x->line, 40);
    cr_assert(strstr(x->evidence, "2.0 MiB"), "%s", x->evidence);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(leak, silent_when_small_estimated_or_the_process_did_not_exit)
{
    struct ns_model *cases[] = {
        alloc_model("full", 100, 4 << 20, 4 << 20, 60 << 10, 1),  /* below 64 KiB */
        alloc_model("sample", 100, 4 << 20, 4 << 20, 2 << 20, 1), /* estimates */
        alloc_model("full", 100, 4 << 20, 4 << 20, 2 << 20, 0),   /* no END(exit) */
    };
    for (size_t i = 0; i < 3; i++) {
        struct ns_findings f = run(cases[i]);
        cr_assert_eq(f.n, 0, "case %zu", i);
        ns_findings_free(&f);
        ns_model_free(cases[i]);
    }
}

/* ---- I/O and locks ---- */

static struct ns_model *io_model(uint64_t calls, uint64_t bytes, uint64_t zero_calls,
                                 uint64_t io_ns, uint64_t lock_ns, uint64_t cond_ns)
{
    const uint32_t agg = NSP_EVENT_AGGREGATE;
    struct ns_profile *p = new_profile(NULL);
    tp_event_flags(p, EV_IO_TIME, "io_time", "ns", 1, agg);
    tp_event_flags(p, EV_IO_BYTES, "io_bytes", "bytes", 1, agg);
    tp_event_flags(p, EV_IO_CALLS, "io_calls", "count", 1, agg);
    tp_event_flags(p, EV_LOCK, "lock_wait", "ns", 1, agg);
    tp_event_flags(p, EV_COND, "cond_wait", "ns", 1, agg);
    uint32_t w = call_stack(p, 0x400, "write");
    tp_site_sample(p, EV_IO_CALLS, MS, 7, w, calls + zero_calls, 0);
    tp_site_sample(p, EV_IO_BYTES, MS, 7, w, bytes, 0);
    tp_site_sample(p, EV_IO_TIME, MS, 7, w, io_ns, 0);
    uint64_t hist[6] = {zero_calls, 0, 0, 0, 0, calls}; /* data calls of 16..31 bytes */
    tp_histogram(p, EV_IO_BYTES, 7, w, 0, 6, hist);
    if (lock_ns)
        tp_site_sample(p, EV_LOCK, MS, 7, call_stack(p, 0x500, "pthread_mutex_lock"), lock_ns, 0);
    if (cond_ns)
        tp_site_sample(p, EV_COND, MS, 7, call_stack(p, 0x300, "pthread_cond_wait"), cond_ns, 0);
    tp_end(p, NSP_EXIT_NORMAL, 0, 1000 * MS);
    return build(p);
}

Test(small_io, fires_on_many_small_kernel_calls)
{
    struct ns_model *m = io_model(20000, 20000 * 16, 0, MS, 0, 0);
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "small_io", "churn");
    cr_assert_eq(x->line, 40);
    cr_assert(strstr(x->evidence, "20,000 system calls"), "%s", x->evidence);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(small_io, calls_moving_no_data_do_not_count)
{
    /* 5,000 writes of 64 bytes plus 50,000 calls moving nothing (opens, closes). */
    struct ns_model *m = io_model(5000, 5000 * 64, 50000, MS, 0, 0);
    struct ns_findings f = run(m);
    cr_assert_eq(f.n, 0);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(io_bound, fires_when_io_is_most_of_the_run)
{
    struct ns_model *m = io_model(10, 10 << 20, 0, 800 * MS, 0, 0); /* 80% of 1 s */
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "io_bound", "churn");
    cr_assert_eq(x->severity, NS_SEV_HIGH);
    cr_assert_float_eq(x->share, 0.8, 1e-9);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(lock_contention, fires_on_lock_waits_and_never_on_cond_waits)
{
    struct ns_model *m = io_model(10, 10 << 20, 0, MS, 400 * MS, 900 * MS);
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "lock_contention", "waiter");
    cr_assert_eq(x->severity, NS_SEV_LOW);
    cr_assert_eq(x->line, 50);
    ns_findings_free(&f);
    ns_model_free(m);
    m = io_model(10, 10 << 20, 0, MS, 0, 900 * MS); /* idle threads only */
    f = run(m);
    cr_assert_eq(f.n, 0);
    ns_findings_free(&f);
    ns_model_free(m);
}

/* Lock calls at one site in a 1 s run: `calls`, `contended` of them found the lock taken,
 * `wait_ns` blocked in all. */
static struct ns_model *lock_rate_model(uint64_t calls, uint64_t contended, uint64_t wait_ns)
{
    const uint32_t agg = NSP_EVENT_AGGREGATE;
    struct ns_profile *p = new_profile(NULL);
    tp_event_flags(p, EV_LOCK, "lock_wait", "ns", 1, agg);
    tp_event_flags(p, EV_LOCK_CALLS, "lock_calls", "count", 1, agg);
    tp_event_flags(p, EV_LOCK_CONTENDED, "lock_contended", "count", 1, agg);
    uint32_t s = call_stack(p, 0x500, "pthread_mutex_lock");
    tp_site_sample(p, EV_LOCK_CALLS, MS, 7, s, calls, 0);
    tp_site_sample(p, EV_LOCK_CONTENDED, MS, 7, s, contended, 0);
    if (wait_ns)
        tp_site_sample(p, EV_LOCK, MS, 7, s, wait_ns, 0);
    tp_end(p, NSP_EXIT_NORMAL, 0, 1000 * MS);
    return build(p);
}

/* Contention as a rate: ten million calls a second, one in twenty colliding, and only 2% of
 * the run blocked: the time rule alone would stay silent. */
Test(lock_contention, fires_on_a_high_contended_rate_with_little_waiting)
{
    struct ns_model *m = lock_rate_model(10000000, 500000, 20 * MS);
    struct ns_findings f = run(m);
    const struct ns_finding *x = only(m, &f, "lock_contention", "waiter");
    cr_assert_eq(x->severity, NS_SEV_MEDIUM); /* 500,000 a second */
    cr_assert_eq(x->line, 50);
    cr_assert(strstr(x->evidence, "500,000 of 10,000,000 lock calls here (5.0%)"), "%s",
              x->evidence);
    cr_assert(strstr(x->evidence, "500,000 a second"), "%s", x->evidence);
    cr_assert_str_eq(m->events[x->event].name, "lock_contended");
    cr_assert_float_eq(x->share, 0.05, 1e-9);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(lock_contention, silent_on_rare_collisions_or_a_low_rate)
{
    struct ns_model *cases[] = {
        lock_rate_model(100000000, 500000, 0), /* 0.5% of the calls collide */
        lock_rate_model(100000, 5000, 0),      /* 5,000 a second */
        lock_rate_model(1000, 900, 0),         /* 900 in all */
    };
    for (size_t i = 0; i < 3; i++) {
        struct ns_findings f = run(cases[i]);
        cr_assert_eq(f.n, 0, "case %zu: %s", i, f.n ? f.v[0].evidence : "");
        ns_findings_free(&f);
        ns_model_free(cases[i]);
    }
}

/* ---- the engine ---- */

Test(engine, the_interposed_fixture_is_clean)
{
    /* 30 ms of lock waits and 500 ms of cond waits in a 10 ms run, 340 B leaked, ten small
     * writes: nothing reaches a threshold. */
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_profile *p = ip_profile("ip.nsp", 1, "full");
    struct ns_model *m = build1(p, &o);
    tp_free(p);
    struct ns_findings f = run(m);
    cr_assert_eq(f.n, 0);
    ns_findings_free(&f);
    ns_model_free(m);
}

Test(engine, sorted_by_severity_then_share)
{
    struct ns_model *m = io_model(2000000, 2000000 * 16, 0, 350 * MS, 750 * MS, 0);
    struct ns_findings f = run(m);
    cr_assert_eq(f.n, 3);
    cr_assert_str_eq(f.v[0].rule, "small_io");        /* high: two million calls */
    cr_assert_str_eq(f.v[1].rule, "lock_contention"); /* high, 75% */
    cr_assert_str_eq(f.v[2].rule, "io_bound");        /* low, 35% */
    ns_findings_free(&f);
    cr_assert_eq(f.n, 0);
    ns_model_free(m);
}

Test(engine, severity_names)
{
    cr_assert_str_eq(ns_severity_name(NS_SEV_INFO), "info");
    cr_assert_str_eq(ns_severity_name(NS_SEV_LOW), "low");
    cr_assert_str_eq(ns_severity_name(NS_SEV_MEDIUM), "medium");
    cr_assert_str_eq(ns_severity_name(NS_SEV_HIGH), "high");
}

Test(engine, json_and_text_neutralise_hostile_names)
{
    struct ns_profile *p = new_profile(NULL);
    tp_event(p, EV_CPU, "cpu", "ns", MS);
    tp_samples(p, 100, EV_CPU, 7, app_stack(p, 0x600), MS);
    struct ns_model *m = build(p);
    struct ns_findings f = run(m);
    cr_assert_eq(f.n, 1);
    json_t *j = ns_findings_json(m, &f);
    cr_assert_not_null(j);
    json_t *o = json_array_get(j, 0);
    cr_assert_str_eq(json_string_value(json_object_get(o, "rule")), "hot_function");
    cr_assert_str_eq(json_string_value(json_object_get(o, "function")), "evil\x1b[31m");
    cr_assert_str_eq(json_string_value(json_object_get(o, "file")), "/src/evil\xef\xbf\xbd.c");
    cr_assert_eq(json_integer_value(json_object_get(o, "line")), 60);
    cr_assert_str_eq(json_string_value(json_object_get(o, "event")), "cpu");
    json_decref(j);
    struct ns_buf b = {0};
    ns_findings_text(&b, m, &f, 0);
    cr_assert(strstr(b.s, "[high] hot_function at evil\\x1b[31m (evil\\xff.c:60)"), "%s", b.s);
    cr_assert_null(strchr(b.s, '\x1b'));
    ns_buf_free(&b);
    ns_findings_free(&f);
    ns_model_free(m);
}
