/*
 * Folder report/read/: the profile reader — .nsp bytes to struct ns_profile (profile.h,
 * profile_reader.h), every record checked as hostile input; knows nothing of the analysis.
 *
 * profile — the in-memory form of one .nsp file, as report/read/profile_reader.c loads it.
 * Everything the analysis needs is here; nothing refers back to the file.
 *
 * Ids index the arrays directly: strings[id], mappings[id], stacks[id], resources[id], with
 * entry 0 the "none" entry (empty string, zeroed mapping, empty stack, zeroed resource). All
 * strings are NUL-terminated copies (an embedded NUL is possible: use the len field where it
 * matters, e.g. cmdline).
 *
 * Format 1.1 adds what interposed calls write: resources (files, sockets, locks), a resource
 * per sample (SITE_SAMPLES; 0 for plain SAMPLES), histograms (summed per key once loaded)
 * and series (the points of each name in file order).
 */
#ifndef NS_PROFILE_H
#define NS_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "nsp_format.h"

struct ns_str {
    char *s; /* NUL-terminated */
    uint32_t len;
};

struct ns_prof_process {
    uint64_t pid, ppid, exec_index, start_realtime_ns, start_mono_ns;
    struct ns_str session, exe, cmdline, hostname, kernel, producer;
};

struct ns_prof_kv {
    struct ns_str key, value;
};

struct ns_prof_event {
    uint32_t id;
    struct ns_str name, unit;
    uint64_t period;
    uint32_t flags; /* NSP_EVENT_*: 1 aggregate, 2 snapshot (format 1.1; 0 before) */
};

struct ns_prof_mapping {
    uint64_t lo, hi, bias;
    uint32_t path; /* string id */
    uint32_t flags;
    uint8_t build_id[64];
    uint8_t build_id_len;
};

struct ns_prof_frame {
    uint32_t mapping; /* mapping id, 0 = outside every mapping */
    uint64_t addr;    /* ELF vaddr in that mapping, or absolute address if mapping == 0 */
};

struct ns_prof_stack {
    uint32_t first; /* index into frames[] */
    uint32_t nframes;
    uint8_t end; /* enum nsp_stack_end */
};

struct ns_prof_thread {
    uint32_t tid;
    uint32_t name; /* string id of the last name seen */
    uint64_t start_mono_ns;
    int has_stats;
    uint64_t cpu_ns, samples, flags;
    /* flags & NSP_THREAD_TIMES: off-CPU time from the kernel's switch records */
    uint64_t blocked_ns, runnable_ns, off_unknown_ns;
};

struct ns_prof_counter {
    struct ns_str name;
    uint64_t value;
};

struct ns_prof_note {
    uint32_t level;
    struct ns_str code, text;
};

/* Samples as parallel arrays (structure of arrays: fast to scan). */
struct ns_prof_samples {
    size_t n, cap;
    uint32_t *event;
    int64_t *time_ns; /* since process.start_mono_ns */
    uint32_t *tid;
    uint32_t *stack;
    uint64_t *weight;
    uint32_t *resource; /* resource id, 0 = none (always 0 for SAMPLES); NULL = all 0 */
};

/* RESOURCE (1.1): what an interposed call worked on. */
struct ns_prof_resource {
    uint32_t kind;  /* enum nsp_resource_kind, 1..8 */
    uint32_t name;  /* string id */
    uint32_t stack; /* stack id that created or first used it; 0 = none */
    /* a query (1.4, its QUERY record): its database (resource id, 0 = unknown), verb
     * (enum nsp_query_verb), flags (NSP_QUERY_*) and one raw text (string id, 0 = none) */
    uint32_t database, example;
    uint16_t verb, flags;
    int has_query;
};

/* DB_STATS (1.4), one record as read: an execution site's increase. Its histogram buckets
 * are db_buckets[first .. first+nbuckets), each a (loglin bucket, count) pair. */
struct ns_prof_db_stats {
    uint32_t tid, stack, query, outer;
    uint64_t executions, rows, time_ns, in_loop, autocommit, errors;
    int has_distinct;
    uint8_t distinct[NSP_DB_DISTINCT_REGS];
    size_t first, nbuckets;
};

struct ns_prof_db_bucket {
    uint32_t bucket;
    uint64_t count;
};

/*
 * HISTOGRAM (1.1): bucket 0 counts the value 0, bucket i >= 1 values in [2^(i-1), 2^i).
 * Once loaded there is one entry per (event, tid, stack, resource), sorted by that key,
 * with the records of that key summed; its buckets are hist_buckets[first .. first+n).
 */
struct ns_prof_histogram {
    uint32_t event, tid, stack, resource;
    uint32_t first;    /* into hist_buckets */
    uint32_t nbuckets; /* <= NSP_MAX_HISTOGRAM_BUCKETS */
};

struct ns_prof_point {
    int64_t time_ns; /* since process.start_mono_ns */
    uint64_t value;
};

/* SERIES (1.1): once loaded, one entry per name (sorted by name) whose points are
 * points[first .. first+n) in file order; unit is the last record's. */
struct ns_prof_series {
    struct ns_str name, unit;
    size_t first, n;
};

struct ns_profile {
    char *path;
    int has_process;
    struct ns_prof_process process;

    struct ns_prof_kv *settings; /* sorted by key; the last value of each key wins */
    size_t nsettings;
    struct ns_prof_event *events; /* sorted by id; the last definition of each id wins */
    size_t nevents;
    struct ns_str *strings; /* [0] is "" */
    size_t nstrings;        /* count including entry 0 */
    struct ns_prof_mapping *mappings;
    size_t nmappings;
    struct ns_prof_stack *stacks;
    size_t nstacks;
    struct ns_prof_frame *frames;
    size_t nframes;
    struct ns_prof_thread *threads; /* sorted by tid */
    size_t nthreads;
    struct ns_prof_samples samples;
    struct ns_prof_counter *counters; /* sorted by name; the last value of each name wins */
    size_t ncounters;
    struct ns_prof_note *notes;
    size_t nnotes;
    struct ns_prof_resource *resources; /* [0] is the "none" entry */
    size_t nresources;                  /* count including entry 0 */
    struct ns_prof_histogram *histograms;
    size_t nhistograms;
    struct ns_prof_db_stats *db_stats;
    size_t ndb_stats;
    struct ns_prof_db_bucket *db_buckets;
    size_t ndb_buckets;
    uint64_t *hist_buckets;
    size_t nhist_buckets;
    struct ns_prof_series *series;
    size_t nseries;
    struct ns_prof_point *points;
    size_t npoints;

    int has_end;
    uint32_t end_reason;
    uint64_t end_status, end_mono_ns; /* end_mono_ns: since process.start_mono_ns */

    int truncated;         /* the file ends inside a chunk */
    uint64_t truncated_at; /* offset of that chunk */
    uint64_t file_bytes, chunks;

    void *storage; /* the reader's blocks behind every ns_str; freed by ns_profile_free */
};

/*
 * Assembling a profile: used by report/read/profile_reader.c, and by tests that build a profile
 * by hand. The strings of a profile live in storage that it owns (freed by
 * ns_profile_free, declared in profile_reader.h).
 */
/* A profile holding only the id-0 entries of strings, mappings and stacks; NULL if OOM. */
struct ns_profile *ns_profile_new(const char *path);
/* Copies len bytes into the profile's storage as a NUL-terminated ns_str; -1 if OOM. */
int ns_profile_str(struct ns_profile *p, const void *bytes, size_t len, struct ns_str *out);
/*
 * Grows the array whose pointer is at arr_slot (a `struct T **`) to hold `need` elements
 * of elem bytes, doubling *cap so that growth is amortized O(1). 0, or -1 if out of memory
 * (the array is then unchanged).
 */
int ns_profile_grow(void *arr_slot, size_t *cap, size_t need, size_t elem);
/* Grows the sample arrays to hold `need` samples in all; 0, or -1 if out of memory. */
int ns_profile_reserve_samples(struct ns_profile *p, size_t need);
/*
 * "The last one wins" for records that repeat: stable-sort the array by key and fold each
 * run of equal keys into its first entry, later entries overriding earlier ones; entries
 * appended after a fold count as newer than every entry before. Threads fold field by
 * field: an entry with has_stats carries cpu_ns/samples/flags (a THREAD_STATS record),
 * one without carries name/start_mono_ns (a THREAD record). 0, or -1 if out of memory.
 */
int ns_profile_fold_settings(struct ns_profile *p);
int ns_profile_fold_events(struct ns_profile *p);
int ns_profile_fold_counters(struct ns_profile *p);
int ns_profile_fold_threads(struct ns_profile *p);
/*
 * Histograms and series are folded by key too, but they add up instead of replacing: the
 * buckets of every histogram with the same (event, tid, stack, resource) are summed
 * (saturating) into one entry with as many buckets as the longest; the series of one name
 * become one entry whose points are those of its records in file order. Both compact the
 * bucket and point arrays in place (they never grow). 0, or -1 if out of memory.
 */
int ns_profile_fold_histograms(struct ns_profile *p);
int ns_profile_fold_series(struct ns_profile *p);

/* Lookups; NULL / 0 when absent. */
const char *ns_profile_setting(const struct ns_profile *p, const char *key);
uint64_t ns_profile_counter(const struct ns_profile *p, const char *name);
const struct ns_prof_thread *ns_profile_thread(const struct ns_profile *p, uint32_t tid);
const struct ns_prof_event *ns_profile_event(const struct ns_profile *p, uint32_t id);
/* The series named name (after folding), or NULL. */
const struct ns_prof_series *ns_profile_series(const struct ns_profile *p, const char *name);

#endif
