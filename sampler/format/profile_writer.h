/*
 * profile_writer — encodes records of the .nsp format (docs/FORMAT.md) and appends them
 * to the profile file as checksummed, zlib-compressed chunks.
 *
 * Contract:
 *  - Used by one thread at a time (nsprof's writer thread); not async-signal-safe.
 *  - Never calls malloc: the raw and compressed chunk buffers and zlib's state come from
 *    one mmap'd arena sized at ns_pw_init and never grown. Memory is therefore bounded.
 *  - A record that does not fit into the current chunk flushes the chunk first; a record
 *    bigger than a whole chunk is refused with -E2BIG (callers size records far below it).
 *  - Every ns_pw_* record function returns 0 or a negative errno. After a write error
 *    (ENOSPC, EIO...) the writer is "failed": later calls return that error and write nothing,
 *    so a full disk costs samples, never the program.
 *  - Ids are the caller's business: the writer encodes what it is given.
 */
#ifndef NS_PROFILE_WRITER_H
#define NS_PROFILE_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct ns_pw_arena;

struct ns_pw {
    int fd;
    int error;    /* first write error (negative errno), sticky */
    uint32_t seq; /* next chunk sequence number */
    uint8_t *raw; /* records of the chunk being built */
    size_t raw_len, raw_cap;
    uint8_t *comp; /* compressed chunk (header + payload) */
    size_t comp_cap;
    void *zstream; /* z_stream, inside the arena */
    struct ns_pw_arena *arena;
    uint64_t bytes_written; /* file bytes so far, header included */
    uint64_t chunks_written;
};

struct ns_pw_process {
    uint64_t pid, ppid, exec_index, start_realtime_ns, start_mono_ns;
    const char *session, *exe, *hostname, *kernel, *producer;
    const char *cmdline; /* arguments joined by NUL bytes */
    size_t cmdline_len;
};

struct ns_pw_mapping {
    uint64_t id, lo, hi, bias, path_id, flags;
    const uint8_t *build_id;
    size_t build_id_len; /* <= NSP_MAX_BUILD_ID */
};

struct ns_pw_frame {
    uint64_t mapping_id;
    uint64_t addr;
};

struct ns_pw_sample {
    int64_t time_us; /* since start_mono_ns; the writer delta-encodes */
    uint64_t tid, stack_id, weight;
};

/* A sample about a resource (SITE_SAMPLES, format 1.1). */
struct ns_pw_site_sample {
    struct ns_pw_sample s;
    uint64_t resource_id;
};

struct ns_pw_point {
    int64_t time_us;
    uint64_t value;
};

/* raw_cap: bytes of records per chunk (e.g. 1 MiB). Writes the file header at once. */
int ns_pw_init(struct ns_pw *pw, int fd, size_t raw_cap);
/* Releases the arena; does not flush or close fd. */
void ns_pw_destroy(struct ns_pw *pw);

/* Compresses the records gathered so far into one chunk and writes it (no-op if none). */
int ns_pw_flush(struct ns_pw *pw);
/* Bytes of records the current chunk can still take before a flush. */
size_t ns_pw_room(const struct ns_pw *pw);

int ns_pw_process(struct ns_pw *pw, const struct ns_pw_process *p);
int ns_pw_setting(struct ns_pw *pw, const char *key, const char *value);
int ns_pw_event(struct ns_pw *pw, uint64_t event_id, const char *name, const char *unit,
                uint64_t period);
/* EVENT with its flags (NSP_EVENT_*; format 1.1). */
int ns_pw_event_flags(struct ns_pw *pw, uint64_t event_id, const char *name, const char *unit,
                      uint64_t period, uint64_t flags);
int ns_pw_string(struct ns_pw *pw, uint64_t id, const char *text, size_t len);
int ns_pw_resource(struct ns_pw *pw, uint64_t id, uint64_t kind, uint64_t name_id,
                   uint64_t stack_id);
int ns_pw_mapping(struct ns_pw *pw, const struct ns_pw_mapping *m);
int ns_pw_thread(struct ns_pw *pw, uint64_t tid, uint64_t name_id, uint64_t start_mono_ns);
int ns_pw_stack(struct ns_pw *pw, uint64_t id, unsigned end, const struct ns_pw_frame *frames,
                size_t nframes);
/* Writes one SAMPLES record; splits it when it would not fit a chunk. */
int ns_pw_samples(struct ns_pw *pw, uint64_t event_id, const struct ns_pw_sample *samples,
                  size_t count);
int ns_pw_site_samples(struct ns_pw *pw, uint64_t event_id, const struct ns_pw_site_sample *samples,
                       size_t count);
/* QUERY (1.4): what query resource `id` is: of database resource database_id, its verb
 * and flags (nsp_format.h), and the id of the STRING of one raw text (0: none). */
int ns_pw_query(struct ns_pw *pw, uint64_t id, uint64_t database_id, uint64_t verb, uint64_t flags,
                uint64_t example_id);
/* DB_STATS (1.4): one execution site's increase since the last record. */
struct ns_pw_db_stats {
    uint64_t tid, stack_id, query_id, outer_id;
    uint64_t executions, rows, time_ns, in_loop, autocommit, errors;
    const uint8_t *distinct; /* NSP_DB_DISTINCT_REGS registers, or NULL: no parameters */
    const uint64_t *hist;    /* NSP_DB_HIST_BUCKETS counts (sent sparse) */
};
int ns_pw_db_stats(struct ns_pw *pw, const struct ns_pw_db_stats *d);
int ns_pw_histogram(struct ns_pw *pw, uint64_t event_id, uint64_t tid, uint64_t stack_id,
                    uint64_t resource_id, const uint64_t *buckets, size_t nbuckets);
int ns_pw_series(struct ns_pw *pw, const char *name, const char *unit,
                 const struct ns_pw_point *points, size_t count);
int ns_pw_thread_stats(struct ns_pw *pw, uint64_t tid, uint64_t cpu_ns, uint64_t samples,
                       uint64_t flags);
/* Off-CPU time of a thread, from the kernel's switch records (cumulative, like cpu_ns):
 * blocked (it waited for something), runnable (preempted: it waited for a CPU), unknown
 * (records were lost around it). */
struct ns_pw_off_cpu {
    uint64_t blocked_ns, runnable_ns, unknown_ns;
};
/* THREAD_STATS with the NSP_THREAD_TIMES fields. */
int ns_pw_thread_times(struct ns_pw *pw, uint64_t tid, uint64_t cpu_ns, uint64_t samples,
                       uint64_t flags, const struct ns_pw_off_cpu *off);
int ns_pw_counters(struct ns_pw *pw, const char *const *names, const uint64_t *values,
                   size_t count);
int ns_pw_note(struct ns_pw *pw, unsigned level, const char *code, const char *text);
int ns_pw_end(struct ns_pw *pw, unsigned reason, uint64_t status, uint64_t end_mono_ns);

#endif
