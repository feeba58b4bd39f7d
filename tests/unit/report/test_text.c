/*
 * The text report: the sampling facts it must state, rankings with --top, aligned columns,
 * no terminal escapes from hostile names, colour only when asked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "render.h"

static char *render(const struct ns_model *m, size_t top, int color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct ns_render_options o = {.top = top, .color = color};
    cr_assert_eq(ns_render_text(f, m, &o), 0);
    fclose(f);
    return buf;
}

static struct ns_profile *prof;
static struct ns_model *model;
static char *text;

static void build(void)
{
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    model = build1(prof, &o);
    text = render(model, 20, 0);
}

static void setup(void)
{
    prof = std_profile("std.nsp", 100);
}

static void teardown(void)
{
    free(text);
    ns_model_free(model);
    tp_free(prof);
    text = NULL;
    model = NULL;
}

TestSuite(text, .init = setup, .fini = teardown);

#define HAS(s)   cr_assert(strstr(text, s), "missing \"%s\" in:\n%s", s, text)
#define HASNT(s) cr_assert_null(strstr(text, s), "unexpected \"%s\" in:\n%s", s, text)

Test(text, header)
{
    build();
    HAS("nsprof report: app, pid 100\n");
    HAS("  file         std.nsp (4.0 KiB)\n");
    HAS("  command      /usr/bin/app\n");
    HAS("  duration     30.0 ms\n");
    HAS("2023-11-14 22:13:20 UTC on host, kernel 6.1.0, by nsprof test\n");
    HAS("  events       cpu: 15 samples, 18.0 ms\n");
    HASNT("filters");
}

Test(text, sampling_facts)
{
    build();
    HAS("\nSampling\n");
    HAS("  mechanism    signal timers (signal): perf_event_open refused (perf_event_paranoid=3)\n");
    HAS("  rate         requested 1000 Hz, achieved 625 Hz per thread CPU second (15 samples in "
        "24.0 ms of thread CPU time): below the requested rate\n");
    HAS("  stacks       80.0% reached the thread's root, 13.3% truncated (depth 2), 6.7% cut "
        "short by an unwinding error (no_cfi 1); unnamed frames (module+0xADDR): 6.7% at the "
        "leaf, 6.7% anywhere\n");
    HAS("limits: max_depth=128, stack_copy=8192");
    HAS("  drops        3 samples lost (16.7%): dropped_ring_full 3\n");
    HAS("  counters     threads_failed 1\n");
    HAS("  kernel       time spent in the kernel is not sampled (exclude_kernel=1)");
    HAS("  end          complete: the process exited with status 0\n");
    HAS("  notes        warning [cpu_timer_rate] signal timers deliver at most 250 Hz per "
        "thread\n");
    HAS("               info [sigprof_handler] the program installed no SIGPROF handler\n");
    HAS("  symbols      app: symbols, but some of its code has none (86.7% of samples end there, "
        "6.7% in an unnamed frame of it, 6.7% pass through one)\n"
        "                 /usr/bin/app\n"
        "               libc.so.6: function names only, no source lines (13.3% of samples end "
        "there)\n"
        "                 no .debug_info in /lib/libc.so.6\n"
        "                 fix: install its debug symbols (Debian: the -dbgsym package of the "
        "package that ships it) or pass --debug-dir DIR holding .build-id/ab/cd6f12.debug\n");
}

Test(text, incomplete_profile_is_flagged)
{
    prof->has_end = 0;
    prof->truncated = 1;
    prof->truncated_at = 4242;
    build();
    HAS("  end          INCOMPLETE: the process did not finish normally (killed or crashed): "
        "data after the last flush (<= 1 s) is missing; the file is cut short at offset 4242");
}

Test(text, rankings)
{
    build();
    HAS("\nFunctions by self (cpu)\n"
        "  self%     self  total%    total  function          location      module\n"
        "  61.1%  11.0 ms   94.4%  17.0 ms  compute           app.c:31      app\n"
        "  22.2%   4.0 ms   33.3%   6.0 ms  helper [inlined]  util.h:5      app\n"
        "  11.1%   2.0 ms   11.1%   2.0 ms  memcpy            memcpy.S:100  libc.so.6\n"
        "   5.6%   1.0 ms    5.6%   1.0 ms  app+0x999                       app\n");
    /* By total, a function without a hot line shows its file alone. */
    HAS("  100.0%  18.0 ms   0.0%      0 s  main              app.c         app\n");
}

Test(text, columns_are_aligned)
{
    build();
    /* In each table, every row's "%" columns end at the same offset as the header's. */
    const char *t = strstr(text, "Functions by total (cpu)\n");
    cr_assert_not_null(t);
    t = strchr(t, '\n') + 1;
    const char *hdr_end = strstr(t, "total%");
    size_t col = (size_t)(hdr_end - t) + strlen("total%");
    const char *line = strchr(t, '\n') + 1;
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(line[col - 1], '%', "row %d: %.60s", i, line);
        line = strchr(line, '\n') + 1;
    }
}

Test(text, hot_lines_and_threads)
{
    build();
    HAS("\nHottest source lines (cpu)\n");
    HAS("  (6.7% of samples end in a frame without line information)\n");
    HAS("  self%    self  line          function          module\n"
        "  33.3%  6.0 ms  app.c:31      compute           app\n");
    HAS("\nThreads by name (cpu)\n");
    HAS("  66.7%  12.0 ms        9        2  562 Hz  worker  11-12\n");
    HAS("  33.3%   6.0 ms        6        1  750 Hz  app     10\n");
}

Test(text, top_limits_rows)
{
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    model = build1(prof, &o);
    text = render(model, 1, 0);
    HAS("Functions by self (cpu; top 1 of 4)\n");
    HAS("Functions by total (cpu; top 1 of 6)\n");
    HASNT("helper");
}

Test(text, hostile_names_cannot_reach_the_terminal)
{
    tp_thread(prof, 10, "t\x1b[2J\x1b]0;x\x07");
    tp_note(prof, 1, "c\x1b",
            "\x9b"
            "31m text \xc2\x9b"
            "31m");
    free(prof->process.exe.s);
    prof->process.exe.s = strdup("/bin/\x1b[31mred\\");
    prof->process.exe.len = (uint32_t)strlen(prof->process.exe.s);
    build();
    cr_assert_null(strchr(text, '\x1b'), "an ESC byte reached the output:\n%s", text);
    cr_assert_null(strchr(text, '\x07'));
    cr_assert_null(strstr(text, "\xc2\x9b"), "C1 control reached the output");
    HAS("t\\x1b[2J\\x1b]0;x\\x07");
    HAS("\\x1b[31mred\\\\");
    HAS("[c\\x1b] \\x9b31m text \\xc2\\x9b31m");
}

Test(text, colour_only_when_asked)
{
    build();
    cr_assert_null(strchr(text, '\x1b'));
    char *coloured = render(model, 20, 1);
    cr_assert(strstr(coloured, "\x1b[1mSampling\x1b[0m"), "%s", coloured);
    cr_assert(strstr(coloured, "\x1b[1;33mwarning\x1b[0m"), "%s", coloured);
    free(coloured);
}

Test(text, several_processes)
{
    struct ns_profile *other = std_profile("other.nsp", 200);
    other->has_end = 0;
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    text = render(model, 20, 0);
    HAS("nsprof report: 2 processes of session sess\n");
    HAS("\nProcesses\n");
    HAS("  INCOMPLETE: pid 200 (app): the process did not finish normally");
    HAS("(2 of 2 processes)\n");
    HAS("\nProcesses (cpu)\n");
    tp_free(other);
}

Test(text, processes_of_different_sessions_are_pointed_out)
{
    struct ns_profile *other = std_profile("other.nsp", 200);
    free(other->process.session.s);
    other->process.session.s = strdup("another");
    struct ns_model_options o = {0};
    model = buildn((const struct ns_profile *const[]){prof, other}, 2, &o);
    text = render(model, 20, 0);
    HAS("nsprof report: 2 processes of 2 different sessions\n");
    tp_free(other);
}

Test(text, event_without_samples_says_so)
{
    tp_event(prof, 2, "wall", "ns", 1000);
    build();
    HAS("Event wall: 0 samples, 0 s\n  no samples left after the filters\n");
}

/* More samples than the threads' CPU time allows (seen under heavy host load): the rate is
 * not printed silently. */
Test(text, a_rate_above_the_requested_one_is_explained)
{
    for (size_t i = 0; i < prof->nthreads; i++)
        prof->threads[i].cpu_ns /= 2;
    build();
    HAS("achieved 1250 Hz per thread CPU second (15 samples in 12.0 ms of thread CPU time)\n"
        "               above the requested rate, which sampling cannot exceed: the sampling "
        "clock counted 25% more time than the kernel accounted to the threads");
    HASNT("below the requested rate");
}
