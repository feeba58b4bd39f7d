/*
 * The writer's contract: argument ceilings, records bigger than a chunk, splitting of huge
 * sample batches, the sticky first write error, writes that survive signals and short
 * writes, and memory that is fixed at ns_pw_init.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "profile_writer.h"

static void write_process(struct ns_pw *pw)
{
    struct ns_pw_process p = {.pid = 3, .session = "s", .exe = "e", .producer = "t"};
    cr_assert_eq(ns_pw_process(pw, &p), 0);
}

static struct ns_profile *load(const char *path)
{
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(ns_profile_read_file(path, &p, &err, NULL, NULL), 0, "%s", err.msg);
    return p;
}

Test(writer, init_refuses_bad_chunk_sizes)
{
    struct ns_pw pw;
    /* 64 MiB itself is too big: incompressible records would deflate to more than that. */
    size_t bad[] = {0, 255, NSP_MAX_CHUNK_BYTES, NSP_MAX_CHUNK_BYTES + 1};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(ns_pw_init(&pw, 1, bad[i]), -EINVAL);
        cr_assert_null(pw.arena);
        ns_pw_destroy(&pw); /* safe after a failed init */
    }
}

Test(writer, init_reports_an_unwritable_fd)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    close(fd);
    int ro = open(path, O_RDONLY);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, ro, 4096), -EBADF);
    cr_assert_null(pw.arena);
    close(ro);
    unlink(path);
    int full = open("/dev/full", O_WRONLY);
    cr_assert_eq(ns_pw_init(&pw, full, 4096), -ENOSPC);
    cr_assert_null(pw.arena);
    ns_pw_destroy(&pw);
    close(full);
}

Test(writer, first_write_error_is_sticky)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, 4096), 0);
    write_process(&pw);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    uint64_t good_bytes = pw.bytes_written;

    /* The disk fills up: the same fd now refers to /dev/full. */
    int full = open("/dev/full", O_WRONLY);
    cr_assert_eq(dup2(full, fd), fd);
    cr_assert_eq(ns_pw_thread(&pw, 1, 0, 0), 0); /* buffered: nothing written yet */
    cr_assert_eq(ns_pw_flush(&pw), -ENOSPC);
    cr_assert_eq(pw.error, -ENOSPC);

    /* Space is back, but the writer stays failed and writes nothing more. */
    int again = open(path, O_WRONLY | O_APPEND);
    cr_assert_eq(dup2(again, fd), fd);
    cr_assert_eq(ns_pw_thread(&pw, 2, 0, 0), -ENOSPC);
    struct ns_pw_sample s = {1, 2, 0, 1};
    cr_assert_eq(ns_pw_samples(&pw, 1, &s, 1), -ENOSPC);
    cr_assert_eq(ns_pw_end(&pw, NSP_EXIT_NORMAL, 0, 1), -ENOSPC);
    cr_assert_eq(ns_pw_flush(&pw), -ENOSPC);
    cr_assert_eq(pw.bytes_written, good_bytes);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq((uint64_t)st.st_size, good_bytes);
    ns_pw_destroy(&pw);
    close(full);
    close(again);
    close(fd);

    struct ns_profile *p = load(path); /* what made it to disk is a valid profile */
    cr_assert(p->has_process);
    cr_assert_eq(p->nthreads, 0);
    ns_profile_free(p);
    unlink(path);
}

static void noop_handler(int sig)
{
    (void)sig;
}

struct drain {
    int rfd;
    pthread_t writer;
    struct buf got;
};

/* Reads the pipe in small pieces, signalling the writer after each, until EOF. */
static void *drain_pipe(void *arg)
{
    struct drain *d = arg;
    uint8_t piece[4096];
    ssize_t n;
    while ((n = read(d->rfd, piece, sizeof piece)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        buf_put(&d->got, piece, (size_t)n);
        pthread_kill(d->writer, SIGUSR1);
    }
    return NULL;
}

/*
 * Chunks of ~256 KiB into a 64 KiB pipe while a signal without SA_RESTART keeps hitting
 * the writer: its write()s return short counts and EINTR. The bytes must arrive whole.
 */
Test(writer, writes_survive_signals_and_short_writes)
{
    struct sigaction sa = {.sa_handler = noop_handler}; /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    struct drain d = {.rfd = fds[0], .writer = pthread_self()};
    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, drain_pipe, &d), 0);

    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fds[1], 256 << 10), 0);
    write_process(&pw);
    static char noise[60000];
    uint64_t rng = 88172645463325252ull;
    for (int i = 1; i <= 40; i++) {
        for (size_t k = 0; k < sizeof noise; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            noise[k] = (char)rng; /* incompressible, so chunks stay big */
        }
        noise[0] = (char)i;
        cr_assert_eq(ns_pw_string(&pw, (uint64_t)i, noise, sizeof noise), 0);
    }
    cr_assert_eq(ns_pw_flush(&pw), 0);
    uint64_t written = pw.bytes_written;
    ns_pw_destroy(&pw);
    close(fds[1]);
    pthread_join(reader, NULL);
    close(fds[0]);
    signal(SIGUSR1, SIG_DFL);

    cr_assert_eq(d.got.len, written);
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(craft_load(&d.got, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(p->nstrings, 41);
    cr_assert_eq(p->strings[40].len, sizeof noise);
    cr_assert_eq(p->strings[40].s[0], 40);
    cr_assert_eq(p->strings[40].s[sizeof noise - 1], noise[sizeof noise - 1]);
    ns_profile_free(p);
    buf_free(&d.got);
}

/* The kernel's view of a thread: 'R' running, 'S' asleep (here: blocked in write). */
static char thread_state(pid_t tid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    char *paren = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
    if (f)
        fclose(f);
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

static volatile sig_atomic_t interrupted;

static void note_interruption(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct interrupter {
    pid_t tid;
    pthread_t thread;
    int rfd;
    struct buf got;
};

/* Waits for the writer to block on the full pipe, interrupts it, then drains the pipe. */
static void *interrupt_then_drain(void *arg)
{
    struct interrupter *in = arg;
    while (thread_state(in->tid) != 'S')
        sched_yield();
    pthread_kill(in->thread, SIGUSR1);
    /*
     * Reading before the handler has run could let the woken writer finish its write
     * instead of failing it; the handler runs once write() has returned EINTR.
     */
    while (!interrupted)
        sched_yield();
    uint8_t piece[4096];
    ssize_t n;
    while ((n = read(in->rfd, piece, sizeof piece)) != 0)
        if (n > 0)
            buf_put(&in->got, piece, (size_t)n);
    return NULL;
}

/*
 * A write() interrupted before it moved a byte fails with EINTR; the writer must retry
 * it rather than take it for a write error. The pipe is filled to the brim first, so the
 * chunk's write() blocks at once, and the signal comes only once the kernel reports the
 * writer asleep.
 */
Test(writer, write_interrupted_before_any_byte_is_retried)
{
    struct sigaction sa = {.sa_handler = note_interruption}; /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fds[1], 4096), 0);
    write_process(&pw);
    cr_assert_eq(ns_pw_string(&pw, 1, "after the interruption", 22), 0);

    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    size_t filler = 0;
    static const char junk[512];
    for (ssize_t n; (n = write(fds[1], junk, sizeof junk)) > 0;)
        filler += (size_t)n;
    /* A pipe page may still have room for less than 512 bytes: fill that too. */
    for (ssize_t n; (n = write(fds[1], junk, 1)) > 0;)
        filler += (size_t)n;
    cr_assert_eq(errno, EAGAIN);
    fcntl(fds[1], F_SETFL, 0);

    struct interrupter in = {.tid = gettid(), .thread = pthread_self(), .rfd = fds[0]};
    pthread_t helper;
    cr_assert_eq(pthread_create(&helper, NULL, interrupt_then_drain, &in), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    uint64_t written = pw.bytes_written;
    ns_pw_destroy(&pw);
    close(fds[1]);
    pthread_join(helper, NULL);
    close(fds[0]);
    signal(SIGUSR1, SIG_DFL);

    /* The pipe holds the file header, the filler, then the chunk. */
    cr_assert(interrupted);
    cr_assert_eq(in.got.len, written + filler);
    memmove(in.got.b + NSP_FILE_HEADER_LEN, in.got.b + NSP_FILE_HEADER_LEN + filler,
            in.got.len - NSP_FILE_HEADER_LEN - filler);
    in.got.len -= filler;
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(craft_load(&in.got, &p, &err), 0, "%s", err.msg);
    cr_assert_str_eq(p->strings[1].s, "after the interruption");
    ns_profile_free(p);
    buf_free(&in.got);
}

static struct ns_pw_sample *make_samples(size_t n)
{
    struct ns_pw_sample *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (struct ns_pw_sample){(int64_t)(i * 997 % 5000000), 100 + i % 13, 1, i};
    return s;
}

static void check_samples(const struct ns_profile *p, const struct ns_pw_sample *s, size_t n)
{
    cr_assert_eq(p->samples.n, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(p->samples.time_ns[i], s[i].time_us * 1000, "sample %zu", i);
        cr_assert_eq(p->samples.tid[i], s[i].tid);
        cr_assert_eq(p->samples.weight[i], s[i].weight);
        cr_assert_eq(p->samples.stack[i], 1);
    }
}

static void write_sample_batch(int fd, size_t raw_cap, const struct ns_pw_sample *s, size_t n)
{
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, raw_cap), 0);
    write_process(&pw);
    struct ns_pw_frame f = {0, 0x1234};
    cr_assert_eq(ns_pw_stack(&pw, 1, NSP_END_ROOT, &f, 1), 0);
    cr_assert_eq(ns_pw_samples(&pw, 1, s, n), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    ns_pw_destroy(&pw);
}

Test(writer, huge_batch_is_split_across_chunks)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    const size_t n = 100000;
    struct ns_pw_sample *s = make_samples(n);
    write_sample_batch(fd, 4096, s, n);
    close(fd);
    size_t len;
    uint8_t *data = craft_slurp(path, &len);
    uint64_t offs[4096];
    size_t nchunks = craft_chunk_offsets(data, len, offs, 4096);
    cr_assert_gt(nchunks, 100);
    for (size_t c = 0; c < nchunks; c++) {
        const uint8_t *h = data + offs[c];
        uint32_t raw_len = h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24;
        cr_assert_leq(raw_len, 4096, "chunk %zu holds %u bytes of records", c, raw_len);
    }
    struct ns_profile *p = load(path);
    cr_assert_eq(p->chunks, nchunks);
    check_samples(p, s, n);
    ns_profile_free(p);
    free(data);
    free(s);
    unlink(path);
}

Test(writer, batch_over_the_record_ceiling_is_split)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    const size_t n = NSP_MAX_SAMPLES_PER_RECORD + 3;
    struct ns_pw_sample *s = make_samples(n);
    write_sample_batch(fd, 32 << 20, s, n); /* the chunk could hold them all */
    close(fd);
    struct ns_profile *p = load(path); /* the reader refuses records over 2^20 samples */
    check_samples(p, s, n);
    ns_profile_free(p);
    free(s);
    unlink(path);
}

/*
 * The biggest chunk the writer accepts, filled with incompressible records: deflate makes
 * it bigger than its records, and it must still be within the reader's comp_len ceiling.
 */
Test(writer, largest_chunk_of_incompressible_records_loads)
{
    size_t cap = NSP_MAX_CHUNK_BYTES;
    while (compressBound(cap) > NSP_MAX_CHUNK_BYTES)
        cap -= 1024;
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, cap + 1024), -EINVAL);
    cr_assert_eq(ns_pw_init(&pw, fd, cap), 0);
    write_process(&pw);
    /* One MiB of noise, reused: repeats 1 MiB apart are beyond deflate's 32 KiB window. */
    char *noise = malloc(NSP_MAX_STR);
    uint64_t rng = 0x9E3779B97F4A7C15ull, id = 1;
    for (size_t k = 0; k < NSP_MAX_STR; k++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        noise[k] = (char)rng;
    }
    for (; ns_pw_room(&pw) > 16; id++) {
        size_t len = ns_pw_room(&pw) - 16 < NSP_MAX_STR ? ns_pw_room(&pw) - 16 : NSP_MAX_STR;
        cr_assert_eq(ns_pw_string(&pw, id, noise, len), 0);
    }
    cr_assert_eq(ns_pw_flush(&pw), 0);
    cr_assert_eq(pw.chunks_written, 1);
    ns_pw_destroy(&pw);
    close(fd);
    size_t flen;
    uint8_t *data = craft_slurp(path, &flen);
    const uint8_t *h = data + NSP_FILE_HEADER_LEN;
    uint32_t comp_len = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;
    uint32_t raw_len = h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24;
    cr_assert_gt(comp_len, raw_len, "deflate did not expand: the test lost its point");
    cr_assert_leq(comp_len, NSP_MAX_CHUNK_BYTES);
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(ns_profile_read_mem(data, flen, "big.nsp", &p, &err), 0, "%s", err.msg);
    cr_assert_eq(p->nstrings, id);
    cr_assert_eq(memcmp(p->strings[1].s, noise, NSP_MAX_STR), 0);
    ns_profile_free(p);
    free(data);
    free(noise);
    unlink(path);
}

Test(writer, record_bigger_than_a_chunk_is_refused)
{
    int null = open("/dev/null", O_WRONLY);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, null, 256), 0);
    struct ns_pw_frame f[100];
    for (int i = 0; i < 100; i++)
        f[i] = (struct ns_pw_frame){1, UINT64_MAX - (uint64_t)i};
    cr_assert_eq(ns_pw_stack(&pw, 1, 0, f, 100), -E2BIG);
    cr_assert_eq(pw.error, 0);
    cr_assert_eq(ns_pw_stack(&pw, 1, 0, f, 2), 0);
    ns_pw_destroy(&pw);
    close(null);
}

Test(writer, values_over_the_format_ceilings_are_refused)
{
    int null = open("/dev/null", O_WRONLY);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, null, 4 << 20), 0);
    size_t room = ns_pw_room(&pw);
    static uint8_t big[NSP_MAX_STR + 1];
    static struct ns_pw_frame frames[NSP_MAX_FRAMES + 1];
    static const char *names[NSP_MAX_COUNTERS_PER_RECORD + 1];
    static uint64_t values[NSP_MAX_COUNTERS_PER_RECORD + 1];
    struct ns_pw_mapping m = {.id = 1, .build_id = big, .build_id_len = NSP_MAX_BUILD_ID + 1};
    struct ns_pw_sample early = {-1, 1, 0, 1}, late = {(int64_t)NSP_MAX_TIME_US + 1, 1, 0, 1};
    cr_assert_eq(ns_pw_mapping(&pw, &m), -EINVAL);
    cr_assert_eq(ns_pw_string(&pw, 1, (const char *)big, sizeof big), -EINVAL);
    cr_assert_eq(ns_pw_stack(&pw, 1, 0, frames, NSP_MAX_FRAMES + 1), -EINVAL);
    cr_assert_eq(ns_pw_counters(&pw, names, values, NSP_MAX_COUNTERS_PER_RECORD + 1), -EINVAL);
    cr_assert_eq(ns_pw_samples(&pw, 1, &early, 1), -EINVAL);
    cr_assert_eq(ns_pw_samples(&pw, 1, &late, 1), -EINVAL);
    cr_assert_eq(ns_pw_room(&pw), room, "a refused record left bytes behind");
    cr_assert_eq(pw.error, 0);
    ns_pw_destroy(&pw);
    close(null);
}

Test(writer, room_shrinks_by_the_record_and_empty_flush_writes_nothing)
{
    int null = open("/dev/null", O_WRONLY);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, null, 4096), 0);
    cr_assert_eq(pw.bytes_written, NSP_FILE_HEADER_LEN);
    cr_assert_eq(ns_pw_room(&pw), 4096);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    cr_assert_eq(pw.bytes_written, NSP_FILE_HEADER_LEN);
    cr_assert_eq(pw.chunks_written, 0);
    /* kind (1) + body_len (1) + tid 1 (1) + name 2 (1) + 300 (2) */
    cr_assert_eq(ns_pw_thread(&pw, 1, 2, 300), 0);
    cr_assert_eq(ns_pw_room(&pw), 4096 - 6);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    cr_assert_eq(ns_pw_room(&pw), 4096);
    cr_assert_eq(pw.chunks_written, 1);
    cr_assert_eq(pw.seq, 1);
    ns_pw_destroy(&pw);
    close(null);
}

/* The writer's memory is the arena mapped at init: nothing moves or grows afterwards. */
Test(writer, memory_is_fixed_at_init)
{
    int null = open("/dev/null", O_WRONLY);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, null, 64 << 10), 0);
    struct ns_pw before = pw;
    struct ns_pw_frame frames[64];
    struct ns_pw_sample batch[256];
    for (int i = 0; i < 64; i++)
        frames[i] = (struct ns_pw_frame){1, 0x400000 + (uint64_t)i * 40};
    for (int i = 0; i < 256; i++)
        batch[i] = (struct ns_pw_sample){i * 3, 7, 1, 1000000};
    struct mallinfo2 m0 = mallinfo2();
    for (uint64_t i = 1; i <= 20000; i++) {
        ns_pw_stack(&pw, i, 0, frames, 64);
        ns_pw_samples(&pw, 1, batch, 256);
    }
    struct mallinfo2 m1 = mallinfo2();
    cr_assert_eq(pw.error, 0);
    cr_assert_gt(pw.chunks_written, 500);
    cr_assert_eq(m1.uordblks, m0.uordblks, "the writer allocated from the heap");
    cr_assert_eq(m1.hblkhd, m0.hblkhd, "the writer mapped heap blocks");
    cr_assert_eq(pw.arena, before.arena);
    cr_assert_eq(pw.raw, before.raw);
    cr_assert_eq(pw.raw_cap, before.raw_cap);
    cr_assert_eq(pw.comp, before.comp);
    cr_assert_eq(pw.comp_cap, before.comp_cap);
    cr_assert_eq(pw.zstream, before.zstream);
    ns_pw_destroy(&pw);
    close(null);
}
