/*
 * rank_db — the tables behind the report's Database section (issue 14): queries by
 * execution site (from the model's summed DB_STATS: executions, rows, time, latency
 * percentiles, loops over other queries' results, transactions, distinct parameter sets),
 * prepares by site, and connections by database (from the db_prepares, db_connects,
 * db_closes and db_time entries at their sites).
 *
 * Contract: reads the model only; the text and JSON renderers and the rules all use it, so
 * they never disagree. Orders are total and deterministic. ns_db_report_free frees it.
 */
#ifndef NS_REPORT_RANK_DB_H
#define NS_REPORT_RANK_DB_H

#include "model.h"

struct ns_db_query_row {
    const struct ns_db_stats *st;
    double p50, p95, p99, max; /* ns, from the log-linear histogram */
    double distinct;           /* estimated parameter sets; < 0: the statement has none */
};

struct ns_db_prepare_row {
    uint32_t site, query;
    uint64_t prepares, time_ns;
};

struct ns_db_conn_site {
    uint32_t site;
    uint64_t connects;
};

struct ns_db_conn_row {
    uint32_t database; /* a resource */
    uint64_t connects, closes, connect_time_ns;
    struct ns_db_conn_site *sites; /* by connects, then site */
    size_t nsites;
};

struct ns_db_report {
    int present;     /* the profile has database events */
    const char *sql; /* the db_sql setting: "normalized", "full", "mixed" */
    uint64_t executions, rows, time_ns, prepares, connects, closes;
    struct ns_db_query_row *queries; /* by time, then executions, then index */
    size_t nqueries;
    struct ns_db_prepare_row *prepares_by_site; /* by prepares, then time */
    size_t nprepares;
    struct ns_db_conn_row *conns; /* by connects, then closes */
    size_t nconns;
};

int ns_rank_db(const struct ns_model *m, struct ns_db_report *r);
void ns_db_report_free(struct ns_db_report *r);

/* "select", "insert", "update", "delete", "begin", "end", "other". */
const char *ns_db_verb_name(unsigned verb);
/* A database resource's name split: "sqlite" and "/a.db" of "sqlite /a.db". */
void ns_db_split_name(const char *name, char *system, size_t cap, const char **database);

#endif
