/*
 * model_db — DB_STATS records (format 1.4) into the model: summed per (execution site,
 * query) across threads and records, the site found as for any interposed call (the first
 * frame above the client function that is not the C runtime's). --thread and --function
 * apply; --event and --from/--to do not (the records carry no event and no time).
 */
#include <stdlib.h>
#include <string.h>

#include "loglin_hist.h"
#include "model_internal.h"

struct db_key {
    uint32_t site, query;
};

static int db_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_db_stats *d = &((const struct ns_model *)ctx)->db_stats[value];
    const struct db_key *k = key;
    return d->site == k->site && d->query == k->query;
}

static struct ns_db_stats *entry(struct ns_build *b, const struct db_key *k)
{
    struct ns_model *m = b->m;
    uint64_t h = ns_mix64((uint64_t)k->site << 32 | k->query);
    uint32_t idx = ns_itab_get(&b->db_tab, h, db_eq, m, k);
    if (idx != NS_NONE)
        return &m->db_stats[idx];
    if (m->ndb_stats >= NS_NONE - 1 ||
        ns_grow((void **)&m->db_stats, &b->db_stats_cap, m->ndb_stats + 1, sizeof(*m->db_stats)))
        return NULL;
    struct ns_db_stats *d = &m->db_stats[m->ndb_stats];
    *d = (struct ns_db_stats){.site = k->site, .query = k->query, .outer = NS_NONE};
    if (!(d->hist = calloc(NSP_DB_HIST_BUCKETS, sizeof(*d->hist))) ||
        ns_itab_put(&b->db_tab, h, (uint32_t)m->ndb_stats) < 0) {
        free(d->hist);
        return NULL;
    }
    m->ndb_stats++;
    return d;
}

int nsb_add_db_stats(struct ns_build *b)
{
    const struct ns_profile *p = b->prof;
    for (size_t i = 0; i < p->ndb_stats; i++) {
        const struct ns_prof_db_stats *r = &p->db_stats[i];
        if (r->first > p->ndb_buckets || r->nbuckets > p->ndb_buckets - r->first)
            continue; /* the reader guarantees it; a profile built by hand might not */
        uint32_t thread = nsb_thread_index(b, r->tid);
        if (thread == NS_NONE)
            return -1;
        if (!b->m->threads[thread].matched)
            continue;
        if (nsb_resolve_stack(b, r->stack) < 0)
            return -1;
        int kept = nsb_path_matches(b);
        if (kept <= 0) {
            if (kept < 0)
                return -1;
            continue;
        }
        struct db_key k = {NS_NONE, nsb_resource(b, r->query)};
        if (k.query == NS_NONE)
            continue;
        if (nsb_site(b, NS_FAMILY_DB, &k.site) < 0)
            return -1;
        struct ns_db_stats *d = entry(b, &k);
        if (!d)
            return -1;
        d->executions = nsb_sat_add(d->executions, r->executions);
        d->rows = nsb_sat_add(d->rows, r->rows);
        d->time_ns = nsb_sat_add(d->time_ns, r->time_ns);
        d->in_loop = nsb_sat_add(d->in_loop, r->in_loop);
        d->autocommit = nsb_sat_add(d->autocommit, r->autocommit);
        d->errors = nsb_sat_add(d->errors, r->errors);
        if (r->outer)
            d->outer = nsb_resource(b, r->outer);
        if (r->has_distinct) {
            d->has_distinct = 1;
            for (size_t j = 0; j < NSP_DB_DISTINCT_REGS; j++)
                if (r->distinct[j] > d->distinct[j])
                    d->distinct[j] = r->distinct[j];
        }
        for (size_t j = 0; j < r->nbuckets; j++) {
            const struct ns_prof_db_bucket *bk = &p->db_buckets[r->first + j];
            if (bk->bucket < NSP_DB_HIST_BUCKETS)
                d->hist[bk->bucket] = nsb_sat_add(d->hist[bk->bucket], bk->count);
        }
    }
    return 0;
}
