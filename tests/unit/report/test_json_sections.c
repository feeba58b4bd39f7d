/*
 * The JSON report's memory, io and locks objects and the format 1.1 fields of events and
 * sampling, parsed back with jansson and checked field by field; hostile resource names
 * become valid UTF-8.
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
    prof = ip_profile("ip.nsp", 300, "full");
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    model = build1(prof, &o);
    doc = render_and_parse(model, 20);
}

static void teardown(void)
{
    json_decref(doc);
    ns_model_free(model);
    tp_free(prof);
}

TestSuite(json_sections, .init = setup, .fini = teardown);

static json_t *path(json_t *j, const char *const *keys)
{
    for (size_t i = 0; keys[i] && j; i++)
        j = json_is_array(j) ? json_array_get(j, (size_t)atoi(keys[i]))
                             : json_object_get(j, keys[i]);
    cr_assert_not_null(j, "missing %s...", keys[0]);
    return j;
}

#define P(...)   path(doc, (const char *const[]){__VA_ARGS__, NULL})
#define INT(...) json_integer_value(P(__VA_ARGS__))
#define STR(...) json_string_value(P(__VA_ARGS__))
#define NUM(...) json_number_value(P(__VA_ARGS__))

Test(json_sections, events_say_aggregate_and_snapshot)
{
    cr_assert_str_eq(STR("events", "0", "name"), "alloc_bytes");
    cr_assert(json_is_true(P("events", "0", "aggregate")));
    cr_assert(json_is_false(P("events", "0", "snapshot")));
    cr_assert_str_eq(STR("events", "2", "name"), "leak_bytes");
    cr_assert(json_is_true(P("events", "2", "snapshot")));
    cr_assert_eq(INT("events", "2", "weight"), 340);
    cr_assert_eq(INT("events", "0", "stacks", "weight", "root"), 10400);
    cr_assert(json_is_true(P("events", "0", "functions_by_self", "0", "named")));
    cr_assert_str_eq(STR("events", "0", "functions_by_self", "0", "module"), "[nsprof]");
}

Test(json_sections, sampling_of_a_profile_that_did_not_sample)
{
    cr_assert(json_is_false(P("sampling", "sampled")));
    cr_assert_eq(json_array_size(P("sampling", "requested_hz")), 0, "freq is set but unused");
    cr_assert_eq(json_array_size(P("sampling", "mechanisms")), 0);
    cr_assert(json_is_null(P("sampling", "achieved")));
}

Test(json_sections, memory)
{
    cr_assert_str_eq(STR("memory", "mode"), "full");
    cr_assert(json_is_true(P("memory", "exact")));
    cr_assert(json_is_null(P("memory", "alloc_interval")));
    cr_assert_eq(INT("memory", "allocated_bytes"), 10400);
    cr_assert_eq(INT("memory", "allocations"), 50);
    json_t *s = P("memory", "sites_by_bytes", "0");
    cr_assert_str_eq(json_string_value(json_object_get(s, "function")), "load");
    cr_assert_str_eq(json_string_value(json_object_get(s, "file")), "/src/load.c");
    cr_assert_eq(json_integer_value(json_object_get(s, "line")), 22);
    cr_assert_str_eq(json_string_value(json_object_get(s, "via")), "malloc");
    cr_assert_eq(json_integer_value(json_object_get(s, "bytes")), 8000);
    cr_assert_eq(json_integer_value(json_object_get(s, "count")), 8);
    cr_assert_eq(json_integer_value(json_object_get(s, "avg_bytes")), 1000);
    cr_assert_float_eq(json_real_value(json_object_get(s, "count_pct")), 16.0, 1e-9);
    cr_assert_str_eq(STR("memory", "sites_by_count", "0", "function"), "parse");
    cr_assert_str_eq(STR("memory", "peak", "status"), "found");
    json_t *frames = P("memory", "peak", "stacks", "0", "frames");
    cr_assert_eq(json_array_size(frames), 3);
    cr_assert_str_eq(json_string_value(json_array_get(frames, 0)), "main");
    cr_assert_str_eq(json_string_value(json_array_get(frames, 2)), "malloc");
    cr_assert_str_eq(STR("memory", "peak", "stacks", "0", "function"), "load");
    cr_assert_eq(INT("memory", "peak", "stacks", "0", "bytes"), 5000);
    cr_assert_eq(INT("memory", "peak", "bytes"), 6600);
    cr_assert_str_eq(STR("memory", "leaks", "status"), "found");
    cr_assert(json_is_false(P("memory", "leaks", "estimated")));
    cr_assert_eq(INT("memory", "leaks", "bytes"), 340);
    cr_assert_eq(INT("memory", "leaks", "sites", "0", "bytes"), 300);
    cr_assert_eq(json_array_size(P("memory", "leaks", "sites")), 2);
}

Test(json_sections, memory_series)
{
    json_t *s = P("memory", "series", "0");
    cr_assert_str_eq(json_string_value(json_object_get(s, "name")), "heap_live_bytes");
    cr_assert_eq(json_integer_value(json_object_get(s, "pid")), 300);
    cr_assert_eq(json_integer_value(json_object_get(s, "max")), 6600);
    cr_assert_eq(json_integer_value(json_object_get(s, "min")), 0);
    cr_assert_eq(json_integer_value(json_object_get(s, "max_time_ns")), 3000000);
    json_t *pts = json_object_get(s, "points");
    cr_assert_eq(json_array_size(pts), 4);
    cr_assert_eq(json_integer_value(json_array_get(json_array_get(pts, 3), 0)), 8000000);
    cr_assert_eq(json_integer_value(json_array_get(json_array_get(pts, 3), 1)), 2000);
}

Test(json_sections, io)
{
    cr_assert_eq(INT("io", "kernel", "calls"), 13);
    cr_assert_eq(INT("io", "kernel", "bytes"), 8932);
    cr_assert_eq(INT("io", "kernel", "time_ns"), 24000000);
    cr_assert_eq(INT("io", "stdio", "calls"), 100);
    json_t *s = P("io", "sites", "2");
    cr_assert_str_eq(json_string_value(json_object_get(s, "function")), "save");
    cr_assert_str_eq(json_string_value(json_object_get(s, "kind")), "stdio");
    cr_assert_str_eq(json_string_value(json_object_get(s, "via")), "fwrite");
    cr_assert_eq(json_integer_value(json_object_get(s, "avg_bytes")), 64);
    cr_assert_float_eq(json_real_value(json_object_get(s, "time_pct")), 4.0, 1e-9);
    cr_assert_eq(INT("io", "sites", "0", "sizes", "count"), 10);
    cr_assert_eq(INT("io", "sites", "0", "sizes", "p50"), 32);
    cr_assert_eq(INT("io", "sites", "0", "sizes", "buckets", "0", "lo"), 32);
    cr_assert_eq(INT("io", "sites", "0", "sizes", "buckets", "0", "hi"), 63);
    cr_assert_eq(INT("io", "sites", "1", "sizes", "p90"), 4096);
    cr_assert(json_is_null(P("io", "sites", "3", "sizes")), "read_cfg has no histogram");
    cr_assert_str_eq(STR("io", "resources", "0", "resource", "type"), "socket");
    cr_assert_str_eq(STR("io", "resources", "0", "resource", "name"), "tcp 10.0.0.5:5432");
    cr_assert_eq(INT("io", "resources", "0", "calls"), 10);
}

Test(json_sections, hostile_resource_name_becomes_valid_utf8)
{
    cr_assert_str_eq(STR("io", "resources", "3", "resource", "name"),
                     "/tmp/evil\x1b[31m\xef\xbf\xbd.txt");
}

Test(json_sections, locks_and_idle_waits)
{
    cr_assert_eq(INT("locks", "lock_wait_ns"), 30000000);
    cr_assert_str_eq(STR("locks", "sites", "0", "function"), "worker");
    cr_assert_str_eq(STR("locks", "sites", "0", "via"), "pthread_mutex_lock");
    cr_assert_str_eq(STR("locks", "locks", "0", "name"), "mutex");
    cr_assert_str_eq(STR("locks", "locks", "0", "created_at", "function"), "init_locks");
    cr_assert_eq(INT("locks", "locks", "0", "created_at", "line"), 5);
    cr_assert_eq(INT("locks", "cond_wait", "wait_ns"), 500000000);
    cr_assert(json_is_true(P("locks", "cond_wait", "idle")));
    cr_assert_str_eq(STR("locks", "cond_wait", "sites", "0", "function"), "wait_job");
    cr_assert_eq(json_array_size(P("locks", "sites")), 1, "cond waits are not lock waits");
}

Test(json_sections, sections_are_null_without_their_events)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct ns_model *m = build1(p, NULL);
    json_t *j = render_and_parse(m, 20);
    cr_assert(json_is_null(json_object_get(j, "memory")));
    cr_assert(json_is_null(json_object_get(j, "io")));
    cr_assert(json_is_null(json_object_get(j, "locks")));
    cr_assert(json_is_true(json_object_get(json_object_get(j, "sampling"), "sampled")));
    json_t *ev = json_array_get(json_object_get(j, "events"), 0);
    cr_assert(json_is_false(json_object_get(ev, "aggregate")));
    json_decref(j);
    ns_model_free(m);
    tp_free(p);
}

Test(json_sections, sample_mode_and_statuses)
{
    struct ns_profile *p = ip_profile("ip.nsp", 300, "sample");
    for (size_t i = 0; i < p->samples.n; i++)
        if (p->samples.event[i] == 13) /* no peak_bytes entries */
            p->samples.event[i] = 999;
    struct ns_model *m = build1(p, NULL);
    json_t *j = render_and_parse(m, 20), *mem = json_object_get(j, "memory");
    cr_assert_str_eq(json_string_value(json_object_get(mem, "mode")), "sample");
    cr_assert_str_eq(json_string_value(json_object_get(mem, "alloc_interval")), "512K");
    cr_assert(json_is_false(json_object_get(mem, "exact")));
    json_t *peak = json_object_get(mem, "peak"), *leaks = json_object_get(mem, "leaks");
    cr_assert_str_eq(json_string_value(json_object_get(peak, "status")), "not_tracked");
    cr_assert_eq(json_integer_value(json_object_get(peak, "bytes")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(leaks, "status")), "found");
    cr_assert(json_is_true(json_object_get(leaks, "estimated")));
    json_decref(j);
    ns_model_free(m);
    tp_free(p);
}

Test(json_sections, top_cuts_the_section_arrays)
{
    json_t *j = render_and_parse(model, 1);
    json_t *io = json_object_get(j, "io");
    cr_assert_eq(json_array_size(json_object_get(io, "sites")), 1);
    cr_assert_eq(json_array_size(json_object_get(io, "resources")), 1);
    json_t *mem = json_object_get(j, "memory");
    cr_assert_eq(json_array_size(json_object_get(mem, "sites_by_bytes")), 1);
    json_decref(j);
}
