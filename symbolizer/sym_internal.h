/*
 * sym_internal.h — what the symbolizer's source files share; not part of the public contract.
 *
 * Layout of the module:
 *   symbolizer.c   public API: the object table (one entry per build-id, else per path) and
 *                  the per-object address cache.
 *   sym_object.c   opening an object: path and build-id checks, the vDSO, the debug-file
 *                  fallback, one Dwfl per object, status and detail sentence.
 *   sym_debugfile.c  the Dwfl find_debuginfo callback: separate debug files by build-id and
 *                  by .gnu_debuglink (with its CRC), dwz alternate files.
 *   sym_resolve.c  one address to frames: DWARF scopes with the inline chain, else symbols.
 *   sym_scopes.c   the concrete DWARF scope chain of an address, via a per-CU subprogram index.
 *   sym_symtab.c   the function-symbol index (sorted, size-aware) used when DWARF is absent
 *                  or does not cover an address (PLT stubs, assembly without DIEs).
 *   sym_plt.c      `name@plt` entries for that index, decoded from .plt, .plt.sec and .plt.got
 *                  and their GOT relocations (x86_64).
 *   sym_exports.c  the exported functions of an object (.dynsym): by address and by name.
 *   sym_store.c    arena, interned strings and a small u64-keyed hash map.
 *   demangle.c     ns_sym_demangle.
 *
 * The symbolizer is single-threaded: one struct ns_sym must not be used by two threads at once.
 */
#ifndef NS_SYM_INTERNAL_H
#define NS_SYM_INTERNAL_H

#include "symbolizer.h"

#include <elfutils/libdwfl.h>
#include <stdbool.h>

/* ---- sym_store.c ---------------------------------------------------------------------- */

/* Bump allocator. Blocks never move, so everything handed out (frame arrays, strings) stays
 * at its address until ns_sym_arena_free. Returns NULL only when malloc fails. */
struct ns_sym_arena_block;
struct ns_sym_arena {
    struct ns_sym_arena_block *head;
};
void *ns_sym_arena_alloc(struct ns_sym_arena *a, size_t size);
char *ns_sym_arena_strdup(struct ns_sym_arena *a, const char *s);
void ns_sym_arena_free(struct ns_sym_arena *a);

/* Open-addressing map from a 64-bit key to a non-NULL pointer. */
struct ns_sym_u64map_slot {
    uint64_t key;
    void *value; /* NULL: empty slot */
};
struct ns_sym_u64map {
    struct ns_sym_u64map_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t count;
};
void *ns_sym_u64map_get(const struct ns_sym_u64map *m, uint64_t key);
/* Returns false when memory runs out (the entry is then simply not cached). */
bool ns_sym_u64map_put(struct ns_sym_u64map *m, uint64_t key, void *value);
void ns_sym_u64map_free(struct ns_sym_u64map *m);

/* Interned strings: equal strings share one copy, which lives until ns_sym_strings_free. */
struct ns_sym_strings {
    struct ns_sym_arena arena;
    const char **slots;
    size_t cap, count;
};
/* NULL for NULL (or when memory runs out). */
const char *ns_sym_intern(struct ns_sym_strings *t, const char *s);
void ns_sym_strings_free(struct ns_sym_strings *t);

uint64_t ns_sym_hash_bytes(const void *p, size_t n);

/* ---- shared state --------------------------------------------------------------------- */

/* What every object of one symbolizer shares. */
struct ns_sym_config {
    char **debug_dirs;              /* NULL-terminated, never empty */
    char *sysroot;                  /* "" for none */
    struct ns_sym_strings strings;  /* function and file names */
    struct ns_sym_u64map demangled; /* raw name pointer -> interned display name */
};

/* Display name for a raw symbol or DWARF name: demangled when mangled, interned. The raw
 * pointer must stay valid for the symbolizer's lifetime (names inside a Dwfl's ELF/DWARF data
 * do), because it is the cache key. */
const char *ns_sym_display_name(struct ns_sym_config *cfg, const char *raw);

/* ---- sym_symtab.c --------------------------------------------------------------------- */

struct ns_sym_func {
    uint64_t start;
    uint64_t size; /* 0: an assembly label without a size */
    const char *raw_name;
    uint64_t max_end; /* highest start + size among this and all earlier entries */
    int rank;         /* tie-break among symbols at one address; higher is better */
};

struct ns_sym_range {
    uint64_t start, end;
};

struct ns_sym_symtab {
    struct ns_sym_func *funcs; /* sorted by start, one per address; symbols and PLT stubs */
    size_t nfuncs;
    bool has_symbols;          /* a symbol table named functions: not only PLT stubs are known */
    struct ns_sym_range *exec; /* executable sections, sorted; sizeless labels stay inside */
    size_t nexec;
};

/* Indexes the function symbols libdwfl found for mod (.symtab of the file or its debug file,
 * else .dynsym) and its PLT stubs (ns_sym_plt_stubs); a symbol at a stub's address wins.
 * Stub names are interned in names. Leaves an empty index when there are none or memory runs
 * out. */
void ns_sym_symtab_build(struct ns_sym_symtab *t, Dwfl_Module *mod, struct ns_sym_strings *names);
/* The symbol containing addr: a sized symbol only up to its end; a sizeless label only when no
 * sized symbol covers the gap and it is in addr's executable section. NULL if none. */
const struct ns_sym_func *ns_sym_symtab_find(const struct ns_sym_symtab *t, uint64_t addr);
void ns_sym_symtab_free(struct ns_sym_symtab *t);

/* ---- sym_plt.c ------------------------------------------------------------------------ */

/* The PLT stubs of mod's main ELF file that could be decoded, as sized entries (one stub
 * each, rank 0) named "<symbol>@plt" with the name interned in names. Sets *stubs to a
 * malloc'd array (NULL when none) and returns their number. Only x86_64 is decoded; a file
 * without PLT contents (a separate debug file standing in, whose .plt is NOBITS) has none. */
size_t ns_sym_plt_stubs(Dwfl_Module *mod, struct ns_sym_strings *names, struct ns_sym_func **stubs);

/* ---- sym_object.c --------------------------------------------------------------------- */

struct ns_sym_objfile {
    struct ns_sym_config *cfg;
    char *path;        /* as recorded */
    uint8_t *build_id; /* recorded one, else the file's own; used to find debug files */
    size_t build_id_len;
    char *main_debuglink;    /* .gnu_debuglink name of the main file, NULL if none */
    bool main_is_debug_file; /* the Dwfl module is a separate debug file (path not usable) */
    enum ns_sym_status status;
    char *detail;
    Dwfl *dwfl; /* NULL when nothing could be opened */
    Dwfl_Module *mod;
    struct ns_sym_symtab symtab;
    struct ns_sym_u64map cu_index;   /* CU DIE offset -> its subprogram ranges (sym_scopes.c) */
    struct ns_sym_u64map addr_cache; /* addr -> struct ns_sym_cached (symbolizer.c) */
};

/* Opens what can be opened for obj and sets status and detail; never fails as a whole (on
 * allocation failure the object is left unusable with NS_SYM_NOT_ELF). */
void ns_sym_objfile_open(struct ns_sym_objfile *o, struct ns_sym_config *cfg,
                         const struct ns_sym_object *obj);
void ns_sym_objfile_close(struct ns_sym_objfile *o);

/* ---- sym_exports.c ------------------------------------------------------------------- */

/* See ns_sym_exported_at / ns_sym_export_addr (symbolizer.h). */
const char *ns_sym_objfile_exported_at(struct ns_sym_objfile *o, uint64_t addr);
bool ns_sym_objfile_export_addr(struct ns_sym_objfile *o, const char *name, uint64_t *addr);

/* ---- sym_debugfile.c ------------------------------------------------------------------ */

/* The Dwfl find_debuginfo callback; the module's userdata is its struct ns_sym_objfile. */
int ns_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name);

/* Opens <debug_dir>/.build-id/xx/rest.debug for the first debug dir that has an ELF file
 * with exactly this build-id. Returns the fd and sets *path (malloc'd), or -1. */
int ns_sym_open_debug_by_build_id(const struct ns_sym_config *cfg, const uint8_t *id, size_t len,
                                  char **path);

/* Lowercase hex of a build-id (at most its first 64 bytes) into buf (2 * 64 + 1 bytes). */
char *ns_sym_hex(const uint8_t *id, size_t len, char *buf);

/* ---- sym_scopes.c --------------------------------------------------------------------- */

/* Sets *chain to the scopes containing addr, innermost first, ending with the subprogram
 * (malloc'd; NULL when 0 is returned), as dwarf_getscopes_die would give for the innermost
 * one. Returns their number; 0 when no subprogram's DWARF covers addr. */
int ns_sym_scope_chain(struct ns_sym_objfile *o, uint64_t addr, Dwarf_Die **chain);
void ns_sym_scopes_free(struct ns_sym_objfile *o);

/* ---- sym_resolve.c -------------------------------------------------------------------- */

struct ns_sym_frame_buf {
    struct ns_sym_frame *v;
    size_t n, cap;
};

/* Appends the frames of addr (innermost first, >= 1 frame) to buf. On allocation failure
 * buf may end up empty; the caller then reports an unknown frame. */
void ns_sym_resolve(struct ns_sym_objfile *o, uint64_t addr, struct ns_sym_frame_buf *buf);

#endif
