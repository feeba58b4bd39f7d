/*
 * writer_state — the writer thread's state, shared by its three files: writer.c (the
 * loop and requests), writer_intern.c (stacks, mappings, strings → ids and their records)
 * and writer_threads.c (thread discovery, names, exits and statistics). Internal to them.
 */
#ifndef NS_WRITER_STATE_H
#define NS_WRITER_STATE_H

#include <pthread.h>
#include <stdint.h>

#include "intern.h"
#include "profile_writer.h"
#include "source.h"
#include "writer.h"

#define NS_WRITER_MAX_NOTES 64
#define NS_MAX_COUNTERS     48
#define NS_WRITER_BATCH     65536
#define NS_WRITER_CHUNK     (1u << 20)
#define NS_WRITER_MAX_POLL  4096

struct ns_counters {
    size_t n;
    char name[NS_MAX_COUNTERS][32];
    uint64_t value[NS_MAX_COUNTERS];
};

struct ns_writer_note {
    unsigned level;
    char code[32];
    char text[512];
};

/* What the writer knows of every thread it ever saw, even after its slot was reused. */
struct ns_tid_stats {
    pid_t tid;      /* 0 = empty slot */
    uint32_t flags; /* NSP_THREAD_* */
    uint64_t samples, cpu_ns;
    uint64_t name_id;
    int dirty; /* THREAD_STATS to write */
};

struct ns_writer_state {
    struct ns_pw pw;
    int ctl_fd;
    pthread_t thread;
    int thread_started, running, exit_requested;
    int paused; /* atomic: END written, the exec has not failed (yet) */
    pid_t pid;
    int eager_tables;
    pid_t tid;
    const struct ns_source *source;
    uint32_t event_id;
    uint64_t start_mono_ns, flush_ns, next_flush_ns;
    struct ns_sample_sink sink;
    struct ns_pw_sample *batch;
    size_t nbatch, batch_cap;
    uint64_t samples_taken, dropped_intern;
    uint64_t modules_announced_ns;                 /* atomic: start of the latest dlopen */
    uint64_t internal_cpu_ns[NS_INTERNAL_THREADS]; /* nsprof's own threads' CPU time */

    int req_seq, ack_seq, served_seq;
    unsigned req_flags, req_reason;
    uint64_t req_status;

    /* under notes_lock */
    struct ns_writer_note notes[NS_WRITER_MAX_NOTES];
    size_t nnotes;
    struct ns_counters counters;

    void (*register_tid)(pid_t tid);

    struct ns_intern stacks, strings;
    uint64_t next_stack_id, next_string_id, next_mapping_id;
    uint64_t *mapping_file_id; /* internal mapping id → (gen + 1) << 32 | file id */
    uint64_t mappings_recycled_seen;
    size_t mapping_ids_bytes;
    uint64_t *key_buf; /* scratch for a stack's key */

    struct ns_tid_stats *tids;
    size_t tid_slots, ntids;
};

extern struct ns_writer_state W;

void ns_counters_add(struct ns_counters *c, const char *name, uint64_t n);

/* writer_intern.c */
int ns_stacks_init(void);
void ns_stacks_destroy(void);
/* The file id of this stack, writing STACK (and MAPPING/STRING) records as needed; 0 when
 * it could not be interned. */
uint64_t ns_stacks_intern(unsigned end, const struct ns_frame *frames, int nframes);
/* Call once per drain cycle: drops file ids of recycled mapping ids. */
void ns_mappings_check_recycled(void);
/* The file id of a string, writing its STRING record when new; 0 on failure. */
uint64_t ns_strings_intern(const char *text);

/* writer_sites.c: interposed calls */
void ns_sites_emit(void);
void ns_sites_emit_thread(struct ns_thread *th);
void ns_sites_sample_heap(void);
/* Times the live-heap series was kept at half resolution (it moved too fast). */
uint64_t ns_sites_series_halvings(void);
void ns_sites_emit_final(void);
void ns_sites_writer_reset(void);

/* writer_threads.c */
int ns_threads_table_init(void);
void ns_threads_table_destroy(void);
void ns_threads_drain_all(const struct ns_sample_sink *sink);
/* /proc/self/task: new threads, vanished ones, names, CPU times. */
void ns_threads_refresh(int final);
void ns_threads_write_stats(void);
void ns_threads_count_sample(pid_t tid);

#endif
