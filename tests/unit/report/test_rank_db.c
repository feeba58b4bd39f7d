/*
 * rank_db and the model's DB_STATS: records of one (site, query) from two threads summed,
 * registers merged by maximum, latency percentiles from the log-linear histogram (and exact
 * for one execution), prepares told from an exec's executions at the same site, connections
 * by database; the HyperLogLog estimate against known numbers of distinct values.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distinct_sketch.h"
#include "helpers.h"
#include "loglin_hist.h"
#include "nsp_format.h"
#include "rank_db.h"
#include "recommend.h"

enum { EV_TIME = 1, EV_CALLS, EV_ROWS, EV_PREPARES, EV_CONNECTS, EV_CLOSES };

static void db_stats(struct ns_profile *p, uint32_t tid, uint32_t stack, uint32_t query,
                     uint32_t outer, uint64_t executions, uint64_t time_ns, const uint8_t *regs,
                     size_t nvalues, const uint64_t *values)
{
    p->db_stats = realloc(p->db_stats, (p->ndb_stats + 1) * sizeof(*p->db_stats));
    p->db_buckets = realloc(p->db_buckets, (p->ndb_buckets + nvalues) * sizeof(*p->db_buckets));
    struct ns_prof_db_stats *d = &p->db_stats[p->ndb_stats++];
    *d = (struct ns_prof_db_stats){.tid = tid,
                                   .stack = stack,
                                   .query = query,
                                   .outer = outer,
                                   .executions = executions,
                                   .rows = 2 * executions,
                                   .time_ns = time_ns,
                                   .in_loop = outer ? executions : 0,
                                   .first = p->ndb_buckets};
    if (regs) {
        d->has_distinct = 1;
        memcpy(d->distinct, regs, NSP_DB_DISTINCT_REGS);
    }
    /* values in ascending buckets, one count each (the format's sparse pairs) */
    for (size_t i = 0; i < nvalues; i++) {
        unsigned b = ns_llh_bucket(values[i]);
        if (d->nbuckets && p->db_buckets[p->ndb_buckets - 1].bucket == b) {
            p->db_buckets[p->ndb_buckets - 1].count++;
            continue;
        }
        p->db_buckets[p->ndb_buckets++] = (struct ns_prof_db_bucket){b, 1};
        d->nbuckets++;
    }
}

static uint32_t query(struct ns_profile *p, const char *sql, uint32_t database, unsigned verb)
{
    uint32_t q = tp_resource(p, NSP_RES_QUERY, sql, 0);
    p->resources[q].database = database;
    p->resources[q].verb = (uint16_t)verb;
    p->resources[q].has_query = 1;
    return q;
}

Test(rank_db, sums_sites_and_tells_prepares_from_executions)
{
    struct ns_profile *p = tp_new("db.nsp", 10, "/usr/bin/app");
    static const char *const names[] = {
        "", "db_time", "db_calls", "db_rows", "db_prepares", "db_connects", "db_closes"};
    for (uint32_t e = EV_TIME; e <= EV_CLOSES; e++)
        tp_event_flags(p, e, names[e], e == EV_TIME ? "ns" : "count", 1, NSP_EVENT_AGGREGATE);
    uint32_t app = tp_mapping(p, "/usr/bin/app", NSP_MAP_MAIN);
    uint32_t ns = tp_mapping(p, "[nsprof]", NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    uint64_t step = tp_string(p, "sqlite3_step"), exec = tp_string(p, "sqlite3_exec");
    uint64_t open_ = tp_string(p, "sqlite3_open_v2");
    uint32_t s_step = tp_stack(p, 0, 2, (uint64_t[]){ns, step, app, 0x200});
    uint32_t s_exec = tp_stack(p, 0, 2, (uint64_t[]){ns, exec, app, 0x300});
    uint32_t s_open = tp_stack(p, 0, 2, (uint64_t[]){ns, open_, app, 0x500});
    uint32_t db = tp_resource(p, NSP_RES_DATABASE, "sqlite /srv/a.db", 0);
    uint32_t inner = query(p, "SELECT t FROM b WHERE a = ?", db, NSP_VERB_SELECT);
    uint32_t outer = query(p, "SELECT a FROM a", db, NSP_VERB_SELECT);
    uint32_t ddl = query(p, "CREATE TABLE c (x)", db, NSP_VERB_OTHER);
    tp_thread(p, 1, "main");
    tp_thread(p, 2, "worker");
    /* inner: 100 executions of 1..100 us over two threads and two records */
    uint64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (uint64_t)(i + 1) * 1000;
    uint8_t r1[NSP_DB_DISTINCT_REGS] = {0}, r2[NSP_DB_DISTINCT_REGS] = {0};
    r1[0] = 4;
    r2[0] = 2;
    r2[1] = 7;
    db_stats(p, 1, s_step, inner, outer, 60, 1830000, r1, 60, v);
    db_stats(p, 2, s_step, inner, 0, 40, 3220000, r2, 40, v + 60);
    /* the exec's one statement: 9 ms, and a prepare of 1 ms at the same site */
    uint64_t nine = 9000000;
    db_stats(p, 1, s_exec, ddl, 0, 1, nine, NULL, 1, &nine);
    tp_site_sample(p, EV_TIME, 0, 1, s_exec, nine + 1000000, ddl);
    tp_site_sample(p, EV_PREPARES, 0, 1, s_exec, 1, ddl);
    tp_site_sample(p, EV_CALLS, 0, 1, s_step, 100, inner);
    tp_site_sample(p, EV_CONNECTS, 0, 1, s_open, 12, db);
    tp_site_sample(p, EV_TIME, 0, 1, s_open, 24000, db);
    tp_site_sample(p, EV_CLOSES, 0, 2, s_open, 11, db);
    struct ns_resolver resolver = ip_resolver();
    struct ns_model_options o = {.resolver = &resolver};
    struct ns_model *m = build1(p, &o);
    struct ns_db_report r;
    cr_assert_eq(ns_rank_db(m, &r), 0);
    cr_assert(r.present);
    cr_assert_eq(r.nqueries, 2, "two threads' records of one site are one row");
    const struct ns_db_query_row *q = &r.queries[0];
    cr_assert_str_eq(m->resources[q->st->query].name, "CREATE TABLE c (x)", "by time");
    cr_assert_float_eq(q->p50, 9e6, 1, "one execution: exact, not its bucket's bound");
    cr_assert_float_eq(q->max, 9e6, 1);
    q = &r.queries[1];
    cr_assert_eq(q->st->executions, 100);
    cr_assert_eq(q->st->rows, 200);
    cr_assert_eq(q->st->time_ns, 5050000);
    cr_assert_eq(q->st->in_loop, 60);
    cr_assert_str_eq(m->resources[q->st->outer].name, "SELECT a FROM a");
    cr_assert_eq(q->st->distinct[0], 4, "registers merged by maximum");
    cr_assert_eq(q->st->distinct[1], 7);
    cr_assert(q->p50 > 50000 * 0.9 && q->p50 < 50000 * 1.1, "p50 %.0f", q->p50);
    cr_assert(q->p95 > 95000 * 0.9 && q->p95 < 95000 * 1.1, "p95 %.0f", q->p95);
    cr_assert(q->max <= 100000 * 1.125, "max %.0f", q->max);
    cr_assert_str_eq(m->funcs[m->sites[q->st->site].func].name, "load");
    cr_assert_eq(r.nprepares, 1);
    cr_assert_eq(r.prepares_by_site[0].time_ns, 1000000,
                 "the exec's statement time is not "
                 "its prepare's");
    cr_assert_eq(r.nconns, 1);
    cr_assert_eq(r.conns[0].connects, 12);
    cr_assert_eq(r.conns[0].closes, 11);
    cr_assert_eq(r.conns[0].connect_time_ns, 24000);
    cr_assert_eq(r.conns[0].nsites, 1);
    char sys[16];
    const char *name;
    ns_db_split_name(m->resources[r.conns[0].database].name, sys, sizeof(sys), &name);
    cr_assert_str_eq(sys, "sqlite");
    cr_assert_str_eq(name, "/srv/a.db");
    ns_db_report_free(&r);
    ns_model_free(m);
    tp_free(p);
}

Test(rank_db, distinct_estimates_within_a_fifth)
{
    /* The hooks' register update on n distinct values (a hash the hooks would mix in). */
    static const unsigned counts[] = {1, 5, 10, 40, 60, 100, 1000, 100000};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        uint8_t regs[NSP_DB_DISTINCT_REGS] = {0};
        for (unsigned i = 0; i < counts[k]; i++) {
            ns_distinct_add(regs, 1469598103934665603ull ^ (i * 1099511628211ull));
            ns_distinct_add(regs, 1469598103934665603ull ^ (i * 1099511628211ull)); /* again */
        }
        double e = ns_distinct_estimate(regs);
        cr_assert(e >= 0.8 * counts[k] && e <= 1.2 * counts[k], "%u distinct: estimated %.1f",
                  counts[k], e);
    }
    /* Weak hashes, as the hooks see them: FNV-1a of the decimal texts "0", "1", ... (a
     * sketch that indexed by the low bits of such hashes estimated 60 values as 44). */
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        uint8_t regs[NSP_DB_DISTINCT_REGS] = {0};
        for (unsigned i = 0; i < counts[k]; i++) {
            char text[16];
            int n = snprintf(text, sizeof(text), "%u", i);
            uint64_t h = 1469598103934665603ull;
            for (int j = 0; j < n; j++)
                h = (h ^ (unsigned char)text[j]) * 1099511628211ull;
            ns_distinct_add(regs, h);
        }
        double e = ns_distinct_estimate(regs);
        cr_assert(e >= 0.8 * counts[k] && e <= 1.2 * counts[k], "%u decimal texts: estimated %.1f",
                  counts[k], e);
    }
    uint8_t none[NSP_DB_DISTINCT_REGS] = {0};
    cr_assert_float_eq(ns_distinct_estimate(none), 0.0, 1e-9);
}

/* slow_query's rules: p95 >= 5 ms, >= 20% of statement time, >= 100 ms in all, DML only. */
static int slow_findings(uint64_t executions, uint64_t each_ns, unsigned verb)
{
    struct ns_profile *p = tp_new("slow.nsp", 11, "/usr/bin/app");
    tp_event_flags(p, EV_TIME, "db_time", "ns", 1, NSP_EVENT_AGGREGATE);
    uint32_t app = tp_mapping(p, "/usr/bin/app", NSP_MAP_MAIN);
    uint32_t ns = tp_mapping(p, "[nsprof]", NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    uint32_t s_step = tp_stack(p, 0, 2, (uint64_t[]){ns, tp_string(p, "sqlite3_step"), app, 0x200});
    uint32_t db = tp_resource(p, NSP_RES_DATABASE, "sqlite /a.db", 0);
    uint32_t q = query(p, "INSERT INTO t SELECT x FROM u", db, verb);
    uint32_t other = query(p, "SELECT a FROM b WHERE c = ?", db, NSP_VERB_SELECT);
    tp_thread(p, 1, "main");
    uint64_t v[64];
    for (size_t i = 0; i < executions && i < 64; i++)
        v[i] = each_ns;
    db_stats(p, 1, s_step, q, 0, executions, executions * each_ns, NULL, executions, v);
    uint64_t small[10] = {2000000, 2000000, 2000000, 2000000, 2000000,
                          2000000, 2000000, 2000000, 2000000, 2000000};
    db_stats(p, 1, s_step, other, 0, 10, 20000000, NULL, 10, small);
    tp_site_sample(p, EV_TIME, 0, 1, s_step, executions * each_ns + 20000000, q);
    struct ns_resolver resolver = ip_resolver();
    struct ns_model_options o = {.resolver = &resolver};
    struct ns_model *m = build1(p, &o);
    struct ns_findings f = {0};
    cr_assert_eq(ns_recommend(m, &f), 0);
    int n = 0;
    for (size_t i = 0; i < f.n; i++)
        n += strcmp(f.v[i].rule, "slow_query") == 0;
    ns_findings_free(&f);
    ns_model_free(m);
    tp_free(p);
    return n;
}

Test(rank_db, slow_query_needs_a_slow_p95_a_share_and_100_ms)
{
    cr_assert_eq(slow_findings(1, 6000000, NSP_VERB_INSERT), 0,
                 "one 6 ms statement in a short program (23%% of the time, 6 ms) is not one");
    cr_assert_eq(slow_findings(20, 10000000, NSP_VERB_INSERT), 1, "20 x 10 ms: 200 ms, 91%%");
    cr_assert_eq(slow_findings(20, 10000000, NSP_VERB_OTHER), 0, "a schema change has no plan");
    cr_assert_eq(slow_findings(60, 2000000, NSP_VERB_INSERT), 0, "p95 2 ms is not slow");
}
