/*
 * modules — the registry of ELF objects loaded in this process: their unwind tables, the
 * mapping ids the profile names them by, and the history of which objects were loaded when.
 *
 * Why a history: perf-ring samples are unwound by the writer thread milliseconds after they
 * were taken, and a dlclose (or a dlclose + dlopen at the same address) may come between.
 * So each change of the object list produces a new immutable snapshot valid from a time;
 * a sample is unwound with the snapshot valid at its own timestamp.
 *
 * Concurrency:
 *  - ns_modules_rescan (constructor, dlopen/dlclose hooks, writer) takes a mutex; it calls
 *    dl_iterate_phdr and builds CFI tables, so never from a signal handler.
 *  - ns_modules_acquire/release are async-signal-safe and lock-free: a signal handler or an
 *    interposer gets the current snapshot and it is not freed until the thread releases it
 *    (each thread marks itself busy in its own slot).
 *  - ns_modules_at, ns_modules_mapping, ns_modules_retire: writer thread only.
 *  - CFI tables are built on demand and cached per object identity (build-id, else path)
 *    for the life of the process, so a dlopen/dlclose loop builds each table once.
 */
#ifndef NS_MODULES_H
#define NS_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

struct ns_snapshot {
    struct ns_unwind_modules mods; /* executable segments, sorted */
    uint64_t valid_from_ns;        /* CLOCK_MONOTONIC */
    uint64_t valid_to_ns;          /* UINT64_MAX while current */
    struct ns_snapshot *older;     /* history, newest first */
    uint64_t seq;                  /* 1, 2, ... in publication order: never reused */
    size_t map_len;
};

/* What the profile's MAPPING record says about one loaded object. */
struct ns_mapping_info {
    uint32_t id;
    uint32_t gen;   /* bumped when the id is recycled for another object */
    uint32_t flags; /* NSP_MAP_* */
    uintptr_t lo, hi, bias;
    const char *path;
    uint8_t build_id[64];
    uint8_t build_id_len;
};

/* The region's table of object descriptions (shm.h: header->mappings), for the reader that
 * writes MAPPING records: id i is chunk[(i-1) / CHUNK][(i-1) % CHUNK] for 1 <= i <= n. An
 * entry is rewritten when its id is recycled (info.gen grows): a reader copies it between
 * two equal, even readings of seq. info.path points into the region. */
#define NS_MAPPINGS_CHUNK  1024
#define NS_MAPPINGS_CHUNKS 256
struct ns_shm_mapping {
    uint32_t seq;
    struct ns_mapping_info info;
};
struct ns_mapping_table {
    uint32_t n;                            /* atomic */
    uint32_t self_id, named_id, kernel_id; /* libnsprof.so, "[nsprof]", "[kernel]" */
    struct ns_shm_mapping *chunk[NS_MAPPINGS_CHUNKS];
};

/* exe_path names the main executable (dl_iterate_phdr gives it an empty name). */
int ns_modules_init(const char *exe_path);
/* Re-reads the loaded objects; a new snapshot is published if they changed. It is valid
 * from valid_from_ns (the caller passes the time before a dlopen began, so that samples
 * in the new object's constructors find it). Returns 1 if changed, 0 if not, -1 on error. */
int ns_modules_rescan(uint64_t valid_from_ns);
/* Unwind tables are built lazily, outside signal handlers: for one object (returns its
 * enum ns_cfi_state afterwards; NS_CFI_NONE if it is no longer loaded), or for every loaded
 * object still pending (the signal path, whose handler cannot build them). */
int ns_modules_build_cfi(uint32_t id);
void ns_modules_build_pending(void);
/* Cheap check (loader's adds/subs counters) whether a rescan would find changes. */
int ns_modules_changed(void);

/* The seq of the newest snapshot published (lock-free, async-signal-safe): a result that
 * was computed with the snapshot of this seq still holds while it is the same. */
extern uint64_t ns_modules_published_seq __attribute__((visibility("hidden")));
static inline uint64_t ns_modules_published(void)
{
    return __atomic_load_n(&ns_modules_published_seq, __ATOMIC_ACQUIRE);
}
/* busy: the calling thread's flag (struct ns_thread.snapshot_busy), set while it reads. */
const struct ns_snapshot *ns_modules_acquire(int *busy);
void ns_modules_release(int *busy);

/* Writer thread: the snapshot valid at time t (the oldest retained one if t is older). */
const struct ns_snapshot *ns_modules_at(uint64_t t_ns);
/* Copies the description of a mapping id into *out (its path stays valid for the life of
 * the process); -1 if the id is unknown. Any thread, not from a signal handler. */
int ns_modules_mapping(uint32_t id, struct ns_mapping_info *out);
/* How many object ids were recycled so far (atomic); a change tells the writer to check
 * the generations of the ids it has described. */
uint64_t ns_modules_recycled(void);
/* Copies the generation of ids first..first+n-1 into gens[0..n-1] (0 for unknown ids). */
void ns_modules_generations(uint32_t first, uint32_t *gens, size_t n);

/* Writer thread: frees snapshots that stopped being valid before `before_ns` and that no
 * signal handler is reading. */
void ns_modules_retire(uint64_t before_ns);
/* The mapping id of libnsprof.so itself (0 until found). */
uint32_t ns_modules_self_mapping(void);
/* The pseudo mapping "[nsprof]" whose frames are named (addr = ns_pseudo_name id). */
uint32_t ns_modules_named_mapping(void);
/* The pseudo mapping id for ticks that landed in the kernel ("[kernel]"). */
uint32_t ns_modules_kernel_mapping(void);

/* fork: the registry mutex must not be held by another thread across fork. */
void ns_modules_lock(void);
void ns_modules_unlock(void);

#endif
