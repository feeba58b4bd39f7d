/*
 * Rankings: functions by self and total (recursion counted once), hot lines (inlined
 * frames at their own line), threads grouped by name, processes.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rank.h"

static struct ns_profile *prof;
static struct ns_model *model;
static struct ns_resolver resolver;

static void setup(void)
{
    prof = std_profile("std.nsp", 100);
    resolver = std_resolver();
    struct ns_model_options o = {.resolver = &resolver};
    model = build1(prof, &o);
}

static void teardown(void)
{
    ns_model_free(model);
    tp_free(prof);
}

TestSuite(rank, .init = setup, .fini = teardown);

static const struct ns_func_stat *stat_of(const struct ns_func_stat *fs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(model->funcs[fs[i].func].name, name) == 0)
            return &fs[i];
    return NULL;
}

Test(rank, functions_by_self)
{
    struct ns_func_stat *fs;
    size_t n;
    cr_assert_eq(ns_rank_functions(model, 0, &fs, &n), 0);
    cr_assert_eq(n, 6, "main run compute helper memcpy app+0x999");
    const char *order[] = {"compute", "helper", "memcpy", "app+0x999"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(model->funcs[fs[i].func].name, order[i]);
    cr_assert_eq(fs[0].self_count, 8);
    cr_assert_eq(fs[0].self_weight, 11000000);
    cr_assert_eq(fs[0].total_count, 14);
    cr_assert_eq(fs[0].total_weight, 17000000);
    cr_assert_eq(fs[0].hot_line, 31, "line 31 has 6 ms, line 30 5 ms");
    cr_assert_eq(fs[1].hot_line, 5);
    cr_assert_eq(fs[3].hot_line, 0);
    const struct ns_func_stat *main_ = stat_of(fs, n, "main");
    cr_assert_eq(main_->self_count, 0);
    cr_assert_eq(main_->total_count, 15);
    free(fs);
}

Test(rank, functions_by_total)
{
    struct ns_func_stat *fs;
    size_t n;
    cr_assert_eq(ns_rank_functions(model, 0, &fs, &n), 0);
    ns_rank_sort_by_total(model, fs, n);
    const char *order[] = {"main", "compute", "run", "helper", "memcpy", "app+0x999"};
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(model->funcs[fs[i].func].name, order[i]);
    free(fs);
}

Test(rank_recursion, total_counts_a_function_once_per_stack)
{
    struct ns_profile *p = tp_new("r.nsp", 1, "/bin/rec");
    uint32_t m = tp_mapping(p, "/bin/rec", 1);
    tp_event(p, 1, "cpu", "ns", 10);
    /* main > f > g > f > g (leaf g) x3, and main > f (leaf f) x1 */
    uint32_t deep = tp_stack(p, 0, 5, (uint64_t[]){m, 2, m, 1, m, 2, m, 1, m, 0});
    uint32_t flat = tp_stack(p, 0, 2, (uint64_t[]){m, 1, m, 0});
    tp_samples(p, 3, 1, 5, deep, 10);
    tp_samples(p, 1, 1, 5, flat, 10);
    static const struct fake_sym syms[] = {
        {"/bin/rec", 0, 1, {{"main", "r.c", 1, 0, NULL}}},
        {"/bin/rec", 1, 1, {{"f", "r.c", 2, 0, NULL}}},
        {"/bin/rec", 2, 1, {{"g", "r.c", 3, 0, NULL}}},
    };
    struct fake_resolver fr = {.syms = syms, .nsyms = 3};
    struct ns_resolver r = fake_resolver(&fr);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *mod = build1(p, &o);
    struct ns_func_stat *fs;
    size_t n;
    cr_assert_eq(ns_rank_functions(mod, 0, &fs, &n), 0);
    for (size_t i = 0; i < n; i++) {
        const char *name = mod->funcs[fs[i].func].name;
        if (strcmp(name, "f") == 0) {
            cr_assert_eq(fs[i].total_count, 4, "f: every sample once");
            cr_assert_eq(fs[i].self_count, 1);
        } else if (strcmp(name, "g") == 0) {
            cr_assert_eq(fs[i].total_count, 3, "g: the deep stacks once each, not twice");
            cr_assert_eq(fs[i].self_count, 3);
            cr_assert_eq(fs[i].total_weight, 30);
        } else {
            cr_assert_str_eq(name, "main");
            cr_assert_eq(fs[i].total_count, 4);
        }
    }
    free(fs);
    ns_model_free(mod);
    tp_free(p);
}

Test(rank, lines_rank_leaf_lines_with_inlined_frames_at_their_own_line)
{
    const struct ns_line **lines;
    size_t n;
    cr_assert_eq(ns_rank_lines(model, 0, &lines, &n), 0);
    cr_assert_eq(n, 4);
    struct {
        const char *file;
        uint32_t line;
        uint64_t count, weight;
    } expect[] = {
        {"/src/app.c", 31, 3, 6000000},
        {"/src/app.c", 30, 5, 5000000},
        {"/src/util.h", 5, 4, 4000000},
        {"memcpy.S", 100, 2, 2000000},
    };
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(model->funcs[lines[i]->func].file, expect[i].file);
        cr_assert_eq(lines[i]->line, expect[i].line);
        cr_assert_eq(lines[i]->count, expect[i].count);
        cr_assert_eq(lines[i]->weight, expect[i].weight);
    }
    cr_assert_str_eq(model->funcs[lines[2]->func].name, "helper");
    free(lines);
}

Test(rank, threads_grouped_by_name)
{
    struct ns_thread_group *g;
    size_t n;
    cr_assert_eq(ns_rank_thread_groups(model, 0, &g, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(g[0].name, "worker");
    cr_assert_eq(g[0].ntids, 2);
    cr_assert_eq(g[0].tids[0], 11);
    cr_assert_eq(g[0].tids[1], 12);
    cr_assert_eq(g[0].count, 9);
    cr_assert_eq(g[0].weight, 12000000);
    cr_assert(g[0].has_stats);
    cr_assert_eq(g[0].cpu_ns, 16000000);
    cr_assert_eq(g[0].stat_samples, 9);
    cr_assert_str_eq(g[1].name, "app");
    cr_assert_eq(g[1].count, 6);
    ns_rank_thread_groups_free(g, n);
}

Test(rank, threads_with_cpu_but_no_samples_are_listed)
{
    ns_model_free(model);
    tp_thread(prof, 13, "idle-but-busy");
    tp_thread_stats(prof, 13, 50000000, 0);
    struct ns_model_options o = {.resolver = &resolver};
    model = build1(prof, &o);
    struct ns_thread_group *g;
    size_t n;
    cr_assert_eq(ns_rank_thread_groups(model, 0, &g, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(g[2].name, "idle-but-busy");
    cr_assert_eq(g[2].count, 0);
    cr_assert_eq(g[2].cpu_ns, 50000000);
    ns_rank_thread_groups_free(g, n);
}

Test(rank, processes_split)
{
    struct ns_profile *other = std_profile("o.nsp", 200);
    other->samples.n = 4; /* only S1's first four samples */
    ns_model_free(model);
    struct ns_model_options o = {.resolver = &resolver};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    struct ns_process_stat *ps;
    size_t n;
    cr_assert_eq(ns_rank_processes(model, 0, &ps, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(model->processes[ps[0].process].pid, 100);
    cr_assert_eq(ps[0].count, 15);
    cr_assert_eq(model->processes[ps[1].process].pid, 200);
    cr_assert_eq(ps[1].count, 4);
    cr_assert_eq(ps[1].weight, 4000000);
    free(ps);
    tp_free(other);
}

Test(rank, pct)
{
    cr_assert_float_eq(ns_pct(1, 4), 25.0, 1e-9);
    cr_assert_float_eq(ns_pct(1, 0), 0.0, 1e-9);
}
