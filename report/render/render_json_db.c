/*
 * render_json_db — the `database` object of the JSON report (docs/JSON.md), from rank_db.h
 * as the text report's Database section. null when the profile holds no database event.
 */
#include <math.h>

#include "rank_db.h"
#include "render_json_internal.h"

static json_t *ns_of(double v)
{
    return nsj_u64(v > 0 ? (uint64_t)llround(v) : 0);
}

/* system and database of a database resource (nulls when unknown). */
static void database_fields(struct jctx *c, json_t *o, uint32_t database)
{
    const struct ns_model *m = c->m;
    if (database >= m->nresources) {
        nsj_set(c, o, "system", json_null());
        nsj_set(c, o, "database", json_null());
        return;
    }
    char system[64];
    const char *name;
    ns_db_split_name(m->resources[database].name, system, sizeof(system), &name);
    nsj_set(c, o, "system", nsj_str(c, system));
    nsj_set(c, o, "database", nsj_str(c, name));
}

static void query_fields(struct jctx *c, json_t *o, uint32_t query)
{
    const struct ns_resource *q = &c->m->resources[query];
    database_fields(c, o, q->database);
    nsj_set(c, o, "sql", nsj_str(c, q->name));
    if (q->example)
        nsj_set(c, o, "sql_example", nsj_str(c, q->example));
    nsj_set(c, o, "verb", nsj_str(c, ns_db_verb_name(q->verb)));
}

static json_t *query_json(struct jctx *c, const struct ns_db_query_row *q, uint64_t total)
{
    const struct ns_db_stats *d = q->st;
    json_t *o = json_object();
    nsj_site_fields(c, o, d->site);
    query_fields(c, o, d->query);
    nsj_set(c, o, "executions", nsj_u64(d->executions));
    nsj_set(c, o, "rows", nsj_u64(d->rows));
    nsj_set(c, o, "rows_per_execution",
            json_real(d->executions ? (double)d->rows / (double)d->executions : 0.0));
    nsj_set(c, o, "time_ns", nsj_u64(d->time_ns));
    nsj_set(c, o, "time_pct", nsj_pct(d->time_ns, total));
    nsj_set(c, o, "mean_ns", nsj_u64(d->executions ? d->time_ns / d->executions : 0));
    nsj_set(c, o, "p50_ns", ns_of(q->p50));
    nsj_set(c, o, "p95_ns", ns_of(q->p95));
    nsj_set(c, o, "p99_ns", ns_of(q->p99));
    nsj_set(c, o, "max_ns", ns_of(q->max));
    nsj_set(c, o, "errors", nsj_u64(d->errors));
    nsj_set(c, o, "in_loop", nsj_u64(d->in_loop));
    nsj_set(c, o, "outer_sql",
            d->outer < c->m->nresources ? nsj_str(c, c->m->resources[d->outer].name) : json_null());
    nsj_set(c, o, "autocommit", nsj_u64(d->autocommit));
    nsj_set(c, o, "distinct_params", q->distinct < 0 ? json_null() : ns_of(q->distinct));
    if (c->m->db_plans) { /* --db-explain */
        const struct ns_db_plan *p = c->m->db_plans[d->query];
        nsj_set(c, o, "plan", p ? nsj_str(c, p->text) : json_null());
        nsj_set(c, o, "full_scan", p ? json_boolean(p->full_scan) : json_null());
    }
    return o;
}

json_t *nsj_database(struct jctx *c)
{
    struct ns_db_report r;
    if (ns_rank_db(c->m, &r) < 0) {
        c->failed = 1;
        return json_null();
    }
    if (!r.present) {
        ns_db_report_free(&r);
        return json_null();
    }
    json_t *o = json_object();
    nsj_set(c, o, "sql_text", nsj_str(c, r.sql));
    nsj_set(c, o, "executions", nsj_u64(r.executions));
    nsj_set(c, o, "rows", nsj_u64(r.rows));
    uint64_t exec_time = 0;
    for (size_t i = 0; i < r.nqueries; i++)
        exec_time += r.queries[i].st->time_ns;
    nsj_set(c, o, "time_ns", nsj_u64(r.time_ns));
    nsj_set(c, o, "execution_time_ns", nsj_u64(exec_time));
    nsj_set(c, o, "prepare_count", nsj_u64(r.prepares));
    nsj_set(c, o, "connects", nsj_u64(r.connects));
    nsj_set(c, o, "closes", nsj_u64(r.closes));
    json_t *queries = json_array();
    for (size_t i = 0, n = nsj_shown(c, r.nqueries); i < n; i++)
        nsj_append(c, queries, query_json(c, &r.queries[i], exec_time));
    nsj_set(c, o, "queries", queries);
    json_t *prepares = json_array();
    for (size_t i = 0, n = nsj_shown(c, r.nprepares); i < n; i++) {
        const struct ns_db_prepare_row *p = &r.prepares_by_site[i];
        json_t *row = json_object();
        nsj_site_fields(c, row, p->site);
        query_fields(c, row, p->query);
        nsj_set(c, row, "prepares", nsj_u64(p->prepares));
        nsj_set(c, row, "time_ns", nsj_u64(p->time_ns));
        nsj_append(c, prepares, row);
    }
    nsj_set(c, o, "prepares", prepares);
    json_t *conns = json_array();
    for (size_t i = 0; i < r.nconns; i++) {
        const struct ns_db_conn_row *cr = &r.conns[i];
        json_t *row = json_object();
        database_fields(c, row, cr->database);
        nsj_set(c, row, "connects", nsj_u64(cr->connects));
        nsj_set(c, row, "closes", nsj_u64(cr->closes));
        nsj_set(c, row, "connect_time_ns", nsj_u64(cr->connect_time_ns));
        json_t *sites = json_array();
        for (size_t j = 0; j < cr->nsites; j++) {
            json_t *s = json_object();
            nsj_site_fields(c, s, cr->sites[j].site);
            nsj_set(c, s, "connects", nsj_u64(cr->sites[j].connects));
            nsj_append(c, sites, s);
        }
        nsj_set(c, row, "sites", sites);
        nsj_append(c, conns, row);
    }
    nsj_set(c, o, "connections", conns);
    ns_db_report_free(&r);
    return o;
}
