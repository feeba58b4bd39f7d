/*
 * PLT stubs named `name@plt`, checked against objdump (binutils: another implementation, which
 * names stubs from its own reading of the relocations) on fixtures of every PLT layout the
 * toolchains here write, on Debian's libsqlite3, on C++ names, and on damaged copies.
 *
 * Fixtures (CMakeLists.txt): libplt_lib_V.so and plt_main_V (PIE) for V in lazy, now (-z now),
 * ibt (-fcf-protection, .plt.sec) and lld (sh_entsize 0), each with a .plt.got stub where GNU
 * ld writes one. Each byte of each PLT section, and the bytes after the last one, must be
 * named as objdump's stub covering it, and bytes no stub covers (PLT0, lazy IBT entries,
 * padding) must not be named as a stub.
 */
#include "sym_test_util.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQLITE_PATH "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"

TestSuite(sym_plt, .fini = tu_remove_tempdirs);

static const char *const plt_sections[] = {".plt", ".plt.sec", ".plt.got"};
enum { NPLT_SECTIONS = sizeof plt_sections / sizeof plt_sections[0] };

/* One stub as objdump prints it: [start, end) up to the next label or the section's end. */
struct stub {
    uint64_t start, end;
    char *name;
    const char *section;
};

struct stubs {
    struct stub *v;
    size_t n;
};

static void skip_unless_x86_64(void)
{
#if !defined(__x86_64__)
    cr_skip_test("PLT stubs are decoded on x86_64 only");
#endif
}

static void skip_unless_objdump(void)
{
    if (system("objdump --version >/dev/null 2>&1") != 0)
        cr_skip_test("objdump (binutils) is not installed");
}

/* A fixture built next to the test; skipped when this build has none of that variant. */
static char *fixture(const char *name)
{
    skip_unless_x86_64();
    char *path = tu_bin(name);
    if (access(path, R_OK) != 0) {
        free(path);
        cr_skip_test("%s was not built (no ld.lld, or not x86_64)", name);
    }
    return path;
}

static const char *plt_section_named(const char *name)
{
    for (size_t i = 0; i < NPLT_SECTIONS; i++)
        if (strcmp(name, plt_sections[i]) == 0)
            return plt_sections[i];
    return NULL;
}

static void add_stub(struct stubs *s, struct stub st)
{
    s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
    cr_assert_not_null(s->v);
    s->v[s->n++] = st;
}

/* Ends the last stub of `section` at end, if it is still open. */
static void close_last(struct stubs *s, const char *section, uint64_t end)
{
    if (s->n > 0 && s->v[s->n - 1].section == section && s->v[s->n - 1].end == 0)
        s->v[s->n - 1].end = end;
}

/* Closes the open stub at the section's end. */
static void close_section(const char *path, struct stubs *s, const char *section)
{
    uint64_t start, size;
    if (section != NULL && tu_elf_section(path, section, &start, &size))
        close_last(s, section, start + size);
}

/* The `<name@plt>` labels of `objdump -d` over the PLT sections of path (-C: demangled). */
static struct stubs objdump_stubs(const char *path, bool demangle)
{
    skip_unless_objdump();
    char *cmd;
    cr_assert(asprintf(&cmd,
                       "objdump -d %s --section=.plt --section=.plt.sec --section=.plt.got '%s' "
                       "2>/dev/null",
                       demangle ? "-C" : "", path) > 0);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    struct stubs s = {0};
    const char *section = NULL;
    char line[4096], name[4096], sec[64];
    unsigned long long addr;
    while (fgets(line, sizeof line, p) != NULL) {
        if (sscanf(line, "Disassembly of section %63[^:]:", sec) == 1) {
            close_section(path, &s, section);
            section = plt_section_named(sec);
        } else if (section != NULL && sscanf(line, "%llx <%4095[^\n]", &addr, name) == 2 &&
                   tu_ends_with(name, ">:")) {
            name[strlen(name) - 2] = '\0';
            close_last(&s, section, addr);
            if (tu_ends_with(name, "@plt"))
                add_stub(&s, (struct stub){addr, 0, strdup(name), section});
        }
    }
    close_section(path, &s, section);
    free(cmd);
    cr_assert_eq(pclose(p), 0, "objdump failed on %s", path);
    return s;
}

static void free_stubs(struct stubs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
}

static const struct stub *stub_named(const struct stubs *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

static const struct stub *stub_covering(const struct stubs *s, uint64_t addr)
{
    for (size_t i = 0; i < s->n; i++)
        if (addr >= s->v[i].start && addr < s->v[i].end)
            return &s->v[i];
    return NULL;
}

/* The innermost frame's function (after a PLT section, code with inlined calls may follow). */
static const char *lookup_frames(struct tu_sym *t, uint64_t addr, size_t *n)
{
    const struct ns_sym_frame *f = tu_sym_lookup(t, addr, n);
    return f[0].function;
}

static const char *lookup(struct tu_sym *t, uint64_t addr)
{
    size_t n;
    return lookup_frames(t, addr, &n);
}

/* Every byte of the PLT sections of path, and 32 bytes after each: the stub objdump says
 * covers it, or no stub name at all. */
static void check_every_plt_byte(struct tu_sym *t, const char *path, const struct stubs *truth)
{
    cr_assert_gt(truth->n, 0, "objdump found no stubs in %s", path);
    for (size_t i = 0; i < NPLT_SECTIONS; i++) {
        uint64_t start, size;
        if (!tu_elf_section(path, plt_sections[i], &start, &size))
            continue;
        for (uint64_t a = start; a < start + size + 32; a++) {
            const struct stub *want = stub_covering(truth, a);
            size_t n;
            const char *got = lookup_frames(t, a, &n);
            if (want != NULL)
                cr_assert(n == 1 && got != NULL && strcmp(got, want->name) == 0,
                          "%s+%#lx (%s): named %s, objdump says %s", path, (unsigned long)a,
                          plt_sections[i], got, want->name);
            else
                cr_assert(!tu_ends_with(got, "@plt"), "%s+%#lx (%s): named %s, not a stub", path,
                          (unsigned long)a, plt_sections[i], got);
        }
    }
}

static uint64_t section_entsize(const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    Elf64_Ehdr eh;
    cr_assert_eq(fread(&eh, sizeof eh, 1, f), 1);
    Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof *sh);
    cr_assert_not_null(sh);
    cr_assert_eq(fseek(f, (long)eh.e_shoff, SEEK_SET), 0);
    cr_assert_eq(fread(sh, sizeof *sh, eh.e_shnum, f), eh.e_shnum);
    char *names = malloc(sh[eh.e_shstrndx].sh_size);
    cr_assert_not_null(names);
    cr_assert_eq(fseek(f, (long)sh[eh.e_shstrndx].sh_offset, SEEK_SET), 0);
    cr_assert_eq(fread(names, 1, sh[eh.e_shstrndx].sh_size, f), sh[eh.e_shstrndx].sh_size);
    uint64_t entsize = UINT64_MAX;
    for (size_t i = 0; i < eh.e_shnum; i++)
        if (strcmp(names + sh[i].sh_name, name) == 0)
            entsize = sh[i].sh_entsize;
    fclose(f);
    free(names);
    free(sh);
    cr_assert_neq(entsize, UINT64_MAX, "%s has no %s", path, name);
    return entsize;
}

/* What each variant must contain for its test to mean something. */
static void check_layout(const char *variant, const char *path, const struct stubs *s,
                         const char *got_user)
{
    if (strcmp(variant, "ibt") == 0) {
        cr_assert_not_null(stub_named(s, "free@plt"));
        cr_assert_str_eq(stub_named(s, "free@plt")->section, ".plt.sec");
    }
    if (strcmp(variant, "lld") == 0) {
        cr_assert_eq(section_entsize(path, ".plt"), 0, "lld writes sh_entsize 0");
    } else {
        cr_assert_not_null(stub_named(s, got_user), "%s: %s", path, got_user);
        cr_assert_str_eq(stub_named(s, got_user)->section, ".plt.got", "%s", path);
    }
}

static void check_fixture(const char *variant, const char *file, const char *const *calls,
                          const char *got_user)
{
    char *name, *path;
    cr_assert(asprintf(&name, file, variant) > 0);
    path = fixture(name);
    struct stubs truth = objdump_stubs(path, false);
    for (const char *const *c = calls; *c != NULL; c++)
        cr_assert_not_null(stub_named(&truth, *c), "%s: objdump shows no %s", path, *c);
    check_layout(variant, path, &truth, got_user);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    const char *detail;
    /* Built -g: the PLT has no DIE, and the stubs are still named. */
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_OK, "%s", detail);
    check_every_plt_byte(&t, path, &truth);
    uint64_t plt, size;
    cr_assert(tu_elf_section(path, ".plt", &plt, &size));
    if (stub_covering(&truth, plt) == NULL) /* PLT0: the lazy-binding resolver entry */
        for (uint64_t a = plt; a < plt + 16; a++)
            cr_assert_null(lookup(&t, a), "PLT0 %#lx named %s", (unsigned long)a, lookup(&t, a));
    tu_sym_done(&t);
    free_stubs(&truth);
    free(path);
    free(name);
}

static const char *const lib_calls[] = {"free@plt",   "strlen@plt", "memcmp@plt", "strtol@plt",
                                        "memcpy@plt", "malloc@plt", NULL};
static const char *const main_calls[] = {"getenv@plt", "free@plt",   "printf@plt",
                                         "strtol@plt", "strdup@plt", "plt_lib_work@plt",
                                         "strcmp@plt", NULL};

static void check_variant(const char *variant)
{
    check_fixture(variant, "libplt_lib_%s.so", lib_calls, "memcmp@plt");
    check_fixture(variant, "plt_main_%s", main_calls, "strcmp@plt");
}

Test(sym_plt, lazy_plt_and_plt_got)
{
    check_variant("lazy");
}

Test(sym_plt, bind_now)
{
    check_variant("now");
}

Test(sym_plt, ibt_plt_sec)
{
    check_variant("ibt");
}

Test(sym_plt, lld_layout_without_entsize)
{
    check_variant("lld");
}

Test(sym_plt, stripped_program_names_only_its_stubs)
{
    char *path = fixture("plt_main_lazy.stripped");
    struct stubs truth = objdump_stubs(path, false);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_NO_SYMBOLS, "%s", detail);
    check_every_plt_byte(&t, path, &truth);
    tu_sym_done(&t);
    free_stubs(&truth);
    free(path);
}

Test(sym_plt, debug_file_standing_in_has_no_plt_contents)
{
    char *path = fixture("plt_main_lazy"), *debug = fixture("plt_main_lazy.debug"), *gone;
    struct stubs truth = objdump_stubs(path, false);
    uint8_t id[64];
    size_t id_len = tu_build_id(path, id);
    const char *dir = tu_tempdir();
    tu_install_by_build_id(dir, id, id_len, debug);
    cr_assert(asprintf(&gone, "%s/no/such/plt_main_lazy", dir) > 0);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){dir, NULL}, gone, id, id_len);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), NS_SYM_OK, "%s", detail);
    /* Its .plt and relocations are NOBITS: nothing to decode, nothing named. */
    for (size_t i = 0; i < truth.n; i++)
        cr_assert_null(lookup(&t, truth.v[i].start));
    tu_sym_done(&t);
    free_stubs(&truth);
    free(gone);
    free(debug);
    free(path);
}

Test(sym_plt, cxx_stub_names_are_demangled_before_the_suffix)
{
    char *path = fixture("sym_target_cxx");
    struct stubs truth = objdump_stubs(path, true);
    cr_assert_not_null(stub_named(&truth, "operator new(unsigned long)@plt"));
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    check_every_plt_byte(&t, path, &truth);
    tu_sym_done(&t);
    free_stubs(&truth);
    free(path);
}

Test(sym_plt, debian_libsqlite3)
{
    skip_unless_x86_64();
    if (access(SQLITE_PATH, R_OK) != 0)
        cr_skip_test("%s is not installed (package libsqlite3-0)", SQLITE_PATH);
    struct stubs truth = objdump_stubs(SQLITE_PATH, false);
    cr_assert_gt(truth.n, 3);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, SQLITE_PATH, NULL, 0);
    /* Three picks over their whole entries: the first stub, one in the middle, the last
     * (.plt.got's last one in Debian's build); then the start of every stub. */
    const struct stub *picks[] = {&truth.v[0], &truth.v[truth.n / 2], &truth.v[truth.n - 1]};
    for (size_t i = 0; i < 3; i++)
        for (uint64_t a = picks[i]->start; a < picks[i]->end; a++)
            cr_assert_str_eq(lookup(&t, a), picks[i]->name, "%#lx", (unsigned long)a);
    for (size_t i = 0; i < truth.n; i++)
        cr_assert_str_eq(lookup(&t, truth.v[i].start), truth.v[i].name);
    tu_sym_done(&t);
    free_stubs(&truth);
}

Test(sym_plt, a_symbol_at_a_stub_keeps_its_name)
{
    char *path = fixture("plt_main_ibt"), *copy, *cmd;
    struct stubs truth = objdump_stubs(path, false);
    const struct stub *first = stub_named(&truth, "getenv@plt"), *second = &first[1];
    cr_assert_str_eq(first->section, ".plt.sec");
    cr_assert_eq(second->start, first->end);
    const char *dir = tu_tempdir();
    cr_assert(asprintf(&copy, "%s/aliased", dir) > 0);
    cr_assert(asprintf(&cmd, "objcopy --add-symbol plt_alias=.plt.sec:0,function,global '%s' '%s'",
                       path, copy) > 0);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, copy, NULL, 0);
    for (uint64_t a = first->start; a < first->end; a++)
        cr_assert_str_eq(lookup(&t, a), "plt_alias");
    cr_assert_str_eq(lookup(&t, second->start), second->name);
    tu_sym_done(&t);
    free_stubs(&truth);
    free(cmd);
    free(copy);
    free(path);
}

/* ---- damaged copies ------------------------------------------------------------------- */

/* A fixture's bytes, to damage and write out again. ELF64 little-endian, as built here. */
struct image {
    unsigned char *bytes;
    size_t size;
    Elf64_Ehdr *eh;
    Elf64_Shdr *sh;
};

static void image_load(struct image *im, const char *path)
{
    im->size = tu_file_size(path);
    im->bytes = malloc(im->size);
    cr_assert_not_null(im->bytes);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(im->bytes, 1, im->size, f), im->size);
    fclose(f);
    im->eh = (Elf64_Ehdr *)im->bytes;
    cr_assert_leq(im->eh->e_shoff + (uint64_t)im->eh->e_shnum * sizeof *im->sh, im->size);
    im->sh = (Elf64_Shdr *)(im->bytes + im->eh->e_shoff);
}

static Elf64_Shdr *image_section(struct image *im, const char *name)
{
    const char *names = (const char *)im->bytes + im->sh[im->eh->e_shstrndx].sh_offset;
    for (size_t i = 0; i < im->eh->e_shnum; i++)
        if (strcmp(names + im->sh[i].sh_name, name) == 0)
            return &im->sh[i];
    cr_assert_fail("no section %s", name);
    return NULL;
}

static char *image_write(const struct image *im, const char *dir, const char *name)
{
    char *path;
    cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(im->bytes, 1, im->size, f), im->size);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* Symbolizes every stub address of the undamaged file (and PLT0) in path; returns how many
 * were named as objdump names them in the original. Not crashing is the point; PLT0 can only
 * be expected unnamed when damage cannot have turned it into a stub. */
static size_t lookup_all(const char *path, const struct stubs *truth, uint64_t plt,
                         bool plt0_unnamed)
{
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    tu_sym_status(&t, NULL);
    size_t named = 0;
    for (size_t i = 0; i < truth->n; i++)
        for (uint64_t a = truth->v[i].start; a < truth->v[i].end; a += 3) {
            const char *got = lookup(&t, a);
            cr_assert(got == NULL || strlen(got) < 65536);
            named += got != NULL && strcmp(got, truth->v[i].name) == 0;
        }
    for (uint64_t a = plt; a < plt + 16; a++)
        cr_assert(!plt0_unnamed || !tu_ends_with(lookup(&t, a), "@plt"));
    tu_sym_done(&t);
    return named;
}

struct damage_case {
    struct image im;
    struct stubs truth;
    uint64_t plt;
    const char *dir;
    char *original;
};

static void damage_init(struct damage_case *c, const char *fixture_name)
{
    c->original = fixture(fixture_name);
    c->truth = objdump_stubs(c->original, false);
    uint64_t size;
    cr_assert(tu_elf_section(c->original, ".plt", &c->plt, &size));
    c->dir = tu_tempdir();
    image_load(&c->im, c->original);
}

static void damage_done(struct damage_case *c)
{
    free(c->im.bytes);
    free_stubs(&c->truth);
    free(c->original);
}

/* Undoes all damage. */
static void damage_undo(struct damage_case *c)
{
    free(c->im.bytes);
    image_load(&c->im, c->original);
}

/* Writes the damaged image (then restores it) and symbolizes it; returns lookup_all's count. */
static size_t try_damaged(struct damage_case *c, const char *what, bool plt0_unnamed)
{
    char *path = image_write(&c->im, c->dir, what);
    size_t named = lookup_all(path, &c->truth, c->plt, plt0_unnamed);
    free(path);
    damage_undo(c);
    return named;
}

Test(sym_plt, damaged_relocation_sections)
{
    struct damage_case c;
    damage_init(&c, "libplt_lib_lazy.so");
    size_t all = lookup_all(c.original, &c.truth, c.plt, true);
    cr_assert_gt(all, 0);

    image_section(&c.im, ".rela.plt")->sh_link = 0xffff; /* no such section */
    cr_assert_lt(try_damaged(&c, "link-bogus", true), all, "JUMP_SLOT stubs lose their names");
    image_section(&c.im, ".rela.plt")->sh_link =
        (Elf64_Word)(image_section(&c.im, ".plt") - c.im.sh); /* not a symbol table */
    cr_assert_lt(try_damaged(&c, "link-plt", true), all);
    image_section(&c.im, ".rela.plt")->sh_size = 1ull << 40;
    try_damaged(&c, "rela-huge", true);
    image_section(&c.im, ".rela.plt")->sh_offset = c.im.size - 8;
    try_damaged(&c, "rela-past-eof", true);
    image_section(&c.im, ".rela.plt")->sh_entsize = 0;
    try_damaged(&c, "rela-entsize-0", true);
    image_section(&c.im, ".rela.plt")->sh_size = 17; /* not a whole relocation */
    try_damaged(&c, "rela-partial", true);

    /* Symbol indices past the table, in every relocation. */
    Elf64_Shdr *rela = image_section(&c.im, ".rela.plt");
    for (size_t off = 0; off + sizeof(Elf64_Rela) <= rela->sh_size; off += sizeof(Elf64_Rela)) {
        Elf64_Rela *r = (Elf64_Rela *)(c.im.bytes + rela->sh_offset + off);
        r->r_info = ELF64_R_INFO(0xfffffff0u, ELF64_R_TYPE(r->r_info));
    }
    cr_assert_lt(try_damaged(&c, "rela-symbols", true), all);

    image_section(&c.im, ".dynsym")->sh_link = 0xffff; /* names from nowhere */
    try_damaged(&c, "dynsym-link", true);
    image_section(&c.im, ".dynstr")->sh_size = 1;
    try_damaged(&c, "dynstr-short", true);
    damage_done(&c);
}

Test(sym_plt, damaged_plt_sections)
{
    struct damage_case c;
    damage_init(&c, "plt_main_ibt");
    size_t all = lookup_all(c.original, &c.truth, c.plt, true);
    const struct stub *first = stub_named(&c.truth, "getenv@plt");
    cr_assert_not_null(first);
    cr_assert_str_eq(first->section, ".plt.sec");

    /* .plt.sec cut after one and a half entries: the first stub is named, the rest not. */
    Elf64_Shdr *sec = image_section(&c.im, ".plt.sec");
    uint64_t sec_start = sec->sh_addr;
    sec->sh_size = 24;
    char *path = image_write(&c.im, c.dir, "sec-cut");
    damage_undo(&c);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    cr_assert_str_eq(lookup(&t, sec_start), first->name);
    for (size_t i = 0; i < c.truth.n; i++)
        if (c.truth.v[i].section == first->section && c.truth.v[i].start >= sec_start + 16)
            cr_assert(!tu_ends_with(lookup(&t, c.truth.v[i].start), "@plt"));
    tu_sym_done(&t);
    free(path);

    uint64_t entsizes[] = {0, 1, 5, 6, 7, 15, 17, 1ull << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof entsizes / sizeof entsizes[0]; i++) {
        image_section(&c.im, ".plt.sec")->sh_entsize = entsizes[i];
        image_section(&c.im, ".plt.got")->sh_entsize = entsizes[i];
        try_damaged(&c, "entsize", true);
    }
    image_section(&c.im, ".plt.sec")->sh_size = 1ull << 40;
    try_damaged(&c, "sec-huge", true);
    image_section(&c.im, ".plt.sec")->sh_offset = c.im.size - 4;
    try_damaged(&c, "sec-past-eof", true);
    image_section(&c.im, ".plt.sec")->sh_addr = UINT64_MAX - 8; /* wraps around */
    try_damaged(&c, "sec-addr-wraps", true);

    /* Jumps through slots far from any relocation. */
    Elf64_Shdr *s = image_section(&c.im, ".plt.sec");
    for (size_t off = 0; off + 16 <= s->sh_size; off += 16)
        memset(c.im.bytes + s->sh_offset + off + 6, 0x7f, 4);
    cr_assert_lt(try_damaged(&c, "sec-jumps", true), all);
    damage_done(&c);
}

Test(sym_plt, a_version_in_the_name_is_dropped)
{
    struct damage_case c;
    damage_init(&c, "libplt_lib_lazy.so");
    const struct stub *strtol_stub = stub_named(&c.truth, "strtol@plt");
    cr_assert_not_null(strtol_stub);
    /* .dynsym names carry no version; make one that looks versioned: "strtol" -> "str@ol". */
    Elf64_Shdr *dynstr = image_section(&c.im, ".dynstr");
    unsigned char *strs = c.im.bytes + dynstr->sh_offset;
    unsigned char *at = memmem(strs, dynstr->sh_size, "\0strtol\0", 8);
    cr_assert_not_null(at);
    at[4] = '@';
    char *path = image_write(&c.im, c.dir, "versioned");
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    cr_assert_str_eq(lookup(&t, strtol_stub->start), "str@plt");
    tu_sym_done(&t);
    free(path);
    damage_done(&c);
}

/* Rewrites each entry of section `name` from `[endbr64] jmp *disp(%rip); nop...` to
 * `[endbr64] bnd jmp *disp'(%rip); nop...` through the same slot: the MPX-era layout of
 * binutils before 2.40 (which ignores -z bndplt, so it cannot be built here). */
static void add_bnd_prefixes(struct image *im, const char *name, size_t entsize, size_t at)
{
    Elf64_Shdr *sh = image_section(im, name);
    for (size_t off = 0; off + entsize <= sh->sh_size; off += entsize) {
        unsigned char *p = im->bytes + sh->sh_offset + off + at;
        cr_assert(p[0] == 0xff && p[1] == 0x25);
        int32_t disp;
        memcpy(&disp, p + 2, 4);
        disp -= 1;
        p[0] = 0xf2;
        p[1] = 0xff;
        p[2] = 0x25;
        memcpy(p + 3, &disp, 4);
    }
}

Test(sym_plt, bnd_prefixed_jumps)
{
    struct damage_case c;
    damage_init(&c, "plt_main_lazy");
    /* .plt.got: ff 25 disp32 66 90 -> f2 ff 25 disp32 90 */
    add_bnd_prefixes(&c.im, ".plt.got", 8, 0);
    char *path = image_write(&c.im, c.dir, "bnd-plt-got");
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    check_every_plt_byte(&t, path, &c.truth);
    tu_sym_done(&t);
    free(path);
    damage_done(&c);

    damage_init(&c, "plt_main_ibt");
    /* .plt.sec: endbr64 ff 25 disp32 66 0f 1f 44 00 00 -> endbr64 f2 ff 25 disp32 0f 1f 44 00 00 */
    add_bnd_prefixes(&c.im, ".plt.sec", 16, 4);
    path = image_write(&c.im, c.dir, "bnd-plt-sec");
    tu_sym_open(&t, (const char *const[]){NULL}, path, NULL, 0);
    check_every_plt_byte(&t, path, &c.truth);
    tu_sym_done(&t);
    free(path);
    damage_done(&c);
}

/* Deterministic xorshift, so a failure reproduces. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Where random damage goes: the headers and contents of the sections PLT naming reads, as
 * they are in the undamaged file (damage may move them). */
struct region {
    size_t off, len;
};

static size_t damage_regions(struct image *im, struct region *r)
{
    static const char *const names[] = {".plt",      ".plt.sec", ".plt.got", ".rela.plt",
                                        ".rela.dyn", ".dynsym",  ".dynstr"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        Elf64_Shdr *sh = image_section(im, names[i]);
        r[n++] = (struct region){(size_t)((unsigned char *)sh - im->bytes), sizeof *sh};
        cr_assert_leq(sh->sh_offset + sh->sh_size, im->size);
        r[n++] = (struct region){sh->sh_offset, sh->sh_size};
    }
    return n;
}

Test(sym_plt, random_damage_to_plt_and_relocations)
{
    struct damage_case c;
    damage_init(&c, "plt_main_ibt");
    struct region regions[14];
    size_t nregions = damage_regions(&c.im, regions);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 300; round++) {
        for (int k = 0; k < 1 + round % 8; k++) {
            const struct region *r = &regions[next_random(&rng) % nregions];
            uint64_t v = next_random(&rng);
            if (r->len > 0)
                c.im.bytes[r->off + (v >> 8) % r->len] = (unsigned char)(v >> 40);
        }
        try_damaged(&c, "random", false);
    }
    damage_done(&c);
}

/* The IFUNC symbol (readelf's independent reading) whose value is addr, or NULL. */
static char *readelf_ifunc_at(const char *path, uint64_t addr)
{
    char *cmd;
    cr_assert(asprintf(&cmd, "readelf -sW --dyn-syms '%s' 2>/dev/null", path) > 0);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[4096], name[4096] = "", best[4096] = "";
    unsigned long long value;
    while (fgets(line, sizeof line, p) != NULL)
        if (sscanf(line, " %*u: %llx %*u IFUNC %*s %*s %*s %4095s", &value, name) == 2 &&
            value == addr && (!best[0] || strspn(name, "_") < strspn(best, "_")))
            snprintf(best, sizeof best, "%.*s", (int)strcspn(name, "@"), name);
    pclose(p);
    free(cmd);
    return best[0] ? strdup(best) : NULL;
}

/* glibc calls its own memcpy through IRELATIVE slots: objdump writes `*ABS*+0x9be70@plt`
 * (the IFUNC resolver's address), perf `@plt`; the stub is named after the IFUNC symbol
 * whose value that address is. */
Test(sym_plt, irelative_stubs_are_named_after_their_ifunc)
{
    skip_unless_x86_64();
    const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
    if (access(libc, R_OK) != 0)
        cr_skip_test("%s is not there", libc);
    struct stubs truth = objdump_stubs(libc, false);
    struct tu_sym t;
    tu_sym_open(&t, (const char *const[]){NULL}, libc, NULL, 0);
    size_t irelative = 0;
    for (size_t i = 0; i < truth.n; i++) {
        unsigned long long resolver;
        const char *got = lookup(&t, truth.v[i].start);
        if (sscanf(truth.v[i].name, "*ABS*+%llx@plt", &resolver) != 1) {
            cr_assert_str_eq(got, truth.v[i].name);
            continue;
        }
        char *ifunc = readelf_ifunc_at(libc, resolver), *want = NULL;
        cr_assert_not_null(ifunc, "no IFUNC symbol at %#llx", resolver);
        cr_assert(asprintf(&want, "%s@plt", ifunc) > 0);
        cr_assert_str_eq(got, want, "%s", truth.v[i].name);
        irelative++;
        free(ifunc);
        free(want);
    }
    cr_assert_gt(irelative, 10, "Debian's libc has ~40 IRELATIVE stubs");
    tu_sym_done(&t);
    free_stubs(&truth);
}
