/*
 * sym_debugfile.c — finding separate debug files, as gdb and elfutils do, but driven by what
 * the profile recorded:
 *
 *  1. By build-id, in every configured debug directory: <dir>/.build-id/xx/rest.debug. The
 *     candidate must carry exactly that build-id (a stale symlink must not be trusted).
 *  2. By .gnu_debuglink, looking for the link name next to the file, in its .debug/
 *     subdirectory, and under <dir><directory of the file> for every debug directory. The
 *     candidate's CRC-32 must equal the one stored in the link, and it must not be the file
 *     itself.
 *
 * libdwfl also calls the callback for a dwz "alternate" file (.gnu_debugaltlink, shared DWARF
 * of a package's binaries) with the alternate's name and a CRC of 0. That request is told
 * apart from the main one by comparing the name with the main file's own debuglink; the
 * alternate is looked up by the build-id stored in the .gnu_debugaltlink section, then at the
 * path it names.
 */
#include "sym_internal.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

char *ns_sym_hex(const uint8_t *id, size_t len, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    if (len > 64) /* a damaged note may claim more; buffers are sized for 64 */
        len = 64;
    for (size_t i = 0; i < len; i++) {
        buf[2 * i] = digits[id[i] >> 4];
        buf[2 * i + 1] = digits[id[i] & 15];
    }
    buf[2 * len] = '\0';
    return buf;
}

/* Regular files only: a FIFO would block open and read, a device is never an ELF file. */
static int open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool fd_has_build_id(int fd, const uint8_t *id, size_t len)
{
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf == NULL)
        return false;
    const void *found = NULL;
    ssize_t n = elf_kind(elf) == ELF_K_ELF ? dwelf_elf_gnu_build_id(elf, &found) : -1;
    bool same = n > 0 && (size_t)n == len && memcmp(found, id, len) == 0;
    elf_end(elf);
    return same;
}

static int open_with_build_id(const char *path, const uint8_t *id, size_t len)
{
    int fd = open_regular(path);
    if (fd >= 0 && !fd_has_build_id(fd, id, len)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int ns_sym_open_debug_by_build_id(const struct ns_sym_config *cfg, const uint8_t *id, size_t len,
                                  char **path)
{
    /* libdwfl and gdb accept ids of 3..64 bytes; shorter ones cannot name a file uniquely. */
    if (len < 3 || len > 64)
        return -1;
    char hex[2 * 64 + 1];
    ns_sym_hex(id, len, hex);
    for (char *const *dir = cfg->debug_dirs; *dir != NULL; dir++) {
        char *candidate;
        if (asprintf(&candidate, "%s/.build-id/%.2s/%s.debug", *dir, hex, hex + 2) < 0)
            return -1;
        int fd = open_with_build_id(candidate, id, len);
        if (fd >= 0) {
            *path = candidate;
            return fd;
        }
        free(candidate);
    }
    return -1;
}

static bool crc_matches(int fd, GElf_Word expected)
{
    unsigned char buf[64 * 1024];
    uLong crc = crc32(0L, Z_NULL, 0);
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0)
            break;
        crc = crc32(crc, buf, (uInt)n);
        off += n;
    }
    return (GElf_Word)crc == expected;
}

static bool same_file(int fd, const struct stat *other)
{
    struct stat st;
    return other != NULL && fstat(fd, &st) == 0 && st.st_dev == other->st_dev &&
           st.st_ino == other->st_ino;
}

/* Opens dir/sub/link if it is not the main file and its CRC matches. */
static int try_debuglink(const char *dir, const char *sub, const char *link, GElf_Word crc,
                         const struct stat *main_st, char **found)
{
    char *candidate;
    if (asprintf(&candidate, "%s%s/%s", dir, sub, link) < 0)
        return -1;
    int fd = open_regular(candidate);
    if (fd >= 0 && (same_file(fd, main_st) || !crc_matches(fd, crc))) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        *found = candidate;
    else
        free(candidate);
    return fd;
}

/* The directory part of path ("/" for "/x", "." for "x"), malloc'd. */
static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

static int debuglink_in_debug_dirs(const struct ns_sym_objfile *o, const char *link, GElf_Word crc,
                                   const struct stat *main_st, char **found)
{
    char *recorded_dir = dir_of(o->path);
    if (recorded_dir == NULL)
        return -1;
    int fd = -1;
    for (char *const *dir = o->cfg->debug_dirs; fd < 0 && *dir != NULL; dir++)
        fd = try_debuglink(*dir, recorded_dir, link, crc, main_st, found);
    free(recorded_dir);
    return fd;
}

static int find_by_debuglink(const struct ns_sym_objfile *o, const char *file_name,
                             const char *link, GElf_Word crc, char **found)
{
    /* A debuglink is a bare file name; anything else would let a file point anywhere. */
    if (link == NULL || link[0] == '\0' || strchr(link, '/') != NULL)
        return -1;
    struct stat st;
    const struct stat *main_st = stat(file_name, &st) == 0 ? &st : NULL;
    char *file_dir = dir_of(file_name);
    if (file_dir == NULL)
        return -1;
    int fd = try_debuglink(file_dir, "", link, crc, main_st, found);
    if (fd < 0)
        fd = try_debuglink(file_dir, "/.debug", link, crc, main_st, found);
    free(file_dir);
    if (fd < 0)
        fd = debuglink_in_debug_dirs(o, link, crc, main_st, found);
    return fd;
}

/* Reads .gnu_debugaltlink of the file at path: the alternate's name and build-id. */
static bool read_altlink(const char *path, char **name, uint8_t *id, size_t *id_len)
{
    int fd = open_regular(path);
    if (fd < 0)
        return false;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t shstrndx;
    bool ok = false;
    if (elf != NULL && elf_kind(elf) == ELF_K_ELF && elf_getshdrstrndx(elf, &shstrndx) == 0) {
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL && !ok;
             scn = elf_nextscn(elf, scn)) {
            GElf_Shdr mem;
            GElf_Shdr *sh = gelf_getshdr(scn, &mem);
            const char *sname = sh != NULL ? elf_strptr(elf, shstrndx, sh->sh_name) : NULL;
            if (sname == NULL || strcmp(sname, ".gnu_debugaltlink") != 0)
                continue;
            Elf_Data *data = elf_getdata(scn, NULL);
            const char *p = data != NULL ? data->d_buf : NULL;
            const char *nul = p != NULL ? memchr(p, '\0', data->d_size) : NULL;
            if (nul == NULL)
                break;
            size_t n = data->d_size - (size_t)(nul + 1 - p);
            *id_len = n > 64 ? 64 : n;
            memcpy(id, nul + 1, *id_len);
            *name = strdup(p);
            ok = *name != NULL;
        }
    }
    elf_end(elf);
    close(fd);
    return ok;
}

static int find_alternate(const struct ns_sym_objfile *o, const char *file_name, char **found)
{
    char *name = NULL;
    uint8_t id[64];
    size_t id_len = 0;
    if (!read_altlink(file_name, &name, id, &id_len))
        return -1;
    int fd = ns_sym_open_debug_by_build_id(o->cfg, id, id_len, found);
    if (fd < 0 && id_len > 0) {
        char *dir = dir_of(file_name);
        char *candidate = NULL;
        if (name[0] == '/')
            candidate = strdup(name);
        else if (dir != NULL && asprintf(&candidate, "%s/%s", dir, name) < 0)
            candidate = NULL;
        free(dir);
        if (candidate != NULL && (fd = open_with_build_id(candidate, id, id_len)) >= 0)
            *found = candidate;
        else
            free(candidate);
    }
    free(name);
    return fd;
}

static bool is_alternate_request(const struct ns_sym_objfile *o, const char *debuglink_file,
                                 GElf_Word crc)
{
    return debuglink_file != NULL && crc == 0 &&
           (o->main_debuglink == NULL || strcmp(o->main_debuglink, debuglink_file) != 0);
}

int ns_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)mod;
    (void)modname;
    (void)base;
    struct ns_sym_objfile *o = *userdata;
    char *found = NULL;
    int fd = -1;
    if (o == NULL || file_name == NULL)
        return -1;
    if (is_alternate_request(o, debuglink_file, debuglink_crc)) {
        fd = find_alternate(o, file_name, &found);
    } else if (!o->main_is_debug_file) {
        fd = ns_sym_open_debug_by_build_id(o->cfg, o->build_id, o->build_id_len, &found);
        if (fd < 0)
            fd = find_by_debuglink(o, file_name, debuglink_file, debuglink_crc, &found);
    }
    if (fd >= 0) {
        /* libdwfl owns both the fd and the name from here on. */
        free(*debuginfo_file_name);
        *debuginfo_file_name = found;
    }
    return fd;
}
