/*
 * Folder report/diff/: `nsprof diff` — two sets of runs compared function by function
 * (this header), the statistics of its noise verdicts (diff_stats.h) and its text and JSON
 * views (diff_render.h).
 *
 * diff — the runs before and the runs after a change, one analysis model per run, compared
 * on one event: the event's total, every function's self and total cost, and the totals
 * of every other event both sides hold.
 *
 * Matching: a function is its symbolized name, its module's basename without the soname
 * version (libfoo.so.1 and libfoo.so.2 match; the program's executable is one module
 * whatever its file is called) and whether it was inlined; two static functions of one name
 * in one module are told apart by the base name of the file DWARF declares them in. Never
 * an address: a rebuilt binary matches. An unnamed frame
 * (module+0xADDR) matches only the same address; the weight of those found on one side only
 * is reported as unmatched.
 *
 * Normalisation (how a side's runs become one number): per run (the mean of the runs'
 * values), per second of run time, or share of the side's total; a snapshot event
 * (leak_bytes, peak_bytes) is so averaged too, never summed.
 *
 * Noise (docs/DIFF.md): with at least two runs per side, Welch's t over the runs' values;
 * with one run on a side, a sampled event's function is judged by whether its share of the
 * samples changed (conditional binomial), beyond what the whole run's change explains; an
 * exact count has no sampling noise; a measured time is noise within 3 × run_noise. Over
 * many functions, Benjamini–Hochberg at `fdr`. A whole run's total is noise within
 * run_noise (this kind of machine moves a run's CPU time by several percent) when a side
 * has one run.
 *
 * Contract: reads the models only; the result owns copies of its strings and outlives them.
 */
#ifndef NS_REPORT_DIFF_H
#define NS_REPORT_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum ns_diff_normalize { NS_DIFF_PER_RUN, NS_DIFF_PER_SECOND, NS_DIFF_SHARE };
/* How an event's values vary between identical runs (see the top of this file). */
enum ns_diff_kind { NS_DIFF_SAMPLED, NS_DIFF_EXACT, NS_DIFF_MEASURED };
enum ns_diff_presence { NS_DIFF_BOTH, NS_DIFF_APPEARED, NS_DIFF_VANISHED };

struct ns_diff_options {
    const char *event; /* NULL: "cpu" */
    enum ns_diff_normalize normalize;
    double fdr;       /* false discovery rate over functions; 0: 0.05 */
    double run_noise; /* relative change of a whole run taken as noise; 0: 0.05 */
};

/* One quantity on both sides, normalized. */
struct ns_diff_value {
    double before, after;
    double delta_pct; /* 100 (after - before) / before; NAN when before is 0 */
    double p;         /* the test's p-value; NAN when the verdict is by threshold */
    int noise;        /* 1: the change is within noise */
};

struct ns_diff_row {
    char *function, *module, *file; /* module: basename as the after side (else before) had it */
    char *declared_in; /* the declaring file's base name when that tells it from another
                          function of its name and module (two static functions), else "" */
    int symbolized, inlined;
    enum ns_diff_presence presence;
    struct ns_diff_value self, total;
    uint64_t before_count, after_count; /* self samples (entries) over all runs */
    double share;                       /* larger of its self shares of each side's total, % */
    double total_share;                 /* the same of its total */
};

struct ns_diff_event_total {
    char *event, *unit;
    enum ns_diff_kind kind;
    struct ns_diff_value v;
};

struct ns_diff {
    char *event, *unit;
    enum ns_diff_kind kind;
    enum ns_diff_normalize normalize;
    size_t runs_before, runs_after;
    double fdr, run_noise;
    const char *method;                  /* how noise was judged, one sentence (static) */
    struct ns_diff_value total;          /* the event's total */
    struct ns_diff_value duration;       /* seconds of run time, per run */
    struct ns_diff_event_total *summary; /* every event all runs hold, this one included */
    size_t nsummary;
    double unmatched_before, unmatched_after; /* % of each side's total, see the top */
    struct ns_diff_row *rows;
    size_t nrows;
};

/* Compares runs before[0..nb) with after[0..na). 0, or -1 with err set (an event a run
 * lacks, no runs, out of memory). */
int ns_diff_build(const struct ns_model *const *before, size_t nb,
                  const struct ns_model *const *after, size_t na, const struct ns_diff_options *o,
                  struct ns_diff **out, char *err, size_t errlen);
void ns_diff_free(struct ns_diff *d);

/* The regression gate. */
struct ns_diff_limit {
    const char *function; /* NULL: every function and the total */
    double pct;
};
struct ns_diff_gate {
    const struct ns_diff_limit *limits;
    size_t nlimits;
    double min_share; /* % of a side's total below which a function cannot fail */
};
/* Whether the gate fails: *total_fails when the event's total grew beyond the general
 * limit and beyond noise; *rows (malloc'd indices into d->rows) the functions whose self or
 * total grew beyond their limit and beyond noise (an appeared one: any growth). 0 / -1. */
int ns_diff_gate_check(const struct ns_diff *d, const struct ns_diff_gate *g, int *total_fails,
                       size_t **rows, size_t *nrows);

/* The matching identity of every function of every run (see the top of this file) as
 * strings, keys[run][function]: equal strings are one function. A process root is keyed by
 * its role: a run's first process is the program, whatever it is called; other processes
 * by name. Functions of one name and module that one run holds declared in different files
 * (two static functions of one name) add the file's base name, in every run. NULL when
 * memory runs out. */
char ***ns_diff_func_keys(const struct ns_model *const *runs, size_t nruns);
void ns_diff_keys_free(char ***keys, const struct ns_model *const *runs, size_t nruns);
/* How event e of m varies between identical runs. */
enum ns_diff_kind ns_diff_event_kind(const struct ns_model *m, uint32_t e);
/* How noise is judged with nb runs before and na after on an event of this kind: one
 * sentence (static), as the text and the page print it. */
const char *ns_diff_method_sentence(size_t nb, size_t na, enum ns_diff_kind kind);
/* Seconds run m lasted: its longest process. */
double ns_diff_run_seconds(const struct ns_model *m);

const char *ns_diff_normalize_name(enum ns_diff_normalize n); /* "runs", "duration", "share" */
const char *ns_diff_kind_name(enum ns_diff_kind k);           /* "sampled", "exact", "measured" */

#endif
