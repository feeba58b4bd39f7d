/*
 * Every record kind goes through the writer into a temporary file and back through the
 * reader, and each field is compared, including extreme values, embedded NUL bytes,
 * references across chunks and the "last one wins" records arriving out of order.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "profile_writer.h"

static const char cmdline[] = "prog\0--flag\0\0last";
static const uint8_t build_id_20[20] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,
                                        7,    8,    9,    10,   11, 12, 13, 14, 15, 16};
static uint8_t build_id_64[64];
static struct ns_pw_frame deep[NSP_MAX_FRAMES];

static void ok(int rc)
{
    cr_assert_eq(rc, 0, "writer call failed: %d", rc);
}

static void write_preamble(struct ns_pw *pw)
{
    struct ns_pw_process p = {.pid = 4242,
                              .ppid = UINT64_MAX,
                              .exec_index = 3,
                              .start_realtime_ns = 1700000000123456789ull,
                              .start_mono_ns = 987654321,
                              .session = "sess-1",
                              .exe = "/usr/bin/app",
                              .cmdline = cmdline,
                              .cmdline_len = sizeof cmdline - 1,
                              .hostname = NULL, /* written as "" */
                              .kernel = "6.1.0",
                              .producer = "nsprof 0.1.0 test"};
    ok(ns_pw_process(pw, &p));
    ok(ns_pw_setting(pw, "freq", "999"));
    ok(ns_pw_setting(pw, "event", "cpu"));
    ok(ns_pw_setting(pw, "freq", "1000")); /* repeated: the last value wins */
    ok(ns_pw_event(pw, 2, "wall", "ns", 5000000));
    ok(ns_pw_event(pw, 1, "cpu", "ns", 1000000));
}

static void write_strings_and_mappings(struct ns_pw *pw)
{
    ok(ns_pw_string(pw, 1, "/usr/lib/libc.so.6", 18));
    ok(ns_pw_string(pw, 2, "a\0b\xff", 4)); /* any bytes, embedded NUL */
    ok(ns_pw_string(pw, 3, "", 0));
    ok(ns_pw_string(pw, 4, "main", 4));
    struct ns_pw_mapping m1 = {.id = 1,
                               .lo = 0x7f0000001000,
                               .hi = 0x7f0000200000,
                               .bias = 0x7f0000000000,
                               .path_id = 1,
                               .flags = 0,
                               .build_id = build_id_20,
                               .build_id_len = 20};
    struct ns_pw_mapping m2 = {.id = 2, .lo = 5, .hi = 5, .path_id = 0, .flags = NSP_MAP_PSEUDO};
    struct ns_pw_mapping m3 = {.id = 3,
                               .lo = 0,
                               .hi = UINT64_MAX,
                               .bias = UINT64_MAX,
                               .path_id = 4,
                               .flags = NSP_MAP_MAIN | NSP_MAP_VDSO,
                               .build_id = build_id_64,
                               .build_id_len = 64};
    ok(ns_pw_mapping(pw, &m1));
    ok(ns_pw_mapping(pw, &m2));
    ok(ns_pw_mapping(pw, &m3));
}

static void write_stacks(struct ns_pw *pw)
{
    struct ns_pw_frame two[2] = {{1, 0x1234}, {0, UINT64_MAX}};
    ok(ns_pw_stack(pw, 1, NSP_END_ROOT, NULL, 0));
    ok(ns_pw_stack(pw, 2, NSP_END_BAD_FRAME, two, 2));
    for (size_t i = 0; i < NSP_MAX_FRAMES; i++)
        deep[i] = (struct ns_pw_frame){1 + i % 3, 0x400000 + i * 16};
    ok(ns_pw_stack(pw, 3, NSP_END_DEPTH, deep, NSP_MAX_FRAMES));
}

static const struct ns_pw_sample samples[] = {
    {1000, 4243, 2, 1000000},
    {900, 4242, 1, 1},                  /* earlier than the previous one: negative delta */
    {0, UINT32_MAX, 0, UINT64_MAX},     /* at the start, the none stack, the largest values */
    {(int64_t)NSP_MAX_TIME_US, 7, 3, 0} /* the latest time the format allows */
};

static void write_threads_and_rest(struct ns_pw *pw)
{
    /* Stats before the thread, tids out of order, repeats: the last one of each wins. */
    ok(ns_pw_thread_stats(pw, 4243, 1, 1, 0));
    ok(ns_pw_thread(pw, 4243, 4, 10));
    ok(ns_pw_thread(pw, 4242, 1, 20));
    ok(ns_pw_thread_stats(pw, 4243, 2000000, 2, NSP_THREAD_EXITED));
    ok(ns_pw_thread(pw, 4243, 2, 30));
    /* Off-CPU times (format 1.3): the flag is set by the writer, the fields read back. */
    const struct ns_pw_off_cpu off = {123456789, 1, UINT64_MAX};
    ok(ns_pw_thread_times(pw, 7, 5000, 5, NSP_THREAD_EXITED, &off));
    ok(ns_pw_thread(pw, 7, 0, 0));
    ok(ns_pw_samples(pw, 1, samples, 2));
    ok(ns_pw_samples(pw, 2, samples + 2, 2));
    const char *names[] = {"samples", "dropped_ring_full", ""};
    uint64_t v1[] = {10, 1, 5}, v2[] = {UINT64_MAX, 0};
    ok(ns_pw_counters(pw, names, v1, 3));
    ok(ns_pw_counters(pw, names, v2, 2));
    ok(ns_pw_note(pw, NSP_NOTE_WARNING, "perf_refused", "perf_event_open failed: EACCES"));
    ok(ns_pw_note(pw, NSP_NOTE_INFO, "", NULL));
    ok(ns_pw_end(pw, NSP_EXIT_SIGNAL, 9, UINT64_MAX));
}

/* Writes the whole fixture, in three chunks so references cross chunk boundaries. */
static struct ns_profile *write_and_read(const char *path, int fd)
{
    struct ns_pw pw;
    memset(build_id_64, 0xab, sizeof build_id_64);
    ok(ns_pw_init(&pw, fd, 1 << 20));
    write_preamble(&pw);
    write_strings_and_mappings(&pw);
    ok(ns_pw_flush(&pw));
    write_stacks(&pw);
    ok(ns_pw_flush(&pw));
    write_threads_and_rest(&pw);
    ok(ns_pw_flush(&pw));
    cr_assert_eq(pw.chunks_written, 3);
    cr_assert_eq((off_t)pw.bytes_written, lseek(fd, 0, SEEK_END));
    ns_pw_destroy(&pw);
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(ns_profile_read_file(path, &p, &err, NULL, NULL), 0, "%s", err.msg);
    return p;
}

static void str_is(const struct ns_str *s, const void *bytes, size_t len)
{
    cr_assert_eq(s->len, len);
    cr_assert(memcmp(s->s, bytes, len) == 0);
    cr_assert_eq(s->s[len], '\0');
}

#define STR_IS(s, lit) str_is((s), (lit), sizeof(lit) - 1)

static void check_preamble(const struct ns_profile *p)
{
    cr_assert(p->has_process);
    const struct ns_prof_process *pr = &p->process;
    cr_assert_eq(pr->pid, 4242);
    cr_assert_eq(pr->ppid, UINT64_MAX);
    cr_assert_eq(pr->exec_index, 3);
    cr_assert_eq(pr->start_realtime_ns, 1700000000123456789ull);
    cr_assert_eq(pr->start_mono_ns, 987654321);
    STR_IS(&pr->session, "sess-1");
    STR_IS(&pr->exe, "/usr/bin/app");
    str_is(&pr->cmdline, cmdline, sizeof cmdline - 1);
    STR_IS(&pr->hostname, "");
    STR_IS(&pr->kernel, "6.1.0");
    STR_IS(&pr->producer, "nsprof 0.1.0 test");
    cr_assert_eq(p->nsettings, 2);
    cr_assert_str_eq(ns_profile_setting(p, "freq"), "1000");
    cr_assert_str_eq(ns_profile_setting(p, "event"), "cpu");
    cr_assert_null(ns_profile_setting(p, "nope"));
    cr_assert_eq(p->nevents, 2);
    const struct ns_prof_event *cpu = ns_profile_event(p, 1), *wall = ns_profile_event(p, 2);
    cr_assert(cpu && wall);
    STR_IS(&cpu->name, "cpu");
    STR_IS(&cpu->unit, "ns");
    cr_assert_eq(cpu->period, 1000000);
    STR_IS(&wall->name, "wall");
    cr_assert_eq(wall->period, 5000000);
    cr_assert_null(ns_profile_event(p, 3));
}

static void check_strings_and_mappings(const struct ns_profile *p)
{
    cr_assert_eq(p->nstrings, 5);
    STR_IS(&p->strings[0], "");
    STR_IS(&p->strings[1], "/usr/lib/libc.so.6");
    STR_IS(&p->strings[2], "a\0b\xff");
    STR_IS(&p->strings[3], "");
    STR_IS(&p->strings[4], "main");
    cr_assert_eq(p->nmappings, 4);
    const struct ns_prof_mapping *m = p->mappings;
    cr_assert_eq(m[0].lo | m[0].hi | m[0].path | m[0].build_id_len, 0);
    cr_assert_eq(m[1].lo, 0x7f0000001000);
    cr_assert_eq(m[1].hi, 0x7f0000200000);
    cr_assert_eq(m[1].bias, 0x7f0000000000);
    cr_assert_eq(m[1].path, 1);
    cr_assert_eq(m[1].flags, 0);
    cr_assert_eq(m[1].build_id_len, 20);
    cr_assert(memcmp(m[1].build_id, build_id_20, 20) == 0);
    cr_assert_eq(m[2].lo, 5);
    cr_assert_eq(m[2].hi, 5);
    cr_assert_eq(m[2].flags, NSP_MAP_PSEUDO);
    cr_assert_eq(m[2].build_id_len, 0);
    cr_assert_eq(m[3].hi, UINT64_MAX);
    cr_assert_eq(m[3].bias, UINT64_MAX);
    cr_assert_eq(m[3].path, 4);
    cr_assert_eq(m[3].flags, NSP_MAP_MAIN | NSP_MAP_VDSO);
    cr_assert_eq(m[3].build_id_len, 64);
    cr_assert(memcmp(m[3].build_id, build_id_64, 64) == 0);
}

static void check_stacks(const struct ns_profile *p)
{
    cr_assert_eq(p->nstacks, 4);
    cr_assert_eq(p->stacks[0].nframes, 0);
    cr_assert_eq(p->stacks[1].nframes, 0);
    cr_assert_eq(p->stacks[1].end, NSP_END_ROOT);
    const struct ns_prof_stack *s2 = &p->stacks[2], *s3 = &p->stacks[3];
    cr_assert_eq(s2->nframes, 2);
    cr_assert_eq(s2->end, NSP_END_BAD_FRAME);
    cr_assert_eq(p->frames[s2->first].mapping, 1);
    cr_assert_eq(p->frames[s2->first].addr, 0x1234);
    cr_assert_eq(p->frames[s2->first + 1].mapping, 0);
    cr_assert_eq(p->frames[s2->first + 1].addr, UINT64_MAX);
    cr_assert_eq(s3->nframes, NSP_MAX_FRAMES);
    cr_assert_eq(s3->end, NSP_END_DEPTH);
    for (size_t i = 0; i < NSP_MAX_FRAMES; i++) {
        cr_assert_eq(p->frames[s3->first + i].mapping, deep[i].mapping_id);
        cr_assert_eq(p->frames[s3->first + i].addr, deep[i].addr);
    }
    cr_assert_eq(p->nframes, 2 + NSP_MAX_FRAMES);
}

static void check_threads(const struct ns_profile *p)
{
    cr_assert_eq(p->nthreads, 3);
    cr_assert_eq(p->threads[0].tid, 7);
    cr_assert_eq(p->threads[1].tid, 4242);
    cr_assert_eq(p->threads[2].tid, 4243);
    const struct ns_prof_thread *t = ns_profile_thread(p, 4243);
    cr_assert_eq(t, &p->threads[2]);
    cr_assert_eq(t->name, 2);
    cr_assert_eq(t->start_mono_ns, 30);
    cr_assert(t->has_stats);
    cr_assert_eq(t->cpu_ns, 2000000);
    cr_assert_eq(t->samples, 2);
    cr_assert_eq(t->flags, NSP_THREAD_EXITED, "no times unless written");
    t = ns_profile_thread(p, 7);
    cr_assert(t->has_stats);
    cr_assert_eq(t->cpu_ns, 5000);
    cr_assert_eq(t->flags, NSP_THREAD_EXITED | NSP_THREAD_TIMES);
    cr_assert_eq(t->blocked_ns, 123456789);
    cr_assert_eq(t->runnable_ns, 1);
    cr_assert_eq(t->off_unknown_ns, UINT64_MAX);
    t = ns_profile_thread(p, 4242);
    cr_assert_eq(t->name, 1);
    cr_assert_eq(t->start_mono_ns, 20);
    cr_assert_not(t->has_stats);
    cr_assert_null(ns_profile_thread(p, 4244));
    cr_assert_null(ns_profile_thread(p, 1));
}

static void check_samples_and_rest(const struct ns_profile *p)
{
    const struct ns_prof_samples *s = &p->samples;
    cr_assert_eq(s->n, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(s->event[i], i < 2 ? 1 : 2);
        cr_assert_eq(s->time_ns[i], samples[i].time_us * 1000);
        cr_assert_eq(s->tid[i], samples[i].tid);
        cr_assert_eq(s->stack[i], samples[i].stack_id);
        cr_assert_eq(s->weight[i], samples[i].weight);
    }
    cr_assert_eq(p->ncounters, 3);
    cr_assert_eq(ns_profile_counter(p, "samples"), UINT64_MAX);
    cr_assert_eq(ns_profile_counter(p, "dropped_ring_full"), 0);
    cr_assert_eq(ns_profile_counter(p, ""), 5);
    cr_assert_eq(ns_profile_counter(p, "absent"), 0);
    cr_assert_eq(p->nnotes, 2);
    cr_assert_eq(p->notes[0].level, NSP_NOTE_WARNING);
    STR_IS(&p->notes[0].code, "perf_refused");
    STR_IS(&p->notes[0].text, "perf_event_open failed: EACCES");
    STR_IS(&p->notes[1].text, "");
    cr_assert(p->has_end);
    cr_assert_eq(p->end_reason, NSP_EXIT_SIGNAL);
    cr_assert_eq(p->end_status, 9);
    cr_assert_eq(p->end_mono_ns, UINT64_MAX);
}

Test(roundtrip, every_record_kind_field_by_field)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    cr_assert_geq(fd, 0);
    struct ns_profile *p = write_and_read(path, fd);
    close(fd);
    unlink(path);
    cr_assert_str_eq(p->path, path);
    cr_assert_not(p->truncated);
    cr_assert_eq(p->chunks, 3);
    check_preamble(p);
    check_strings_and_mappings(p);
    check_stacks(p);
    check_threads(p);
    check_samples_and_rest(p);
    ns_profile_free(p);
}

struct progress_log {
    int calls;
    uint64_t last_done, total;
    int monotonic;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_log *log = ctx;
    if (done < log->last_done || done > total)
        log->monotonic = 0;
    log->calls++;
    log->last_done = done;
    log->total = total;
}

Test(roundtrip, progress_callback_reaches_the_end)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    struct ns_pw pw;
    ok(ns_pw_init(&pw, fd, 4096));
    write_preamble(&pw);
    for (int i = 0; i < 40; i++) {
        ok(ns_pw_note(&pw, NSP_NOTE_INFO, "n", "a note"));
        ok(ns_pw_flush(&pw));
    }
    uint64_t size = pw.bytes_written;
    ns_pw_destroy(&pw);
    close(fd);
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    struct progress_log log = {.monotonic = 1};
    cr_assert_eq(ns_profile_read_file(path, &p, &err, on_progress, &log), 0, "%s", err.msg);
    unlink(path);
    cr_assert_eq(p->chunks, 40); /* the preamble rides with the first note */
    cr_assert_eq(p->nnotes, 40);
    cr_assert_gt(log.calls, 2, "progress was reported only %d times", log.calls);
    cr_assert(log.monotonic);
    cr_assert_eq(log.last_done, size);
    cr_assert_eq(log.total, size);
    ns_profile_free(p);
}

Test(roundtrip, missing_file_is_a_clean_error)
{
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(ns_profile_read_file("/nonexistent/x.nsp", &p, &err, NULL, NULL), -1);
    cr_assert_null(p);
    cr_assert(strstr(err.msg, "/nonexistent/x.nsp"), "%s", err.msg);
}
