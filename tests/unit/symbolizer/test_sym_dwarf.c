/*
 * Names, files, lines and inline chains from DWARF, for PIE and non-PIE programs, for the
 * running test itself, and the caches that make repeated lookups free.
 */
#include "sym_test_util.h"

#include <criterion/criterion.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TARGET_SRC "targets/target_c.c"

TestSuite(sym_dwarf, .fini = tu_remove_tempdirs);

struct line_range {
    int first, last;
};

static struct line_range marker_range(const char *begin, const char *end)
{
    char *src = tu_src(TARGET_SRC);
    struct line_range r = {tu_marker_line(src, begin), tu_marker_line(src, end)};
    free(src);
    return r;
}

static int marker(const char *name)
{
    char *src = tu_src(TARGET_SRC);
    int line = tu_marker_line(src, name);
    free(src);
    return line;
}

static void assert_frame(const struct ns_sym_frame *f, const char *function,
                         struct line_range lines, int inlined)
{
    cr_assert_str_eq(f->function, function);
    cr_assert(tu_ends_with(f->file, TARGET_SRC), "file %s", f->file ? f->file : "(null)");
    cr_assert(f->line >= (uint32_t)lines.first && f->line <= (uint32_t)lines.last,
              "%s: line %u not in [%d, %d]", function, f->line, lines.first, lines.last);
    cr_assert_eq(f->inlined, inlined);
    /* Where DWARF declares the function (inlined ones through their abstract origin). */
    cr_assert(tu_ends_with(f->decl_file, TARGET_SRC), "%s declared in %s", function,
              f->decl_file ? f->decl_file : "(null)");
}

/* Symbolizes sym_known_leaf (start and middle) of the given build of target_c. */
static void check_known_leaf(const char *binary)
{
    char *path = tu_bin(binary);
    uint64_t vaddr, size;
    uint8_t id[64];
    size_t id_len = tu_build_id(path, id);
    cr_assert(tu_elf_symbol(path, "sym_known_leaf", &vaddr, &size));
    cr_assert_gt(size, 4);
    struct tu_sym t;
    tu_sym_open(&t, NULL, path, id, id_len);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_OK, "%s", detail);
    struct line_range body = marker_range("leaf-begin", "leaf-end");
    uint64_t probes[] = {vaddr, vaddr + size / 2, vaddr + size - 1};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        size_t n;
        const struct ns_sym_frame *f = tu_sym_lookup(&t, probes[i], &n);
        cr_assert_eq(n, 1, "no inlining in sym_known_leaf, got %zu frames", n);
        assert_frame(&f[0], "sym_known_leaf", body, 0);
    }
    tu_sym_done(&t);
    free(path);
}

Test(sym_dwarf, pie_function_file_and_line)
{
    check_known_leaf("sym_target_c");
}

Test(sym_dwarf, non_pie_function_file_and_line)
{
    check_known_leaf("sym_target_c_nopie");
}

/* sym_inner is inlined into sym_middle, which is inlined into sym_outer. */
static void check_inline_chain(const char *binary)
{
    char *path = tu_bin(binary);
    uint64_t mark, size;
    cr_assert(tu_elf_symbol(path, "sym_inline_marker", &mark, &size));
    struct tu_sym t;
    tu_sym_open(&t, NULL, path, NULL, 0);
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, mark, &n);
    cr_assert_eq(n, 3, "expected sym_inner < sym_middle < sym_outer, got %zu frames", n);
    assert_frame(&f[0], "sym_inner", marker_range("inner-begin", "inner-end"), 1);
    int middle_call = marker("middle-call"), outer_call = marker("outer-call");
    /* Outer frames are at the line of the inlined call they contain. */
    assert_frame(&f[1], "sym_middle", (struct line_range){middle_call, middle_call}, 1);
    assert_frame(&f[2], "sym_outer", (struct line_range){outer_call, outer_call}, 0);
    tu_sym_done(&t);
    free(path);
}

Test(sym_dwarf, inline_chain_with_call_site_lines)
{
    check_inline_chain("sym_target_c");
}

Test(sym_dwarf, inline_chain_non_pie)
{
    check_inline_chain("sym_target_c_nopie");
}

Test(sym_dwarf, symbol_table_only_gives_names_without_lines)
{
    char *path = tu_bin("sym_target_c.nodebug");
    const char *empty = tu_tempdir();
    const char *dirs[] = {empty, NULL};
    uint64_t vaddr, size;
    cr_assert(tu_elf_symbol(path, "sym_known_leaf", &vaddr, &size));
    struct tu_sym t;
    tu_sym_open(&t, dirs, path, NULL, 0);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_NO_DEBUG_INFO, "%s", detail);
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, vaddr + size / 2, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(f[0].function, "sym_known_leaf");
    cr_assert_null(f[0].file);
    cr_assert_null(f[0].decl_file);
    cr_assert_eq(f[0].line, 0);
    tu_sym_done(&t);
    free(path);
}

Test(sym_dwarf, sysroot_is_prepended_to_the_path)
{
    struct ns_sym_options opt = {.sysroot = NS_SYM_TEST_BIN_DIR};
    struct ns_sym *s = ns_sym_new(&opt);
    char *path = tu_bin("sym_target_c");
    uint64_t vaddr, size;
    cr_assert(tu_elf_symbol(path, "sym_known_leaf", &vaddr, &size));
    struct ns_sym_object obj = {.path = "/sym_target_c"};
    const struct ns_sym_frame *f;
    size_t n;
    ns_sym_lookup(s, &obj, vaddr, &f, &n);
    cr_assert_str_eq(f[0].function, "sym_known_leaf");
    ns_sym_free(s);
    free(path);
}

/* ---- the running test program itself: run-time address minus load bias ---------------- */

__attribute__((noinline)) int sym_test_self_function(int x)
{
    return x * 31 + (int)getpid() % 7;
}

struct self_image {
    uint64_t bias;
    uint8_t id[64];
    size_t id_len;
};

static int find_main_image(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct self_image *img = arg;
    if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
        return 0; /* the main program comes first, with an empty name */
    img->bias = info->dlpi_addr;
    img->id_len = tu_image_build_id(info, img->id);
    return 1;
}

Test(sym_dwarf, the_running_test_program)
{
    struct self_image img = {0};
    dl_iterate_phdr(find_main_image, &img);
    cr_assert_gt(img.id_len, 0, "the test program has a build-id");
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(len, 0);
    exe[len] = '\0';
    struct tu_sym t;
    tu_sym_open(&t, NULL, exe, img.id, img.id_len);
    uint64_t vaddr = (uint64_t)(uintptr_t)&sym_test_self_function - img.bias;
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, vaddr, &n);
    cr_assert_str_eq(f[n - 1].function, "sym_test_self_function");
    cr_assert(tu_ends_with(f[n - 1].file, "test_sym_dwarf.c"), "%s", f[n - 1].file);
    tu_sym_done(&t);
}

/* ---- caching -------------------------------------------------------------------------- */

Test(sym_dwarf, repeated_addresses_and_shared_objects_hit_the_cache)
{
    char *path = tu_bin("sym_target_c"), *copy;
    const char *copy_dir = tu_tempdir();
    cr_assert(asprintf(&copy, "%s/elsewhere/sym_target_c", copy_dir) > 0);
    tu_copy(path, copy, (size_t)-1);
    uint8_t id[64];
    size_t id_len = tu_build_id(path, id);
    uint64_t vaddr, size;
    cr_assert(tu_elf_symbol(path, "sym_known_leaf", &vaddr, &size));

    struct ns_sym *s = ns_sym_new(NULL);
    struct ns_sym_object a = {path, id, id_len}, b = {copy, id, id_len};
    const struct ns_sym_frame *fa, *fb, *fa2;
    size_t na, nb, na2;
    ns_sym_lookup(s, &a, vaddr, &fa, &na);
    /* Many other addresses in between must not move or free what fa points to. */
    for (uint64_t off = 1; off < size; off++) {
        const struct ns_sym_frame *f;
        size_t n;
        ns_sym_lookup(s, &a, vaddr + off, &f, &n);
    }
    ns_sym_lookup(s, &a, vaddr, &fa2, &na2);
    /* Same build-id at another path: the same object, so the same cached frames. */
    ns_sym_lookup(s, &b, vaddr, &fb, &nb);
    cr_assert_eq(fa, fa2, "a repeated address is answered from the cache");
    cr_assert_eq(fa, fb, "objects are cached by build-id, not by path");
    cr_assert_eq(na, na2);
    cr_assert_eq(na, nb);
    cr_assert_str_eq(fa[0].function, "sym_known_leaf");
    ns_sym_free(s);
    free(copy);
    free(path);
}
