/*
 * rules_memory — rules over the allocation events (alloc_count, alloc_bytes, peak_bytes,
 * leak_bytes) by call site: many short-lived small allocations at one site (alloc_churn,
 * site form) and bytes still live at exit (leak).
 */
#include "recommend_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rank_sites.h"
#include "textfmt.h"

/* alloc_churn, site form: a site that made at least CHURN_MIN_COUNT allocations ("millions
 * of them") of CHURN_MAX_AVG bytes or less on average, and of which at most
 * CHURN_MAX_LIVE_SHARE of the bytes were live at the heap's peak — short-lived: allocated
 * and freed over and over. Severity by count: 1M low, 10M medium, 100M high. */
#define CHURN_MIN_COUNT      1000000ull
#define CHURN_MEDIUM_COUNT   10000000ull
#define CHURN_HIGH_COUNT     100000000ull
#define CHURN_MAX_AVG        1024
#define CHURN_MAX_LIVE_SHARE 0.01

/* leak: bytes still live at exit at one site. A program keeps a few buffers to the end
 * (stdio's, caches built once); 64 KiB at one site is where it starts to look like growth.
 * Severity: 64 KiB low, 1 MiB medium, 64 MiB high. */
#define LEAK_LOW    (64ull << 10)
#define LEAK_MEDIUM (1ull << 20)
#define LEAK_HIGH   (64ull << 20)

static const char *site_file(const struct ns_model *m, uint32_t site)
{
    const char *f = m->sites[site].file;
    if (!*f)
        f = m->funcs[m->sites[site].func].file;
    return *f ? f : NULL;
}

/* Exact counts are needed: sample mode's are estimates, and "live at the peak" is known only
 * when a peak_bytes event was written. */
static int exact_allocations(const struct ns_model *m, const struct ns_mem_events *e)
{
    const char *interval;
    const char *mode = ns_alloc_mode(m, &interval);
    return mode && strcmp(mode, "full") == 0 && e->count != NS_NONE && e->bytes != NS_NONE &&
           e->peak != NS_NONE;
}

static int add_churn(const struct ns_model *m, const struct ns_mem_events *e,
                     const struct ns_site_row *r, struct ns_findings *out)
{
    uint64_t count = r->w[0], bytes = r->w[1], live = r->w[2];
    int sev = count >= CHURN_HIGH_COUNT     ? NS_SEV_HIGH
              : count >= CHURN_MEDIUM_COUNT ? NS_SEV_MEDIUM
                                            : NS_SEV_LOW;
    char ncount[32], avg[32], live_s[32], pct[16];
    ns_fmt_count(ncount, sizeof(ncount), count);
    ns_fmt_weight(avg, sizeof(avg), bytes / count, "bytes");
    ns_fmt_weight(live_s, sizeof(live_s), live, "bytes");
    ns_fmt_pct(pct, sizeof(pct), count, m->events[e->count].weight);
    char evidence[320];
    snprintf(evidence, sizeof(evidence),
             "%s allocations here (%s of all allocations), %s on average; only %s of them was "
             "live at the heap's peak, so they are freed soon after being made.",
             ncount, pct, avg, live_s);
    struct ns_finding f = {
        .rule = "alloc_churn",
        .severity = (enum ns_severity)sev,
        .event = e->count,
        .node = ns_site_heaviest_node(m, e->count, r->key),
        .func = m->sites[r->key].func,
        .file = site_file(m, r->key),
        .line = m->sites[r->key].line,
        .share = (double)count / (double)m->events[e->count].weight,
    };
    return ns_finding_add(
        out, &f, evidence,
        "Stop allocating in this loop: reuse one buffer or object across iterations (clear "
        "it instead of freeing it), keep small fixed-size data on the stack, or take the "
        "objects from a pool or an arena that is released in one go.");
}

int ns_rule_alloc_churn(const struct ns_model *m, struct ns_findings *out)
{
    struct ns_mem_events e;
    ns_sections_events(m, &e, NULL, NULL);
    if (!exact_allocations(m, &e) || !m->events[e.count].weight)
        return 0;
    uint32_t events[3] = {e.count, e.bytes, e.peak};
    struct ns_site_row *rows;
    size_t n;
    if (ns_rank_site_rows(m, events, 3, 0, &rows, &n) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct ns_site_row *r = &rows[i];
        if (r->w[0] < CHURN_MIN_COUNT)
            break; /* sorted by count */
        if (r->key == NS_NONE || r->w[1] / r->w[0] > CHURN_MAX_AVG ||
            (double)r->w[2] > CHURN_MAX_LIVE_SHARE * (double)r->w[1])
            continue;
        rc = add_churn(m, &e, r, out);
    }
    free(rows);
    return rc;
}

/* Leaks are written when a process exits: a process that was killed or is still running
 * has no leak record, and one that exec'd never reached its exit. */
static int every_full_process_exited(const struct ns_model *m)
{
    for (size_t i = 0; i < m->nprocesses; i++) {
        const struct ns_process *p = &m->processes[i];
        const char *v = ns_model_setting(p, "alloc");
        if (v && strcmp(v, "full") == 0 && (!p->has_end || p->end_reason != NSP_EXIT_NORMAL))
            return 0;
    }
    return 1;
}

static int add_leak(const struct ns_model *m, const struct ns_mem_events *e, uint64_t leaked,
                    uint64_t allocated, uint32_t site, int sev, struct ns_findings *out)
{
    uint64_t total = m->events[e->leak].weight;
    char bytes[32], pct[16], alloc[32];
    ns_fmt_weight(bytes, sizeof(bytes), leaked, "bytes");
    ns_fmt_pct(pct, sizeof(pct), leaked, total);
    ns_fmt_weight(alloc, sizeof(alloc), allocated, "bytes");
    char evidence[320];
    if (allocated)
        snprintf(evidence, sizeof(evidence),
                 "%s allocated here was never freed (still live at exit: %s of all bytes "
                 "live at exit); the site allocated %s in all.",
                 bytes, pct, alloc);
    else
        snprintf(evidence, sizeof(evidence),
                 "%s allocated here was never freed (still live at exit: %s of all bytes "
                 "live at exit).",
                 bytes, pct);
    struct ns_finding f = {
        .rule = "leak",
        .severity = (enum ns_severity)sev,
        .event = e->leak,
        .node = ns_site_heaviest_node(m, e->leak, site),
        .func = m->sites[site].func,
        .file = site_file(m, site),
        .line = m->sites[site].line,
        .share = (double)leaked / (double)total,
    };
    return ns_finding_add(
        out, &f, evidence,
        "Free what is allocated here once it is no longer needed: find the owner of these "
        "blocks and release them on every path (errors included), or give them an owner "
        "that frees them (RAII, a container, an arena freed at the end of the task).");
}

int ns_rule_leak(const struct ns_model *m, struct ns_findings *out)
{
    struct ns_mem_events e;
    ns_sections_events(m, &e, NULL, NULL);
    const char *interval;
    const char *mode = ns_alloc_mode(m, &interval);
    if (!mode || strcmp(mode, "full") != 0 || ns_leak_status(m, e.leak) != NS_STATE_FOUND ||
        !every_full_process_exited(m))
        return 0;
    uint32_t events[2] = {e.leak, e.bytes};
    struct ns_site_row *rows;
    size_t n;
    if (ns_rank_site_rows(m, events, 2, 0, &rows, &n) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int sev = ns_severity_of((double)rows[i].w[0], (double)LEAK_LOW, (double)LEAK_MEDIUM,
                                 (double)LEAK_HIGH);
        if (sev < 0)
            break; /* sorted by leaked bytes */
        if (rows[i].key != NS_NONE)
            rc = add_leak(m, &e, rows[i].w[0], rows[i].w[1], rows[i].key, sev, out);
    }
    free(rows);
    return rc;
}
