/*
 * Helpers for the symbolizer tests: reading ELF facts independently of the symbolizer (libelf
 * only), locating markers in test sources, and building throw-away debug directories.
 */
#ifndef NS_SYM_TEST_UTIL_H
#define NS_SYM_TEST_UTIL_H

#include "symbolizer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Test programs built next to the test (see CMakeLists.txt). Malloc'd. */
char *tu_bin(const char *name);
/* A source file of the tests. Malloc'd. */
char *tu_src(const char *relative);

/* Value and size of a defined symbol, from .symtab, else .dynsym. */
bool tu_elf_symbol(const char *path, const char *name, uint64_t *vaddr, uint64_t *size);
/* Address range of a section. */
bool tu_elf_section(const char *path, const char *name, uint64_t *start, uint64_t *size);
/* NT_GNU_BUILD_ID of the file (0 if none), into id[64]. */
size_t tu_build_id(const char *path, uint8_t id[64]);
/* Defined, sized function symbols of .dynsym (or .symtab if dynsym is false), sorted. */
struct tu_func {
    uint64_t start, size;
    char *name;
};
size_t tu_elf_functions(const char *path, bool dynsym, struct tu_func **out);
void tu_free_functions(struct tu_func *f, size_t n);

/* Distinct start addresses of the line-table rows of the file's DWARF (found with libdwfl's
 * standard debuginfo search), sorted. Malloc'd. */
size_t tu_line_row_addresses(const char *path, uint64_t **out);

/* Line number of the first line of src containing "@marker" (followed by a space). */
int tu_marker_line(const char *src, const char *marker);

/* A fresh directory under /tmp. It and its contents are removed by tu_remove_tempdirs, the
 * .fini of every suite here, which criterion runs even after a failed assertion. */
const char *tu_tempdir(void);
void tu_remove_tempdirs(void);
/* mkdir -p of dir, and of the directory part of path. */
void tu_mkdirs(const char *dir);
void tu_mkdirs_for(const char *path);
/* Copies the first `limit` bytes of from to to ((size_t)-1: all). */
void tu_copy(const char *from, const char *to, size_t limit);
/* Installs debug_file as <dir>/.build-id/xx/rest.debug for the given build-id. */
void tu_install_by_build_id(const char *dir, const uint8_t *id, size_t len, const char *debug_file);
char *tu_hex(const uint8_t *id, size_t len); /* malloc'd */

/* NT_GNU_BUILD_ID from the PT_NOTE segments of a loaded image (0 if none), into id[64]. */
struct dl_phdr_info;
size_t tu_image_build_id(const struct dl_phdr_info *info, uint8_t id[64]);

bool tu_ends_with(const char *s, const char *suffix);
size_t tu_file_size(const char *path);

/* Looks addr up in a fresh symbolizer with the given debug dirs; returns frames that stay
 * valid until tu_sym_done. */
struct tu_sym {
    struct ns_sym *s;
    struct ns_sym_object obj;
    uint8_t id[64];
};
void tu_sym_open(struct tu_sym *t, const char *const *debug_dirs, const char *path,
                 const uint8_t *id, size_t id_len);
const struct ns_sym_frame *tu_sym_lookup(struct tu_sym *t, uint64_t addr, size_t *n);
enum ns_sym_status tu_sym_status(struct tu_sym *t, const char **detail);
void tu_sym_done(struct tu_sym *t);

#endif
