/*
 * Filters applied while building the model (--thread, --function [--regex], --from/--to,
 * --event, --pid), their per-stage counts, and the message that names the filter that
 * removed every sample.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "options.h"

static struct ns_profile *prof;
static struct ns_model *model;
static struct ns_resolver resolver;

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

TestSuite(filters, .init = setup, .fini = teardown);

static void build(struct ns_model_options o)
{
    o.resolver = &resolver;
    model = build1(prof, &o);
}

static void assert_all_samples_match(int (*pred)(const struct ns_sample *))
{
    for (size_t i = 0; i < model->nsamples; i++)
        cr_assert(pred(&model->samples[i]), "sample %zu", i);
}

static int is_worker(const struct ns_sample *s)
{
    return strcmp(model->threads[s->thread].name, "worker") == 0;
}

Test(filters, thread_by_name_substring)
{
    build((struct ns_model_options){.thread = "work"});
    cr_assert_eq(model->events[0].count, 9);
    cr_assert_eq(model->events[0].weight, 12000000);
    cr_assert_eq(model->nsamples, 9);
    assert_all_samples_match(is_worker);
    cr_assert_eq(model->filter.in_files, 15);
    cr_assert_eq(model->filter.after_event, 15);
    cr_assert_eq(model->filter.after_thread, 9);
    cr_assert_eq(model->filter.after_function, 9);
    cr_assert_str_eq(model->filter.thread, "work");
}

Test(filters, thread_by_tid)
{
    build((struct ns_model_options){.thread = "11"});
    cr_assert_eq(model->events[0].count, 3);
    for (size_t i = 0; i < model->nsamples; i++)
        cr_assert_eq(model->threads[model->samples[i].thread].tid, 11);
}

Test(filters, function_substring_keeps_whole_stacks)
{
    build((struct ns_model_options){.function = "help"});
    /* S3 and S5 pass through helper: 6 samples, with their complete stacks. */
    cr_assert_eq(model->events[0].count, 6);
    cr_assert_eq(find_path(model, 0, (const char *const[]){"app", "main", "run", NULL}), NS_NONE);
    uint32_t memcpy_ = find_path(
        model, 0, (const char *const[]){"app", "main", "compute", "helper", "memcpy", NULL});
    cr_assert_neq(memcpy_, NS_NONE);
    cr_assert_eq(model->filter.after_time, 15);
    cr_assert_eq(model->filter.after_function, 6);
    cr_assert_eq(model->nsamples, 6);
}

Test(filters, function_regex)
{
    build((struct ns_model_options){.function = "^(run|memcpy)$", .function_regex = 1});
    cr_assert_eq(model->events[0].count, 10); /* S1, S2 through run; S3 with memcpy */
}

Test(filters, function_regex_is_anchored_only_when_asked)
{
    build((struct ns_model_options){.function = "^comp", .function_regex = 1});
    cr_assert_eq(model->events[0].count, 14);
}

Test(filters, invalid_regex_is_an_error_naming_the_option)
{
    struct ns_model *m = NULL;
    char err[256] = "";
    struct ns_model_options o = {.function = "(unclosed", .function_regex = 1};
    cr_assert_eq(
        ns_model_build((const struct ns_profile *const[]){prof}, 1, &o, &m, err, sizeof(err)), -1);
    cr_assert_null(m);
    cr_assert(strstr(err, "--function") && strstr(err, "(unclosed"), "%s", err);
}

static int in_time_range(const struct ns_sample *s)
{
    return s->time_ns >= 2000000 && s->time_ns < 6000000;
}

Test(filters, time_range_is_half_open_in_seconds)
{
    build((struct ns_model_options){.has_from = 1, .from_s = 0.002, .has_to = 1, .to_s = 0.006});
    /* S1 at 2,3,4 ms; S2 at 2 ms + 10 ns; S3 at 5 ms. 6 ms (S3 #2) is excluded. */
    cr_assert_eq(model->events[0].count, 5);
    assert_all_samples_match(in_time_range);
    cr_assert_eq(model->filter.after_time, 5);
}

Test(filters, event_by_name)
{
    tp_event(prof, 2, "wall", "ns", 1000000);
    tp_sample(prof, 2, 100, 10, 1, 5);
    build((struct ns_model_options){.event = "wall"});
    cr_assert_eq(model->nevents, 1);
    cr_assert_str_eq(model->events[0].name, "wall");
    cr_assert_eq(model->events[0].count, 1);
    cr_assert_eq(model->filter.after_event, 1);
    cr_assert_eq(model->filter.nevent_names, 2);
}

Test(filters, pid_selects_files)
{
    struct ns_profile *other = std_profile("o.nsp", 200);
    struct ns_model_options o = {.resolver = &resolver, .has_pid = 1, .pid = 200};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    cr_assert_eq(model->nprocesses, 1);
    cr_assert_eq(model->processes[0].pid, 200);
    cr_assert_eq(model->filter.in_files, 30);
    cr_assert_eq(model->filter.after_pid, 15);
    cr_assert_eq(model->filter.npids, 2);
    tp_free(other);
}

Test(filters, explain_names_the_thread_filter)
{
    build((struct ns_model_options){.thread = "nosuch"});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "--thread nosuch"), "%s", msg);
    cr_assert(strstr(msg, "worker (tid 11)"), "lists the threads: %s", msg);
    cr_assert(strstr(msg, "app (tid 10)"), "%s", msg);
    cr_assert_null(strstr(msg, "worker (tid 12)"), "one entry per name: %s", msg);
}

Test(filters, explain_names_the_event_filter)
{
    build((struct ns_model_options){.event = "alloc_bytes"});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "--event alloc_bytes") && strstr(msg, "events in the files: cpu"), "%s",
              msg);
}

Test(filters, explain_names_the_time_filter)
{
    build((struct ns_model_options){.has_from = 1, .from_s = 60});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "--from/--to") && strstr(msg, "0.011 s"), "%s", msg);
}

Test(filters, explain_names_the_function_filter)
{
    build((struct ns_model_options){.function = "Compute"});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "--function Compute") && strstr(msg, "case-sensitive"), "%s", msg);
}

Test(filters, explain_names_the_pid_filter)
{
    build((struct ns_model_options){.has_pid = 1, .pid = 4});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "--pid 4") && strstr(msg, "pids of the files: 100"), "%s", msg);
}

Test(filters, explain_an_empty_profile)
{
    prof->samples.n = 0;
    build((struct ns_model_options){0});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "the files hold none"), "%s", msg);
}

Test(filters, explain_a_file_cut_before_its_first_samples)
{
    prof->samples.n = 0;
    prof->truncated = 1;
    prof->truncated_at = 16;
    build((struct ns_model_options){0});
    char msg[1024];
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 1);
    cr_assert(strstr(msg, "std.nsp is cut short at offset 16"), "%s", msg);
}

Test(filters, explain_is_silent_when_there_are_samples)
{
    build((struct ns_model_options){0});
    char msg[64] = "";
    cr_assert_eq(ns_report_explain_empty(model, msg, sizeof(msg)), 0);
}

Test(options, parse_and_check)
{
    struct ns_report_args a = {0};
    char err[256];
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_FROM, "1.5", err, sizeof(err)), 1);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_TO, "1", err, sizeof(err)), 1);
    cr_assert_eq(ns_report_args_check(&a, err, sizeof(err)), -1);
    cr_assert(strstr(err, "--from"), "%s", err);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_TO, "abc", err, sizeof(err)), -1);
    cr_assert(strstr(err, "'abc'"), "%s", err);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_FROM, "-1", err, sizeof(err)), -1);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_PID, "12x", err, sizeof(err)), -1);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_PID, "1234", err, sizeof(err)), 1);
    cr_assert_eq(a.model.pid, 1234);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_DEBUG_DIR, "/a", err, sizeof(err)), 1);
    cr_assert_eq(ns_report_filter_arg(&a, NS_OPT_DEBUG_DIR, "/b", err, sizeof(err)), 1);
    cr_assert_str_eq(a.debug_dirs[1], "/b");
    cr_assert_null(a.debug_dirs[2]);
    cr_assert_eq(ns_report_filter_arg(&a, 'x', NULL, err, sizeof(err)), 0);
    ns_report_args_free(&a);

    struct ns_report_args b = {0};
    cr_assert_eq(ns_report_filter_arg(&b, NS_OPT_REGEX, NULL, err, sizeof(err)), 1);
    cr_assert_eq(ns_report_args_check(&b, err, sizeof(err)), -1);
    cr_assert(strstr(err, "--regex"), "%s", err);
}
