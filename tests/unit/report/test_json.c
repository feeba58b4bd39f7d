/*
 * The JSON report: written, parsed back with jansson and checked field by field, including
 * names with quotes, markup, newlines and invalid UTF-8 (which becomes U+FFFD).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "render.h"

static struct ns_profile *prof;
static struct ns_model *model;
static json_t *doc;
static struct ns_resolver resolver;

/* Renders through ns_render_json into memory and parses the text back. */
static json_t *render_and_parse(const struct ns_model *m, size_t top)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct ns_render_options o = {.top = top};
    cr_assert_eq(ns_render_json(f, m, &o), 0);
    fclose(f);
    json_error_t err;
    json_t *j = json_loadb(buf, len, 0, &err);
    cr_assert_not_null(j, "invalid JSON: %s at line %d", err.text, err.line);
    free(buf);
    return j;
}

static void setup(void)
{
    prof = std_profile("std.nsp", 100);
    resolver = std_resolver();
    struct ns_model_options o = {.resolver = &resolver, .thread = "a"};
    model = build1(prof, &o);
    doc = render_and_parse(model, 2);
}

static void teardown(void)
{
    json_decref(doc);
    ns_model_free(model);
    tp_free(prof);
}

TestSuite(json, .init = setup, .fini = teardown);

static json_t *path(json_t *j, const char *const *keys)
{
    for (size_t i = 0; keys[i] && j; i++) {
        if (json_is_array(j))
            j = json_array_get(j, (size_t)atoi(keys[i]));
        else
            j = json_object_get(j, keys[i]);
    }
    cr_assert_not_null(j, "missing %s", keys[0]);
    return j;
}

#define P(...)   path(doc, (const char *const[]){__VA_ARGS__, NULL})
#define INT(...) json_integer_value(P(__VA_ARGS__))
#define STR(...) json_string_value(P(__VA_ARGS__))

Test(json, header_and_process)
{
    cr_assert_str_eq(STR("schema"), "nsprof-report/1");
    cr_assert_eq(INT("top"), 2);
    cr_assert(json_is_true(P("inline_expanded")));
    cr_assert_eq(json_array_size(P("processes")), 1);
    cr_assert_eq(INT("processes", "0", "pid"), 100);
    cr_assert_str_eq(STR("processes", "0", "exe"), "/usr/bin/app");
    cr_assert_str_eq(STR("processes", "0", "name"), "app");
    cr_assert_str_eq(STR("processes", "0", "file"), "std.nsp");
    cr_assert_str_eq(STR("processes", "0", "argv", "0"), "/usr/bin/app");
    cr_assert_eq(INT("processes", "0", "duration_ns"), 30000000);
    cr_assert_str_eq(STR("processes", "0", "end", "reason"), "exit");
    cr_assert_eq(INT("processes", "0", "end", "status"), 0);
    cr_assert(json_is_true(P("processes", "0", "complete")));
    cr_assert(json_is_null(P("processes", "0", "truncated_at")));
    cr_assert_str_eq(STR("processes", "0", "settings", "freq"), "1000");
    cr_assert_eq(INT("processes", "0", "counters", "dropped_ring_full"), 3);
    cr_assert_str_eq(STR("processes", "0", "notes", "0", "level"), "warning");
    cr_assert_str_eq(STR("processes", "0", "notes", "0", "code"), "cpu_timer_rate");
    cr_assert_str_eq(STR("processes", "0", "notes", "1", "level"), "info");
    /* --thread a matches "app" only: its stats give the process rate. */
    cr_assert_eq(INT("processes", "0", "rate", "samples"), 6);
    cr_assert_eq(INT("processes", "0", "rate", "cpu_ns"), 8000000);
}

Test(json, filters_and_sampling)
{
    cr_assert_str_eq(STR("filters", "thread"), "a");
    cr_assert(json_is_null(P("filters", "function")));
    cr_assert(json_is_null(P("filters", "from_s")));
    cr_assert_eq(INT("filters", "samples", "in_files"), 15);
    cr_assert_eq(INT("filters", "samples", "after_thread"), 6);
    cr_assert_eq(INT("filters", "samples", "after_function"), 6);
    cr_assert_str_eq(STR("sampling", "mechanisms", "0", "mechanism"), "signal");
    cr_assert_str_eq(STR("sampling", "mechanisms", "0", "description"), "signal timers");
    cr_assert(strstr(STR("sampling", "mechanisms", "0", "reason"), "perf_event_paranoid=3"));
    cr_assert_eq(INT("sampling", "mechanisms", "0", "processes", "0"), 0);
    cr_assert_float_eq(json_real_value(P("sampling", "requested_hz", "0")), 1000.0, 1e-9);
    cr_assert_float_eq(json_real_value(P("sampling", "achieved", "hz")), 750.0, 1e-9);
    cr_assert_eq(INT("sampling", "drops", "total"), 3);
    cr_assert_eq(INT("sampling", "drops", "counters", "dropped_ring_full"), 3);
    cr_assert_float_eq(json_real_value(P("sampling", "drops", "share")), 100.0 * 3 / 18, 1e-9);
    cr_assert_str_eq(STR("sampling", "kernel_excluded"), "all");
    cr_assert(json_is_true(P("sampling", "complete")));
    /* --thread a kept no sample in libc, so libc was never symbolized: only app's unnamed
     * frame (0x999) is shown. */
    cr_assert_eq(json_array_size(P("sampling", "symbol_problems")), 1);
    cr_assert_str_eq(STR("sampling", "symbol_problems", "0", "module"), "app");
    cr_assert_eq(INT("sampling", "symbol_problems", "0", "unnamed_leaf_samples"), 1);
}

Test(json_all, symbol_problems)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    doc = render_and_parse(m, 0);
    cr_assert_str_eq(STR("sampling", "symbol_problems", "1", "module"), "libc.so.6");
    cr_assert_str_eq(STR("sampling", "symbol_problems", "1", "path"), "/lib/libc.so.6");
    cr_assert_str_eq(STR("sampling", "symbol_problems", "1", "status"), "no_debug_info");
    cr_assert_str_eq(STR("sampling", "symbol_problems", "1", "detail"),
                     "no .debug_info in /lib/libc.so.6");
    cr_assert_str_eq(STR("sampling", "symbol_problems", "1", "build_id"), "abcd6f12");
    cr_assert_eq(INT("sampling", "symbol_problems", "1", "leaf_samples"), 2);
    cr_assert(strstr(STR("sampling", "symbol_problems", "1", "hint"), "--debug-dir"));
    cr_assert_str_eq(STR("sampling", "symbol_problems", "1", "description"),
                     "function names only, no source lines");
    cr_assert_eq(json_array_size(P("events", "0", "functions_by_self")), 4);
    json_decref(doc);
    doc = NULL;
    ns_model_free(m);
    tp_free(p);
}

Test(json, event_rankings_respect_top)
{
    cr_assert_eq(json_array_size(P("events")), 1);
    cr_assert_str_eq(STR("events", "0", "name"), "cpu");
    cr_assert_str_eq(STR("events", "0", "unit"), "ns");
    cr_assert_eq(INT("events", "0", "samples"), 6);
    cr_assert_eq(INT("events", "0", "weight"), 6000000);
    cr_assert_eq(INT("events", "0", "stacks", "root"), 5);
    cr_assert_eq(INT("events", "0", "stacks", "unknown_frames"), 1);
    cr_assert_eq(INT("events", "0", "stacks", "by_end", "no_cfi"), 1);
    cr_assert_eq(INT("events", "0", "samples_without_line"), 1);
    json_t *fs = P("events", "0", "functions_by_self");
    cr_assert_eq(json_array_size(fs), 2);
    cr_assert_str_eq(STR("events", "0", "functions_by_self", "0", "name"), "compute");
    cr_assert_eq(INT("events", "0", "functions_by_self", "0", "self_samples"), 5);
    cr_assert_eq(INT("events", "0", "functions_by_self", "0", "hot_line"), 30);
    cr_assert_str_eq(STR("events", "0", "functions_by_self", "0", "hot_file"), "/src/app.c");
    cr_assert_float_eq(json_real_value(P("events", "0", "functions_by_self", "0", "self_pct")),
                       100.0 * 5 / 6, 1e-9);
    cr_assert_str_eq(STR("events", "0", "functions_by_self", "0", "file"), "/src/app.c");
    cr_assert(json_is_false(P("events", "0", "functions_by_self", "0", "inlined")));
    cr_assert_str_eq(STR("events", "0", "functions_by_self", "1", "name"), "app+0x999");
    cr_assert(json_is_false(P("events", "0", "functions_by_self", "1", "symbolized")));
    cr_assert(json_is_null(P("events", "0", "functions_by_self", "1", "hot_line")));
    cr_assert(json_is_null(P("events", "0", "functions_by_self", "1", "hot_file")));
    cr_assert_str_eq(STR("events", "0", "functions_by_total", "0", "name"), "main");
    cr_assert_eq(INT("events", "0", "functions_by_total", "0", "total_samples"), 6);
    cr_assert_eq(json_array_size(P("events", "0", "lines")), 1);
    cr_assert_eq(INT("events", "0", "lines", "0", "line"), 30);
    cr_assert_str_eq(STR("events", "0", "threads", "0", "name"), "app");
    cr_assert_eq(INT("events", "0", "threads", "0", "tids", "0"), 10);
    cr_assert_float_eq(json_real_value(P("events", "0", "threads", "0", "achieved_hz")), 750.0,
                       1e-9);
    cr_assert_eq(INT("events", "0", "processes", "0", "pid"), 100);
}

Test(json_hostile, strings_are_escaped_and_made_valid_utf8)
{
    struct ns_profile *p = tp_new("h.nsp", 5, "/bin/\"quoted\"");
    uint32_t mp = tp_mapping(p, "/bin/\"quoted\"", 1);
    tp_event(p, 1, "cpu", "ns", 1);
    uint32_t s = tp_stack(p, 0, 4, (uint64_t[]){mp, 1, mp, 2, mp, 3, mp, 4});
    tp_thread(p, 9, "thr\x1b]0;pwned\x07");
    tp_samples(p, 1, 1, 9, s, 1);
    tp_setting(p, "bad\xffkey", "va\xc3lue");
    tp_note(p, 1, "x", "note with \"quotes\" and </script>");
    static const struct fake_sym syms[] = {
        {"/bin/\"quoted\"", 1, 1, {{"he said \"hi\"", "a.c", 1, 0, NULL}}},
        {"/bin/\"quoted\"", 2, 1, {{"<script>alert(1)</script>", "a.c", 2, 0, NULL}}},
        {"/bin/\"quoted\"", 3, 1, {{"line\nbreak", "a.c", 3, 0, NULL}}},
        {"/bin/\"quoted\"", 4, 1, {{"bad\xff\xfe name \xe2\x82", "a.c", 4, 0, NULL}}},
    };
    struct fake_resolver fr = {.syms = syms, .nsyms = 4};
    struct ns_resolver r = fake_resolver(&fr);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    json_t *j = render_and_parse(m, 0);
    json_t *fns =
        json_object_get(json_array_get(json_object_get(j, "events"), 0), "functions_by_total");
    cr_assert_eq(json_array_size(fns), 4);
    /* Each byte that is not part of a valid UTF-8 sequence becomes U+FFFD (EF BF BD). */
    const char *want[] = {"bad\xef\xbf\xbd\xef\xbf\xbd name \xef\xbf\xbd\xef\xbf\xbd",
                          "line\nbreak", "<script>alert(1)</script>", "he said \"hi\""};
    for (size_t w = 0; w < 4; w++) {
        int found = 0;
        for (size_t i = 0; i < 4; i++) {
            const char *name = json_string_value(json_object_get(json_array_get(fns, i), "name"));
            found |= strcmp(name, want[w]) == 0;
        }
        cr_assert(found, "function name %zu not found", w);
    }
    json_t *proc = json_array_get(json_object_get(j, "processes"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(proc, "exe")), "/bin/\"quoted\"");
    json_t *settings = json_object_get(proc, "settings");
    cr_assert_str_eq(json_string_value(json_object_get(settings, "bad\xef\xbf\xbdkey")),
                     "va\xef\xbf\xbdlue");
    const char *note = json_string_value(
        json_object_get(json_array_get(json_object_get(proc, "notes"), 0), "text"));
    cr_assert_str_eq(note, "note with \"quotes\" and </script>");
    json_t *thr = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "events"), 0), "threads"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(thr, "name")), "thr\x1b]0;pwned\x07");
    json_decref(j);
    ns_model_free(m);
    tp_free(p);
}

Test(json_hostile, huge_counter_is_clamped)
{
    struct ns_profile *p = std_profile("std.nsp", 1);
    tp_counter(p, "dropped_ring_full", UINT64_MAX);
    struct ns_model *m = build1(p, NULL);
    json_t *j = ns_report_json(m, &(struct ns_render_options){.top = 1});
    cr_assert_not_null(j);
    json_t *c = json_object_get(
        json_object_get(json_array_get(json_object_get(j, "processes"), 0), "counters"),
        "dropped_ring_full");
    cr_assert_eq(json_integer_value(c), INT64_MAX);
    json_decref(j);
    ns_model_free(m);
    tp_free(p);
}
