/*
 * image — one profile file being written: the profile of one process image (a pid until it
 * execs or ends). The agent keeps one per process of its session; the in-process fallback
 * keeps one in the writer thread. Both feed it the same way:
 *
 *   - samples, already unwound (ns_image_sample), whose frames name their object by a
 *     mapping id in one of two spaces: the process's own module registry (the ids the
 *     interposers and the in-process unwinder use, described in its shared region's mapping
 *     table), or the agent's (NS_MAP_AGENT set: objects the agent learnt from perf's MMAP2
 *     records or /proc/PID/maps, described through a callback);
 *   - the process's shared region (shm.h), read through a view (view.h): the interposers'
 *     call sites, resources, the live-heap series, allocation totals, notes and counters;
 *   - threads' names, CPU times and ends, as the caller learns them.
 *
 * It interns strings, mappings and stacks into the file's dense ids (docs/FORMAT.md), writes
 * each definition the first time it is used, batches samples, and writes a chunk at each
 * flush. Memory is bounded: intern tables are cleared when full (definitions repeat under new
 * ids) and nothing grows with the number of samples.
 *
 * Not thread-safe: one caller at a time. Not async-signal-safe.
 */
#ifndef NS_IMAGE_H
#define NS_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "intern.h"
#include "modules.h"
#include "profile_writer.h"
#include "unwind.h"
#include "view.h"

/* Mapping ids with this bit are the agent's (ns_image_agent_maps); the others are the
 * process's registry ids (its region's mapping table). */
#define NS_MAP_AGENT 0x80000000u
/* A frame the profile itself makes up (ns_image_synthetic): its addr is the file id of the
 * STRING naming it, in the pseudo mapping "[off-cpu]". */
#define NS_MAP_SYNTHETIC 0xffffffffu

struct ns_shm_header;

struct ns_image_counters {
    size_t n;
    char name[48][32];
    uint64_t value[48];
};

struct ns_image_note {
    unsigned level;
    char code[32];
    char text[512];
};
#define NS_IMAGE_NOTES 32

/* Describes agent-space mapping ids (without the NS_MAP_AGENT bit). */
struct ns_image_agent_maps {
    int (*describe)(void *ctx, uint32_t id, struct ns_mapping_info *out);
    void *ctx;
};

struct ns_image_setup {
    int fd;
    pid_t pid, ppid;
    uint64_t exec_index;
    uint64_t start_mono_ns, start_realtime_ns;
    const char *session, *exe, *hostname, *kernel, *producer;
    const char *cmdline; /* arguments joined by NULs */
    size_t cmdline_len;
    const char *const *settings; /* key, value, ..., NULL */
    uint32_t event_id;           /* the sampled event (enum ns_event_id), 0 for none */
    uint64_t period_ns;
    /* Wall time (docs/INTERPOSED.md, "Wall and off-CPU time"): 0 none; NS_WALL_KERNEL the
     * agent writes it from the kernel's switch records (ns_image_add); NS_WALL_INTERPOSED
     * the image makes it of the CPU samples plus the blocking calls' own times (family
     * NS_SITE_BLOCKED). Either way the events wall and off_cpu are declared. */
    unsigned wall;
    uint32_t extra_events; /* bits of the interposers' events to declare */
};

enum { NS_WALL_NONE, NS_WALL_KERNEL, NS_WALL_INTERPOSED };

struct ns_image_threads; /* tid → stats (image.c) */
struct ns_image_sums;    /* aggregated entries (image_sums.c) */
struct ns_image_locks;   /* names of locks by address (image_locks.c) */
struct ns_image_region;  /* what was already read from the region (image_region.c) */

struct ns_image {
    struct ns_pw pw;
    int fd;
    pid_t pid;
    uint64_t start_mono_ns;
    uint32_t event_id;
    unsigned wall; /* NS_WALL_* */
    int ended;
    uint64_t synthetic_map;   /* file id of the "[off-cpu]" mapping, 0 until written */
    uint32_t declared_events; /* enum ns_event_id bits whose EVENT record is written */
    uint64_t end_mono_ns;     /* while the last chunk is written: when the process ended */
    struct ns_image_sums *sums;
    struct ns_image_locks *locks;

    struct ns_intern stacks, strings;
    uint64_t next_stack_id, next_string_id, next_mapping_id;
    uint64_t *key_buf;
    /* internal mapping id → (generation + 1) << 32 | file id, one table per id space */
    uint64_t *region_maps, *agent_maps;
    size_t region_maps_bytes, agent_maps_bytes;
    struct ns_image_agent_maps agent;

    struct ns_pw_sample *batch;
    size_t nbatch, batch_cap;
    uint64_t samples, dropped_intern;

    struct ns_image_threads *threads;
    struct ns_image_counters counters;
    struct ns_image_note notes[NS_IMAGE_NOTES];
    size_t nnotes;

    struct ns_view view; /* the process's region; len 0 = none */
    struct ns_image_region *region;
};

/* Starts the profile: file header, PROCESS, SETTINGs, EVENTs. 0, or -errno with err set. */
int ns_image_open(struct ns_image *im, const struct ns_image_setup *s, char *err, size_t errlen);
/* Releases the image's memory (the caller closes the fd). */
void ns_image_close(struct ns_image *im);

/* The process's shared region, from now on (view.len 0: none). */
void ns_image_set_region(struct ns_image *im, const struct ns_view *view);
void ns_image_set_agent_maps(struct ns_image *im, const struct ns_image_agent_maps *maps);

/* A sample of the image's event; returns its stack's file id (0: not written). With
 * NS_WALL_INTERPOSED it is also wall time of the same weight. */
uint64_t ns_image_sample(struct ns_image *im, pid_t tid, uint64_t time_ns, uint64_t weight,
                         unsigned end, const struct ns_frame *frames, int nframes);
/* The file id of a stack (0 on failure): frames[0] is the leaf. */
uint64_t ns_image_stack(struct ns_image *im, unsigned end, const struct ns_frame *frames,
                        int nframes);
/* A frame named `name` (a literal or any string: it is copied into the file), made up by
 * the profile ("[off-CPU: sleep]"); 0 mapping on failure. */
struct ns_frame ns_image_synthetic(struct ns_image *im, const char *name);
/* The file id of a region stack (an interposer's, shm.h) under `nleaves` extra leaf frames
 * (leaves[0] the outermost leaf); 0 when unreadable. */
uint64_t ns_image_region_stack(struct ns_image *im, const void *remote_stack,
                               const struct ns_frame *leaves, int nleaves);
/* Adds weight to the aggregated entry (event ev, thread, stack, resource file ids), written
 * as SITE_SAMPLES at the next flush, or earlier when its slot is needed. */
void ns_image_add(struct ns_image *im, uint32_t ev, pid_t tid, uint64_t stack, uint64_t resource,
                  uint64_t weight, uint64_t time_ns);
void ns_image_count(struct ns_image *im, const char *counter, uint64_t n);
void ns_image_note(struct ns_image *im, unsigned level, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Threads: a name (THREAD record when new or changed), CPU time while profiled, exit. */
void ns_image_thread_name(struct ns_image *im, pid_t tid, const char *name, uint64_t start_ns);
void ns_image_thread_cpu(struct ns_image *im, pid_t tid, uint64_t cpu_ns);
/* Off-CPU times (cumulative) from the kernel's switch records: the agent's perf mechanism. */
void ns_image_thread_off_cpu(struct ns_image *im, pid_t tid, const struct ns_pw_off_cpu *off);
void ns_image_thread_exited(struct ns_image *im, pid_t tid);
uint64_t ns_image_thread_samples(struct ns_image *im, pid_t tid);

/* The call sites of one thread of the region (owner address of its slot), before its slot is
 * given to another thread. */
struct ns_thread;
void ns_image_emit_thread_sites(struct ns_image *im, const struct ns_thread *remote_slot);

/* Frequent (every drain): the live-heap points the process produced since the last call. */
void ns_image_poll_region(struct ns_image *im);
/* Writes everything pending (sites, samples, notes, thread stats, counters) as one chunk.
 * extra counters: name/value pairs the caller adds (n may be 0). */
void ns_image_flush(struct ns_image *im, const char *const *names, const uint64_t *values,
                    size_t n);
/* The last chunk: final sites, leaks and peak (from the region), then END. */
void ns_image_end(struct ns_image *im, unsigned reason, uint64_t status, uint64_t end_mono_ns,
                  const char *const *names, const uint64_t *values, size_t n);

/* After END(exec), the exec failed: the profile goes on (records after an END of reason exec
 * are allowed, docs/FORMAT.md). */
void ns_image_resume(struct ns_image *im);

/* The file id of an interned string / stack (0 on failure); for callers that write their
 * own records. */
uint64_t ns_image_string(struct ns_image *im, const char *text);
/* Writes event ev's EVENT record unless it was written: events the settings do not name
 * (the database's, which a program may never use) are declared at their first entry. */
void ns_image_declare_event(struct ns_image *im, uint32_t ev);

#endif
