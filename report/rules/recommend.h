/*
 * Folder report/rules/: the recommendations engine (this header) and its rules, one family
 * per rules_*.c (recommend_internal.h is what they share).
 *
 * recommend — the recommendations engine: rules over the analysis model that say what to
 * do. Each finding has a stable rule id, a severity, the evidence (numbers from the
 * profile), the location (function, file:line, and a node of the event's tree for views
 * that can zoom to it) and a concrete suggestion.
 *
 * Contract: a rule is one small unit — a function that reads the model and appends
 * findings — listed in the rule table (recommend.c); it documents its threshold next to it
 * and must not fire on a clean program. ns_recommend runs every rule and sorts the findings
 * by severity, then by the share of the event they concern. Deterministic for a model.
 * Renderers (text report, JSON, the flame-graph page) only read the findings.
 */
#ifndef NS_REPORT_RECOMMEND_H
#define NS_REPORT_RECOMMEND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "textfmt.h"

enum ns_severity {
    NS_SEV_INFO = 0,
    NS_SEV_LOW,
    NS_SEV_MEDIUM,
    NS_SEV_HIGH,
};

struct ns_finding {
    const char *rule; /* "hot_function", "alloc_churn", "leak", "small_io",
                         "io_bound", "lock_contention", ... (static string) */
    enum ns_severity severity;
    uint32_t event;   /* model event the evidence is about, or NS_NONE */
    uint32_t node;    /* a node of that event's tree to show, or NS_NONE */
    uint32_t func;    /* model function at fault, or NS_NONE */
    const char *file; /* its source file, or NULL (model-owned string) */
    uint32_t line;    /* 0 when unknown */
    double share;     /* fraction (0..1) of the event's weight concerned */
    char *evidence;   /* one sentence of numbers (owned) */
    char *suggestion; /* what to do (owned) */
};

struct ns_findings {
    struct ns_finding *v;
    size_t n, cap;
};

/* Runs every rule over m. 0 on success, -1 when out of memory (out is then empty). */
int ns_recommend(const struct ns_model *m, struct ns_findings *out);
void ns_findings_free(struct ns_findings *f);

/* "info", "low", "medium", "high". */
const char *ns_severity_name(enum ns_severity s);

/* The findings as docs/JSON.md's `recommendations` array (new reference; NULL when out of
 * memory): objects with rule, severity, function, file, line, evidence, suggestion, event
 * and share. */
json_t *ns_findings_json(const struct ns_model *m, const struct ns_findings *f);

/* The "Recommendations" section of the text report appended to b (terminal-safe); color:
 * emit SGR styles. */
void ns_findings_text(struct ns_buf *b, const struct ns_model *m, const struct ns_findings *f,
                      int color);

#endif
