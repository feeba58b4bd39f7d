/*
 * maps — which executable files a profiled process has mapped where, as the agent learns it:
 * from perf's MMAP2 records (in the order the process mapped them, merged by time with its
 * samples, so that a dlclose + dlopen at one address names each sample's object right), or
 * from /proc/PID/maps for what was mapped before the agent looked.
 *
 * Every mapping gets an agent-wide id (never reused: a profile's MAPPING records stay right
 * whatever is mapped later), described by ns_maps_describe for the profile writer
 * (writer/image.h, ids with NS_MAP_AGENT). A process's mappings are kept sorted as the
 * unwinder wants them (unwind.h), unwind tables filled in as samples first need them.
 *
 * Not thread-safe.
 */
#ifndef NS_MAPS_H
#define NS_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elf_file.h"
#include "modules.h"
#include "unwind.h"

struct ns_map_entry {
    uint64_t lo, hi, pgoff, bias;
    uint32_t id; /* agent-wide; frames carry it with NS_MAP_AGENT */
    struct ns_elf_file *file;
};

struct ns_proc_maps {
    struct ns_map_entry *v; /* sorted by lo, not overlapping */
    size_t n, cap;
    struct ns_unwind_module *mods; /* the same, as the unwinder reads them */
    size_t mods_cap;
    int stale;    /* mods must be rebuilt */
    int saw_main; /* the main executable's mapping was seen since the last exec */
};

/* A new executable mapping [addr, addr+len) of file (offset pgoff): replaces whatever part of
 * older mappings it covers. flags: NSP_MAP_MAIN / NSP_MAP_VDSO. */
int ns_maps_add(struct ns_proc_maps *m, uint64_t addr, uint64_t len, uint64_t pgoff,
                struct ns_elf_file *file, uint32_t flags);
/* exec: the old image's mappings are gone. */
void ns_maps_clear(struct ns_proc_maps *m);
/* fork: the child starts with the parent's mappings (same ids: same objects). */
int ns_maps_copy(struct ns_proc_maps *dst, const struct ns_proc_maps *src);
void ns_maps_free(struct ns_proc_maps *m);
/* Reads /proc/PID/maps (what was mapped before perf's records start). */
int ns_maps_from_proc(struct ns_proc_maps *m, pid_t pid);

/* The modules for the unwinder (rebuilt when the mappings changed). */
const struct ns_unwind_modules *ns_maps_modules(struct ns_proc_maps *m);
/* Builds the unwind table of the mapping with this id (for a sample that stopped at no_cfi
 * there); 1 if a table is now there. */
int ns_maps_build_cfi(struct ns_proc_maps *m, uint32_t id, pid_t pid);
/* The entry holding addr, or NULL. */
const struct ns_map_entry *ns_maps_find(const struct ns_proc_maps *m, uint64_t addr);

/* Describes an agent mapping id (writer/image.h's callback; ctx unused). The "[kernel]"
 * pseudo mapping is ns_maps_kernel_id(). */
int ns_maps_describe(void *ctx, uint32_t id, struct ns_mapping_info *out);
uint32_t ns_maps_kernel_id(void);
void ns_maps_reset_ids(void);

#endif
