/*
 * The Memory, I/O and Locks sections of the text report on the interposed fixture: exact
 * text of each table, the facts the sections must state (exact or estimated, leak status,
 * idle versus contention), no sampling facts for a profile that did not sample, hostile
 * resource names, --top.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "nsp_format.h"
#include "render.h"

static struct ns_profile *prof;
static struct ns_model *model;
static char *text;

static char *render(const struct ns_model *m, size_t top)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct ns_render_options o = {.top = top};
    cr_assert_eq(ns_render_text(f, m, &o), 0);
    fclose(f);
    return buf;
}

static void build_with(const struct ns_model_options *extra, size_t top)
{
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = extra ? *extra : (struct ns_model_options){0};
    o.resolver = &r;
    model = build1(prof, &o);
    text = render(model, top);
}

static void build(void)
{
    build_with(NULL, 20);
}

static void setup(void)
{
    prof = ip_profile("ip.nsp", 300, "full");
}

static void teardown(void)
{
    free(text);
    ns_model_free(model);
    tp_free(prof);
    text = NULL;
    model = NULL;
}

TestSuite(sections, .init = setup, .fini = teardown);

#define HAS(s)   cr_assert(strstr(text, s), "missing \"%s\" in:\n%s", s, text)
#define HASNT(s) cr_assert_null(strstr(text, s), "unexpected \"%s\" in:\n%s", s, text)

/* Moves every sample of event id `from` to an id the file does not define. */
static void drop_event(struct ns_profile *p, uint32_t from)
{
    for (size_t i = 0; i < p->samples.n; i++)
        if (p->samples.event[i] == from)
            p->samples.event[i] = 999;
}

Test(sections, memory_section)
{
    build();
    HAS("\nMemory\n"
        "  mode         alloc=full: every allocation and free was tracked; the numbers are "
        "exact\n"
        "  allocated    10.2 KiB in 50 allocations (average 208 B)\n"
        "  peak         6.4 KiB live at the heap's peak\n"
        "  live heap    min 0 B, max 6.4 KiB at 3.0 ms (4 points)\n");
    HAS("  leaks        340 B still allocated at exit, from 2 call sites\n");
    HAS("\nAllocation sites by bytes\n"
        "  bytes%    bytes  count     avg  function  location    via     module\n"
        "   76.9%  7.8 KiB      8  1000 B  load      load.c:22   malloc  app\n"
        "   15.4%  1.6 KiB      2   800 B  fill      fill.cc:12  malloc  app\n"
        "    7.7%    800 B     40    20 B  parse     parse.c:31  malloc  app\n");
    HAS("\nAllocation sites by count\n"
        "  count%  count    bytes     avg  function  location    via     module\n"
        "   80.0%     40    800 B    20 B  parse     parse.c:31  malloc  app\n");
    HAS("\nLive at the heap's peak, by stack\n"
        "  peak%    bytes  function  location    via     module  called from\n"
        "  75.8%  4.9 KiB  load      load.c:22   malloc  app     main\n"
        "  24.2%  1.6 KiB  fill      fill.cc:12  malloc  app     main\n");
    HAS("\nLeaks by allocation site\n"
        "  leak%  bytes  function  location    via     module\n"
        "  88.2%  300 B  load      load.c:22   malloc  app\n"
        "  11.8%   40 B  parse     parse.c:31  malloc  app\n");
}

Test(sections, live_heap_sparkline)
{
    build();
    /* 60 columns over 0..8 ms: 0 B until 1 ms, 4 KiB until 3 ms, then the 6.4 KiB peak
     * holds (a step function) and the last column shows the 2000 B at 8 ms only as part of
     * its maximum. */
    const char *spark = strstr(text, "\xe2\x96");
    cr_assert_not_null(spark);
    size_t cols = 0;
    const char *p = spark;
    while (p[0] == '\xe2' && p[1] == '\x96') {
        cols++;
        p += 3;
    }
    cr_assert_eq(cols, 60);
    cr_assert(strncmp(spark, "\xe2\x96\x81", 3) == 0, "starts at the lowest level");
    cr_assert(strncmp(spark + 3 * 59, "\xe2\x96\x88", 3) == 0, "the peak is a full block");
    cr_assert(strncmp(p, " 0 s to 8.0 ms\n", 15) == 0, "%.20s", p);
}

Test(sections, sample_mode_is_an_estimate_and_leaks_are_not_tracked)
{
    tp_free(prof);
    prof = ip_profile("ip.nsp", 300, "sample");
    drop_event(prof, 12); /* sample mode writes no leak_bytes entries */
    drop_event(prof, 13);
    build();
    HAS("  mode         alloc=sample: the numbers are unbiased estimates from one sampled "
        "allocation per alloc_interval (512K) bytes allocated, on average\n");
    HAS("  leaks        not tracked: alloc=sample only estimates allocations (record with "
        "--alloc full to find leaks)\n");
    HAS("  peak         not tracked: alloc=sample estimates");
    HASNT("Leaks by allocation site");
}

Test(sections, sampled_leaks_say_they_are_estimates)
{
    tp_free(prof);
    prof = ip_profile("ip.nsp", 300, "sample");
    build();
    HAS("  leaks        340 B still allocated at exit, from 2 call sites (estimated)\n");
}

Test(sections, full_mode_without_leaks_says_no_leaks)
{
    drop_event(prof, 12);
    build();
    HAS("  leaks        no leaks: everything allocated was freed before exit\n");
}

Test(sections, leaks_of_a_killed_process_are_not_known)
{
    drop_event(prof, 12);
    prof->has_end = 0;
    build();
    HAS("  leaks        not known: a process did not exit normally");
}

Test(sections, filters_that_remove_the_leaks_say_so)
{
    struct ns_model_options o = {.thread = "worker"};
    build_with(&o, 20);
    HAS("  leaks        none left after the filters\n");
}

Test(sections, io_section)
{
    build();
    HAS("\nI/O\n"
        "  kernel       13 calls, 8.7 KiB, 24.0 ms in calls that reached the kernel (io_*)\n"
        "  stdio        100 calls, 6.2 KiB, 1.0 ms in stdio calls served from the FILE's "
        "buffer (stdio_*)\n");
    HAS("\nI/O by call site\n"
        "  time%     time  calls    bytes      avg  kind    function  location   via     module\n"
        "  80.0%  20.0 ms     10    640 B     64 B  kernel  flush     log.c:51   write   app\n"
        "  12.0%   3.0 ms      2  8.0 KiB  4.0 KiB  kernel  save      save.c:41  fwrite  app\n"
        "   4.0%   1.0 ms    100  6.2 KiB     64 B  stdio   save      save.c:41  fwrite  app\n"
        "   4.0%   1.0 ms      1    100 B    100 B  kernel  read_cfg  cfg.c:7    read    app\n");
    HAS("\nI/O by file, socket or pipe\n"
        "  time%     time  calls    bytes      avg  kind    type    resource\n"
        "  80.0%  20.0 ms     10    640 B     64 B  kernel  socket  tcp 10.0.0.5:5432\n"
        "  12.0%   3.0 ms      2  8.0 KiB  4.0 KiB  kernel  file    /var/log/app.log\n"
        "   4.0%   1.0 ms    100  6.2 KiB     64 B  stdio   file    /var/log/app.log\n");
    HAS("\nI/O call sizes at the top call sites (sizes rounded down to a power of two)\n"
        "  flush (log.c:51, write) kernel: p50 32 B, p90 32 B, p99 32 B, max 32 B over 10 "
        "calls\n"
        "  save (save.c:41, fwrite) kernel: p50 4.0 KiB, p90 4.0 KiB, p99 4.0 KiB, max 4.0 KiB "
        "over 2 calls\n"
        "  save (save.c:41, fwrite) stdio: p50 64 B, p90 64 B, p99 64 B, max 64 B over 100 "
        "calls\n");
}

Test(sections, hostile_resource_names_are_escaped)
{
    build();
    HAS("kernel  file    /tmp/evil\\x1b[31m\\xff.txt\n");
    cr_assert_null(strchr(text, '\x1b'), "an ESC byte reached the output");
}

Test(sections, lock_waits_and_idle_waits_are_kept_apart)
{
    build();
    HAS("\nLocks\n"
        "  lock_wait    30.0 ms waiting for contended locks (mutex, rwlock, spinlock)\n"
        "  cond_wait    500.0 ms idle in condition-variable waits: threads waiting for work or "
        "events, not contention\n");
    HAS("\nLock waits by call site\n"
        "   wait%     wait  function  location     via                 module\n"
        "  100.0%  30.0 ms  worker    worker.c:61  pthread_mutex_lock  app\n");
    HAS("\nLock waits by lock\n"
        "   wait%     wait  lock   created by  location  module\n"
        "  100.0%  30.0 ms  mutex  init_locks  init.c:5  app\n");
    HAS("\nCondition-variable waits by call site (idle waiting, not contention)\n"
        "   wait%      wait  function  location  via                module\n"
        "  100.0%  500.0 ms  wait_job  job.cc:9  pthread_cond_wait  app\n");
    /* The cond wait is never a lock wait. */
    const char *locks = strstr(text, "Lock waits by call site");
    const char *cond = strstr(text, "Condition-variable waits by call site");
    cr_assert(locks && cond && locks < cond);
    cr_assert(!memmem(locks, (size_t)(cond - locks), "wait_job", 8));
}

Test(sections, uncontended_locks_say_so)
{
    drop_event(prof, 30);
    build();
    HAS("  lock_wait    no thread waited for a contended lock\n");
    HASNT("Lock waits by call site");
}

Test(sections, a_profile_that_did_not_sample_states_no_rate)
{
    build();
    HAS("  mechanism    no sampling (event=none): only interposed calls were recorded\n");
    HAS("  stacks       all 12 events of interposed calls: 100.0% of the weight reached the "
        "thread's root, 0.0% truncated, 0.0% cut short by an unwinding error; unnamed frames "
        "(module+0xADDR): 0.0% at the leaf, 0.0% anywhere\n");
    HASNT("  rate ");
    HASNT("Hz");
    HASNT("samples");
    HASNT("\nEvent ");
    HAS("  events       alloc_bytes: 10.2 KiB; alloc_count: 50; leak_bytes: 340 B; peak_bytes: "
        "6.4 KiB;\n"
        "               io_time: 24.0 ms;");
}

Test(sections, top_limits_the_tables)
{
    build_with(NULL, 1);
    HAS("\nAllocation sites by bytes (top 1 of 3)\n");
    HAS("\nI/O by call site (top 1 of 4)\n");
    HASNT("fill.cc:12");
    HASNT("(save.c:41, fwrite) stdio");
}

Test(sections, profiles_without_interposed_events_have_no_such_sections)
{
    tp_free(prof);
    prof = std_profile("std.nsp", 100);
    build();
    HASNT("\nMemory\n");
    HASNT("\nI/O\n");
    HASNT("\nLocks\n");
    HAS("\nEvent cpu: 15 samples, 18.0 ms\n");
}

Test(sections, another_aggregate_event_is_ranked_without_sample_counts)
{
    /* (an event of no family: db_* events have the Database section) */
    tp_free(prof);
    prof = std_profile("std.nsp", 100);
    tp_event_flags(prof, 7, "queue_time", "ns", 1, NSP_EVENT_AGGREGATE);
    tp_sample(prof, 7, 0, 10, 1, 5000000);
    tp_sample(prof, 7, 1, 10, 1, 5000000);
    build();
    HAS("\nEvent queue_time: 10.0 ms in total (aggregate: each entry adds up many calls)\n");
    HAS("\nThreads by name (queue_time)\n"
        "       %     time  threads  thread  tids\n"
        "  100.0%  10.0 ms        1  app     10\n");
    HAS("queue_time: 10.0 ms\n");
}

Test(sections, peak_stacks_name_the_callers_of_their_site)
{
    /* A deeper stack: malloc <- load <- f3 <- f2 <- f1 <- main, live at the peak. */
    struct ns_prof_stack *load = &prof->stacks[prof->samples.stack[0]];
    uint64_t pairs[12];
    for (uint32_t i = 0; i < 2; i++) {
        pairs[2 * i] = prof->frames[load->first + i].mapping;
        pairs[2 * i + 1] = prof->frames[load->first + i].addr;
    }
    for (uint32_t i = 2; i < 5; i++)
        pairs[2 * i] = 1, pairs[2 * i + 1] = 0xf00 + i; /* unsymbolized: app+0xf0N */
    pairs[10] = 1, pairs[11] = 0x100;                   /* main */
    uint32_t deep = tp_stack(prof, 0, 6, pairs);
    tp_sample(prof, 13, 3000000, 100, deep, 100000);
    build();
    HAS("  93.8%  97.7 KiB  load      load.c:22   malloc  app     app+0xf02 < app+0xf03 < "
        "app+0xf04 < ...\n");
}
