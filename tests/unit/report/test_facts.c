/*
 * Sampling facts: achieved rate, stack quality, drops, kernel exclusion, completeness,
 * mechanism groups, symbol problems.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "helpers.h"

static struct ns_profile *prof;
static struct ns_model *model;
static struct ns_resolver resolver;

static void build(const struct ns_model_options *extra)
{
    struct ns_model_options o = extra ? *extra : (struct ns_model_options){0};
    o.resolver = &resolver;
    model = build1(prof, &o);
}

static void setup(void)
{
    prof = std_profile("std.nsp", 100);
    resolver = std_resolver();
}

static void teardown(void)
{
    ns_model_free(model);
    tp_free(prof);
    model = NULL;
}

TestSuite(facts, .init = setup, .fini = teardown);

Test(facts, achieved_rate_is_samples_per_thread_cpu_second)
{
    build(NULL);
    struct ns_rate r = ns_facts_rate(model, NS_NONE);
    cr_assert(r.valid);
    cr_assert_eq(r.samples, 15);
    cr_assert_eq(r.cpu_ns, 24000000);
    cr_assert_float_eq(r.hz, 625.0, 1e-6);
    struct ns_rate one = ns_facts_rate(model, 0);
    cr_assert_float_eq(one.hz, 625.0, 1e-6);
}

Test(facts, achieved_rate_follows_the_thread_filter)
{
    struct ns_model_options o = {.thread = "worker"};
    build(&o);
    struct ns_rate r = ns_facts_rate(model, NS_NONE);
    cr_assert_eq(r.samples, 9);
    cr_assert_eq(r.cpu_ns, 16000000);
    cr_assert_float_eq(r.hz, 562.5, 1e-6);
}

Test(facts, no_rate_without_a_cpu_event_or_statistics)
{
    free(prof->events[0].name.s);
    prof->events[0].name.s = strdup("wall");
    build(NULL);
    cr_assert_not(ns_facts_rate(model, NS_NONE).valid);
    struct ns_rate zero = ns_facts_rate_of(10, 0);
    cr_assert_not(zero.valid);
    cr_assert_float_eq(zero.hz, 0.0, 1e-9);
}

Test(facts, stack_quality_classes)
{
    build(NULL);
    struct ns_stack_quality q;
    ns_facts_stack_quality(&model->events[0], &q);
    cr_assert_eq(q.total, 15);
    cr_assert_eq(q.root, 12);
    cr_assert_eq(q.truncated, 2);
    cr_assert_eq(q.unknown, 1);
    cr_assert_eq(q.no_stack, 0);
    cr_assert_str_eq(ns_stack_end_name(NSP_END_STACK_END), "stack_end");
    cr_assert_str_eq(ns_stack_end_name(NSP_END__COUNT), "other");
}

Test(facts, drops_sum_non_zero_dropped_counters)
{
    struct ns_profile *other = std_profile("o.nsp", 200);
    tp_counter(other, "dropped_reentrant", 2);
    struct ns_model_options o = {.resolver = &resolver};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    struct ns_counter *d;
    size_t n;
    uint64_t total, taken;
    cr_assert_eq(ns_facts_drops(model, &d, &n, &total, &taken), 0);
    cr_assert_eq(n, 2, "dropped_perf_lost is zero and left out");
    cr_assert_str_eq(d[0].name, "dropped_reentrant");
    cr_assert_eq(d[0].value, 2);
    cr_assert_str_eq(d[1].name, "dropped_ring_full");
    cr_assert_eq(d[1].value, 6);
    cr_assert_eq(total, 8);
    cr_assert_eq(taken, 30);
    free(d);
    tp_free(other);
}

Test(facts, kernel_exclusion)
{
    build(NULL);
    int some;
    cr_assert_eq(ns_facts_kernel_excluded(model, &some), 1);
    cr_assert_eq(some, 1);
}

Test(facts, kernel_exclusion_in_some_processes)
{
    struct ns_profile *other = std_profile("o.nsp", 200);
    free(other->settings[4].value.s);
    other->settings[4].value.s = strdup("0");
    struct ns_model_options o = {.resolver = &resolver};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    int some;
    cr_assert_eq(ns_facts_kernel_excluded(model, &some), 0);
    cr_assert_eq(some, 1);
    tp_free(other);
}

Test(facts, complete_file)
{
    build(NULL);
    char s[512];
    cr_assert(ns_facts_complete(&model->processes[0]));
    ns_facts_end_sentence(&model->processes[0], s, sizeof(s));
    cr_assert_str_eq(s, "the process exited with status 0");
    cr_assert_eq(ns_facts_duration_ns(&model->processes[0]), 30000000);
}

Test(facts, missing_end_says_data_is_missing)
{
    prof->has_end = 0;
    build(NULL);
    char s[512];
    cr_assert_not(ns_facts_complete(&model->processes[0]));
    ns_facts_end_sentence(&model->processes[0], s, sizeof(s));
    cr_assert(strstr(s, "did not finish normally (killed or crashed)"), "%s", s);
    cr_assert(strstr(s, "last flush"), "%s", s);
    cr_assert_eq(ns_facts_duration_ns(&model->processes[0]), 11000000, "last sample");
}

Test(facts, truncated_tail_names_the_offset)
{
    prof->truncated = 1;
    prof->truncated_at = 81920;
    build(NULL);
    char s[512];
    cr_assert_not(ns_facts_complete(&model->processes[0]));
    ns_facts_end_sentence(&model->processes[0], s, sizeof(s));
    cr_assert(strstr(s, "cut short at offset 81920"), "%s", s);
}

Test(facts, killed_by_signal_names_it)
{
    prof->end_reason = NSP_EXIT_SIGNAL;
    prof->end_status = 11;
    build(NULL);
    char s[512];
    ns_facts_end_sentence(&model->processes[0], s, sizeof(s));
    cr_assert(strstr(s, "signal 11 (SIGSEGV)"), "%s", s);
    cr_assert_str_eq(ns_end_reason_name(NSP_EXIT_SIGNAL), "signal");
}

Test(facts, mechanism_groups)
{
    struct ns_profile *other = std_profile("o.nsp", 200);
    free(other->settings[2].value.s);
    other->settings[2].value.s = strdup("perf");
    struct ns_profile *third = std_profile("t.nsp", 300);
    struct ns_model_options o = {.resolver = &resolver};
    model = buildn((const struct ns_profile *const[]){prof, other, third}, 3, &o);
    struct ns_setting_group *g;
    size_t n;
    cr_assert_eq(ns_facts_setting_groups(model, "mechanism_used", &g, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(g[0].value, "signal");
    cr_assert_eq(g[0].n, 2);
    cr_assert_eq(g[0].processes[1], 2);
    cr_assert_str_eq(g[1].value, "perf");
    cr_assert_str_eq(ns_mechanism_description(g[1].value), "perf_event rings");
    cr_assert_str_eq(ns_mechanism_description("signal"), "signal timers");
    ns_facts_setting_groups_free(g, n);
    cr_assert_eq(ns_facts_setting_groups(model, "not_recorded", &g, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_null(g[0].value);
    ns_facts_setting_groups_free(g, n);
    tp_free(other);
    tp_free(third);
}

Test(facts, symbol_problems)
{
    build(NULL);
    uint32_t *p;
    size_t n;
    cr_assert_eq(ns_facts_symbol_problems(model, &p, &n), 0);
    cr_assert_eq(n, 2);
    /* app has symbols, but one sample's leaf (0x999) has no name: it comes first. */
    cr_assert_str_eq(model->modules[p[0]].base, "app");
    cr_assert_eq(model->modules[p[0]].unnamed_samples, 1);
    cr_assert_eq(model->modules[p[0]].unnamed_leaf_samples, 1);
    cr_assert_str_eq(model->modules[p[1]].base, "libc.so.6");
    cr_assert_eq(model->modules[p[1]].unnamed_samples, 0);
    cr_assert_str_eq(ns_sym_status_name(model->modules[p[1]].status), "no_debug_info");
    cr_assert(strstr(ns_sym_status_sentence(NS_SYM_BUILD_ID_MISMATCH), "different build"));
    free(p);
}
