/*
 * sym_object.c — turning what a profile recorded about one loaded object (path, build-id)
 * into something libdwfl can name addresses in, and saying how well that went.
 *
 * One Dwfl per object, with the object reported at base 0 and add_p_vaddr: the module's
 * addresses are then the ELF virtual addresses a profile records, for ET_EXEC and ET_DYN alike,
 * and no two objects can overlap.
 *
 * Trust: the file at the recorded path is used only when its build-id equals the recorded one
 * (or none was recorded). A file that is gone, is another build, or is not ELF is replaced by
 * the debug file carrying the recorded build-id, if a debug directory has it; a debug file
 * keeps the program headers, symbol table and DWARF, which is all naming needs. The status then
 * describes what that file offers, and the detail says why the path was not used.
 *
 * The vDSO has no file. When the profile recorded its build-id and the vDSO of the machine
 * running the analysis has the same one, a copy of it (taken from getauxval(AT_SYSINFO_EHDR))
 * is symbolized through a memfd.
 */
#include "sym_internal.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NS_SYM_HEX_MAX = 2 * 64 + 1 };

/* Every module is reported with an open fd, so libdwfl never has to look for the ELF file. */
static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       char **file_name, Elf **elfp)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
    return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = no_find_elf,
    .find_debuginfo = ns_sym_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static void set_detail(struct ns_sym_objfile *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_detail(struct ns_sym_objfile *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(o->detail);
    if (vasprintf(&o->detail, fmt, ap) < 0)
        o->detail = NULL;
    va_end(ap);
}

static const char *build_id_text(const struct ns_sym_objfile *o, char *buf)
{
    return o->build_id_len > 0 ? ns_sym_hex(o->build_id, o->build_id_len, buf) : "none";
}

static bool is_vdso_path(const char *p)
{
    return strcmp(p, "[vdso]") == 0 || strcmp(p, "linux-vdso.so.1") == 0;
}

/* Names /proc/<pid>/maps gives to memory that is not a file. */
static bool is_pseudo_path(const char *p)
{
    return p[0] == '\0' || p[0] == '[' || strncmp(p, "anon_inode:", 11) == 0 ||
           strncmp(p, "//anon", 6) == 0;
}

/* Hands fd to a new Dwfl as the object's main ELF file. Consumes fd. */
static bool report_module(struct ns_sym_objfile *o, int fd, const char *file_name)
{
    o->dwfl = dwfl_begin(&dwfl_callbacks);
    if (o->dwfl == NULL) {
        close(fd);
        return false;
    }
    dwfl_report_begin(o->dwfl);
    o->mod = dwfl_report_elf(o->dwfl, o->path, file_name, fd, 0, true);
    dwfl_report_end(o->dwfl, NULL, NULL);
    if (o->mod == NULL) {
        close(fd); /* dwfl_report_elf keeps an fd it was given only on success */
        dwfl_end(o->dwfl);
        o->dwfl = NULL;
        return false;
    }
    void **userdata;
    dwfl_module_info(o->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
    *userdata = o;
    return true;
}

/* Loads DWARF and symbols now (not at the first lookup) to know what the object offers. */
static void classify(struct ns_sym_objfile *o, const char *why)
{
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(o->mod, &bias);
    ns_sym_symtab_build(&o->symtab, o->mod, &o->cfg->strings);
    const char *mainfile = NULL, *debugfile = NULL;
    dwfl_module_info(o->mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
    const char *prefix = why != NULL ? why : "";
    const char *sep = why != NULL ? "; " : "";
    char hex[NS_SYM_HEX_MAX];
    if (dw != NULL) {
        o->status = NS_SYM_OK;
        set_detail(o, "%s%sfunctions and source lines from %s", prefix, sep,
                   debugfile != NULL ? debugfile : mainfile);
    } else if (o->symtab.has_symbols) {
        o->status = NS_SYM_NO_DEBUG_INFO;
        set_detail(o,
                   "%s%sfunction names from the symbol table of %s, no source lines: no DWARF "
                   "in it or in a debug file (build-id %s)",
                   prefix, sep, mainfile, build_id_text(o, hex));
    } else {
        o->status = NS_SYM_NO_SYMBOLS;
        set_detail(o,
                   "%s%s%s is stripped and no debug file was found (build-id %s): its frames "
                   "stay module+offset (only PLT stubs are named)",
                   prefix, sep, mainfile, build_id_text(o, hex));
    }
}

/* The path cannot be used (why); a debug file with the recorded build-id may stand in. */
static void use_debug_file_instead(struct ns_sym_objfile *o, enum ns_sym_status failure,
                                   const char *why)
{
    char *debug_path = NULL;
    int fd = ns_sym_open_debug_by_build_id(o->cfg, o->build_id, o->build_id_len, &debug_path);
    if (fd >= 0) {
        o->main_is_debug_file = true;
        if (report_module(o, fd, debug_path)) {
            classify(o, why);
            free(debug_path);
            return;
        }
    }
    o->status = failure;
    char hex[NS_SYM_HEX_MAX];
    if (o->build_id_len == 0)
        set_detail(o, "%s; no build-id was recorded to find a debug file by", why);
    else if (debug_path != NULL)
        set_detail(o, "%s; the debug file %s is unreadable", why, debug_path);
    else if (o->cfg->debug_dirs[0] == NULL)
        set_detail(o, "%s; no debug directories are configured", why);
    else
        set_detail(o, "%s; no debug file with build-id %s in %s%s", why, build_id_text(o, hex),
                   o->cfg->debug_dirs[0], o->cfg->debug_dirs[1] != NULL ? " and the others" : "");
    free(debug_path);
}

/* Checks the build-id of the ELF file open at fd and reports it. Consumes fd. */
static void use_file(struct ns_sym_objfile *o, int fd, const char *file_name,
                     enum ns_sym_status on_mismatch)
{
    char *why = NULL;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
        elf_end(elf);
        close(fd);
        if (asprintf(&why, "%s is not an ELF file", file_name) >= 0)
            use_debug_file_instead(o, NS_SYM_NOT_ELF, why);
        free(why);
        return;
    }
    const void *id = NULL;
    ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
    if (o->build_id_len > 0 &&
        (len != (ssize_t)o->build_id_len || memcmp(id, o->build_id, o->build_id_len) != 0)) {
        char recorded[NS_SYM_HEX_MAX], actual[NS_SYM_HEX_MAX];
        int r = asprintf(&why, "%s has build-id %s but the profile recorded %s (another build)",
                         file_name, len > 0 ? ns_sym_hex(id, (size_t)len, actual) : "none",
                         build_id_text(o, recorded));
        elf_end(elf);
        close(fd);
        if (r >= 0)
            use_debug_file_instead(o, on_mismatch, why);
        free(why);
        return;
    }
    if (o->build_id_len == 0 && len > 0 && (o->build_id = malloc((size_t)len)) != NULL) {
        memcpy(o->build_id, id, (size_t)len);
        o->build_id_len = (size_t)len;
    }
    GElf_Word crc;
    const char *link = dwelf_elf_gnu_debuglink(elf, &crc);
    o->main_debuglink = link != NULL ? strdup(link) : NULL;
    elf_end(elf);
    if (report_module(o, fd, file_name)) {
        classify(o, NULL);
    } else if (asprintf(&why, "%s cannot be used: %s", file_name, dwfl_errmsg(-1)) >= 0) {
        use_debug_file_instead(o, NS_SYM_NOT_ELF, why);
        free(why);
    }
}

/* Size of the [vdso] mapping starting at base, from /proc/self/maps; 0 if not found. */
static size_t vdso_mapping_size(unsigned long base)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL)
        return 0;
    char line[512];
    bool at_line_start = true;
    size_t size = 0;
    while (size == 0 && fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        if (at_line_start && sscanf(line, "%lx-%lx", &start, &end) == 2 && start == base &&
            end > start)
            size = end - start;
        at_line_start = strchr(line, '\n') != NULL;
    }
    fclose(maps);
    return size;
}

/* A memfd holding a copy of this process's vDSO image, or -1. */
static int own_vdso_fd(void)
{
    unsigned long base = getauxval(AT_SYSINFO_EHDR);
    size_t size = base != 0 ? vdso_mapping_size(base) : 0;
    if (size == 0)
        return -1;
    int fd = memfd_create("nsprof-vdso", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *p = (const char *)base;
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, p + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return fd;
}

static void open_vdso(struct ns_sym_objfile *o)
{
    int fd = o->build_id_len > 0 ? own_vdso_fd() : -1;
    if (fd >= 0) {
        use_file(o, fd, "the vDSO of this machine", NS_SYM_NOT_ELF);
        return;
    }
    use_debug_file_instead(o, NS_SYM_NOT_ELF,
                           "the vDSO is not a file, and without a recorded build-id this "
                           "machine's vDSO cannot be checked against the profiled one");
}

static void open_path(struct ns_sym_objfile *o)
{
    /* The kernel marks a mapped file that was replaced or removed; the name still helps. */
    static const char deleted[] = " (deleted)";
    size_t n = strlen(o->path);
    if (n > sizeof deleted - 1 && strcmp(o->path + n - (sizeof deleted - 1), deleted) == 0)
        n -= sizeof deleted - 1;
    char *full = NULL, *why = NULL;
    if (asprintf(&full, "%s%.*s", o->cfg->sysroot, (int)n, o->path) < 0) {
        set_detail(o, "out of memory");
        return;
    }
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        enum ns_sym_status failure = errno == ENOENT || errno == ENOTDIR || errno == EACCES
                                         ? NS_SYM_MISSING
                                         : NS_SYM_NOT_ELF;
        if (asprintf(&why, "%s: %s", full, strerror(errno)) >= 0)
            use_debug_file_instead(o, failure, why);
    } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        if (asprintf(&why, "%s is not a regular file", full) >= 0)
            use_debug_file_instead(o, NS_SYM_NOT_ELF, why);
    } else {
        use_file(o, fd, full, NS_SYM_BUILD_ID_MISMATCH);
    }
    free(why);
    free(full);
}

void ns_sym_objfile_open(struct ns_sym_objfile *o, struct ns_sym_config *cfg,
                         const struct ns_sym_object *obj)
{
    memset(o, 0, sizeof *o);
    o->cfg = cfg;
    o->status = NS_SYM_NOT_ELF;
    o->path = strdup(obj->path != NULL ? obj->path : "");
    if (obj->build_id_len > 0 && (o->build_id = malloc(obj->build_id_len)) != NULL) {
        memcpy(o->build_id, obj->build_id, obj->build_id_len);
        o->build_id_len = obj->build_id_len;
    }
    if (o->path == NULL || o->build_id_len != obj->build_id_len) {
        set_detail(o, "out of memory");
        return;
    }
    if (is_vdso_path(o->path))
        open_vdso(o);
    else if (is_pseudo_path(o->path))
        set_detail(o, "'%s' is not a file (anonymous or special memory)", o->path);
    else
        open_path(o);
}

void ns_sym_objfile_close(struct ns_sym_objfile *o)
{
    ns_sym_scopes_free(o);
    if (o->dwfl != NULL)
        dwfl_end(o->dwfl);
    ns_sym_symtab_free(&o->symtab);
    ns_sym_u64map_free(&o->addr_cache);
    free(o->path);
    free(o->build_id);
    free(o->main_debuglink);
    free(o->detail);
    memset(o, 0, sizeof *o);
}
