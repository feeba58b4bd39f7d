/*
 * shm — the memory a profiled process shares with nsprof's agent.
 *
 * Everything the interposers aggregate (call stacks, per-thread call sites, resources, the
 * live-heap series, allocation counters), the signal mechanism's sample rings, the module
 * table, notes and the process's identity and end live in one region per process image.
 * With an agent the region is a file in the session's 0700 directory mapped MAP_SHARED,
 * so the agent reads it while the process runs and after it died (a SIGKILL loses
 * nothing that was written there); without one (in-process mode) it is private memory that
 * the writer thread reads the same way.
 *
 * Layout: the region is reserved once at a fixed address and never moves, so structures in
 * it point at each other with ordinary pointers; the agent maps it elsewhere and translates
 * every pointer it follows (ns_view, view.h), checking it against the region's bounds.
 * Memory is handed out by a bump allocator with per-size free lists and is never returned
 * to the system; what is not shared (hash indexes, caches) stays in private memory.
 *
 * fork: the child's atfork handler gives it a region of its own: a copy of the parent's at
 * the same address (ns_shm_postfork_child), so every pointer into it stays valid. A child of
 * _Fork() or of a raw clone runs no atfork handler: a private page marked MADV_WIPEONFORK
 * holds the flags that let the interposers record anything (ns_shm_local), and it comes back
 * zeroed in such a child — its calls then pass straight through, unrecorded, instead of
 * landing in its parent's region.
 *
 * Async-signal-safe: ns_shm_owned, ns_shm_header; ns_shm_alloc is lock-free unless the
 * region must grow (then a spinlock and a system call), so never call it from a handler.
 */
#ifndef NS_SHM_H
#define NS_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NS_SHM_MAGIC   0x316d68736670736eull /* "nspfshm1" */
#define NS_SHM_VERSION 1
#define NS_SHM_NOTES   64
#define NS_SHM_PATH    4096

/* What the process says about how it ended (the agent knows *that* it ended). */
enum ns_shm_state {
    NS_SHM_RUNNING = 1,
    NS_SHM_EXEC = 2,  /* an exec is under way: if it succeeds, this image is over */
    NS_SHM_ENDED = 3, /* end_reason/end_status are final */
};

/* Process-wide counters the target bumps (atomics) and the profile reports by name. */
enum ns_shm_counter {
    NS_CTR_ALLOC_SAMPLED,
    NS_CTR_ALLOC_UNTRACKED,
    NS_CTR_ALLOC_REGION_FALLBACKS,
    NS_CTR_ALLOC_PEAK_SNAPSHOTS,
    NS_CTR_ALLOC_SERIES_DROPPED,
    NS_CTR_STACKS_OVERFLOWED,
    NS_CTR_SITES_OVERFLOWED,
    NS_CTR_SIGPROF_FORWARDED,
    NS_CTR_THREADS_FAILED,
    NS_CTR_DROPPED_RING_FULL,
    NS_CTR_DROPPED_REENTRANT,
    NS_CTR_DROPPED_NO_THREAD,
    NS_CTR_NOTES_DROPPED,
    NS_CTR_SHM_EXHAUSTED,
    NS_CTR__COUNT
};
/* The name a counter has in the profile. */
static inline const char *ns_shm_counter_name(enum ns_shm_counter c)
{
    static const char *const names[NS_CTR__COUNT] = {
        [NS_CTR_ALLOC_SAMPLED] = "alloc_sampled",
        [NS_CTR_ALLOC_UNTRACKED] = "alloc_untracked",
        [NS_CTR_ALLOC_REGION_FALLBACKS] = "alloc_region_fallbacks",
        [NS_CTR_ALLOC_PEAK_SNAPSHOTS] = "alloc_peak_snapshots",
        [NS_CTR_ALLOC_SERIES_DROPPED] = "alloc_series_dropped",
        [NS_CTR_STACKS_OVERFLOWED] = "stacks_overflowed",
        [NS_CTR_SITES_OVERFLOWED] = "sites_overflowed",
        [NS_CTR_SIGPROF_FORWARDED] = "sigprof_forwarded",
        [NS_CTR_THREADS_FAILED] = "threads_failed",
        [NS_CTR_DROPPED_RING_FULL] = "dropped_ring_full",
        [NS_CTR_DROPPED_REENTRANT] = "dropped_reentrant",
        [NS_CTR_DROPPED_NO_THREAD] = "dropped_no_thread",
        [NS_CTR_NOTES_DROPPED] = "notes_dropped",
        [NS_CTR_SHM_EXHAUSTED] = "shm_exhausted",
    };
    return (unsigned)c < NS_CTR__COUNT ? names[c] : "unknown";
}

struct ns_shm_note {
    uint32_t level; /* enum nsp_note_level */
    char code[32];
    char text[476];
};

struct ns_stacks_pub;
struct ns_resources_pub;
struct ns_series_ring;
struct ns_alloc_pub;
struct ns_thread_dir;
struct ns_mapping_table;
struct ns_pseudo_names;

struct ns_shm_header {
    uint64_t magic;
    uint32_t version, header_bytes;
    uint64_t base;      /* the region's address in the process that owns it */
    uint64_t reserved;  /* bytes of address space the region may grow to */
    uint64_t committed; /* bytes backed by the file so far (atomic) */
    uint64_t used;      /* bump pointer (atomic) */
    int lock;           /* growth and free lists */
    int shared;         /* 1: a file the agent reads; 0: private (in-process mode) */

    /* identity (written before the region is published) */
    int32_t pid, ppid;
    uint64_t exec_index;
    uint64_t start_mono_ns, start_realtime_ns;
    char session[64];
    char exe[NS_SHM_PATH];
    char path[NS_SHM_PATH]; /* the region's own file ("" when private) */
    const char *cmdline;    /* arguments joined by NULs, in the region */
    uint64_t cmdline_len;
    const char *settings; /* "key\0value\0" pairs, ended by an empty key, in the region */
    uint64_t settings_len;
    uint32_t extra_events; /* enum ns_event_id bits the interposers write (writer.h) */
    uint32_t agent_pid;    /* the agent that reads this region (0: in-process mode) */
    uint64_t perf_covered; /* 1: the agent samples this process through perf events */

    /* how it ended */
    uint32_t state; /* enum ns_shm_state (atomic) */
    uint32_t end_reason;
    uint64_t end_status, end_mono_ns;
    /* /proc/self/io as the process ended (the agent reads a dead process's no more) */
    uint64_t proc_io[4];
    uint32_t proc_io_set;

    /* changes the reader should look at */
    uint64_t modules_generation; /* bumped at every dlopen/dlclose (atomic) */

    uint64_t counters[NS_CTR__COUNT]; /* atomics */
    uint32_t nnotes;                  /* notes[0..nnotes) are complete (atomic) */
    struct ns_shm_note notes[NS_SHM_NOTES];

    /* Roots of what the reader walks (pointers into the region; NULL until used). */
    struct ns_stacks_pub *stacks;
    struct ns_resources_pub *resources;
    struct ns_series_ring *series;
    struct ns_alloc_pub *alloc;
    struct ns_thread_dir *threads;
    struct ns_mapping_table *mappings;
    struct ns_pseudo_names *names;

    /* Per-size free lists of blocks given back (ns_shm_free): index = log2(bytes / 64). */
    void *free_lists[48];
};

/* Creates this process's region. path NULL: private memory (in-process mode); otherwise the
 * file is created 0600 with O_EXCL|O_NOFOLLOW and mapped shared. 0, or -errno with a
 * sentence. */
int ns_shm_create(const char *path, char *err, size_t errlen);
/* This process's region, or NULL (not created, or wiped in a _Fork child). */
struct ns_shm_header *ns_shm_header(void);
/* 1 when the region belongs to this process (0 in a _Fork/raw clone child). */
int ns_shm_owned(void);

/* Gives the region up (its file removed): for a start that falls back to another mode
 * before anything was recorded in it. */
void ns_shm_destroy(void);

/* Zeroed memory in the region, 16-byte aligned; NULL when the region is full. */
void *ns_shm_alloc(size_t size);
/* Gives a block back for reuse by a later ns_shm_alloc of the same size class. */
void ns_shm_free(void *p, size_t size);
/* A copy of len bytes (plus a NUL) in the region; NULL when full. */
char *ns_shm_strndup(const char *s, size_t len);

void ns_shm_count(enum ns_shm_counter c, uint64_t n);
/* A note for the profile (rare facts: a fallback, a conflict). Not from signal handlers. */
void ns_shm_note(unsigned level, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records how the process ends (first call wins, except that a failed exec is undone). */
void ns_shm_set_end(unsigned state, unsigned reason, uint64_t status);

/* The flags the interposers test before recording anything; they live on a page that a
 * child of _Fork() or of a raw clone gets zeroed (see above). */
struct ns_shm_local {
    struct ns_shm_header *header;
    unsigned hooks_on; /* enum ns_hook_kind bits */
    int alloc_active;  /* enum ns_alloc_mode */
};
extern struct ns_shm_local *ns_shm_local;

/* fork: the region's lock must not be held across fork; the child gets its own region at
 * the same address (a copy), in new_path (or private memory when the parent's was). The
 * child's returns -EEXIST when new_path exists (try another name), -1 on other failures
 * (then the child has no region and records nothing). */
void ns_shm_prefork(void);
void ns_shm_postfork_parent(void);
int ns_shm_postfork_child(const char *new_path, char *err, size_t errlen);

#endif
