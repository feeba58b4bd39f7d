/*
 * Real Debian objects: stripped programs (gzip), dynamic-symbol-only programs (python3.11),
 * libc with libc6-dbg, the vDSO, pseudo mappings — and a comparison with eu-addr2line -i over
 * many addresses.
 */
#include "sym_test_util.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

TestSuite(sym_system, .fini = tu_remove_tempdirs);

static void skip_unless_exists(const char *path)
{
    if (access(path, R_OK) != 0)
        cr_skip_test("%s is not installed", path);
}

/* A debug directory with nothing in it: what is found then comes from the object itself. */
struct empty_dirs {
    const char *dir;
    const char *dirs[2];
};

static void empty_dirs_init(struct empty_dirs *e)
{
    e->dir = tu_tempdir();
    e->dirs[0] = e->dir;
    e->dirs[1] = NULL;
}

Test(sym_system, stripped_gzip_is_not_misnamed)
{
    const char *gzip = "/usr/bin/gzip";
    skip_unless_exists(gzip);
    uint64_t text, size;
    cr_assert(tu_elf_section(gzip, ".text", &text, &size));
    uint8_t id[64];
    size_t id_len = tu_build_id(gzip, id);
    struct empty_dirs e;
    empty_dirs_init(&e);
    struct tu_sym t;
    tu_sym_open(&t, e.dirs, gzip, id, id_len);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_NO_SYMBOLS, "%s", detail);
    for (uint64_t off = 0; off < size; off += size / 97 + 1) {
        size_t n;
        const struct ns_sym_frame *f = tu_sym_lookup(&t, text + off, &n);
        cr_assert_eq(n, 1);
        cr_assert_null(f[0].function, "gzip+%#lx named %s", (unsigned long)(text + off),
                       f[0].function);
    }
    tu_sym_done(&t);
}

Test(sym_system, python_named_through_dynsym_within_symbol_sizes)
{
    const char *python = "/usr/bin/python3.11";
    skip_unless_exists(python);
    uint64_t eval, eval_size;
    cr_assert(tu_elf_symbol(python, "_PyEval_EvalFrameDefault", &eval, &eval_size));
    struct empty_dirs e;
    empty_dirs_init(&e);
    struct tu_sym t;
    tu_sym_open(&t, e.dirs, python, NULL, 0);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_NO_DEBUG_INFO, "%s", detail);
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, eval, &n);
    cr_assert_str_eq(f[0].function, "_PyEval_EvalFrameDefault");
    f = tu_sym_lookup(&t, eval + eval_size / 2, &n);
    cr_assert_str_eq(f[0].function, "_PyEval_EvalFrameDefault");

    /* Where an exported function ends and unexported code follows, the bytes after its end
     * belong to no exported name. */
    struct tu_func *funcs;
    size_t nfuncs = tu_elf_functions(python, true, &funcs), gaps = 0;
    for (size_t i = 0; i + 1 < nfuncs && gaps < 200; i++) {
        uint64_t end = funcs[i].start + funcs[i].size;
        if (end >= funcs[i + 1].start)
            continue;
        gaps++;
        f = tu_sym_lookup(&t, end - 1, &n);
        cr_assert_str_eq(f[0].function, funcs[i].name);
        f = tu_sym_lookup(&t, end, &n);
        cr_assert_null(f[0].function, "%#lx, just after %s, named %s", (unsigned long)end,
                       funcs[i].name, f[0].function);
    }
    cr_assert_gt(gaps, 10, "python3.11 has unexported code between exported functions");
    tu_free_functions(funcs, nfuncs);
    tu_sym_done(&t);
}

static void skip_unless_libc_debug(const uint8_t *id, size_t len)
{
    char *hex = tu_hex(id, len), *debug;
    cr_assert(asprintf(&debug, "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2) > 0);
    bool present = access(debug, R_OK) == 0;
    free(debug);
    free(hex);
    if (!present)
        cr_skip_test("libc6-dbg is not installed (no debug file for this libc's build-id)");
}

Test(sym_system, libc_with_libc6_dbg_has_lines)
{
    skip_unless_exists(LIBC_PATH);
    uint8_t id[64];
    size_t id_len = tu_build_id(LIBC_PATH, id);
    skip_unless_libc_debug(id, id_len);
    uint64_t getenv_addr, size;
    cr_assert(tu_elf_symbol(LIBC_PATH, "getenv", &getenv_addr, &size));
    struct tu_sym t;
    tu_sym_open(&t, NULL, LIBC_PATH, id, id_len);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_OK, "%s", detail);
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, getenv_addr + size / 2, &n);
    cr_assert_str_eq(f[n - 1].function, "getenv");
    cr_assert(tu_ends_with(f[n - 1].file, "getenv.c"), "%s", f[n - 1].file);
    cr_assert_gt(f[n - 1].line, 0);
    tu_sym_done(&t);
}

/* ---- the vDSO and other pseudo mappings ---------------------------------------------- */

struct vdso_info {
    uint8_t id[64];
    size_t id_len;
};

static int find_vdso(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct vdso_info *v = arg;
    if (info->dlpi_addr == 0 || info->dlpi_name == NULL ||
        strncmp(info->dlpi_name, "linux-vdso", 10) != 0)
        return 0;
    v->id_len = tu_image_build_id(info, v->id);
    return 1;
}

/* Writes this process's vDSO image (headers to section table) to a file, for libelf. */
static char *dump_vdso(const char *dir)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    cr_assert_not_null(eh);
    size_t size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
    char *path;
    cr_assert(asprintf(&path, "%s/vdso.so", dir) > 0);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(eh, 1, size, f), size);
    fclose(f);
    return path;
}

Test(sym_system, vdso_symbolized_from_this_machine_when_build_ids_match)
{
    struct vdso_info v = {0};
    dl_iterate_phdr(find_vdso, &v);
    if (v.id_len == 0)
        cr_skip_test("this kernel's vDSO has no build-id");
    struct empty_dirs e;
    empty_dirs_init(&e);
    char *image = dump_vdso(e.dir);
    uint64_t fn, size;
    cr_assert(tu_elf_symbol(image, "__vdso_clock_gettime", &fn, &size));

    struct tu_sym t;
    tu_sym_open(&t, e.dirs, "[vdso]", v.id, v.id_len);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_NO_DEBUG_INFO, "%s", detail);
    size_t n;
    const struct ns_sym_frame *f = tu_sym_lookup(&t, fn + size / 2, &n);
    cr_assert(tu_ends_with(f[0].function, "clock_gettime"), "%s", f[0].function);
    tu_sym_done(&t);

    /* Another kernel's vDSO: not this one, so nothing is named. */
    uint8_t other[64];
    memcpy(other, v.id, v.id_len);
    other[0] ^= 0xff;
    tu_sym_open(&t, e.dirs, "[vdso]", other, v.id_len);
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_NOT_ELF, "%s", detail);
    f = tu_sym_lookup(&t, fn, &n);
    cr_assert_null(f[0].function);
    tu_sym_done(&t);
    free(image);
}

Test(sym_system, pseudo_mappings_are_not_elf)
{
    const char *pseudo[] = {"[vdso]", "[heap]", "[stack]", "", "anon_inode:[perf_event]"};
    for (size_t i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++) {
        struct tu_sym t;
        tu_sym_open(&t, NULL, pseudo[i], NULL, 0);
        cr_assert_eq(tu_sym_status(&t, NULL), NS_SYM_NOT_ELF, "'%s'", pseudo[i]);
        size_t n;
        const struct ns_sym_frame *f = tu_sym_lookup(&t, 0x1000, &n);
        cr_assert_eq(n, 1);
        cr_assert_null(f[0].function);
        tu_sym_done(&t);
    }
    struct ns_sym *s = ns_sym_new(NULL);
    struct ns_sym_object null_path = {0};
    const char *detail;
    cr_assert_eq(ns_sym_module_status(s, &null_path, &detail), NS_SYM_NOT_ELF);
    ns_sym_free(s);
}

/* ---- eu-addr2line -i as an oracle ------------------------------------------------------
 *
 * eu-addr2line 0.188 computes the inline chain (-i) for the start address of the line-table
 * row containing the address, not for the address itself (dwfl_lineinfo overwrites it). Its
 * innermost frame is right for every address; its full chain only at row starts. So every
 * byte is compared on the innermost frame, and row starts on the whole chain.
 */

struct oracle_frame {
    char function[16384]; /* C++ template names get long */
    char file[4096];
    unsigned line;
};

/* Parses "FUNC at FILE:LINE[:COL]" (eu-addr2line --pretty-print). */
static void parse_oracle_frame(char *text, struct oracle_frame *f)
{
    text[strcspn(text, "\n")] = '\0';
    char *at = strstr(text, " at ");
    cr_assert_not_null(at, "unexpected eu-addr2line output '%s'", text);
    *at = '\0';
    snprintf(f->function, sizeof f->function, "%s", text);
    char *loc = at + 4, *colon = strrchr(loc, ':');
    cr_assert_not_null(colon);
    char *prev = colon;
    while (prev > loc && prev[-1] != ':')
        prev--;
    if (prev > loc) { /* FILE:LINE:COL */
        *colon = '\0';
        colon = prev - 1;
    }
    *colon = '\0';
    f->line = (unsigned)strtoul(colon + 1, NULL, 10);
    snprintf(f->file, sizeof f->file, "%s", loc);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Our name may be DW_AT_name where eu-addr2line prints an asm-alias linkage name
 * (getenv / __GI_getenv); C++ names must match exactly. */
static bool same_function(const char *ours, const char *theirs)
{
    if (ours == NULL)
        return strcmp(theirs, "??") == 0;
    return strcmp(ours, theirs) == 0 || (strncmp(theirs, "_Z", 2) != 0 &&
                                         tu_ends_with(theirs, ours) && strchr(ours, ':') == NULL);
}

static void compare_frame(uint64_t addr, size_t k, const struct ns_sym_frame *f,
                          const struct oracle_frame *o)
{
    cr_assert(same_function(f->function, o->function), "%#lx frame %zu: %s vs %s",
              (unsigned long)addr, k, f->function, o->function);
    cr_assert_eq(f->line, o->line, "%#lx frame %zu (%s): line %u vs %u", (unsigned long)addr, k,
                 o->function, f->line, o->line);
    const char *ours = f->file != NULL ? base_name(f->file) : "??";
    cr_assert_str_eq(ours, base_name(o->file), "%#lx frame %zu", (unsigned long)addr, k);
}

static void compare_frames(uint64_t addr, const struct ns_sym_frame *f, size_t n,
                           const struct oracle_frame *o, size_t no, bool whole_chain)
{
    if (!whole_chain) {
        compare_frame(addr, 0, &f[0], &o[0]);
        return;
    }
    cr_assert_eq(n, no, "%#lx: %zu frames, eu-addr2line has %zu", (unsigned long)addr, n, no);
    for (size_t k = 0; k < n; k++) {
        compare_frame(addr, k, &f[k], &o[k]);
        cr_assert_eq(f[k].inlined, k + 1 < n);
    }
}

enum { ORACLE_BATCH = 400, ORACLE_MAX_FRAMES = 64 };

struct oracle_run {
    struct tu_sym *t;
    const uint64_t *addrs;
    size_t n, done;
    bool whole_chain;
    struct oracle_frame frames[ORACLE_MAX_FRAMES];
    size_t nframes;
};

static void check_answer(struct oracle_run *r)
{
    cr_assert_lt(r->done, r->n, "eu-addr2line printed more answers than addresses");
    size_t n;
    uint64_t addr = r->addrs[r->done++];
    const struct ns_sym_frame *f = tu_sym_lookup(r->t, addr, &n);
    compare_frames(addr, f, n, r->frames, r->nframes, r->whole_chain);
    r->nframes = 0;
}

static char *oracle_command(const char *path, const uint64_t *addrs, size_t n)
{
    size_t cap = 128 + strlen(path) + n * 20, len;
    char *cmd = malloc(cap);
    cr_assert_not_null(cmd);
    len = (size_t)snprintf(cmd, cap, "eu-addr2line --pretty-print -a -i -f -C -e '%s'", path);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(cmd + len, cap - len, " %#lx", (unsigned long)addrs[i]);
    return cmd;
}

static void compare_batch(struct tu_sym *t, const char *path, const uint64_t *addrs, size_t n,
                          bool whole_chain)
{
    static struct oracle_run r;
    r = (struct oracle_run){.t = t, .addrs = addrs, .n = n, .whole_chain = whole_chain};
    static char line[16384];
    char *cmd = oracle_command(path, addrs, n);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    while (fgets(line, sizeof line, p) != NULL) {
        bool inlined = strncmp(line, " (inlined by) ", 14) == 0;
        if (!inlined && r.nframes > 0)
            check_answer(&r);
        cr_assert_lt(r.nframes, ORACLE_MAX_FRAMES);
        char *text = inlined ? line + 14 : strstr(line, ": ");
        cr_assert_not_null(text, "unexpected eu-addr2line output '%s'", line);
        parse_oracle_frame(inlined ? text : text + 2, &r.frames[r.nframes++]);
    }
    if (r.nframes > 0)
        check_answer(&r);
    cr_assert_eq(pclose(p), 0);
    cr_assert_eq(r.done, n, "eu-addr2line answered %zu of %zu addresses", r.done, n);
    free(cmd);
}

static void compare_all(const char *path, const uint64_t *addrs, size_t n, bool whole_chain)
{
    skip_unless_exists("/usr/bin/eu-addr2line");
    struct tu_sym t;
    tu_sym_open(&t, NULL, path, NULL, 0);
    for (size_t i = 0; i < n; i += ORACLE_BATCH)
        compare_batch(&t, path, addrs + i, n - i < ORACLE_BATCH ? n - i : ORACLE_BATCH,
                      whole_chain);
    tu_sym_done(&t);
}

/* Every `step`-th byte of .text, at most `limit` of them: innermost frames. */
static void compare_text_bytes(const char *path, uint64_t step, size_t limit)
{
    uint64_t text, size;
    cr_assert(tu_elf_section(path, ".text", &text, &size));
    size_t n = 0;
    uint64_t *addrs = malloc(limit * sizeof *addrs);
    cr_assert_not_null(addrs);
    for (uint64_t off = 0; off < size && n < limit; off += step)
        addrs[n++] = text + off;
    compare_all(path, addrs, n, false);
    free(addrs);
}

/* Every `step`-th line-table row start, at most `limit` of them: whole inline chains. */
static void compare_row_starts(const char *path, size_t step, size_t limit)
{
    uint64_t *rows;
    size_t nrows = tu_line_row_addresses(path, &rows), n = 0;
    cr_assert_gt(nrows, 0, "%s has a line table", path);
    for (size_t i = 0; i < nrows && n < limit; i += step)
        rows[n++] = rows[i];
    compare_all(path, rows, n, true);
    free(rows);
}

Test(sym_system, agrees_with_eu_addr2line_on_the_c_program)
{
    char *path = tu_bin("sym_target_c");
    compare_text_bytes(path, 1, 100000);
    compare_row_starts(path, 1, 100000);
    free(path);
}

Test(sym_system, agrees_with_eu_addr2line_on_the_cxx_program)
{
    char *path = tu_bin("sym_target_cxx");
    compare_text_bytes(path, 5, 100000); /* eu-addr2line is slow on C++: every 5th byte */
    compare_row_starts(path, 1, 100000);
    free(path);
}

Test(sym_system, agrees_with_eu_addr2line_on_libc)
{
    skip_unless_exists(LIBC_PATH);
    uint8_t id[64];
    skip_unless_libc_debug(id, tu_build_id(LIBC_PATH, id));
    compare_text_bytes(LIBC_PATH, 701, 2400);
    compare_row_starts(LIBC_PATH, 97, 2400);
}
