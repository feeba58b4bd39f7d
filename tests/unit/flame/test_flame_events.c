/*
 * Every event of the interposed-calls fixture (helpers.h, ip_profile) in the flame data:
 * one view per model event with its invariants, snapshots without a time line, the
 * heap_live_bytes series, named frames as pseudo frames, the initial view, and the
 * recommendations with the node to zoom to.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "flame_data.h"
#include "flame_util.h"
#include "helpers.h"
#include "recommend.h"

#define MS 1000000

static struct ns_model *ip_model(void)
{
    struct ns_profile *p = ip_profile("ip.nsp", 300, "full");
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    tp_free(p);
    return m;
}

Test(flame_events, one_view_per_event_with_its_invariants)
{
    struct ns_model *m = ip_model();
    json_t *doc = flame_json(m);
    json_t *events = json_object_get(doc, "events");
    cr_assert_eq(json_array_size(events), m->nevents);
    cr_assert_geq(m->nevents, 12);
    for (uint32_t e = 0; e < m->nevents; e++) {
        json_t *ev = json_array_get(events, e);
        cr_assert_str_eq(json_string_value(json_object_get(ev, "name")), m->events[e].name);
        cr_assert_str_eq(json_string_value(json_object_get(ev, "unit")), m->events[e].unit);
        cr_assert(json_is_true(json_object_get(ev, "aggregate")), "%s", m->events[e].name);
        cr_assert_eq(json_integer_value(json_object_get(ev, "total")), m->events[e].weight);
        check_view(doc, ev);
    }
    cr_assert_eq(json_integer_value(json_object_get(event_view(doc, "alloc_bytes"), "total")),
                 10400);
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_events, snapshots_have_no_time_line)
{
    struct ns_model *m = ip_model();
    json_t *doc = flame_json(m);
    cr_assert(json_is_null(json_object_get(event_view(doc, "leak_bytes"), "timeline")));
    cr_assert(json_is_null(json_object_get(event_view(doc, "peak_bytes"), "timeline")));
    cr_assert(json_is_object(json_object_get(event_view(doc, "io_time"), "timeline")));
    /* The later leak snapshot of load replaces the earlier one: 300 B, plus parse's 40 B. */
    cr_assert_eq(json_integer_value(json_object_get(event_view(doc, "leak_bytes"), "total")), 340);
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_events, heap_series)
{
    struct ns_model *m = ip_model();
    json_t *doc = flame_json(m);
    json_t *series = json_object_get(doc, "series");
    cr_assert_eq(json_array_size(series), 1);
    json_t *s = json_array_get(series, 0);
    cr_assert_str_eq(json_string_value(json_object_get(s, "name")), "heap_live_bytes");
    cr_assert_str_eq(json_string_value(json_object_get(s, "unit")), "bytes");
    cr_assert_eq(json_integer_value(json_object_get(s, "pid")), 300);
    size_t nt, nv;
    int64_t *t = column(s, "t", &nt), *v = column(s, "v", &nv);
    cr_assert_eq(nt, 4);
    cr_assert_eq(nv, 4);
    const int64_t want_t[] = {0, 1 * MS, 3 * MS, 8 * MS}, want_v[] = {0, 4096, 6600, 2000};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(t[i], want_t[i]);
        cr_assert_eq(v[i], want_v[i]);
    }
    free(t);
    free(v);
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_events, named_frames_are_pseudo)
{
    struct ns_model *m = ip_model();
    uint32_t malloc_f = find_func(m, "malloc");
    cr_assert_neq(malloc_f, NS_NONE);
    cr_assert_eq(ns_flame_func_kind(m, malloc_f), NS_FLAME_PSEUDO);
    cr_assert_eq(ns_flame_func_kind(m, find_func(m, "load")), NS_FLAME_USER);
    cr_assert_eq(ns_flame_func_kind(m, find_func(m, "strdup")), NS_FLAME_LIBRARY);
    ns_model_free(m);
}

Test(flame_events, initial_event)
{
    struct ns_model *m = ip_model();
    size_t len;
    char *text = flame_json_text(m, "io_time", &len);
    cr_assert_not_null(strstr(text, "\"initial_event\":\"io_time\""));
    free(text);
    /* No cpu event here: an unknown name falls back to the first event with samples. */
    text = flame_json_text(m, "nope", &len);
    char want[128];
    snprintf(want, sizeof(want), "\"initial_event\":\"%s\"", m->events[0].name);
    cr_assert_not_null(strstr(text, want), "%.200s", text);
    free(text);
    ns_model_free(m);
}

/* Every finding's `node` names the same model node renumbered into its event's view;
 * returns how many findings point at a node. */
static size_t check_finding_nodes(const struct ns_model *m)
{
    struct ns_findings f = {0};
    cr_assert_eq(ns_recommend(m, &f), 0);
    json_t *doc = flame_json(m);
    json_t *recs = json_object_get(doc, "recommendations");
    cr_assert_eq(json_array_size(recs), f.n);
    size_t with_node = 0;
    for (size_t i = 0; i < f.n; i++) {
        json_t *node = json_object_get(json_array_get(recs, i), "node");
        cr_assert(json_is_object(node));
        const struct ns_finding *fi = &f.v[i];
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, i), "rule")),
                         fi->rule);
        if (fi->event == NS_NONE || fi->node == NS_NONE) {
            cr_assert_eq(json_object_size(node), 0);
            continue;
        }
        json_t *id = json_object_get(node, m->events[fi->event].name);
        cr_assert(json_is_integer(id));
        json_t *ev = event_view(doc, m->events[fi->event].name);
        json_t *nodes = json_object_get(ev, "nodes");
        size_t at = (size_t)json_integer_value(id);
        cr_assert_lt(at, json_array_size(json_object_get(nodes, "frame")));
        cr_assert_eq(json_integer_value(json_array_get(json_object_get(nodes, "frame"), at)),
                     (int64_t)m->nodes[fi->node].func);
        cr_assert_eq(json_integer_value(json_array_get(json_object_get(nodes, "total"), at)),
                     (int64_t)m->nodes[fi->node].total_weight);
        with_node++;
    }
    ns_findings_free(&f);
    json_decref(doc);
    return with_node;
}

Test(flame_events, recommendations_point_at_nodes_of_their_view)
{
    struct ns_model *m = ip_model();
    check_finding_nodes(m);
    ns_model_free(m);
    /* 100 more samples of compute (stack 1 of the standard fixture): a hot function. */
    struct ns_profile *p = std_profile("hot.nsp", 100);
    tp_samples(p, 100, 1, 10, 1, 1000000);
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    m = build1(p, &o);
    cr_assert_gt(check_finding_nodes(m), 0);
    ns_model_free(m);
    tp_free(p);
}
