/*
 * recommend_internal — what the rule files (rules_*.c) share with the engine (recommend.c).
 *
 * A rule is `int rule(const struct ns_model *m, struct ns_findings *out)`: it reads the
 * model (through rank.h / rank_sites.h like every view) and appends findings with
 * ns_finding_add; it returns -1 only when out of memory. Rules never sort: the engine does.
 */
#ifndef NS_REPORT_RECOMMEND_INTERNAL_H
#define NS_REPORT_RECOMMEND_INTERNAL_H

#include "recommend.h"

typedef int (*ns_rule_fn)(const struct ns_model *m, struct ns_findings *out);

/* Appends a copy of *f with evidence and suggestion copied (the fields of f with those
 * names are ignored). 0, or -1 when out of memory. */
int ns_finding_add(struct ns_findings *out, const struct ns_finding *f, const char *evidence,
                   const char *suggestion);

/* The severity of a share against ascending thresholds: below low none (-1), then
 * NS_SEV_LOW, NS_SEV_MEDIUM, NS_SEV_HIGH. */
int ns_severity_of(double share, double low, double medium, double high);

/* Total time the processes ran: the larger of the `wall` event's weight (wall samples every
 * thread, so it is thread-time) and the sum of the processes' durations. The denominator of
 * "how much of the run" waited. */
uint64_t ns_run_thread_time(const struct ns_model *m);

/* The weight of event's samples at site. */
uint64_t ns_site_weight(const struct ns_model *m, uint32_t event, uint32_t site);

/* The node to show for a call site: its calling frame on the heaviest stack of event that
 * has the site, or NS_NONE. */
uint32_t ns_site_heaviest_node(const struct ns_model *m, uint32_t event, uint32_t site);

/* A finding about a call site: its calling function, file and line, the node of the
 * heaviest stack of event through it. */
struct ns_finding ns_site_finding(const struct ns_model *m, const char *rule, int sev,
                                  uint32_t event, uint32_t site, double share);

/* Rule families, one file each. */
int ns_rule_hot_function(const struct ns_model *m, struct ns_findings *out);    /* rules_cpu.c */
int ns_rule_alloc_cpu(const struct ns_model *m, struct ns_findings *out);       /* rules_cpu.c */
int ns_rule_unnamed_code(const struct ns_model *m, struct ns_findings *out);    /* rules_cpu.c */
int ns_rule_alloc_churn(const struct ns_model *m, struct ns_findings *out);     /* rules_memory.c */
int ns_rule_leak(const struct ns_model *m, struct ns_findings *out);            /* rules_memory.c */
int ns_rule_small_io(const struct ns_model *m, struct ns_findings *out);        /* rules_io.c */
int ns_rule_io_bound(const struct ns_model *m, struct ns_findings *out);        /* rules_io.c */
int ns_rule_lock_contention(const struct ns_model *m, struct ns_findings *out); /* rules_io.c */
/* rules_threads.c */
int ns_rule_waiting_for_cpu(const struct ns_model *m, struct ns_findings *out);
int ns_rule_off_cpu(const struct ns_model *m, struct ns_findings *out); /* rules_off_cpu.c */
/* n_plus_one, reprepare, autocommit_loop, connection_churn, slow_query */
int ns_rule_database(const struct ns_model *m, struct ns_findings *out); /* rules_db.c */

/* 1 if name is a function of the C/C++ heap allocator (malloc, free, their glibc internals,
 * operator new/delete in mangled or demangled form). */
int ns_is_allocator_function(const char *name);

#endif
