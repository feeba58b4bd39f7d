/*
 * symbolizer — names addresses of a profile with elfutils (libdwfl/libdw): function,
 * source file:line, inlined frames, demangled C++ names, for PIE executables and shared
 * libraries, with separate debug files found by build-id and by .gnu_debuglink.
 *
 * Contract:
 *  - Offline only (links libdw; never loaded into a profiled process). Not thread-safe: one
 *    struct ns_sym serves one thread at a time.
 *  - A mapping is identified by the path and build-id recorded at sample time. The file at
 *    that path is used only if its build-id matches (or the profile recorded none); a
 *    mismatch is reported through ns_sym_module_status, never silently mis-symbolized.
 *    When the file is gone or differs, a debug file with the right build-id (debug
 *    directories' .build-id/xx/yyyy.debug) is used instead if one exists; the status then
 *    describes that file (NS_SYM_OK when it has DWARF) and the detail says why the path was
 *    not used. Without such a file the status is NS_SYM_MISSING / NS_SYM_BUILD_ID_MISMATCH.
 *  - Separate debug files of a usable file are found by build-id in every debug directory,
 *    then by .gnu_debuglink (next to the file, in its .debug/, and under
 *    <debug dir>/<directory of the recorded path>/), a debuglink target only if its CRC
 *    matches. dwz alternate files (.gnu_debugaltlink) are found by their build-id.
 *  - "[vdso]" has no file: it is symbolized from the analyzing machine's own vDSO when the
 *    recorded build-id equals that one's, else NS_SYM_NOT_ELF. Other pseudo paths ("[heap]",
 *    "", "anon_inode:...") are NS_SYM_NOT_ELF.
 *  - Names come from DWARF (C++ demangled, inlined calls as frames of their own, each outer
 *    frame at the line of the call it contains, like `eu-addr2line -i`), else from .symtab,
 *    else .dynsym. A symbol names addresses only up to its size: the bytes after an exported
 *    function of a stripped program are unknown, not that function.
 *  - PLT stubs are named `name@plt` like perf and objdump do (`memcmp@plt`, no symbol version;
 *    a C++ name demangled before the suffix), from the GOT relocation each stub jumps through,
 *    even in stripped objects and objects with DWARF; a real symbol at the same address wins.
 *    PLT0 (the lazy-binding resolver entry) stays unnamed. x86_64 only: elsewhere stubs stay
 *    module+offset.
 *  - Results are cached per build-id (or per path for objects without one) and per address,
 *    so two mappings of one object and repeated addresses cost one lookup.
 *  - Frame arrays and strings returned stay valid until ns_sym_free.
 *  - An address that cannot be named yields one frame with function == NULL: the caller shows
 *    `module+0xADDR`. Frames are never dropped.
 *  - Damaged ELF or DWARF files give worse names, never a crash.
 */
#ifndef NS_SYMBOLIZER_H
#define NS_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

struct ns_sym;

struct ns_sym_options {
    /* Directories searched for separate debug files, like gdb's debug-file-directory.
     * NULL-terminated; NULL means { "/usr/lib/debug", NULL }; { NULL } means none. Copied. */
    const char *const *debug_dirs;
    /* Prefix prepended to every mapping path (a sysroot, or "" / NULL for none). Not applied
     * to debug_dirs, which are used as given. Copied. */
    const char *sysroot;
};

/* What the profile recorded about one loaded object. */
struct ns_sym_object {
    const char *path; /* as recorded ("[vdso]", "/usr/lib/x86_64-linux-gnu/libc.so.6", ...) */
    const uint8_t *build_id;
    size_t build_id_len;
};

enum ns_sym_status {
    NS_SYM_OK = 0,            /* symbols (and maybe lines) available */
    NS_SYM_NO_DEBUG_INFO,     /* ELF found, symbol table only: names but no file:line */
    NS_SYM_NO_SYMBOLS,        /* ELF found, no function symbols, no debug file: module+offset
                               * (PLT stubs are still named) */
    NS_SYM_MISSING,           /* no file at the path and no debug file by build-id */
    NS_SYM_BUILD_ID_MISMATCH, /* the file at the path is another build; not used */
    NS_SYM_NOT_ELF,           /* unreadable or not an ELF file; or a pseudo object */
};

struct ns_sym_frame {
    const char *function;  /* demangled; NULL if unknown */
    const char *file;      /* source file, NULL if unknown */
    uint32_t line;         /* 0 if unknown */
    int inlined;           /* 1: this frame was inlined into the next (outer) one */
    const char *decl_file; /* the function's own source file (DWARF DW_AT_decl_file): tells
                              two static functions of one name apart; NULL if unknown */
};

/* opt may be NULL (defaults). Returns NULL only when memory runs out. */
struct ns_sym *ns_sym_new(const struct ns_sym_options *opt);
void ns_sym_free(struct ns_sym *s);

/*
 * Names ELF vaddr `addr` of `obj`. On return *frames points to *nframes >= 1 frames,
 * innermost first: inlined callees first (inlined = 1), the containing function last.
 * Never fails: unknown addresses give one frame with function == NULL.
 */
void ns_sym_lookup(struct ns_sym *s, const struct ns_sym_object *obj, uint64_t addr,
                   const struct ns_sym_frame **frames, size_t *nframes);

/* How well obj can be symbolized, and a sentence saying why, for the report (naming the files
 * used, and both build-ids on a mismatch). *detail stays valid until ns_sym_free. */
enum ns_sym_status ns_sym_module_status(struct ns_sym *s, const struct ns_sym_object *obj,
                                        const char **detail);

/* The name under which obj exports (.dynsym of its file: a defined global or weak function)
 * the function whose range holds ELF vaddr addr; among aliases of one function the one with
 * the fewest leading underscores, then the shortest. NULL if no exported function holds it.
 * The string stays valid until ns_sym_free. */
const char *ns_sym_exported_at(struct ns_sym *s, const struct ns_sym_object *obj, uint64_t addr);

/* 1 if obj's file exports (defines in its .dynsym) a function named name, its ELF vaddr then
 * in *addr; else 0. */
int ns_sym_export_addr(struct ns_sym *s, const struct ns_sym_object *obj, const char *name,
                       uint64_t *addr);

/* Demangles a C++/Rust-mangled name; returns a new malloc'd string or NULL if not mangled. */
char *ns_sym_demangle(const char *name);

#endif
