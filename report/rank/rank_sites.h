/*
 * rank_sites — the tables behind the Memory, I/O and Locks sections of the report, derived
 * from the model's per-sample sites and resources (model.h), plus what those sections state
 * about how the data was taken (allocation mode, leak status).
 *
 * Contract: reads the model only; text and JSON renderers both call these so that they can
 * never disagree. Results are malloc'd arrays the caller frees. Orders are total and
 * deterministic (weights, then the key's index). Weights of aggregate events are totals of
 * many calls: rows never count entries, only add weights.
 */
#ifndef NS_REPORT_RANK_SITES_H
#define NS_REPORT_RANK_SITES_H

#include "model.h"

#define NS_ROW_EVENTS 3

/* One row: the weights of up to NS_ROW_EVENTS events joined on one site or resource. */
struct ns_site_row {
    uint32_t key; /* site or resource index; NS_NONE for entries without one */
    uint64_t w[NS_ROW_EVENTS];
};

/*
 * Rows keyed by site (by_resource 0) or by resource (1) for events[0..n) (model event
 * indices, n <= NS_ROW_EVENTS; NS_NONE entries are skipped); w[i] is the weight of
 * events[i]. Rows whose weights are all 0 are left out. Sorted by w[0], w[1], w[2] (largest
 * first), then key.
 */
int ns_rank_site_rows(const struct ns_model *m, const uint32_t *events, size_t n, int by_resource,
                      struct ns_site_row **out, size_t *nout);
/* Re-sorts rows by w[first] first, then the others in order, then key. */
void ns_rank_sort_rows(struct ns_site_row *rows, size_t n, size_t first);

/* One stack (leaf node) of an event with its weight and call site. */
struct ns_stack_row {
    uint32_t node, site;
    uint64_t weight;
};
/* The stacks of `event` by weight (then node index); rows of weight 0 are left out. */
int ns_rank_stack_rows(const struct ns_model *m, uint32_t event, struct ns_stack_row **out,
                       size_t *n);
/* The node of `site`'s function on the path from leaf to the root (the frame that made the
 * call), or the leaf when the site is not on it. */
uint32_t ns_site_node(const struct ns_model *m, uint32_t leaf, uint32_t site);

/* ---- histograms ---- */

struct ns_hist {
    uint64_t buckets[NSP_MAX_HISTOGRAM_BUCKETS];
    uint32_t nbuckets; /* up to the last non-empty bucket */
    uint64_t total;    /* values counted */
};

/* The histograms of `event` at one site (by_resource 0) or resource (1), summed. */
void ns_rank_histogram(const struct ns_model *m, uint32_t event, int by_resource, uint32_t key,
                       struct ns_hist *out);
/* The bucket holding quantile q (0 < q <= 1): the first whose running count reaches
 * q * total; -1 when the histogram is empty. */
int ns_hist_quantile(const struct ns_hist *h, double q);
/* Values bucket i holds: [lo, hi], both inclusive (0 for bucket 0; 2^(i-1)..2^i-1). */
uint64_t ns_hist_lo(unsigned i);
uint64_t ns_hist_hi(unsigned i);

/* ---- series ---- */

struct ns_series_stats {
    int valid; /* the series has points */
    uint64_t min, max;
    int64_t max_time_ns; /* the first time the maximum was reached */
    int64_t first_ns, last_ns;
};
void ns_series_stats(const struct ns_series *s, struct ns_series_stats *st);
/* Splits [first point, last point] into ncols equal spans; cols[j] is the largest value in
 * force during span j (a value holds until the next point). */
void ns_series_columns(const struct ns_series *s, uint64_t *cols, size_t ncols);

/* ---- what the sections are about ---- */

/* The model events of the Memory section (NS_NONE when absent). */
struct ns_mem_events {
    uint32_t bytes, count, leak, peak;
};
/* The I/O events: [0] calls that reached the kernel (io_*), [1] stdio calls served from a
 * buffer (stdio_*). */
struct ns_io_events {
    uint32_t time[2], bytes[2], calls[2];
};
struct ns_lock_events {
    uint32_t wait, cond;
    uint32_t calls, contended; /* lock calls that could wait, and found the lock taken */
};
void ns_sections_events(const struct ns_model *m, struct ns_mem_events *mem,
                        struct ns_io_events *io, struct ns_lock_events *lock);
/* 1 if the model has a series named name (heap_live_bytes, ...) in some process. */
int ns_model_has_series(const struct ns_model *m, const char *name);
int ns_memory_present(const struct ns_model *m, const struct ns_mem_events *e);
int ns_io_present(const struct ns_io_events *e);
int ns_locks_present(const struct ns_lock_events *e);
/* Per call site (by_resource 0) or lock (1) that waited or found the lock taken: w[0]
 * lock_wait, w[1] contended calls, w[2] calls; sorted by wait, then contended calls. */
int ns_lock_rows(const struct ns_model *m, const struct ns_lock_events *e, int by_resource,
                 struct ns_site_row **out, size_t *n);
/* The processes' run time in all (the sum of their durations): the denominator of rates. */
uint64_t ns_run_duration_ns(const struct ns_model *m);

/* The `alloc` setting over the processes that recorded allocations: "full", "sample",
 * "mixed" (they differ), or NULL when none recorded it; *interval: the alloc_interval
 * setting of the first process in sample mode, or NULL. */
const char *ns_alloc_mode(const struct ns_model *m, const char **interval);
/* A process in full mode could not grow its live-allocation table (note alloc_inexact):
 * live, peak and leak figures are lower bounds. */
int ns_alloc_inexact(const struct ns_model *m);

enum ns_state_status {
    NS_STATE_FOUND,       /* the snapshot event has weight */
    NS_STATE_NONE,        /* tracked exactly, and there is none (no leaks) */
    NS_STATE_NOT_TRACKED, /* alloc=sample (or not recorded): only estimates of allocations */
    NS_STATE_UNKNOWN,     /* tracked, but a process did not exit normally: not known */
    NS_STATE_FILTERED,    /* --event, --thread, --function or --from/--to left none */
};
/* The status of leak_bytes (at exit) or peak_bytes (at the peak) for the model. */
enum ns_state_status ns_leak_status(const struct ns_model *m, uint32_t event);
enum ns_state_status ns_peak_status(const struct ns_model *m, uint32_t event);
/* "found", "none", "not_tracked", "unknown", "filtered" */
const char *ns_state_status_name(enum ns_state_status s);

/* One I/O row: a site or resource and whether the calls reached the kernel or were served
 * from a stdio buffer. */
struct ns_io_row {
    uint32_t key;
    int stdio;
    uint64_t time, bytes, calls;
};
/* Kernel and stdio rows together, sorted by time (then bytes, calls, kind, key). */
int ns_io_rows(const struct ns_model *m, const struct ns_io_events *e, int by_resource,
               struct ns_io_row **out, size_t *n);

#endif
