/*
 * elf_file — the agent's knowledge of the ELF files a profiled process maps: their load
 * segments (to turn a mapping's file offset into the load bias), their build-id, and their
 * unwind table, compiled from the file's .eh_frame by the same CFI compiler the in-process
 * unwinder uses (sampler/unwind/cfi.h).
 *
 * How a table is built from a file: its PT_LOAD segments are mapped read-only, privately,
 * at their relative addresses in a reserved range — as the loader would place them, minus
 * relocations, which .eh_frame does not need — and the compiler reads them there, bounded by
 * those segments. So a damaged or hostile file gives a table with fewer rows, never a read
 * outside what was mapped.
 *
 * Files are opened through /proc/PID/root when the process is alive (its mount namespace
 * may differ from the agent's) and accepted only if their build-id (or, lacking one, their
 * device and inode) is the one the kernel reported for the mapping: a file replaced since
 * the process mapped it gets no table rather than a wrong one.
 *
 * Cached per build-id (else per device, inode and path) for the agent's life, so every
 * process of a session shares libc's table. The vDSO is the agent's own (one kernel, one
 * vDSO image). Not thread-safe.
 */
#ifndef NS_ELF_FILE_H
#define NS_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfi.h"

#define NS_ELF_MAX_LOADS 16

struct ns_elf_load {
    uint64_t vaddr, offset, filesz, memsz;
    uint32_t flags; /* PF_X, PF_R, PF_W */
};

struct ns_elf_file {
    char *path;
    uint8_t build_id[64];
    uint8_t build_id_len;
    uint64_t dev, ino;
    int readable;    /* the file was found and its identity matched */
    int is_main_exe; /* ET_EXEC, or ET_DYN with an interpreter (a PIE) */
    uint16_t type;   /* e_type */
    uint32_t nloads;
    struct ns_elf_load loads[NS_ELF_MAX_LOADS];
    uint64_t eh_frame_hdr; /* vaddr of PT_GNU_EH_FRAME, 0 if none */
    int cfi_state;         /* enum ns_cfi_state (unwind.h) */
    struct ns_cfi_table *cfi;
    struct ns_elf_file *next;
};

/* What the kernel said about the mapped file (perf's MMAP2 record). */
struct ns_elf_identity {
    const char *path;
    const uint8_t *build_id; /* NULL when the record carried device and inode instead */
    size_t build_id_len;
    uint64_t dev, ino; /* when build_id is NULL */
};

/* The file of a mapping in process pid (0: not alive, open the path as it is); never NULL
 * unless out of memory — an unreadable file is returned with readable = 0. */
struct ns_elf_file *ns_elf_file_get(pid_t pid, const struct ns_elf_identity *id);
/* The vDSO (the agent's own image). */
struct ns_elf_file *ns_elf_vdso(void);
/* The load bias of a mapping of f at addr from file offset pgoff. */
uint64_t ns_elf_bias(const struct ns_elf_file *f, uint64_t addr, uint64_t pgoff);
/* Builds f's unwind table if not done yet (pid: where to find the file, as above); returns
 * it or NULL (no usable CFI). */
const struct ns_cfi_table *ns_elf_cfi(struct ns_elf_file *f, pid_t pid);
/* Frees every cached file and table. */
void ns_elf_cache_clear(void);

#endif
