/*
 * Separate debug files (by build-id, by .gnu_debuglink with its CRC), build-id mismatches,
 * missing files, and damaged files that must not crash the symbolizer.
 */
#include "sym_test_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(sym_debugfiles, .fini = tu_remove_tempdirs);

/* A scratch area per test: tmp/ holds copies laid out as the test needs, dbg/ is the only
 * debug directory the symbolizer is given. */
struct scratch {
    const char *tmp;
    char *dbg;
    const char *dirs[2];
    uint8_t id[64];
    size_t id_len;
    uint64_t leaf, leaf_size;
};

static void scratch_init(struct scratch *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->tmp = tu_tempdir();
    cr_assert(asprintf(&sc->dbg, "%s/dbg", sc->tmp) > 0);
    tu_mkdirs(sc->dbg);
    sc->dirs[0] = sc->dbg;
    char *full = tu_bin("sym_target_c");
    sc->id_len = tu_build_id(full, sc->id);
    cr_assert_gt(sc->id_len, 0);
    cr_assert(tu_elf_symbol(full, "sym_known_leaf", &sc->leaf, &sc->leaf_size));
    free(full);
}

static void scratch_done(struct scratch *sc)
{
    free(sc->dbg);
}

/* Copies test program `name` to <tmp>/<relative>; returns the new path (malloc'd). */
static char *place(struct scratch *sc, const char *name, const char *relative)
{
    char *from = tu_bin(name), *to;
    cr_assert(asprintf(&to, "%s/%s", sc->tmp, relative) > 0);
    tu_copy(from, to, (size_t)-1);
    free(from);
    return to;
}

static void install_debug_by_build_id(struct scratch *sc)
{
    char *debug = tu_bin("sym_target_c.debug");
    tu_install_by_build_id(sc->dbg, sc->id, sc->id_len, debug);
    free(debug);
}

/* Looks up sym_known_leaf in `path` (recorded with build-id id/len) and checks the outcome. */
static void expect(struct scratch *sc, const char *path, const uint8_t *id, size_t len,
                   enum ns_sym_status status, bool named, bool has_line)
{
    struct tu_sym t;
    tu_sym_open(&t, sc->dirs, path, id, len);
    const char *detail;
    enum ns_sym_status st = tu_sym_status(&t, &detail);
    cr_assert_eq(st, status, "status %d, expected %d: %s", st, status, detail);
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, sc->leaf + sc->leaf_size / 2, &n);
    if (named)
        cr_assert_str_eq(f[n - 1].function, "sym_known_leaf", "%s", detail);
    else
        cr_assert_null(f[0].function, "named %s although %s", f[0].function, detail);
    if (has_line) {
        cr_assert(tu_ends_with(f[n - 1].file, "target_c.c"));
        cr_assert_gt(f[n - 1].line, 0);
    }
    tu_sym_done(&t);
}

Test(sym_debugfiles, stripped_binary_found_by_build_id)
{
    struct scratch sc;
    scratch_init(&sc);
    char *stripped = place(&sc, "sym_target_c.stripped", "bin/prog");
    expect(&sc, stripped, sc.id, sc.id_len, NS_SYM_NO_SYMBOLS, false, false);
    install_debug_by_build_id(&sc);
    expect(&sc, stripped, sc.id, sc.id_len, NS_SYM_OK, true, true);
    /* Without a recorded build-id the file's own one is used to find the debug file. */
    expect(&sc, stripped, NULL, 0, NS_SYM_OK, true, true);
    free(stripped);
    scratch_done(&sc);
}

/* The stripped program with a .gnu_debuglink to sym_target_c.debug; no build-id directory. */
static void check_debuglink_location(const char *debug_relative, bool in_debug_dir)
{
    struct scratch sc;
    scratch_init(&sc);
    char *prog = place(&sc, "sym_target_c.linked", "usr/bin/prog");
    expect(&sc, prog, sc.id, sc.id_len, NS_SYM_NO_SYMBOLS, false, false);
    char *debug = tu_bin("sym_target_c.debug"), *dest;
    if (in_debug_dir) /* <debug dir>/<directory of the recorded path>/<link> */
        cr_assert(asprintf(&dest, "%s%s/%s/sym_target_c.debug", sc.dbg, sc.tmp, debug_relative) >
                  0);
    else
        cr_assert(asprintf(&dest, "%s/%s", sc.tmp, debug_relative) > 0);
    tu_copy(debug, dest, (size_t)-1);
    expect(&sc, prog, sc.id, sc.id_len, NS_SYM_OK, true, true);
    free(dest);
    free(debug);
    free(prog);
    scratch_done(&sc);
}

Test(sym_debugfiles, debuglink_next_to_the_file)
{
    check_debuglink_location("usr/bin/sym_target_c.debug", false);
}

Test(sym_debugfiles, debuglink_in_dot_debug)
{
    check_debuglink_location("usr/bin/.debug/sym_target_c.debug", false);
}

Test(sym_debugfiles, debuglink_under_a_debug_dir)
{
    check_debuglink_location("usr/bin", true);
}

Test(sym_debugfiles, debuglink_target_with_wrong_crc_is_ignored)
{
    struct scratch sc;
    scratch_init(&sc);
    char *prog = place(&sc, "sym_target_c.linked", "usr/bin/prog");
    /* The debug file of another build, under the name the link asks for. */
    char *other = place(&sc, "sym_target_c_v2.debug", "usr/bin/sym_target_c.debug");
    expect(&sc, prog, sc.id, sc.id_len, NS_SYM_NO_SYMBOLS, false, false);
    free(other);
    free(prog);
    scratch_done(&sc);
}

static void assert_contains(const char *haystack, const char *needle)
{
    cr_assert(strstr(haystack, needle) != NULL, "'%s' does not mention '%s'", haystack, needle);
}

Test(sym_debugfiles, build_id_mismatch_is_reported_and_the_file_not_used)
{
    struct scratch sc;
    scratch_init(&sc);
    /* The profile recorded build 1; the path now holds build 2, which has full symbols. */
    char *v2 = tu_bin("sym_target_c_v2");
    uint8_t v2_id[64];
    size_t v2_len = tu_build_id(v2, v2_id);
    cr_assert(v2_len != sc.id_len || memcmp(v2_id, sc.id, v2_len) != 0);
    expect(&sc, v2, sc.id, sc.id_len, NS_SYM_BUILD_ID_MISMATCH, false, false);

    struct tu_sym t;
    tu_sym_open(&t, sc.dirs, v2, sc.id, sc.id_len);
    const char *detail;
    tu_sym_status(&t, &detail);
    char *recorded = tu_hex(sc.id, sc.id_len), *actual = tu_hex(v2_id, v2_len);
    assert_contains(detail, recorded);
    assert_contains(detail, actual);
    tu_sym_done(&t);

    /* With the recorded build's debug file available, that file names the address. */
    install_debug_by_build_id(&sc);
    expect(&sc, v2, sc.id, sc.id_len, NS_SYM_OK, true, true);
    tu_sym_open(&t, sc.dirs, v2, sc.id, sc.id_len);
    tu_sym_status(&t, &detail);
    assert_contains(detail, actual);
    assert_contains(detail, "another build");
    tu_sym_done(&t);
    free(recorded);
    free(actual);
    free(v2);
    scratch_done(&sc);
}

Test(sym_debugfiles, missing_file)
{
    struct scratch sc;
    scratch_init(&sc);
    char *gone;
    cr_assert(asprintf(&gone, "%s/no/such/prog", sc.tmp) > 0);
    expect(&sc, gone, sc.id, sc.id_len, NS_SYM_MISSING, false, false);
    expect(&sc, gone, NULL, 0, NS_SYM_MISSING, false, false);
    install_debug_by_build_id(&sc);
    expect(&sc, gone, sc.id, sc.id_len, NS_SYM_OK, true, true);
    free(gone);
    scratch_done(&sc);
}

Test(sym_debugfiles, not_an_elf_file)
{
    struct scratch sc;
    scratch_init(&sc);
    char *src = tu_src("targets/target_c.c");
    expect(&sc, src, NULL, 0, NS_SYM_NOT_ELF, false, false);
    expect(&sc, sc.tmp, NULL, 0, NS_SYM_NOT_ELF, false, false); /* a directory */
    expect(&sc, "/dev/null", NULL, 0, NS_SYM_NOT_ELF, false, false);
    free(src);
    scratch_done(&sc);
}

Test(sym_debugfiles, unusual_recorded_build_ids)
{
    struct scratch sc;
    scratch_init(&sc);
    char *full = tu_bin("sym_target_c");
    uint8_t longer[100];
    memset(longer, 0xab, sizeof longer);
    struct ns_sym *s = ns_sym_new(NULL);
    const char *detail;
    /* Longer than any build-id: never matches, and the detail is still well-formed. */
    struct ns_sym_object too_long = {full, longer, sizeof longer};
    cr_assert_eq(ns_sym_module_status(s, &too_long, &detail), NS_SYM_BUILD_ID_MISMATCH);
    cr_assert(strstr(detail, "abababab") != NULL, "%s", detail);
    /* A length without bytes is no build-id: the file is used. */
    struct ns_sym_object no_bytes = {full, NULL, 20};
    cr_assert_eq(ns_sym_module_status(s, &no_bytes, &detail), NS_SYM_OK, "%s", detail);
    ns_sym_free(s);
    free(full);
    scratch_done(&sc);
}

/* ---- damaged files: any outcome but a crash (or a sanitizer report) -------------------- */

static void lookup_everything(struct scratch *sc, const char *path, const uint8_t *id, size_t len)
{
    struct tu_sym t;
    tu_sym_open(&t, sc->dirs, path, id, len);
    tu_sym_status(&t, NULL);
    for (uint64_t off = 0; off < sc->leaf_size; off += 3) {
        size_t n;
        tu_sym_lookup(&t, sc->leaf + off, &n);
    }
    size_t n;
    tu_sym_lookup(&t, 0, &n);
    tu_sym_lookup(&t, UINT64_MAX, &n);
    tu_sym_done(&t);
}

static const double cut_points[] = {0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999};

Test(sym_debugfiles, truncated_binary)
{
    struct scratch sc;
    scratch_init(&sc);
    char *full = tu_bin("sym_target_c"), *cut;
    cr_assert(asprintf(&cut, "%s/cut/prog", sc.tmp) > 0);
    size_t size = tu_file_size(full);
    size_t fixed[] = {1, 4, 16, 52, 63, 64, 65, 200};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        tu_copy(full, cut, fixed[i]);
        lookup_everything(&sc, cut, NULL, 0);
    }
    for (size_t i = 0; i < sizeof cut_points / sizeof cut_points[0]; i++) {
        tu_copy(full, cut, (size_t)(cut_points[i] * (double)size));
        lookup_everything(&sc, cut, NULL, 0);
        lookup_everything(&sc, cut, sc.id, sc.id_len);
    }
    free(cut);
    free(full);
    scratch_done(&sc);
}

Test(sym_debugfiles, truncated_debug_file)
{
    struct scratch sc;
    scratch_init(&sc);
    char *stripped = place(&sc, "sym_target_c.stripped", "bin/prog");
    char *debug = tu_bin("sym_target_c.debug"), *hex = tu_hex(sc.id, sc.id_len), *dest;
    cr_assert(asprintf(&dest, "%s/.build-id/%.2s/%s.debug", sc.dbg, hex, hex + 2) > 0);
    size_t size = tu_file_size(debug);
    for (size_t i = 0; i < sizeof cut_points / sizeof cut_points[0]; i++) {
        tu_copy(debug, dest, (size_t)(cut_points[i] * (double)size));
        lookup_everything(&sc, stripped, sc.id, sc.id_len);
        /* ... and the debug file standing in for a missing program. */
        lookup_everything(&sc, "/nonexistent/prog", sc.id, sc.id_len);
    }
    free(dest);
    free(hex);
    free(debug);
    free(stripped);
    scratch_done(&sc);
}

/* Copies from to to with `flips` bytes at or after `from_offset` replaced (xorshift). */
static void corrupt_copy(const char *from, const char *to, size_t from_offset, int flips,
                         uint64_t *rng)
{
    size_t size = tu_file_size(from);
    tu_copy(from, to, (size_t)-1);
    FILE *f = fopen(to, "r+b");
    cr_assert_not_null(f);
    for (int k = 0; k < flips; k++) {
        *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
        fseek(f, (long)(from_offset + *rng % (size - from_offset)), SEEK_SET);
        fputc((int)(*rng >> 32) & 0xff, f);
    }
    fclose(f);
}

/* Damages the second half of the debug file (its DWARF), deterministically. */
Test(sym_debugfiles, corrupted_debug_file)
{
    struct scratch sc;
    scratch_init(&sc);
    char *debug = tu_bin("sym_target_c.debug"), *hex = tu_hex(sc.id, sc.id_len), *dest;
    cr_assert(asprintf(&dest, "%s/.build-id/%.2s/%s.debug", sc.dbg, hex, hex + 2) > 0);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 40; round++) {
        corrupt_copy(debug, dest, tu_file_size(debug) / 2, 8, &rng);
        lookup_everything(&sc, "/nonexistent/prog", sc.id, sc.id_len);
    }
    free(dest);
    free(hex);
    free(debug);
    scratch_done(&sc);
}

/* Damages any bytes of a full program: headers, symbols, DWARF. */
Test(sym_debugfiles, corrupted_binary)
{
    struct scratch sc;
    scratch_init(&sc);
    char *full = tu_bin("sym_target_c"), *dest;
    cr_assert(asprintf(&dest, "%s/bad/prog", sc.tmp) > 0);
    uint64_t rng = 1;
    for (int round = 0; round < 100; round++) {
        corrupt_copy(full, dest, 0, 4, &rng);
        lookup_everything(&sc, dest, NULL, 0);
    }
    free(dest);
    free(full);
    scratch_done(&sc);
}
