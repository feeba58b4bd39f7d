/* rank_db — see rank_db.h. */
#include "rank_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distinct_sketch.h"
#include "loglin_hist.h"

const char *ns_db_verb_name(unsigned verb)
{
    static const char *const names[] = {"other",  "select", "insert", "update",
                                        "delete", "begin",  "end"};
    return verb < sizeof(names) / sizeof(names[0]) ? names[verb] : "other";
}

void ns_db_split_name(const char *name, char *system, size_t cap, const char **database)
{
    const char *space = strchr(name, ' ');
    snprintf(system, cap, "%.*s", space ? (int)(space - name) : 0, name);
    *database = space ? space + 1 : name;
}

/* Weights of the database events at one (site, resource). */
struct key_w {
    uint32_t site, resource;
    uint64_t prepares, connects, closes, time;
};

static int key_cmp(const void *pa, const void *pb)
{
    const struct key_w *a = pa, *b = pb;
    if (a->site != b->site)
        return a->site < b->site ? -1 : 1;
    return a->resource < b->resource ? -1 : a->resource > b->resource;
}

/* The db_* entries summed per (site, resource), sorted by that key. */
static struct key_w *sum_keys(const struct ns_model *m, size_t *n)
{
    uint32_t ev_prep = ns_model_event_index(m, "db_prepares");
    uint32_t ev_conn = ns_model_event_index(m, "db_connects");
    uint32_t ev_close = ns_model_event_index(m, "db_closes");
    uint32_t ev_time = ns_model_event_index(m, "db_time");
    struct key_w *v = NULL;
    size_t count = 0, cap = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        uint32_t ev = m->nodes[s->node].event;
        if (ev == NS_NONE || (ev != ev_prep && ev != ev_conn && ev != ev_close && ev != ev_time))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 256;
            struct key_w *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                free(v);
                return NULL;
            }
            v = nv;
        }
        struct key_w k = {s->site, s->resource, 0, 0, 0, 0};
        if (ev == ev_prep)
            k.prepares = s->weight;
        else if (ev == ev_conn)
            k.connects = s->weight;
        else if (ev == ev_close)
            k.closes = s->weight;
        else
            k.time = s->weight;
        v[count++] = k;
    }
    if (count)
        qsort(v, count, sizeof(*v), key_cmp);
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        if (out && key_cmp(&v[out - 1], &v[i]) == 0) {
            v[out - 1].prepares += v[i].prepares;
            v[out - 1].connects += v[i].connects;
            v[out - 1].closes += v[i].closes;
            v[out - 1].time += v[i].time;
        } else {
            v[out++] = v[i];
        }
    }
    *n = out;
    return v ? v : calloc(1, sizeof(*v));
}

static int query_cmp(const void *pa, const void *pb)
{
    const struct ns_db_query_row *a = pa, *b = pb;
    if (a->st->time_ns != b->st->time_ns)
        return a->st->time_ns > b->st->time_ns ? -1 : 1;
    if (a->st->executions != b->st->executions)
        return a->st->executions > b->st->executions ? -1 : 1;
    return a->st < b->st ? -1 : a->st > b->st;
}

static int prepare_cmp(const void *pa, const void *pb)
{
    const struct ns_db_prepare_row *a = pa, *b = pb;
    if (a->prepares != b->prepares)
        return a->prepares > b->prepares ? -1 : 1;
    if (a->time_ns != b->time_ns)
        return a->time_ns > b->time_ns ? -1 : 1;
    if (a->site != b->site)
        return a->site < b->site ? -1 : 1;
    return a->query < b->query ? -1 : a->query > b->query;
}

static int conn_cmp(const void *pa, const void *pb)
{
    const struct ns_db_conn_row *a = pa, *b = pb;
    if (a->connects != b->connects)
        return a->connects > b->connects ? -1 : 1;
    if (a->closes != b->closes)
        return a->closes > b->closes ? -1 : 1;
    return a->database < b->database ? -1 : a->database > b->database;
}

static int conn_site_cmp(const void *pa, const void *pb)
{
    const struct ns_db_conn_site *a = pa, *b = pb;
    if (a->connects != b->connects)
        return a->connects > b->connects ? -1 : 1;
    return a->site < b->site ? -1 : a->site > b->site;
}

/* The execution time at (site, query), to tell an exec's prepares' time from its
 * statements'. */
static uint64_t exec_time_at(const struct ns_model *m, uint32_t site, uint32_t query)
{
    for (size_t i = 0; i < m->ndb_stats; i++)
        if (m->db_stats[i].site == site && m->db_stats[i].query == query)
            return m->db_stats[i].time_ns;
    return 0;
}

static struct ns_db_conn_row *conn_of(struct ns_db_report *r, uint32_t database)
{
    for (size_t i = 0; i < r->nconns; i++)
        if (r->conns[i].database == database)
            return &r->conns[i];
    struct ns_db_conn_row *nv = realloc(r->conns, (r->nconns + 1) * sizeof(*nv));
    if (!nv)
        return NULL;
    r->conns = nv;
    nv[r->nconns] = (struct ns_db_conn_row){.database = database};
    return &nv[r->nconns++];
}

static const char *sql_setting(const struct ns_model *m)
{
    const char *seen = NULL;
    for (size_t i = 0; i < m->nprocesses; i++) {
        const char *v = ns_model_setting(&m->processes[i], "db_sql");
        if (!v)
            continue;
        if (seen && strcmp(seen, v) != 0)
            return "mixed";
        seen = v;
    }
    return seen ? seen : "normalized";
}

static int fill_queries(const struct ns_model *m, struct ns_db_report *r)
{
    r->queries = calloc(m->ndb_stats ? m->ndb_stats : 1, sizeof(*r->queries));
    if (!r->queries)
        return -1;
    for (size_t i = 0; i < m->ndb_stats; i++) {
        const struct ns_db_stats *d = &m->db_stats[i];
        struct ns_db_query_row *q = &r->queries[r->nqueries++];
        q->st = d;
        q->p50 = ns_llh_quantile(d->hist, NSP_DB_HIST_BUCKETS, 0.50);
        q->p95 = ns_llh_quantile(d->hist, NSP_DB_HIST_BUCKETS, 0.95);
        q->p99 = ns_llh_quantile(d->hist, NSP_DB_HIST_BUCKETS, 0.99);
        q->max = ns_llh_quantile(d->hist, NSP_DB_HIST_BUCKETS, 1.0);
        /* Within a bucket the histogram knows no better than its bounds; the time summed
         * exactly does: one execution is all of it, and none took more than all. */
        double total = (double)d->time_ns;
        double *qs[] = {&q->p50, &q->p95, &q->p99, &q->max};
        for (size_t j = 0; j < sizeof(qs) / sizeof(qs[0]); j++)
            if (d->executions == 1 || *qs[j] > total)
                *qs[j] = total;
        q->distinct = d->has_distinct ? ns_distinct_estimate(d->distinct) : -1.0;
        r->executions += d->executions;
        r->rows += d->rows;
    }
    if (r->nqueries)
        qsort(r->queries, r->nqueries, sizeof(*r->queries), query_cmp);
    return 0;
}

int ns_rank_db(const struct ns_model *m, struct ns_db_report *r)
{
    memset(r, 0, sizeof(*r));
    for (size_t e = 0; e < m->nevents; e++)
        if (strncmp(m->events[e].name, "db_", 3) == 0 && m->events[e].weight)
            r->present = 1;
    r->sql = sql_setting(m);
    uint32_t ev_time = ns_model_event_index(m, "db_time");
    r->time_ns = ev_time != NS_NONE ? m->events[ev_time].weight : 0;
    size_t nk = 0;
    struct key_w *k = sum_keys(m, &nk);
    if (!k || fill_queries(m, r) < 0)
        goto fail;
    if (!(r->prepares_by_site = calloc(nk ? nk : 1, sizeof(*r->prepares_by_site))))
        goto fail;
    for (size_t i = 0; i < nk; i++) {
        if (k[i].prepares) {
            uint64_t exec = exec_time_at(m, k[i].site, k[i].resource);
            r->prepares_by_site[r->nprepares++] = (struct ns_db_prepare_row){
                k[i].site, k[i].resource, k[i].prepares, k[i].time > exec ? k[i].time - exec : 0};
            r->prepares += k[i].prepares;
        }
        if (!k[i].connects && !k[i].closes)
            continue;
        struct ns_db_conn_row *c = conn_of(r, k[i].resource);
        if (!c)
            goto fail;
        c->closes += k[i].closes;
        r->closes += k[i].closes;
        if (k[i].connects) {
            c->connects += k[i].connects;
            c->connect_time_ns += k[i].time;
            r->connects += k[i].connects;
            struct ns_db_conn_site *ns = realloc(c->sites, (c->nsites + 1) * sizeof(*ns));
            if (!ns)
                goto fail;
            c->sites = ns;
            ns[c->nsites++] = (struct ns_db_conn_site){k[i].site, k[i].connects};
        }
    }
    free(k);
    /* (qsort's array must not be NULL, even empty) */
    if (r->nprepares)
        qsort(r->prepares_by_site, r->nprepares, sizeof(*r->prepares_by_site), prepare_cmp);
    for (size_t i = 0; i < r->nconns; i++)
        if (r->conns[i].nsites)
            qsort(r->conns[i].sites, r->conns[i].nsites, sizeof(*r->conns[i].sites), conn_site_cmp);
    if (r->nconns)
        qsort(r->conns, r->nconns, sizeof(*r->conns), conn_cmp);
    return 0;
fail:
    free(k);
    ns_db_report_free(r);
    return -1;
}

void ns_db_report_free(struct ns_db_report *r)
{
    for (size_t i = 0; i < r->nconns; i++)
        free(r->conns[i].sites);
    free(r->conns);
    free(r->queries);
    free(r->prepares_by_site);
    memset(r, 0, sizeof(*r));
}
