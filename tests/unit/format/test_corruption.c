/*
 * Every single-bit flip of a small multi-chunk file: the reader must never crash, and a
 * flip in a CRC-protected byte must be an error that names the chunk's offset. The one
 * field whose damage can look like truncation is a chunk's comp_len: grown past the end of
 * the file, the chunk is indistinguishable from a torn one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "profile_writer.h"

#define NCHUNKS 3

static uint8_t *small_fixture(size_t *len)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, 1024), 0);
    struct ns_pw_process p = {.pid = 9, .session = "s", .exe = "/bin/true", .producer = "t"};
    cr_assert_eq(ns_pw_process(&pw, &p), 0);
    cr_assert_eq(ns_pw_string(&pw, 1, "libc.so.6", 9), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    struct ns_pw_mapping m = {.id = 1, .lo = 0x1000, .hi = 0x9000, .path_id = 1};
    cr_assert_eq(ns_pw_mapping(&pw, &m), 0);
    struct ns_pw_frame f[2] = {{1, 0x1500}, {1, 0x2500}};
    cr_assert_eq(ns_pw_stack(&pw, 1, NSP_END_ROOT, f, 2), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    struct ns_pw_sample s[4] = {{10, 9, 1, 1}, {20, 9, 1, 1}, {15, 9, 0, 2}, {30, 9, 1, 1}};
    cr_assert_eq(ns_pw_samples(&pw, 1, s, 4), 0);
    cr_assert_eq(ns_pw_end(&pw, NSP_EXIT_NORMAL, 0, 5), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    ns_pw_destroy(&pw);
    close(fd);
    uint8_t *data = craft_slurp(path, len);
    unlink(path);
    return data;
}

static size_t chunk_of(const uint64_t *offs, size_t pos)
{
    size_t c = 0;
    while (c + 1 < NCHUNKS && offs[c + 1] <= pos)
        c++;
    return c;
}

static void check_flip(const uint8_t *data, size_t len, const uint64_t *offs, size_t pos, int bit)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, data, len);
    copy[pos] ^= (uint8_t)(1u << bit);
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    int rc = ns_profile_read_mem(copy, len, "flip.nsp", &p, &err);
    free(copy);
    if (pos < NSP_FILE_HEADER_LEN) {
        cr_assert_eq(rc, -1, "flip at %zu bit %d was accepted", pos, bit);
        cr_assert_eq(err.offset, 0);
        return;
    }
    size_t c = chunk_of(offs, pos);
    size_t in_chunk = pos - offs[c];
    if (rc == 0) {
        /* Only a comp_len grown past the end of the file may pass, as truncation. */
        cr_assert(in_chunk >= 8 && in_chunk < 12, "flip at %zu bit %d was accepted", pos, bit);
        cr_assert(p->truncated);
        cr_assert_eq(p->truncated_at, offs[c]);
        cr_assert_eq(p->chunks, c);
        ns_profile_free(p);
        return;
    }
    char expect[64];
    snprintf(expect, sizeof expect,
             "flip.nsp: chunk at offset %llu: ", (unsigned long long)offs[c]);
    cr_assert_eq(err.offset, offs[c], "flip at %zu: %s", pos, err.msg);
    cr_assert(strncmp(err.msg, expect, strlen(expect)) == 0, "flip at %zu: %s", pos, err.msg);
}

Test(corruption, every_bit_flip_is_caught_at_its_chunk)
{
    size_t len;
    uint8_t *data = small_fixture(&len);
    uint64_t offs[NCHUNKS + 1];
    cr_assert_eq(craft_chunk_offsets(data, len, offs, NCHUNKS + 1), NCHUNKS);
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(ns_profile_read_mem(data, len, "flip.nsp", &p, &err), 0, "%s", err.msg);
    cr_assert_eq(p->samples.n, 4);
    ns_profile_free(p);
    for (size_t pos = 0; pos < len; pos++)
        for (int bit = 0; bit < 8; bit++)
            check_flip(data, len, offs, pos, bit);
    free(data);
}

/* Random multi-byte damage, deterministic: must never crash, leak or hang (ASan build). */
Test(corruption, random_damage_never_crashes)
{
    size_t len;
    uint8_t *data = small_fixture(&len);
    uint64_t rng = 0x243F6A8885A308D3ull;
    for (int round = 0; round < 4000; round++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, data, len);
        int hits = 1 + round % 8;
        for (int h = 0; h < hits; h++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            copy[16 + rng % (len - 16)] = (uint8_t)(rng >> 32);
        }
        size_t cut = round % 3 == 0 ? (size_t)(rng >> 40) % (len + 1) : len;
        struct ns_profile *p = NULL;
        struct ns_read_error err = {0};
        if (ns_profile_read_mem(copy, cut, "rnd.nsp", &p, &err) == 0)
            ns_profile_free(p);
        else
            cr_assert(strncmp(err.msg, "rnd.nsp: ", 9) == 0, "%s", err.msg);
        free(copy);
    }
    free(data);
}
