/*
 * ns_diff_build on models built in memory: matching (soname versions, a renamed executable,
 * source files under another build directory, unnamed frames), normalisation, verdicts
 * of exact counts, and the gate (general limit, a function's own limit, --min-share).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "diff.h"
#include "diff_flame.h"
#include "helpers.h"

/* Functions at fixed addresses of each build; the after build moved everything by 0x1000 and
 * was built in another directory. helper is two static functions, of a.c and of b.c. */
static const struct fake_sym syms[] = {
    {"/usr/bin/app-1", 0x100, 1, {{"main", "/src/app.c", 10, 0, NULL}}},
    {"/usr/bin/app-1", 0x200, 1, {{"helper", "/src/a.c", 5, 0, "/src/a.c"}}},
    {"/usr/bin/app-1", 0x300, 1, {{"helper", "/src/b.c", 5, 0, "/src/b.c"}}},
    {"/usr/bin/app-1", 0x400, 1, {{"slow", "/src/app.c", 40, 0, NULL}}},
    {"/lib/libfoo.so.1", 0x50, 1, {{"foo", "foo.c", 1, 0, NULL}}},
    {"/usr/bin/app-2", 0x1100, 1, {{"main", "/build2/src/app.c", 10, 0, NULL}}},
    {"/usr/bin/app-2", 0x1200, 1, {{"helper", "/build2/src/a.c", 5, 0, "/build2/src/a.c"}}},
    {"/usr/bin/app-2", 0x1300, 1, {{"helper", "/build2/src/b.c", 5, 0, "/build2/src/b.c"}}},
    {"/usr/bin/app-2", 0x1400, 1, {{"slow", "/build2/src/app.c", 40, 0, NULL}}},
    {"/lib/libfoo.so.2", 0x70, 1, {{"foo", "foo.c", 1, 0, NULL}}},
};

static struct fake_resolver fake;
static struct ns_profile *profs[8];
static struct ns_model *models[8];
static size_t nmodels;
static struct ns_diff *diff;

/* One run: samples (of 1 ms) in main -> helper(a.c), main -> helper(b.c), main -> slow,
 * main -> foo, and main -> an unnamed address; counts given per stack. */
static struct ns_model *run(int after, uint64_t a, uint64_t b, uint64_t slow, uint64_t foo,
                            uint64_t unnamed, const char *event_unit, int aggregate)
{
    struct ns_profile *p = tp_new(after ? "after.nsp" : "before.nsp", 100,
                                  after ? "/usr/bin/app-2" : "/usr/bin/app-1");
    uint64_t off = after ? 0x1000 : 0;
    uint32_t app = tp_mapping(p, after ? "/usr/bin/app-2" : "/usr/bin/app-1", 1);
    uint32_t lib = tp_mapping(p, after ? "/lib/libfoo.so.2" : "/lib/libfoo.so.1", 0);
    if (aggregate)
        tp_event_flags(p, 1, "alloc_count", event_unit, 1, NSP_EVENT_AGGREGATE);
    else
        tp_event(p, 1, "cpu", event_unit, 1000000);
    tp_thread(p, 100, "app");
    uint64_t counts[] = {a, b, slow, foo, unnamed};
    uint64_t frames[][4] = {
        {app, 0x200 + off, app, 0x100 + off}, {app, 0x300 + off, app, 0x100 + off},
        {app, 0x400 + off, app, 0x100 + off}, {lib, after ? 0x70 : 0x50, app, 0x100 + off},
        {app, 0x999 + off, app, 0x100 + off},
    };
    for (size_t s = 0; s < 5; s++) {
        uint32_t st = tp_stack(p, 0, 2, frames[s]);
        for (uint64_t i = 0; i < counts[s]; i++)
            tp_sample(p, 1, (int64_t)i * 1000, 100, st, aggregate ? 1 : 1000000);
    }
    tp_end(p, 0, 0, 1000000000);
    memset(&fake, 0, sizeof(fake));
    fake.syms = syms;
    fake.nsyms = sizeof(syms) / sizeof(syms[0]);
    struct ns_resolver r = fake_resolver(&fake);
    struct ns_model_options o = {.resolver = &r, .dpkg_info_dir = ""};
    profs[nmodels] = p;
    return models[nmodels++] = build1(p, &o);
}

static void teardown(void)
{
    ns_diff_free(diff);
    diff = NULL;
    for (size_t i = 0; i < nmodels; i++) {
        ns_model_free(models[i]);
        tp_free(profs[i]);
    }
    nmodels = 0;
}

TestSuite(diff, .fini = teardown);

static const struct ns_diff_row *row(const char *function, const char *file_suffix)
{
    for (size_t i = 0; i < diff->nrows; i++) {
        const struct ns_diff_row *r = &diff->rows[i];
        size_t fl = strlen(r->file), sl = file_suffix ? strlen(file_suffix) : 0;
        if (strcmp(r->function, function) == 0 &&
            (!file_suffix || (fl >= sl && strcmp(r->file + fl - sl, file_suffix) == 0)))
            return r;
    }
    return NULL;
}

static void build_diff(struct ns_model *before, struct ns_model *after,
                       const struct ns_diff_options *o)
{
    char err[256] = "";
    const struct ns_model *b[] = {before}, *a[] = {after};
    cr_assert_eq(ns_diff_build(b, 1, a, 1, o, &diff, err, sizeof(err)), 0, "%s", err);
}

Test(diff, matches_across_a_rebuild_by_name_module_and_file)
{
    struct ns_model *b = run(0, 100, 100, 400, 100, 10, "ns", 0);
    struct ns_model *a = run(1, 100, 100, 100, 100, 0, "ns", 0);
    build_diff(b, a, &(struct ns_diff_options){0});
    /* helper of a.c and helper of b.c are two functions (DWARF declares them in two files),
     * each matched with its own across the build directory that moved. */
    const struct ns_diff_row *ha = row("helper", "/a.c"), *hb = row("helper", "/b.c");
    cr_assert_not_null(ha);
    cr_assert_not_null(hb);
    cr_assert_neq(ha, hb);
    cr_assert_eq(ha->presence, NS_DIFF_BOTH);
    cr_assert_eq(hb->presence, NS_DIFF_BOTH);
    /* The executable was renamed (app-1 -> app-2), libfoo.so.1 became .so.2: matched. */
    cr_assert_eq(row("main", NULL)->presence, NS_DIFF_BOTH);
    cr_assert_eq(row("foo", NULL)->presence, NS_DIFF_BOTH);
    const struct ns_diff_row *slow = row("slow", NULL);
    cr_assert_float_eq(slow->self.before, 400e6, 1);
    cr_assert_float_eq(slow->self.after, 100e6, 1);
    cr_assert_float_eq(slow->self.delta_pct, -75.0, 1e-9);
    cr_assert_eq(slow->self.noise, 0);
    cr_assert_eq(ha->self.noise, 1);
    /* The unnamed frame (10 of 710 samples) is only before: reported as unmatched. */
    cr_assert_float_eq(diff->unmatched_before, 100.0 * 10 / 710, 1e-6);
    cr_assert_float_eq(diff->total.delta_pct, 100.0 * (400 - 710) / 710.0, 1e-6);
    cr_assert_eq(diff->total.noise, 0);
}

Test(diff, share_normalisation_sums_to_a_hundred)
{
    struct ns_model *b = run(0, 100, 100, 200, 100, 0, "ns", 0);
    struct ns_model *a = run(1, 200, 200, 400, 200, 0, "ns", 0);
    build_diff(b, a, &(struct ns_diff_options){.normalize = NS_DIFF_SHARE});
    cr_assert_str_eq(diff->unit, "%");
    cr_assert_float_eq(row("slow", NULL)->self.before, 40.0, 1e-9);
    cr_assert_float_eq(row("slow", NULL)->self.after, 40.0, 1e-9);
    /* Everything doubled: no share moved. */
    for (size_t i = 0; i < diff->nrows; i++)
        cr_assert(diff->rows[i].self.noise, "%s", diff->rows[i].function);
}

Test(diff, exact_counts_have_no_sampling_noise)
{
    struct ns_model *b = run(0, 1000, 1000, 1000, 1000, 0, "count", 1);
    struct ns_model *a = run(1, 1000, 1000, 1001, 1000, 0, "count", 1);
    build_diff(b, a, &(struct ns_diff_options){.event = "alloc_count"});
    cr_assert_eq(diff->kind, NS_DIFF_EXACT);
    cr_assert_eq(row("slow", NULL)->self.noise, 0, "one more call is a real change");
    cr_assert_eq(row("helper", NULL)->self.noise, 1);
}

Test(diff, gate_limits_and_min_share)
{
    struct ns_model *b = run(0, 1000, 1000, 1000, 1000, 0, "count", 1);
    struct ns_model *a = run(1, 1000, 1000, 1300, 1010, 0, "count", 1);
    build_diff(b, a, &(struct ns_diff_options){.event = "alloc_count"});
    int total;
    size_t *rows, n;
    /* 10%: slow grew 30% (fails), foo 1% (passes), the total 7.75% (passes). */
    struct ns_diff_limit ten[] = {{NULL, 10}};
    struct ns_diff_gate g = {ten, 1, 1.0};
    cr_assert_eq(ns_diff_gate_check(diff, &g, &total, &rows, &n), 0);
    cr_assert_eq(total, 0);
    int slow_fails = 0;
    for (size_t i = 0; i < n; i++) {
        slow_fails |= strcmp(diff->rows[rows[i]].function, "slow") == 0;
        cr_assert_neq(strcmp(diff->rows[rows[i]].function, "foo"), 0);
    }
    cr_assert(slow_fails);
    free(rows);
    /* slow's own limit of 50% lets it pass; foo's of 0.5% fails it. */
    struct ns_diff_limit own[] = {{NULL, 10}, {"slow", 50}, {"foo", 0.5}};
    g = (struct ns_diff_gate){own, 3, 1.0};
    cr_assert_eq(ns_diff_gate_check(diff, &g, &total, &rows, &n), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_neq(strcmp(diff->rows[rows[i]].function, "slow"), 0);
    int foo_fails = 0;
    for (size_t i = 0; i < n; i++)
        foo_fails |= strcmp(diff->rows[rows[i]].function, "foo") == 0;
    cr_assert(foo_fails);
    free(rows);
    /* --min-share above slow's share (30% of the total): it cannot fail on its own. */
    g = (struct ns_diff_gate){ten, 1, 99.0};
    cr_assert_eq(ns_diff_gate_check(diff, &g, &total, &rows, &n), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_neq(strcmp(diff->rows[rows[i]].function, "slow"), 0);
    free(rows);
}

Test(diff, an_event_a_run_lacks_is_an_error)
{
    struct ns_model *b = run(0, 1, 1, 1, 1, 0, "ns", 0);
    struct ns_model *a = run(1, 1, 1, 1, 1, 0, "ns", 0);
    char err[256];
    const struct ns_model *bv[] = {b}, *av[] = {a};
    cr_assert_eq(ns_diff_build(bv, 1, av, 1, &(struct ns_diff_options){.event = "wall"}, &diff, err,
                               sizeof(err)),
                 -1);
    cr_assert(strstr(err, "has no wall event"), "%s", err);
}

/* The differential flame graph's data (diff_flame.h) of b and a, parsed. */
static json_t *flame_doc(struct ns_model *b, struct ns_model *a, const struct ns_diff_options *o,
                         struct ns_buf *out)
{
    char err[256] = "";
    const struct ns_model *bv[] = {b}, *av[] = {a};
    struct ns_flame_data_options fo = {.producer = "test"};
    cr_assert_eq(ns_diff_flame_json(bv, 1, av, 1, o, &fo, out, err, sizeof(err)), 0, "%s", err);
    json_error_t jerr;
    json_t *doc = json_loadb(out->s, out->len, 0, &jerr);
    cr_assert_not_null(doc, "not JSON: %s", jerr.text);
    return doc;
}

/* The union node reached by the frames named in path (from the process down), or -1. */
static long union_node(json_t *doc, const char *const *path, size_t n)
{
    json_t *ev = json_array_get(json_object_get(doc, "events"), 0);
    json_t *nodes = json_object_get(ev, "nodes"), *strings = json_object_get(doc, "strings");
    json_t *depth = json_object_get(nodes, "depth"), *frame = json_object_get(nodes, "frame");
    json_t *names = json_object_get(json_object_get(doc, "frames"), "name");
    size_t at = 1; /* path[at - 1] is looked for at depth at (the process is at depth 1) */
    for (size_t i = 1; i < json_array_size(depth); i++) {
        long d = (long)json_integer_value(json_array_get(depth, i));
        if (d < (long)at - 1 && at > 1)
            return -1; /* left the subtree of the last match */
        if (d != (long)at)
            continue;
        long f = (long)json_integer_value(json_array_get(frame, i));
        const char *name = json_string_value(
            json_array_get(strings, json_integer_value(json_array_get(names, f))));
        if ((size_t)d == at && strcmp(name, path[at - 1]) == 0) {
            if (at == n)
                return (long)i;
            at++;
        }
    }
    return -1;
}

static double column_at(json_t *doc, const char *column, long node)
{
    json_t *ev = json_array_get(json_object_get(doc, "events"), 0);
    return json_number_value(
        json_array_get(json_object_get(json_object_get(ev, "nodes"), column), (size_t)node));
}

/* A run's self weight at a node, from its delta-coded entries. */
static double run_weight(json_t *doc, size_t run, long node)
{
    json_t *ev = json_array_get(json_object_get(doc, "events"), 0);
    json_t *r = json_array_get(json_object_get(json_object_get(ev, "diff"), "runs"), run);
    json_t *ids = json_object_get(json_object_get(r, "nodes"), "node");
    json_t *w = json_object_get(json_object_get(r, "nodes"), "weight");
    long id = 0;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        id += (long)json_integer_value(json_array_get(ids, i));
        if (id == node)
            return json_number_value(json_array_get(w, i));
    }
    return 0.0;
}

Test(diff, flame_data_is_the_union_of_both_trees_matched_by_name)
{
    struct ns_model *b = run(0, 100, 100, 400, 100, 10, "ns", 0);
    struct ns_model *a = run(1, 100, 100, 100, 100, 0, "ns", 0);
    struct ns_buf out = {0};
    json_t *doc = flame_doc(b, a, &(struct ns_diff_options){0}, &out);
    /* The renamed executable (app-1 -> app-2), libfoo.so.1 -> .so.2: one path each. */
    const char *slow[] = {"app", "main", "slow"}, *foo[] = {"app", "main", "foo"};
    long s = union_node(doc, slow, 3), f = union_node(doc, foo, 3);
    cr_assert_geq(s, 0, "no union node main;slow");
    cr_assert_geq(f, 0, "no union node main;foo (libfoo.so.1 and .2 are one module)");
    cr_assert_float_eq(column_at(doc, "self", s), 100e6, 1, "after side's weight");
    cr_assert_float_eq(run_weight(doc, 0, s), 400e6, 1, "the before run's own weight");
    cr_assert_float_eq(run_weight(doc, 1, s), 100e6, 1);
    /* The unnamed frame is before only: in the union, weightless after. */
    json_t *ev = json_array_get(json_object_get(doc, "events"), 0);
    cr_assert_float_eq(json_number_value(json_object_get(ev, "total")), 400e6, 1);
    json_t *d = json_object_get(ev, "diff");
    cr_assert_float_eq(json_number_value(json_object_get(d, "before_total")), 710e6, 1);
    cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), "sampled");
    json_t *top = json_object_get(doc, "diff");
    cr_assert_str_eq(json_string_value(json_object_get(top, "normalize")), "runs");
    cr_assert_str_eq(json_string_value(json_object_get(top, "before_command")), "/usr/bin/app-1");
    cr_assert_str_eq(json_string_value(json_object_get(doc, "command")), "/usr/bin/app-2");
    /* Equal runs, equal bytes. */
    struct ns_buf again = {0};
    json_decref(flame_doc(b, a, &(struct ns_diff_options){0}, &again));
    cr_assert_eq(again.len, out.len);
    cr_assert_eq(memcmp(again.s, out.s, out.len), 0, "the document is not deterministic");
    ns_buf_free(&again);
    ns_buf_free(&out);
    json_decref(doc);
}

Test(diff, flame_data_normalizes_each_run_by_its_factor)
{
    struct ns_model *b = run(0, 100, 100, 200, 100, 0, "ns", 0);
    struct ns_model *a = run(1, 200, 200, 400, 200, 0, "ns", 0);
    struct ns_buf out = {0};
    json_t *doc = flame_doc(b, a, &(struct ns_diff_options){.normalize = NS_DIFF_SHARE}, &out);
    json_t *ev = json_array_get(json_object_get(doc, "events"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "unit")), "%");
    cr_assert_float_eq(json_number_value(json_object_get(ev, "total")), 100.0, 1e-6);
    json_t *runs = json_object_get(json_object_get(ev, "diff"), "runs");
    cr_assert_float_eq(json_number_value(json_object_get(json_array_get(runs, 0), "factor")),
                       100.0 / 500e6, 1e-18);
    const char *slow[] = {"app", "main", "slow"};
    cr_assert_float_eq(column_at(doc, "self", union_node(doc, slow, 3)), 40.0, 1e-6);
    ns_buf_free(&out);
    json_decref(doc);
}

Test(diff, flame_data_needs_an_event_of_every_run)
{
    struct ns_model *b = run(0, 1, 1, 1, 1, 0, "ns", 0);
    struct ns_model *a = run(1, 1, 1, 1, 1, 0, "count", 1); /* alloc_count only */
    const struct ns_model *bv[] = {b}, *av[] = {a};
    struct ns_buf out = {0};
    char err[256] = "";
    cr_assert_eq(ns_diff_flame_json(bv, 1, av, 1, &(struct ns_diff_options){0}, NULL, &out, err,
                                    sizeof(err)),
                 -1);
    cr_assert(strstr(err, "no event in common"), "%s", err);
    ns_buf_free(&out);
}

Test(diff, two_static_functions_of_one_name_are_told_apart)
{
    /* helper of a.c got 3 times cheaper, helper of b.c 3 times dearer: together they did not
     * move, and a diff that merged them would say nothing changed. */
    struct ns_model *b = run(0, 300, 100, 100, 100, 0, "ns", 0);
    struct ns_model *a = run(1, 100, 300, 100, 100, 0, "ns", 0);
    build_diff(b, a, &(struct ns_diff_options){0});
    const struct ns_diff_row *ha = row("helper", "/a.c"), *hb = row("helper", "/b.c");
    cr_assert_float_eq(ha->self.before, 300e6, 1);
    cr_assert_float_eq(ha->self.after, 100e6, 1);
    cr_assert_float_eq(hb->self.before, 100e6, 1);
    cr_assert_float_eq(hb->self.after, 300e6, 1);
    cr_assert_eq(ha->self.noise, 0);
    cr_assert_eq(hb->self.noise, 0);
    /* The page's frames too: two helpers under main, each with its own before and after. */
    struct ns_buf out = {0};
    json_t *doc = flame_doc(b, a, &(struct ns_diff_options){0}, &out);
    json_t *files = json_object_get(json_object_get(doc, "frames"), "file");
    json_t *names = json_object_get(json_object_get(doc, "frames"), "name");
    json_t *strings = json_object_get(doc, "strings");
    int helpers = 0;
    for (size_t f = 0; f < json_array_size(names); f++)
        helpers += strcmp(json_string_value(json_array_get(
                              strings, json_integer_value(json_array_get(names, f)))),
                          "helper") == 0;
    cr_assert_eq(helpers, 2, "%zu frames", json_array_size(files));
    ns_buf_free(&out);
    json_decref(doc);
}

Test(diff, static_functions_are_told_apart_when_one_run_holds_both)
{
    /* Before ran both helpers, after only helper of b.c: the before run shows there are
     * two, so helper of a.c vanished and helper of b.c is matched with itself. */
    struct ns_model *b = run(0, 300, 50, 100, 100, 0, "ns", 0);
    struct ns_model *a = run(1, 0, 300, 100, 100, 0, "ns", 0);
    build_diff(b, a, &(struct ns_diff_options){0});
    const struct ns_diff_row *ha = row("helper", "/a.c"), *hb = row("helper", "/b.c");
    cr_assert_not_null(ha);
    cr_assert_not_null(hb);
    cr_assert_eq(ha->presence, NS_DIFF_VANISHED);
    cr_assert_eq(hb->presence, NS_DIFF_BOTH);
    cr_assert_float_eq(hb->self.before, 50e6, 1);
    cr_assert_str_eq(ha->declared_in, "a.c");
    cr_assert_str_eq(hb->declared_in, "b.c");
    cr_assert_str_eq(row("main", NULL)->declared_in, "", "a unique name keeps the plain key");
    ns_diff_free(diff);
    diff = NULL;
    /* No run holds both: one function whose file changed (a move between builds looks the
     * same), matched by name. */
    struct ns_model *b1 = run(0, 300, 0, 100, 100, 0, "ns", 0);
    struct ns_model *a1 = run(1, 0, 300, 100, 100, 0, "ns", 0);
    build_diff(b1, a1, &(struct ns_diff_options){0});
    const struct ns_diff_row *h = row("helper", NULL);
    cr_assert_eq(h->presence, NS_DIFF_BOTH);
    cr_assert_str_eq(h->declared_in, "");
}
