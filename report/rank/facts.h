/*
 * facts — the "how good is this profile" numbers every report states, derived from the
 * model: which sampling mechanism ran and why, requested versus achieved rate, stack
 * quality, drops, kernel exclusion, symbol problems, completeness of each file.
 *
 * Contract: reads the model only; text and JSON renderers both call these so that they
 * can never disagree. Sentences are for people; names (ns_stack_end_name, ...) are the
 * stable identifiers JSON uses.
 */
#ifndef NS_REPORT_FACTS_H
#define NS_REPORT_FACTS_H

#include <stddef.h>

#include "model.h"

/* Stack quality classes of FORMAT.md: root = 0; truncated = 1, 2; unknown frames = 3..6. */
struct ns_stack_quality {
    uint64_t total, root, truncated, unknown, no_stack;
};
void ns_facts_stack_quality(const struct ns_event *ev, struct ns_stack_quality *q);
/* The same in weight rather than samples (for aggregate events, whose entries are totals). */
void ns_facts_stack_quality_by_weight(const struct ns_event *ev, struct ns_stack_quality *q);
/* "root", "depth", "stack_end", "no_module", "no_cfi", "bad_cfi", "bad_frame"; the extra
 * bucket (no stack or an end value this reader does not know) is "other". */
const char *ns_stack_end_name(unsigned bucket);

/* Achieved CPU sampling rate: THREAD_STATS samples per second of thread CPU time, over
 * the threads that passed the filters in processes with a "cpu" event. */
struct ns_rate {
    int valid; /* some thread had statistics and CPU time */
    uint64_t samples, cpu_ns;
    double hz;
};
/* process: one process, or NS_NONE for all. */
struct ns_rate ns_facts_rate(const struct ns_model *m, uint32_t process);
struct ns_rate ns_facts_rate_of(uint64_t samples, uint64_t cpu_ns);
/* Whether a thread's achieved rate means something: it has samples, or enough CPU time
 * (20 ms) that having none is a failure. A thread that only waited has neither, and "0 Hz"
 * would read as a sampling failure. */
int ns_facts_thread_rate_shown(uint64_t samples, uint64_t cpu_ns);

/* The distinct values a setting takes across processes (value NULL: not recorded). */
struct ns_setting_group {
    const char *value;
    uint32_t *processes;
    size_t n;
};
int ns_facts_setting_groups(const struct ns_model *m, const char *key,
                            struct ns_setting_group **out, size_t *n);
void ns_facts_setting_groups_free(struct ns_setting_group *g, size_t n);

/* "perf_event rings" for perf, "signal timers" for signal, NULL for other values. */
const char *ns_mechanism_description(const char *value);

/* Sum over processes of each counter named dropped_* with a non-zero value, sorted by
 * name; *total is their sum and *taken the sum of the "samples" counter. */
int ns_facts_drops(const struct ns_model *m, struct ns_counter **out, size_t *n, uint64_t *total,
                   uint64_t *taken);

/* 1 if setting exclude_kernel is "1" in every process that recorded it (and one did);
 * *some is set when it is "1" in at least one. */
int ns_facts_kernel_excluded(const struct ns_model *m, int *some);

/* With exclude_kernel, ticks in the kernel are lost: the share (0-100) of the threads' CPU
 * time that went unsampled, from the rate achieved against the rate asked for, in the
 * processes that excluded the kernel; -1 when none did or nothing is known. */
double ns_facts_unsampled_kernel_share(const struct ns_model *m);

/* A file is complete when it has an END record and no truncated tail. */
int ns_facts_complete(const struct ns_process *p);
/* One sentence about how the file ended ("the process exited with status 0", ...). */
void ns_facts_end_sentence(const struct ns_process *p, char *buf, size_t len);
/* "exit", "exec", "signal", "stopped", "unknown" for END.reason. */
const char *ns_end_reason_name(uint32_t reason);

/* Modules whose symbols are not fully usable (status known and not NS_SYM_OK) or that have
 * unnamed frames, as indices into m->modules, most samples with unnamed frames first. */
int ns_facts_symbol_problems(const struct ns_model *m, uint32_t **out, size_t *n);
const char *ns_sym_status_name(enum ns_sym_status s);
const char *ns_sym_status_sentence(enum ns_sym_status s);
/* What a user can do about a module's symbols, in buf (the -dbgsym package when its Debian
 * package is known, the build-id path for --debug-dir), or NULL when nothing is to do. */
const char *ns_facts_symbol_fix(const struct ns_module *mod, char *buf, size_t len);

/* The duration a process was profiled: END time, else its last sample (ns). */
uint64_t ns_facts_duration_ns(const struct ns_process *p);

#endif
