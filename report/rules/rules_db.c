/*
 * rules_db — rules over database client calls (issue 14), from rank_db.h's tables: the
 * N+1 pattern (n_plus_one), statements prepared again and again (reprepare), single writes
 * each in a transaction of its own (autocommit_loop), a connection per unit of work
 * (connection_churn) and queries that dominate by their latency (slow_query). Thresholds and
 * their reasoning: docs/RECOMMENDATIONS.md.
 */
#include "recommend_internal.h"

#include <stdio.h>
#include <string.h>

#include "rank_db.h"
#include "textfmt.h"

/* n_plus_one: one query executed at least LOOP_MIN times at a site while another query's
 * results were being read on the thread, for at least half of its executions, with at least
 * LOOP_DISTINCT parameter sets (the same values each time is a cache's job, not a batch's).
 * Each execution is a round trip (a statement VM's setup for sqlite, a network exchange for
 * a server): one batched query (IN, a JOIN) replaces them. */
#define LOOP_MIN      20ull
#define LOOP_DISTINCT 10.0
/* reprepare: one text prepared at least REPREP_MIN times at a site, for at least half of the
 * query's executions: parsing and planning each time what could be prepared once. */
#define REPREP_MIN 20ull
/* autocommit_loop: an INSERT/UPDATE/DELETE executed at least AUTO_MIN times at a site
 * outside a transaction, for at least half of its executions: each is a transaction of its
 * own (for sqlite, a journal write and an fsync). */
#define AUTO_MIN 50ull
/* connection_churn: at least CHURN_MIN connections opened to one database. */
#define CHURN_MIN 10ull
/* slow_query: a SELECT, INSERT, UPDATE or DELETE with a p95 of at least SLOW_P95_NS, and at
 * least SLOW_SHARE of the executions' time: worth its plan's examination (schema changes
 * and transaction control have no plan to examine). */
#define SLOW_P95_NS 5000000.0
#define SLOW_SHARE  0.20
/* ...and at least SLOW_MIN_NS in all (100 ms, as io_bound's floor): a short program's one
 * 6 ms setup INSERT is a fifth of its statements' time, and nothing worth gaining. */
#define SLOW_MIN_NS 100000000ull

/* Severity by count: LOW at the rule's minimum, then these. */
static int severity_by_count(uint64_t n, uint64_t medium, uint64_t high)
{
    return n >= high ? NS_SEV_HIGH : n >= medium ? NS_SEV_MEDIUM : NS_SEV_LOW;
}

/* The query's SQL shortened for a sentence. */
static void sql_of(const struct ns_model *m, uint32_t query, char *out, size_t cap)
{
    const char *s = m->resources[query].name;
    size_t n = strlen(s);
    if (n + 1 <= cap)
        snprintf(out, cap, "%s", s);
    else
        snprintf(out, cap, "%.*s...", (int)(cap - 4), s);
}

static int add(const struct ns_model *m, struct ns_findings *out, const char *rule, int sev,
               const char *event, uint32_t site, double share, const char *evidence,
               const char *suggestion)
{
    struct ns_finding f =
        ns_site_finding(m, rule, sev, ns_model_event_index(m, event), site, share);
    return ns_finding_add(out, &f, evidence, suggestion);
}

static uint64_t executions_of(const struct ns_db_report *r, uint32_t query)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->nqueries; i++)
        if (r->queries[i].st->query == query)
            n += r->queries[i].st->executions;
    return n;
}

static int n_plus_one(const struct ns_model *m, const struct ns_db_report *r,
                      struct ns_findings *out)
{
    for (size_t i = 0; i < r->nqueries; i++) {
        const struct ns_db_query_row *q = &r->queries[i];
        const struct ns_db_stats *d = q->st;
        if (d->in_loop < LOOP_MIN || d->in_loop * 2 < d->executions || d->outer == NS_NONE ||
            q->distinct < LOOP_DISTINCT)
            continue;
        char inner[160], outer[160], n[32], distinct[32], t[32], evidence[640];
        sql_of(m, d->query, inner, sizeof(inner));
        sql_of(m, d->outer, outer, sizeof(outer));
        ns_fmt_count(n, sizeof(n), d->in_loop);
        ns_fmt_count(distinct, sizeof(distinct), (uint64_t)(q->distinct + 0.5));
        ns_fmt_weight(t, sizeof(t), d->time_ns, "ns");
        snprintf(evidence, sizeof(evidence),
                 "'%s' ran %s times here while the results of '%s' were being read, with "
                 "about %s different parameter sets (%s in all).",
                 inner, n, outer, distinct, t);
        if (add(m, out, "n_plus_one", severity_by_count(d->in_loop, 1000, 100000), "db_calls",
                d->site, r->executions ? (double)d->in_loop / (double)r->executions : 0, evidence,
                "Fetch these rows with the outer query, in one statement: a JOIN, or one query "
                "with IN (...) over the outer rows' keys, then match them in memory.") < 0)
            return -1;
    }
    return 0;
}

static int reprepare(const struct ns_model *m, const struct ns_db_report *r,
                     struct ns_findings *out)
{
    for (size_t i = 0; i < r->nprepares; i++) {
        const struct ns_db_prepare_row *p = &r->prepares_by_site[i];
        uint64_t runs = executions_of(r, p->query);
        if (p->prepares < REPREP_MIN || p->prepares * 2 < runs)
            continue;
        char sql[160], n[32], e[32], t[32], evidence[512];
        sql_of(m, p->query, sql, sizeof(sql));
        ns_fmt_count(n, sizeof(n), p->prepares);
        ns_fmt_count(e, sizeof(e), runs);
        ns_fmt_weight(t, sizeof(t), p->time_ns, "ns");
        snprintf(evidence, sizeof(evidence),
                 "'%s' was prepared %s times here (%s preparing) for %s executions.", sql, n, t, e);
        if (add(m, out, "reprepare", severity_by_count(p->prepares, 10000, 1000000), "db_calls",
                p->site, r->prepares ? (double)p->prepares / (double)r->prepares : 0, evidence,
                "Prepare the statement once and keep it: bind new values and reset it for each "
                "execution (or use the driver's statement cache).") < 0)
            return -1;
    }
    return 0;
}

static int autocommit_loop(const struct ns_model *m, const struct ns_db_report *r,
                           struct ns_findings *out)
{
    for (size_t i = 0; i < r->nqueries; i++) {
        const struct ns_db_stats *d = r->queries[i].st;
        unsigned verb = m->resources[d->query].verb;
        if ((verb != NSP_VERB_INSERT && verb != NSP_VERB_UPDATE && verb != NSP_VERB_DELETE) ||
            d->autocommit < AUTO_MIN || d->autocommit * 2 < d->executions)
            continue;
        char sql[160], n[32], t[32], evidence[512];
        sql_of(m, d->query, sql, sizeof(sql));
        ns_fmt_count(n, sizeof(n), d->autocommit);
        ns_fmt_weight(t, sizeof(t), d->time_ns, "ns");
        snprintf(evidence, sizeof(evidence),
                 "'%s' ran %s times here outside a transaction, each one committed on its own "
                 "(%s in all).",
                 sql, n, t);
        if (add(m, out, "autocommit_loop", severity_by_count(d->autocommit, 1000, 100000),
                "db_calls", d->site,
                r->executions ? (double)d->autocommit / (double)r->executions : 0, evidence,
                "Wrap the loop in one transaction (BEGIN ... COMMIT), or write the rows with one "
                "multi-row statement.") < 0)
            return -1;
    }
    return 0;
}

static int connection_churn(const struct ns_model *m, const struct ns_db_report *r,
                            struct ns_findings *out)
{
    for (size_t i = 0; i < r->nconns; i++) {
        const struct ns_db_conn_row *c = &r->conns[i];
        if (c->connects < CHURN_MIN || !c->nsites)
            continue;
        char sysname[64], n[32], t[32], evidence[640];
        const char *name;
        ns_db_split_name(m->resources[c->database].name, sysname, sizeof(sysname), &name);
        ns_fmt_count(n, sizeof(n), c->connects);
        ns_fmt_weight(t, sizeof(t), c->connect_time_ns, "ns");
        snprintf(evidence, sizeof(evidence),
                 "%s connections to %s database %.200s were opened (%s connecting), %llu of "
                 "them here.",
                 n, sysname, name, t, (unsigned long long)c->sites[0].connects);
        if (add(m, out, "connection_churn", severity_by_count(c->connects, 1000, 100000),
                "db_connects", c->sites[0].site,
                r->connects ? (double)c->connects / r->connects : 0, evidence,
                "Open the connection once and reuse it (or take it from a pool); opening one "
                "per unit of work pays the connection's setup each time.") < 0)
            return -1;
    }
    return 0;
}

static int slow_query(const struct ns_model *m, const struct ns_db_report *r,
                      struct ns_findings *out)
{
    uint64_t all = 0;
    for (size_t i = 0; i < r->nqueries; i++)
        all += r->queries[i].st->time_ns;
    for (size_t i = 0; i < r->nqueries; i++) {
        const struct ns_db_query_row *q = &r->queries[i];
        unsigned verb = m->resources[q->st->query].verb;
        double share = all ? (double)q->st->time_ns / (double)all : 0;
        if ((verb != NSP_VERB_SELECT && verb != NSP_VERB_INSERT && verb != NSP_VERB_UPDATE &&
             verb != NSP_VERB_DELETE) ||
            q->p95 < SLOW_P95_NS || share < SLOW_SHARE || q->st->time_ns < SLOW_MIN_NS)
            continue;
        char sql[160], p95[32], t[32], n[32], evidence[512];
        sql_of(m, q->st->query, sql, sizeof(sql));
        ns_fmt_weight(p95, sizeof(p95), (uint64_t)q->p95, "ns");
        ns_fmt_weight(t, sizeof(t), q->st->time_ns, "ns");
        ns_fmt_count(n, sizeof(n), q->st->executions);
        const struct ns_db_plan *plan = m->db_plans ? m->db_plans[q->st->query] : NULL;
        snprintf(evidence, sizeof(evidence),
                 "'%s' took %s at the 95th percentile over %s execution%s here, %s in all: "
                 "%.0f%% of the time statements ran%s.",
                 sql, p95, n, q->st->executions == 1 ? "" : "s", t, 100.0 * share,
                 plan && plan->full_scan ? "; its plan reads a whole table (--db-explain)" : "");
        if (add(m, out, "slow_query", ns_severity_of(share, SLOW_SHARE, 0.5, 0.8), "db_time",
                q->st->site, share, evidence,
                "Examine the query's plan (EXPLAIN QUERY PLAN for sqlite, EXPLAIN ANALYZE for "
                "PostgreSQL): a full scan of a large table wants an index on the columns it "
                "filters or joins on.") < 0)
            return -1;
    }
    return 0;
}

int ns_rule_database(const struct ns_model *m, struct ns_findings *out)
{
    struct ns_db_report r;
    if (ns_rank_db(m, &r) < 0)
        return -1;
    int rc = 0;
    if (r.present && (n_plus_one(m, &r, out) < 0 || reprepare(m, &r, out) < 0 ||
                      autocommit_loop(m, &r, out) < 0 || connection_churn(m, &r, out) < 0 ||
                      slow_query(m, &r, out) < 0))
        rc = -1;
    ns_db_report_free(&r);
    return rc;
}
