/*
 * render_text_db — the Database section of the text report (issue 14), from rank_db.h as
 * the JSON report's `database` object: totals, queries by time at their call sites (with
 * latency percentiles from the log-linear histograms, rows per execution, executions inside
 * another query's result loop, outside a transaction), prepares by site, and connections by
 * database. SQL is shown as recorded: normalized unless the profile was taken with
 * db_sql=full, and always through the terminal-safe cells.
 */
#include "render_text_internal.h"

#include <stdio.h>
#include <string.h>

#include "rank_db.h"
#include "table.h"

#define SQL_COLS 100 /* a query's text in a table cell */

static void put_totals(struct ns_buf *b, const struct ns_db_report *r)
{
    char e[32], rows[32], t[32], p[32], c[32];
    uint64_t exec_time = 0;
    for (size_t i = 0; i < r->nqueries; i++)
        exec_time += r->queries[i].st->time_ns;
    ns_fmt_count(e, sizeof(e), r->executions);
    ns_fmt_count(rows, sizeof(rows), r->rows);
    ns_fmt_duration(t, sizeof(t), exec_time);
    nsr_label(b, "statements");
    ns_buf_printf(b, "%s executions returned %s rows in %s", e, rows, t);
    ns_fmt_duration(t, sizeof(t), r->time_ns);
    ns_buf_printf(b, " (%s in all database calls)\n", t);
    ns_fmt_count(p, sizeof(p), r->prepares);
    ns_fmt_count(c, sizeof(c), r->connects);
    nsr_label(b, "prepared");
    ns_buf_printf(b, "%s statements; connections: %s opened, %llu closed\n", p, c,
                  (unsigned long long)r->closes);
    nsr_label(b, "SQL");
    ns_buf_puts(b, r->sql[0] == 'n' ? "normalized: literals and parameters are ?\n"
                                    : "as the program wrote it (db_sql=full): it may hold "
                                      "passwords and personal data\n");
}

static void put_queries(struct ns_buf *b, const struct ns_model *m, const struct ns_db_report *r,
                        const struct ns_render_options *o)
{
    static const char *const spec[] = {"rtime%",    "rtime",     "rruns",    "rp50",
                                       "rp95",      "rrows/run", "rin loop", "lfunction",
                                       "llocation", "lvia",      "lmodule",  "lquery"};
    size_t shown = nsr_shown(r->nqueries, o);
    nsr_section_title(b, o, "Queries by time", NULL, shown, r->nqueries);
    uint64_t all = 0;
    for (size_t i = 0; i < r->nqueries; i++)
        all += r->queries[i].st->time_ns;
    struct ns_table t;
    ns_table_init(&t, 12, spec);
    for (size_t i = 0; i < shown; i++) {
        const struct ns_db_query_row *q = &r->queries[i];
        const struct ns_db_stats *d = q->st;
        char v[32];
        nsr_share_cells(&t, d->time_ns, all, "ns");
        ns_fmt_count(v, sizeof(v), d->executions);
        ns_table_cell(&t, v);
        ns_fmt_duration(v, sizeof(v), (uint64_t)q->p50);
        ns_table_cell(&t, v);
        ns_fmt_duration(v, sizeof(v), (uint64_t)q->p95);
        ns_table_cell(&t, v);
        snprintf(v, sizeof(v), "%.1f", d->executions ? (double)d->rows / d->executions : 0.0);
        ns_table_cell(&t, v);
        ns_fmt_count(v, sizeof(v), d->in_loop);
        ns_table_cell(&t, d->in_loop ? v : "");
        nsr_site_cells(&t, m, d->site, 1);
        ns_table_cell_text(&t, m->resources[d->query].name, SQL_COLS);
    }
    if (shown)
        ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    /* --db-explain: each shown query's plan, full table scans named. */
    for (size_t i = 0; m->db_plans && i < shown; i++) {
        const struct ns_db_plan *p = m->db_plans[r->queries[i].st->query];
        if (!p || !p->text[0])
            continue;
        struct ns_buf line = {0};
        ns_buf_puts(&line, p->full_scan ? "  plan (reads a whole table): " : "  plan: ");
        ns_buf_put_term(&line, m->resources[r->queries[i].st->query].name, 60);
        ns_buf_puts(&line, "  ->  ");
        for (const char *s = p->text; *s;) {
            size_t n = strcspn(s, "\n");
            char part[256];
            snprintf(part, sizeof(part), "%.*s", (int)(n < 255 ? n : 255), s);
            ns_buf_put_term(&line, part, 120);
            s += n;
            if (*s) {
                ns_buf_puts(&line, "; ");
                s++;
            }
        }
        ns_buf_puts(&line, "\n");
        ns_buf_puts(b, line.s ? line.s : "");
        ns_buf_free(&line);
    }
    /* What each loop ran over: the evidence the table's "in loop" column counts. */
    for (size_t i = 0; i < shown; i++) {
        const struct ns_db_stats *d = r->queries[i].st;
        if (!d->in_loop || d->outer == NS_NONE)
            continue;
        struct ns_buf line = {0};
        ns_buf_puts(&line, "  in loop: ");
        ns_buf_put_term(&line, m->resources[d->query].name, 60);
        ns_buf_puts(&line, "  ran inside the results of  ");
        ns_buf_put_term(&line, m->resources[d->outer].name, 60);
        ns_buf_puts(&line, "\n");
        ns_buf_puts(b, line.s ? line.s : "");
        ns_buf_free(&line);
    }
}

static void put_prepares(struct ns_buf *b, const struct ns_model *m, const struct ns_db_report *r,
                         const struct ns_render_options *o)
{
    static const char *const spec[] = {"rprepares", "rtime",   "lfunction", "llocation",
                                       "lvia",      "lmodule", "lquery"};
    size_t shown = nsr_shown(r->nprepares, o);
    nsr_section_title(b, o, "Statements prepared", NULL, shown, r->nprepares);
    struct ns_table t;
    ns_table_init(&t, 7, spec);
    for (size_t i = 0; i < shown; i++) {
        const struct ns_db_prepare_row *p = &r->prepares_by_site[i];
        char v[32];
        ns_fmt_count(v, sizeof(v), p->prepares);
        ns_table_cell(&t, v);
        ns_fmt_duration(v, sizeof(v), p->time_ns);
        ns_table_cell(&t, v);
        nsr_site_cells(&t, m, p->site, 1);
        ns_table_cell_text(&t, m->resources[p->query].name, SQL_COLS);
    }
    if (shown)
        ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
}

static void put_connections(struct ns_buf *b, const struct ns_model *m,
                            const struct ns_db_report *r, const struct ns_render_options *o)
{
    static const char *const spec[] = {"rconnects", "rcloses",   "rconnecting",
                                       "lsystem",   "ldatabase", "lopened most at"};
    nsr_section_title(b, o, "Connections by database", NULL, r->nconns, r->nconns);
    struct ns_table t;
    ns_table_init(&t, 6, spec);
    for (size_t i = 0; i < r->nconns; i++) {
        const struct ns_db_conn_row *c = &r->conns[i];
        char v[32], sys[64];
        const char *name;
        ns_fmt_count(v, sizeof(v), c->connects);
        ns_table_cell(&t, v);
        ns_fmt_count(v, sizeof(v), c->closes);
        ns_table_cell(&t, v);
        ns_fmt_duration(v, sizeof(v), c->connect_time_ns);
        ns_table_cell(&t, v);
        ns_db_split_name(m->resources[c->database].name, sys, sizeof(sys), &name);
        ns_table_cell_text(&t, sys, 16);
        ns_table_cell_text(&t, name, 80);
        const char *at = c->nsites && c->sites[0].site < m->nsites
                             ? m->funcs[m->sites[c->sites[0].site].func].name
                             : "";
        ns_table_cell_text(&t, at, NSR_NAME_COLS);
    }
    if (r->nconns)
        ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
}

void nsr_text_database(struct ns_buf *b, const struct ns_model *m,
                       const struct ns_render_options *o)
{
    struct ns_db_report r;
    if (ns_rank_db(m, &r) < 0) {
        b->oom = 1;
        return;
    }
    if (r.present) {
        nsr_section_heading(b, o->color, "Database");
        put_totals(b, &r);
        if (r.nqueries)
            put_queries(b, m, &r, o);
        if (r.nprepares)
            put_prepares(b, m, &r, o);
        if (r.nconns)
            put_connections(b, m, &r, o);
    }
    ns_db_report_free(&r);
}
