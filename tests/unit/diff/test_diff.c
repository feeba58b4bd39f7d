/*
 * ns_diff_build on models built in memory: matching (soname versions, a renamed executable,
 * source files under another build directory, unnamed frames), normalisation, verdicts
 * of exact counts, and the gate (general limit, a function's own limit, --min-share).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "diff.h"
#include "helpers.h"

/* Functions at fixed addresses of each build; the after build moved everything by 0x1000. */
static const struct fake_sym syms[] = {
    {"/usr/bin/app-1", 0x100, 1, {{"main", "/src/app.c", 10, 0}}},
    {"/usr/bin/app-1", 0x200, 1, {{"helper", "/src/a.c", 5, 0}}},
    {"/usr/bin/app-1", 0x300, 1, {{"helper", "/src/b.c", 5, 0}}},
    {"/usr/bin/app-1", 0x400, 1, {{"slow", "/src/app.c", 40, 0}}},
    {"/lib/libfoo.so.1", 0x50, 1, {{"foo", "foo.c", 1, 0}}},
    {"/usr/bin/app-2", 0x1100, 1, {{"main", "/build2/src/app.c", 10, 0}}},
    {"/usr/bin/app-2", 0x1200, 1, {{"helper", "/build2/src/a.c", 5, 0}}},
    {"/usr/bin/app-2", 0x1300, 1, {{"helper", "/build2/src/b.c", 5, 0}}},
    {"/usr/bin/app-2", 0x1400, 1, {{"slow", "/build2/src/app.c", 40, 0}}},
    {"/lib/libfoo.so.2", 0x70, 1, {{"foo", "foo.c", 1, 0}}},
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
    /* helper of a.c and helper of b.c are one function of the model (it keys functions by
     * name and module, as the report shows them): matched, with its file from the build
     * directory that moved. */
    const struct ns_diff_row *ha = row("helper", NULL);
    cr_assert_not_null(ha);
    cr_assert_eq(ha->presence, NS_DIFF_BOTH);
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
