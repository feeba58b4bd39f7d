/*
 * The model: tree shape and weights, inline expansion, naming of unknown frames,
 * symbolization once per address, per-sample table, stack ends, merging of processes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"

#define PATH(...) ((const char *const[]){__VA_ARGS__, NULL})

static struct ns_profile *prof;
static struct ns_model *model;
static struct ns_resolver resolver;

static void build_std(int no_inline)
{
    prof = std_profile("std.nsp", 100);
    resolver = std_resolver();
    struct ns_model_options o = {.resolver = &resolver, .no_inline = no_inline};
    model = build1(prof, &o);
}

static void teardown(void)
{
    ns_model_free(model);
    tp_free(prof);
    model = NULL;
    prof = NULL;
}

static void setup(void)
{
    build_std(0);
}

TestSuite(model, .init = setup, .fini = teardown);

static const struct ns_node *node_at(const char *const *path)
{
    uint32_t n = find_path(model, 0, path);
    cr_assert_neq(n, NS_NONE, "path not found");
    return &model->nodes[n];
}

Test(model, event_totals_and_root)
{
    cr_assert_eq(model->nevents, 1);
    const struct ns_event *ev = &model->events[0];
    cr_assert_str_eq(ev->name, "cpu");
    cr_assert_str_eq(ev->unit, "ns");
    cr_assert_eq(ev->period, 1000000);
    cr_assert_eq(ev->count, 15);
    cr_assert_eq(ev->weight, 18000000);
    const struct ns_node *root = &model->nodes[ev->root];
    cr_assert_eq(root->total_count, 15);
    cr_assert_eq(root->total_weight, 18000000);
    cr_assert_eq(root->func, NS_NONE);
    cr_assert_eq(child_count(model, ev->root), 1, "one process node");
}

Test(model, process_node_is_named_after_the_executable)
{
    const struct ns_node *p = node_at(PATH("app"));
    const struct ns_func *f = &model->funcs[p->func];
    cr_assert_eq(f->kind, NS_FUNC_PROCESS);
    cr_assert_eq(f->process, 0);
    cr_assert_eq(p->depth, 1);
    cr_assert_eq(p->total_count, 15);
    cr_assert_eq(p->self_count, 0);
}

Test(model, tree_shape_self_and_total)
{
    const struct ns_node *main_ = node_at(PATH("app", "main"));
    cr_assert_eq(main_->total_count, 15);
    cr_assert_eq(main_->self_count, 0);
    cr_assert_eq(child_count(model, find_path(model, 0, PATH("app", "main"))), 3);

    const struct ns_node *c1 = node_at(PATH("app", "main", "run", "compute"));
    cr_assert_eq(c1->self_count, 8);
    cr_assert_eq(c1->self_weight, 11000000);
    cr_assert_eq(c1->total_count, 8);
    cr_assert_eq(c1->depth, 4);

    const struct ns_node *helper = node_at(PATH("app", "main", "compute", "helper"));
    cr_assert_eq(helper->self_count, 4);
    cr_assert_eq(helper->total_count, 6);
    cr_assert_eq(helper->total_weight, 6000000);
    const struct ns_node *memcpy_ = node_at(PATH("app", "main", "compute", "helper", "memcpy"));
    cr_assert_eq(memcpy_->self_count, 2);
    cr_assert_eq(node_at(PATH("app", "main", "app+0x999"))->self_count, 1);
}

Test(model, siblings_are_ordered_heaviest_first)
{
    uint32_t main_ = find_path(model, 0, PATH("app", "main"));
    const char *expect[] = {"run", "compute", "app+0x999"};
    size_t i = 0;
    for (uint32_t c = model->nodes[main_].first_child; c != NS_NONE;
         c = model->nodes[c].next_sibling, i++)
        cr_assert_str_eq(model->funcs[model->nodes[c].func].name, expect[i]);
    cr_assert_eq(i, 3);
}

Test(model, children_have_larger_indices_and_consistent_links)
{
    for (size_t i = 0; i < model->nnodes; i++) {
        const struct ns_node *n = &model->nodes[i];
        uint64_t child_total = 0;
        for (uint32_t c = n->first_child; c != NS_NONE; c = model->nodes[c].next_sibling) {
            cr_assert_gt(c, i);
            cr_assert_eq(model->nodes[c].parent, i);
            cr_assert_eq(model->nodes[c].depth, n->depth + 1);
            child_total += model->nodes[c].total_count;
        }
        cr_assert_eq(n->total_count, n->self_count + child_total, "node %zu", i);
    }
}

Test(model, inlined_frames_are_frames_of_their_own)
{
    uint32_t helper = find_func(model, "helper");
    cr_assert_neq(helper, NS_NONE);
    cr_assert_eq(model->funcs[helper].inlined, 1);
    cr_assert_str_eq(model->funcs[helper].file, "/src/util.h");
    cr_assert_str_eq(model->funcs[helper].module, "app");
    cr_assert_eq(model->funcs[helper].symbolized, 1);
    /* compute reached through the inlining address is the same function node as the
     * directly sampled compute: one func, not inlined. */
    size_t computes = 0;
    for (size_t i = 0; i < model->nfuncs; i++)
        computes += strcmp(model->funcs[i].name, "compute") == 0;
    cr_assert_eq(computes, 1);
    cr_assert_eq(model->funcs[find_func(model, "compute")].inlined, 0);
    cr_assert_eq(model->no_inline, 0);
}

Test(model, unknown_frames_are_named_module_plus_address)
{
    uint32_t f = find_func(model, "app+0x999");
    cr_assert_neq(f, NS_NONE);
    cr_assert_eq(model->funcs[f].symbolized, 0);
    cr_assert_str_eq(model->funcs[f].module, "app");
    cr_assert_str_eq(model->funcs[f].file, "");
}

Test(model, each_distinct_address_is_symbolized_once)
{
    /* 7 distinct (mapping, addr) pairs over 15 samples and 5 stacks. */
    cr_assert_eq(std_fake.lookups, 7);
    /* Module status asked once per module: app and libc. */
    cr_assert_eq(std_fake.status_queries, 2);
}

Test(model, samples_table_points_at_leaves)
{
    cr_assert_eq(model->nsamples, 15);
    uint64_t weight = 0;
    for (size_t i = 0; i < model->nsamples; i++) {
        const struct ns_sample *s = &model->samples[i];
        cr_assert_gt(model->nodes[s->node].self_count, 0);
        cr_assert_lt(s->thread, model->nthreads);
        weight += s->weight;
    }
    cr_assert_eq(weight, 18000000);
    /* The first sample of the file: tid 10, time 0, leaf compute under run. */
    const struct ns_sample *s0 = &model->samples[0];
    cr_assert_eq(model->threads[s0->thread].tid, 10);
    cr_assert_eq(s0->time_ns, 0);
    cr_assert_eq(s0->node, find_path(model, 0, PATH("app", "main", "run", "compute")));
    cr_assert_eq(ns_model_node_process(model, s0->node), 0);
}

Test(model, stack_end_counts_and_lines)
{
    const struct ns_event *ev = &model->events[0];
    cr_assert_eq(ev->end_count[NSP_END_ROOT], 12);
    cr_assert_eq(ev->end_count[NSP_END_DEPTH], 2);
    cr_assert_eq(ev->end_count[NSP_END_NO_CFI], 1);
    cr_assert_eq(ev->no_line_count, 1, "app+0x999 has no line");
    cr_assert_eq(model->nlines, 4);
}

Test(model, threads_and_their_event_totals)
{
    cr_assert_eq(model->nthreads, 3);
    for (size_t i = 0; i < model->nthreads; i++) {
        const struct ns_thread *t = &model->threads[i];
        const struct ns_thread_event *te = &model->thread_events[i * model->nevents];
        cr_assert(t->matched);
        cr_assert(t->has_stats);
        if (t->tid == 10) {
            cr_assert_str_eq(t->name, "app");
            cr_assert_eq(te->count, 6);
            cr_assert_eq(te->weight, 6000000);
        } else if (t->tid == 12) {
            cr_assert_str_eq(t->name, "worker");
            cr_assert_eq(te->count, 6);
            cr_assert_eq(t->cpu_ns, 12000000);
            cr_assert_eq(t->stat_samples, 6);
        }
    }
}

Test(model, modules_carry_status_and_leaf_samples)
{
    cr_assert_eq(model->nmodules, 2);
    const struct ns_module *libc = &model->modules[1];
    cr_assert_str_eq(libc->path, "/lib/libc.so.6");
    cr_assert_str_eq(libc->base, "libc.so.6");
    cr_assert_str_eq(libc->build_id, "abcd6f12");
    cr_assert(libc->status_known);
    cr_assert_eq(libc->status, NS_SYM_NO_DEBUG_INFO);
    cr_assert_str_eq(libc->detail, "no .debug_info in /lib/libc.so.6");
    cr_assert_eq(libc->leaf_samples, 2);
    cr_assert_eq(model->modules[0].leaf_samples, 13);
}

Test(model, process_facts_are_copied)
{
    const struct ns_process *p = &model->processes[0];
    cr_assert_eq(p->pid, 100);
    cr_assert_str_eq(p->exe, "/usr/bin/app");
    cr_assert_str_eq(p->name, "app");
    cr_assert_str_eq(p->path, "std.nsp");
    cr_assert_str_eq(ns_model_setting(p, "freq"), "1000");
    cr_assert_null(ns_model_setting(p, "nope"));
    cr_assert_eq(ns_model_counter(p, "dropped_ring_full"), 3);
    cr_assert_eq(p->nnotes, 2);
    cr_assert_eq(p->notes[0].level, 1);
    cr_assert_str_eq(p->notes[0].code, "cpu_timer_rate");
    cr_assert(p->has_end);
    cr_assert(p->has_cpu_event);
    cr_assert_eq(p->last_sample_ns, 11000000);
    cr_assert_eq(p->argc, 1);
    cr_assert_str_eq(p->argv[0], "/usr/bin/app");
}

Test(model_options, no_inline_keeps_only_the_containing_function, .fini = teardown)
{
    build_std(1);
    cr_assert_eq(find_func(model, "helper"), NS_NONE);
    const struct ns_node *n = node_at(PATH("app", "main", "compute", "memcpy"));
    cr_assert_eq(n->self_count, 2);
    /* S5's leaf is now compute itself, at the line of the inlined call. */
    cr_assert_eq(node_at(PATH("app", "main", "compute"))->self_count, 4);
    int found33 = 0;
    for (size_t i = 0; i < model->nlines; i++)
        found33 |= model->lines[i].line == 33 && model->lines[i].count == 4;
    cr_assert(found33);
}

Test(model_names, unknown_pseudo_and_missing_resolver)
{
    struct ns_profile *p = tp_new("x.nsp", 7, "/bin/x");
    uint32_t kern = tp_mapping(p, "[kernel]", 4);
    uint32_t lib = tp_mapping(p, "/opt/lib/libz.so.1", 0);
    tp_event(p, 3, "cpu", "ns", 1000);
    uint32_t s =
        tp_stack(p, 3, 3, (uint64_t[]){kern, 0xffffffff81000000ull, 0, 0xdeadbeef, lib, 0x42});
    tp_sample(p, 3, 5, 99, s, 1000);
    struct ns_model *m = build1(p, NULL);
    cr_assert_neq(find_path(m, 0, PATH("x", "libz.so.1+0x42", "[unknown]+0xdeadbeef", "[kernel]")),
                  NS_NONE);
    uint32_t unk = find_func(m, "[unknown]+0xdeadbeef");
    cr_assert_eq(m->funcs[unk].module_index, NS_NONE);
    cr_assert_str_eq(m->funcs[unk].module, "");
    /* A thread the file never described gets an empty name and still counts. */
    cr_assert_eq(m->nthreads, 1);
    cr_assert_str_eq(m->threads[0].name, "");
    cr_assert_eq(m->events[0].end_count[NSP_END_NO_MODULE], 1);
    ns_model_free(m);
    tp_free(p);
}

Test(model_names, lines_from_included_files_stay_one_function)
{
    /* glibc builds vfprintf from several .c files #included into one function: the lines
     * of one function name different files, and it must still be one function. */
    struct ns_profile *p = tp_new("v.nsp", 7, "/bin/v");
    uint32_t mp = tp_mapping(p, "/bin/v", 1);
    tp_event(p, 1, "cpu", "ns", 1);
    uint32_t s1 = tp_stack(p, 0, 1, (uint64_t[]){mp, 1});
    uint32_t s2 = tp_stack(p, 0, 1, (uint64_t[]){mp, 2});
    tp_samples(p, 2, 1, 1, s1, 1);
    tp_samples(p, 3, 1, 1, s2, 1);
    static const struct fake_sym syms[] = {
        {"/bin/v", 1, 1, {{"vfprintf", "vfprintf-internal.c", 10, 0, NULL}}},
        {"/bin/v", 2, 1, {{"vfprintf", "vfprintf-process-arg.c", 20, 0, NULL}}},
    };
    struct fake_resolver fr = {.syms = syms, .nsyms = 2};
    struct ns_resolver r = fake_resolver(&fr);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    uint32_t f = find_func(m, "vfprintf");
    cr_assert_eq(m->nodes[find_path(m, 0, PATH("v", "vfprintf"))].self_count, 5);
    cr_assert_str_eq(m->funcs[f].file, "vfprintf-internal.c", "the first line's file");
    cr_assert_eq(m->nlines, 2);
    for (size_t i = 0; i < m->nlines; i++) {
        cr_assert_eq(m->lines[i].func, f);
        cr_assert_str_eq(m->lines[i].file,
                         m->lines[i].line == 10 ? "vfprintf-internal.c" : "vfprintf-process-arg.c");
    }
    ns_model_free(m);
    tp_free(p);
}

Test(model_names, sample_without_stack_counts_at_the_process)
{
    struct ns_profile *p = tp_new("x.nsp", 7, "");
    tp_event(p, 1, "wall", "ns", 1000);
    tp_sample(p, 1, 5, 1, 0, 1000);
    tp_sample(p, 1, 6, 1, 77, 1000); /* an id past the table reads as "no stack" */
    struct ns_model *m = build1(p, NULL);
    uint32_t proc = find_path(m, 0, PATH("[unknown]"));
    cr_assert_neq(proc, NS_NONE);
    cr_assert_eq(m->nodes[proc].self_count, 2);
    cr_assert_eq(m->events[0].end_count[NSP_END__COUNT], 2);
    ns_model_free(m);
    tp_free(p);
}

Test(model_merge, processes_keep_their_identity_events_merge_by_name)
{
    struct ns_profile *a = std_profile("a.nsp", 100);
    struct ns_profile *b = std_profile("b.nsp", 200);
    b->process.exec_index = 1;
    free(b->process.exe.s);
    b->process.exe.s = strdup("/usr/bin/other");
    b->process.exe.len = (uint32_t)strlen(b->process.exe.s);
    b->events[0].id = 9; /* the same event under another id in the second file */
    for (size_t i = 0; i < b->samples.n; i++)
        b->samples.event[i] = 9;
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    const struct ns_profile *both[] = {a, b};
    struct ns_model *m = buildn(both, 2, &o);
    cr_assert_eq(m->nprocesses, 2);
    cr_assert_eq(m->nevents, 1);
    cr_assert_eq(m->events[0].count, 30);
    cr_assert_eq(m->processes[1].pid, 200);
    cr_assert_eq(m->processes[1].exec_index, 1);
    cr_assert_str_eq(m->processes[1].name, "other");
    cr_assert_eq(child_count(m, m->events[0].root), 2);
    cr_assert_eq(m->nodes[find_path(m, 0, PATH("other", "main"))].total_count, 15);
    cr_assert_eq(m->nthreads, 6, "threads are per process");
    cr_assert_eq(m->nmodules, 2, "same path and build-id: one module");
    cr_assert_eq(m->modules[1].leaf_samples, 4);
    uint32_t last = m->samples[m->nsamples - 1].node;
    cr_assert_eq(ns_model_node_process(m, last), 1);
    ns_model_free(m);
    tp_free(a);
    tp_free(b);
}

Test(model_merge, counters_keep_the_last_value_per_name)
{
    struct ns_profile *p = std_profile("a.nsp", 1);
    tp_counter(p, "dropped_ring_full", 9);
    struct ns_model *m = build1(p, NULL);
    cr_assert_eq(ns_model_counter(&m->processes[0], "dropped_ring_full"), 9);
    size_t n = 0;
    for (size_t i = 0; i < m->processes[0].ncounters; i++)
        n += strcmp(m->processes[0].counters[i].name, "dropped_ring_full") == 0;
    cr_assert_eq(n, 1);
    ns_model_free(m);
    tp_free(p);
}

Test(model_merge, weights_saturate_instead_of_wrapping)
{
    struct ns_profile *p = tp_new("x.nsp", 7, "/bin/x");
    tp_event(p, 1, "alloc_bytes", "bytes", 1);
    tp_sample(p, 1, 1, 1, 0, UINT64_MAX - 5);
    tp_sample(p, 1, 2, 1, 0, 100);
    struct ns_model *m = build1(p, NULL);
    cr_assert_eq(m->events[0].weight, UINT64_MAX);
    cr_assert_eq(m->events[0].count, 2);
    ns_model_free(m);
    tp_free(p);
}

struct progress_log {
    size_t calls;
    uint64_t last_done, last_total;
};

static void log_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_log *l = ctx;
    cr_assert_leq(done, total);
    l->calls++;
    l->last_done = done;
    l->last_total = total;
}

Test(model_options, progress_reaches_the_end)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct progress_log log = {0};
    struct ns_model_options o = {.progress = log_progress, .progress_ctx = &log};
    struct ns_model *m = build1(p, &o);
    cr_assert_geq(log.calls, 2);
    cr_assert_eq(log.last_total, 5, "one step per distinct stack");
    cr_assert_eq(log.last_done, log.last_total);
    ns_model_free(m);
    tp_free(p);
}
