/*
 * The call tree and time line of the flame data on the standard fixture (helpers.h): the
 * document's top level, pre-order columns with contiguous subtrees, self/total, frame
 * kinds and lines, buckets and cells adding up, several processes on one time axis, and
 * byte-identical output for equal models.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "flame_data.h"
#include "flame_util.h"
#include "helpers.h"

#define MS 1000000

static struct ns_model *std_model(void)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    tp_free(p);
    return m;
}

static int64_t node_value(const json_t *ev, const char *col, int64_t node)
{
    return json_integer_value(
        json_array_get(json_object_get(json_object_get(ev, "nodes"), col), (size_t)node));
}

static int64_t frame_value(const json_t *doc, const char *col, const char *name)
{
    json_t *names = json_object_get(json_object_get(doc, "frames"), "name");
    for (size_t f = 0; f < json_array_size(names); f++)
        if (strcmp(frame_name(doc, (int64_t)f), name) == 0)
            return json_integer_value(
                json_array_get(json_object_get(json_object_get(doc, "frames"), col), f));
    cr_assert_fail("no frame %s", name);
    return -1;
}

Test(flame_tree, top_level)
{
    struct ns_model *m = std_model();
    json_t *doc = flame_json(m);
    cr_assert_eq(json_integer_value(json_object_get(doc, "version")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "title")), "app");
    cr_assert_str_eq(json_string_value(json_object_get(doc, "producer")), "nsprof test");
    cr_assert_str_eq(json_string_value(json_object_get(doc, "initial_event")), "cpu");
    /* The END record at 30 ms is later than the last sample (11 ms). */
    cr_assert_eq(json_integer_value(json_object_get(doc, "duration_ns")), 30 * MS);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(doc, "strings"), 0)), "");
    json_t *frames = json_object_get(doc, "frames");
    const char *cols[] = {"name", "module", "file", "line", "kind"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(json_array_size(json_object_get(frames, cols[i])), m->nfuncs, "%s", cols[i]);
    cr_assert_eq(json_array_size(json_object_get(doc, "events")), 1);
    cr_assert(json_is_array(json_object_get(doc, "series")));
    cr_assert(json_is_array(json_object_get(doc, "recommendations")));
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_tree, preorder_weights_and_timeline_invariants)
{
    struct ns_model *m = std_model();
    json_t *doc = flame_json(m);
    json_t *ev = event_view(doc, "cpu");
    cr_assert_not_null(ev);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "unit")), "ns");
    cr_assert_eq(json_integer_value(json_object_get(ev, "total")), 18 * MS);
    cr_assert_eq(json_integer_value(json_object_get(ev, "samples")), 15);
    cr_assert(json_is_false(json_object_get(ev, "aggregate")));
    cr_assert_eq(json_array_size(json_object_get(json_object_get(ev, "nodes"), "depth")),
                 m->nnodes);
    check_view(doc, ev);
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_tree, node_values_by_path)
{
    struct ns_model *m = std_model();
    json_t *doc = flame_json(m);
    json_t *ev = event_view(doc, "cpu");
    int64_t compute = view_path(doc, ev, (const char *[]){"app", "main", "run", "compute", NULL});
    cr_assert_geq(compute, 0);
    /* S1: 5 x 1 ms and S2: 3 x 2 ms end in compute. */
    cr_assert_eq(node_value(ev, "self", compute), 11 * MS);
    cr_assert_eq(node_value(ev, "total", compute), 11 * MS);
    int64_t helper = view_path(doc, ev, (const char *[]){"app", "main", "compute", "helper", NULL});
    cr_assert_eq(node_value(ev, "self", helper), 4 * MS);
    cr_assert_eq(node_value(ev, "total", helper), 6 * MS);
    /* The heaviest child of main (run: 11 ms) comes right after it. */
    int64_t main_node = view_path(doc, ev, (const char *[]){"app", "main", NULL});
    cr_assert_eq(view_path(doc, ev, (const char *[]){"app", "main", "run", NULL}), main_node + 1);
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_tree, frame_kinds_and_lines)
{
    struct ns_model *m = std_model();
    json_t *doc = flame_json(m);
    cr_assert_eq(frame_value(doc, "kind", "app"), NS_FLAME_PSEUDO);
    cr_assert_eq(frame_value(doc, "kind", "main"), NS_FLAME_USER);
    cr_assert_eq(frame_value(doc, "kind", "helper"), NS_FLAME_INLINED);
    cr_assert_eq(frame_value(doc, "kind", "memcpy"), NS_FLAME_LIBRARY);
    /* compute's leaf samples: line 30 five times, line 31 three times. */
    cr_assert_eq(frame_value(doc, "line", "compute"), 30);
    cr_assert_eq(frame_value(doc, "line", "main"), 0);
    json_t *strings = json_object_get(doc, "strings");
    int64_t module = frame_value(doc, "module", "memcpy");
    cr_assert_str_eq(json_string_value(json_array_get(strings, (size_t)module)), "libc.so.6");
    int64_t file = frame_value(doc, "file", "compute");
    cr_assert_str_eq(json_string_value(json_array_get(strings, (size_t)file)), "/src/app.c");
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_tree, buckets_of_the_time_line)
{
    struct ns_model *m = std_model();
    json_t *doc = flame_json(m);
    json_t *tl = json_object_get(event_view(doc, "cpu"), "timeline");
    /* 30 ms over 400 buckets. */
    cr_assert_eq(json_integer_value(json_object_get(tl, "bucket_ns")), 75000);
    size_t nb;
    int64_t *w = column(tl, "weights", &nb);
    cr_assert_eq(nb, 400);
    /* At t=0: S1's first sample (1 ms) and S2's (2 ms, at 10 ns). */
    cr_assert_eq(w[0], 3 * MS);
    /* S3 at 5 ms: bucket 66. */
    cr_assert_eq(w[5 * MS / 75000], 1 * MS);
    free(w);
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_tree, processes_share_one_time_axis)
{
    struct ns_profile *a = std_profile("a.nsp", 100), *b = std_profile("b.nsp", 200);
    b->process.start_mono_ns += 50 * MS;
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = buildn((const struct ns_profile *const[]){a, b}, 2, &o);
    json_t *doc = flame_json(m);
    cr_assert_eq(json_integer_value(json_object_get(doc, "duration_ns")), 80 * MS);
    json_t *ev = event_view(doc, "cpu");
    check_view(doc, ev);
    json_t *tl = json_object_get(ev, "timeline");
    cr_assert_eq(json_integer_value(json_object_get(tl, "bucket_ns")), 200000);
    size_t nb;
    int64_t *w = column(tl, "weights", &nb);
    cr_assert_eq(w[0], 3 * MS);
    cr_assert_eq(w[50 * MS / 200000], 3 * MS); /* the second process's first samples */
    free(w);
    json_decref(doc);
    ns_model_free(m);
    tp_free(a);
    tp_free(b);
}

Test(flame_tree, equal_models_give_identical_bytes)
{
    struct ns_model *m1 = std_model(), *m2 = std_model();
    size_t l1, l2;
    char *t1 = flame_json_text(m1, NULL, &l1), *t2 = flame_json_text(m2, NULL, &l2);
    cr_assert_eq(l1, l2);
    cr_assert_eq(memcmp(t1, t2, l1), 0);
    free(t1);
    free(t2);
    ns_model_free(m1);
    ns_model_free(m2);
}
