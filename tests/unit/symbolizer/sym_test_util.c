/*
 * sym_test_util.c — ELF facts read with plain libelf (so the tests do not trust the code they
 * test), source markers, and temporary debug directories.
 */
#include "sym_test_util.h"

#include <criterion/criterion.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tu_bin(const char *name)
{
    char *p;
    cr_assert(asprintf(&p, "%s/%s", NS_SYM_TEST_BIN_DIR, name) > 0);
    return p;
}

char *tu_src(const char *relative)
{
    char *p;
    cr_assert(asprintf(&p, "%s/%s", NS_SYM_TEST_SRC_DIR, relative) > 0);
    return p;
}

struct tu_elf {
    int fd;
    Elf *elf;
};

static bool tu_elf_open(struct tu_elf *e, const char *path)
{
    elf_version(EV_CURRENT);
    e->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (e->fd < 0)
        return false;
    e->elf = elf_begin(e->fd, ELF_C_READ, NULL);
    if (e->elf == NULL || elf_kind(e->elf) != ELF_K_ELF) {
        elf_end(e->elf);
        close(e->fd);
        return false;
    }
    return true;
}

static void tu_elf_close(struct tu_elf *e)
{
    elf_end(e->elf);
    close(e->fd);
}

static Elf_Scn *find_section_by_type(Elf *elf, Elf64_Word type, GElf_Shdr *sh)
{
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn))
        if (gelf_getshdr(scn, sh) != NULL && sh->sh_type == type)
            return scn;
    return NULL;
}

/* Calls fn for every defined symbol of the table of the given type; stops when fn says so. */
static void each_symbol(Elf *elf, Elf64_Word type,
                        bool (*fn)(const GElf_Sym *, const char *, void *), void *arg)
{
    GElf_Shdr sh;
    Elf_Scn *scn = find_section_by_type(elf, type, &sh);
    Elf_Data *data = scn != NULL ? elf_getdata(scn, NULL) : NULL;
    if (data == NULL || sh.sh_entsize == 0)
        return;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
        GElf_Sym sym;
        if (gelf_getsym(data, (int)i, &sym) == NULL || sym.st_shndx == SHN_UNDEF)
            continue;
        const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
        if (name != NULL && !fn(&sym, name, arg))
            return;
    }
}

struct symbol_query {
    const char *name;
    GElf_Sym found;
    bool ok;
};

static bool match_symbol(const GElf_Sym *sym, const char *name, void *arg)
{
    struct symbol_query *q = arg;
    if (strcmp(name, q->name) != 0)
        return true;
    q->found = *sym;
    q->ok = true;
    return false;
}

bool tu_elf_symbol(const char *path, const char *name, uint64_t *vaddr, uint64_t *size)
{
    struct tu_elf e;
    if (!tu_elf_open(&e, path))
        return false;
    struct symbol_query q = {.name = name};
    each_symbol(e.elf, SHT_SYMTAB, match_symbol, &q);
    if (!q.ok)
        each_symbol(e.elf, SHT_DYNSYM, match_symbol, &q);
    tu_elf_close(&e);
    if (q.ok) {
        *vaddr = q.found.st_value;
        *size = q.found.st_size;
    }
    return q.ok;
}

bool tu_elf_section(const char *path, const char *name, uint64_t *start, uint64_t *size)
{
    struct tu_elf e;
    size_t shstrndx;
    bool ok = false;
    if (!tu_elf_open(&e, path))
        return false;
    if (elf_getshdrstrndx(e.elf, &shstrndx) == 0) {
        for (Elf_Scn *scn = elf_nextscn(e.elf, NULL); scn != NULL && !ok;
             scn = elf_nextscn(e.elf, scn)) {
            GElf_Shdr sh;
            const char *n =
                gelf_getshdr(scn, &sh) != NULL ? elf_strptr(e.elf, shstrndx, sh.sh_name) : NULL;
            if (n != NULL && strcmp(n, name) == 0) {
                *start = sh.sh_addr;
                *size = sh.sh_size;
                ok = true;
            }
        }
    }
    tu_elf_close(&e);
    return ok;
}

size_t tu_build_id(const char *path, uint8_t id[64])
{
    struct tu_elf e;
    if (!tu_elf_open(&e, path))
        return 0;
    const void *p;
    ssize_t n = dwelf_elf_gnu_build_id(e.elf, &p);
    size_t len = n > 0 && n <= 64 ? (size_t)n : 0;
    memcpy(id, p, len);
    tu_elf_close(&e);
    return len;
}

struct function_list {
    struct tu_func *v;
    size_t n, cap;
};

static bool add_function(const GElf_Sym *sym, const char *name, void *arg)
{
    struct function_list *l = arg;
    if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_size == 0 || sym->st_value == 0)
        return true;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        cr_assert_not_null(l->v);
    }
    l->v[l->n++] = (struct tu_func){sym->st_value, sym->st_size, strdup(name)};
    return true;
}

static int compare_func(const void *a, const void *b)
{
    const struct tu_func *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

size_t tu_elf_functions(const char *path, bool dynsym, struct tu_func **out)
{
    struct tu_elf e;
    struct function_list l = {0};
    if (tu_elf_open(&e, path)) {
        each_symbol(e.elf, dynsym ? SHT_DYNSYM : SHT_SYMTAB, add_function, &l);
        tu_elf_close(&e);
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, compare_func);
    *out = l.v;
    return l.n;
}

void tu_free_functions(struct tu_func *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].name);
    free(f);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void add_cu_rows(Dwarf_Die *cu, Dwarf_Addr bias, uint64_t **v, size_t *n, size_t *cap)
{
    Dwarf_Lines *lines;
    size_t nlines;
    if (dwarf_getsrclines(cu, &lines, &nlines) != 0)
        return;
    for (size_t i = 0; i < nlines; i++) {
        Dwarf_Addr addr;
        if (dwarf_lineaddr(dwarf_onesrcline(lines, i), &addr) != 0 || addr == 0)
            continue;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 1024;
            *v = realloc(*v, *cap * sizeof **v);
            cr_assert_not_null(*v);
        }
        (*v)[(*n)++] = addr + bias;
    }
}

size_t tu_line_row_addresses(const char *path, uint64_t **out)
{
    static char *debuginfo_path = NULL;
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &debuginfo_path,
    };
    Dwfl *dwfl = dwfl_begin(&callbacks);
    cr_assert_not_null(dwfl);
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_elf(dwfl, path, path, -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    cr_assert_not_null(mod, "libdwfl cannot read %s", path);
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    Dwarf_Die *cu = NULL;
    Dwarf_Addr bias;
    while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL)
        add_cu_rows(cu, bias, &v, &n, &cap);
    dwfl_end(dwfl);
    if (n > 1)
        qsort(v, n, sizeof *v, compare_u64);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || v[w - 1] != v[i])
            v[w++] = v[i];
    *out = v;
    return w;
}

int tu_marker_line(const char *src, const char *marker)
{
    FILE *f = fopen(src, "r");
    cr_assert_not_null(f, "cannot open %s", src);
    char line[1024], needle[128];
    snprintf(needle, sizeof needle, "@%s ", marker);
    int found = 0;
    for (int n = 1; found == 0 && fgets(line, sizeof line, f) != NULL; n++)
        if (strstr(line, needle) != NULL)
            found = n;
    fclose(f);
    cr_assert_gt(found, 0, "marker @%s not found in %s", marker, src);
    return found;
}

enum { TU_MAX_TEMPDIRS = 8 };
static char *tempdirs[TU_MAX_TEMPDIRS];
static size_t ntempdirs;

const char *tu_tempdir(void)
{
    cr_assert_lt(ntempdirs, TU_MAX_TEMPDIRS);
    char *dir = strdup("/tmp/nsprof-symtest-XXXXXX");
    cr_assert_not_null(dir);
    cr_assert_not_null(mkdtemp(dir));
    tempdirs[ntempdirs++] = dir;
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tu_remove_tempdirs(void)
{
    for (size_t i = 0; i < ntempdirs; i++) {
        nftw(tempdirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(tempdirs[i]);
    }
    ntempdirs = 0;
}

void tu_mkdirs_for(const char *path)
{
    char *copy = strdup(path);
    cr_assert_not_null(copy);
    for (char *p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(copy, 0755);
        *p = '/';
    }
    free(copy);
}

void tu_mkdirs(const char *dir)
{
    char *probe;
    cr_assert(asprintf(&probe, "%s/x", dir) > 0);
    tu_mkdirs_for(probe);
    free(probe);
}

size_t tu_image_build_id(const struct dl_phdr_info *info, uint8_t id[64])
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *desc = p + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_descsz <= 64) {
                memcpy(id, desc, nh->n_descsz);
                return nh->n_descsz;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 0;
}

void tu_copy(const char *from, const char *to, size_t limit)
{
    FILE *in = fopen(from, "rb");
    cr_assert_not_null(in, "cannot open %s", from);
    tu_mkdirs_for(to);
    FILE *out = fopen(to, "wb");
    cr_assert_not_null(out, "cannot create %s", to);
    char buf[65536];
    size_t n, total = 0;
    while (total < limit && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (n > limit - total)
            n = limit - total;
        cr_assert_eq(fwrite(buf, 1, n, out), n);
        total += n;
    }
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

char *tu_hex(const uint8_t *id, size_t len)
{
    char *s = malloc(2 * len + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < len; i++)
        sprintf(s + 2 * i, "%02x", id[i]);
    s[2 * len] = '\0';
    return s;
}

void tu_install_by_build_id(const char *dir, const uint8_t *id, size_t len, const char *debug_file)
{
    char *hex = tu_hex(id, len), *dest;
    cr_assert(asprintf(&dest, "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2) > 0);
    tu_copy(debug_file, dest, (size_t)-1);
    free(dest);
    free(hex);
}

bool tu_ends_with(const char *s, const char *suffix)
{
    size_t n = s != NULL ? strlen(s) : 0, m = strlen(suffix);
    return s != NULL && n >= m && strcmp(s + n - m, suffix) == 0;
}

size_t tu_file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return (size_t)st.st_size;
}

void tu_sym_open(struct tu_sym *t, const char *const *debug_dirs, const char *path,
                 const uint8_t *id, size_t id_len)
{
    memset(t, 0, sizeof *t);
    struct ns_sym_options opt = {.debug_dirs = debug_dirs};
    t->s = ns_sym_new(&opt);
    cr_assert_not_null(t->s);
    cr_assert_leq(id_len, sizeof t->id);
    if (id_len > 0)
        memcpy(t->id, id, id_len);
    t->obj = (struct ns_sym_object){.path = path, .build_id = t->id, .build_id_len = id_len};
}

const struct ns_sym_frame *tu_sym_lookup(struct tu_sym *t, uint64_t addr, size_t *n)
{
    const struct ns_sym_frame *f = NULL;
    *n = 0;
    ns_sym_lookup(t->s, &t->obj, addr, &f, n);
    cr_assert_not_null(f);
    cr_assert_geq(*n, 1, "a lookup always yields at least one frame");
    return f;
}

enum ns_sym_status tu_sym_status(struct tu_sym *t, const char **detail)
{
    const char *d = NULL;
    enum ns_sym_status st = ns_sym_module_status(t->s, &t->obj, &d);
    cr_assert_not_null(d);
    if (detail != NULL)
        *detail = d;
    return st;
}

void tu_sym_done(struct tu_sym *t)
{
    ns_sym_free(t->s);
    t->s = NULL;
}
