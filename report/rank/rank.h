/*
 * Folder report/rank/: what the views rank and state from the model — functions, lines,
 * threads and call sites (rank.h, rank_sites.h), and the profile's quality facts (facts.h).
 *
 * rank — tables derived from the model for one event: functions by self and by total,
 * hottest source lines, threads grouped by name, processes.
 *
 * Contract: reads the model only; results are malloc'd arrays the caller frees (thread
 * groups with ns_rank_thread_groups_free). Orders are total and deterministic: ties are
 * broken by count, then name, then index, so equal inputs give byte-identical outputs.
 *
 * A function's total counts each sample once even when the function appears several times
 * in its stack (recursion): total <= the event's total, always.
 */
#ifndef NS_REPORT_RANK_H
#define NS_REPORT_RANK_H

#include "model.h"

struct ns_func_stat {
    uint32_t func;
    uint64_t self_count, self_weight;
    uint64_t total_count, total_weight;
    uint32_t hot_line;    /* its source line with the most self weight; 0 if none */
    const char *hot_file; /* that line's file; NULL if none */
};

/* Every frame function with samples in `event`, sorted by self weight (then total). */
int ns_rank_functions(const struct ns_model *m, uint32_t event, struct ns_func_stat **out,
                      size_t *n);
void ns_rank_sort_by_self(const struct ns_model *m, struct ns_func_stat *s, size_t n);
void ns_rank_sort_by_total(const struct ns_model *m, struct ns_func_stat *s, size_t n);

/* Lines of `event` (pointers into m->lines) sorted by self weight. */
int ns_rank_lines(const struct ns_model *m, uint32_t event, const struct ns_line ***out, size_t *n);

struct ns_thread_group {
    const char *name; /* "" for threads that never had a name recorded */
    uint32_t *tids;   /* ascending */
    size_t ntids;
    uint64_t count, weight; /* kept samples of `event` */
    int has_stats;          /* at least one thread has THREAD_STATS */
    uint64_t cpu_ns, stat_samples;
    int has_times; /* at least one thread has off-CPU times */
    uint64_t blocked_ns, runnable_ns, off_unknown_ns;
};

/* Threads that passed the filters and have samples or CPU time, grouped by name, sorted by
 * weight (then CPU time). */
int ns_rank_thread_groups(const struct ns_model *m, uint32_t event, struct ns_thread_group **out,
                          size_t *n);
void ns_rank_thread_groups_free(struct ns_thread_group *g, size_t n);

struct ns_process_stat {
    uint32_t process;
    uint64_t count, weight;
};

/* Every process of the model with its samples of `event`, sorted by weight. */
int ns_rank_processes(const struct ns_model *m, uint32_t event, struct ns_process_stat **out,
                      size_t *n);

/* Percentage of part in whole; 0 when whole is 0. */
double ns_pct(uint64_t part, uint64_t whole);

#endif
