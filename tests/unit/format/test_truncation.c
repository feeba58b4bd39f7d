/*
 * A multi-chunk file cut at every byte offset must load: every chunk complete before the
 * cut is there, and a cut that is not on a chunk boundary is reported as truncation at
 * the offset of the torn chunk. That is what a SIGKILL mid-write leaves behind.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "profile_writer.h"

#define GROUPS 6 /* chunks 1..GROUPS each define one string, mapping, stack and thread */

static void ok(int rc)
{
    cr_assert_eq(rc, 0, "writer call failed: %d", rc);
}

static void write_group(struct ns_pw *pw, uint64_t i)
{
    char name[16];
    int len = snprintf(name, sizeof name, "thread-%llu", (unsigned long long)i);
    ok(ns_pw_string(pw, i, name, (size_t)len));
    struct ns_pw_mapping m = {.id = i, .lo = i << 20, .hi = (i + 1) << 20, .path_id = i};
    ok(ns_pw_mapping(pw, &m));
    struct ns_pw_frame f[3] = {{i, 0x100 * i}, {i, 0x200}, {i - 1, 0x300}};
    ok(ns_pw_stack(pw, i, NSP_END_ROOT, f, 3));
    ok(ns_pw_thread(pw, 100 + i, i, i));
    struct ns_pw_sample s[3 * GROUPS];
    for (uint64_t k = 0; k < 3 * i; k++)
        s[k] = (struct ns_pw_sample){(int64_t)(i * 1000 + k), 100 + i, i, 1};
    ok(ns_pw_samples(pw, 1, s, 3 * i));
    ok(ns_pw_flush(pw));
}

/* Chunk 0: preamble; chunks 1..GROUPS: one group each; chunk GROUPS+1: counters + END. */
static uint8_t *fixture(size_t *len)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    struct ns_pw pw;
    ok(ns_pw_init(&pw, fd, 4096));
    struct ns_pw_process p = {.pid = 1, .session = "s", .exe = "e", .producer = "t"};
    ok(ns_pw_process(&pw, &p));
    ok(ns_pw_event(&pw, 1, "cpu", "ns", 1000000));
    ok(ns_pw_flush(&pw));
    for (uint64_t i = 1; i <= GROUPS; i++)
        write_group(&pw, i);
    const char *names[] = {"samples"};
    uint64_t values[] = {42};
    ok(ns_pw_counters(&pw, names, values, 1));
    ok(ns_pw_end(&pw, NSP_EXIT_NORMAL, 0, 99));
    ok(ns_pw_flush(&pw));
    ns_pw_destroy(&pw);
    close(fd);
    uint8_t *data = craft_slurp(path, len);
    unlink(path);
    return data;
}

/* What a profile made of the first k complete chunks must hold. */
static void check_complete_chunks(const struct ns_profile *p, size_t k, size_t cut)
{
    size_t groups = k == 0 ? 0 : k - 1 > GROUPS ? GROUPS : k - 1;
    cr_assert_eq(p->chunks, k, "cut %zu", cut);
    cr_assert_eq(p->has_process, k >= 1, "cut %zu", cut);
    cr_assert_eq(p->nevents, k >= 1 ? 1 : 0, "cut %zu", cut);
    cr_assert_eq(p->nstrings, 1 + groups, "cut %zu", cut);
    cr_assert_eq(p->nmappings, 1 + groups, "cut %zu", cut);
    cr_assert_eq(p->nstacks, 1 + groups, "cut %zu", cut);
    cr_assert_eq(p->nthreads, groups, "cut %zu", cut);
    cr_assert_eq(p->samples.n, 3 * groups * (groups + 1) / 2, "cut %zu", cut);
    cr_assert_eq(p->has_end, k == GROUPS + 2, "cut %zu", cut);
    cr_assert_eq(ns_profile_counter(p, "samples"), k == GROUPS + 2 ? 42 : 0, "cut %zu", cut);
    if (groups > 0)
        cr_assert_eq(p->samples.time_ns[p->samples.n - 1], (groups * 1000 + 3 * groups - 1) * 1000);
}

Test(truncation, cut_at_every_byte_keeps_complete_chunks)
{
    size_t len;
    uint8_t *data = fixture(&len);
    uint64_t offs[GROUPS + 2];
    cr_assert_eq(craft_chunk_offsets(data, len, offs, GROUPS + 2), GROUPS + 2);
    for (size_t cut = 0; cut <= len; cut++) {
        /* A copy of exactly `cut` bytes, so that ASan catches any read past the cut. */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, data, cut);
        struct ns_profile *p = NULL;
        struct ns_read_error err;
        int rc = ns_profile_read_mem(copy, cut, "cut.nsp", &p, &err);
        cr_assert_eq(rc, 0, "cut at %zu: %s", cut, err.msg);
        size_t k = 0; /* chunks complete before the cut */
        while (k < GROUPS + 2 && (k + 1 < GROUPS + 2 ? offs[k + 1] : len) <= cut)
            k++;
        int on_boundary = cut == len || (cut >= 16 && k < GROUPS + 2 && cut == offs[k]);
        cr_assert_eq(p->truncated, !on_boundary, "cut at %zu", cut);
        if (!on_boundary)
            cr_assert_eq(p->truncated_at, cut < 16 ? 0 : offs[k], "cut at %zu", cut);
        cr_assert_eq(p->file_bytes, cut);
        check_complete_chunks(p, k, cut);
        ns_profile_free(p);
        free(copy);
    }
    free(data);
}

Test(truncation, empty_file_is_truncated_at_zero)
{
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    uint8_t byte = 0;
    cr_assert_eq(ns_profile_read_mem(&byte, 0, "empty.nsp", &p, &err), 0, "%s", err.msg);
    cr_assert(p->truncated);
    cr_assert_eq(p->truncated_at, 0);
    cr_assert_not(p->has_process);
    cr_assert_eq(p->nstrings, 1);
    cr_assert_eq(p->nstacks, 1);
    cr_assert_eq(p->nmappings, 1);
    ns_profile_free(p);
}
