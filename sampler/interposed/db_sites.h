/*
 * db_sites — what a database statement execution leaves at its call site beyond the site's
 * calls (executions), bytes (rows) and time: the log-linear histogram of execution times
 * (p50/p95/p99 within a few percent, loglin_hist.h), executions made inside a loop over
 * another query's results (and which query), executions outside a transaction, errors,
 * and a sketch of the distinct parameter sets (HyperLogLog, 64 one-byte registers).
 *
 * Written by the site's own thread (plain stores, as sites.h); the reader sends the increase
 * since its last visit as a DB_STATS record (docs/FORMAT.md). The block is in the shared
 * region, allocated on a site's first execution and kept with the slot when it is reused.
 *
 * Contract: owner thread only; ns_db_site_of may allocate from the region (not from a
 * signal handler); ns_db_site_add is allocation-free.
 */
#ifndef NS_DB_SITES_H
#define NS_DB_SITES_H

#include <stdint.h>

#include "../format/distinct_sketch.h"
#include "../format/loglin_hist.h"
#include "../format/nsp_format.h"
#include "sites.h"

_Static_assert(NSP_DB_DISTINCT_REGS == NS_DISTINCT_REGS, "DB_STATS carries the sketch whole");

struct ns_db_site {
    /* the owning thread's */
    uint64_t in_loop;    /* started while another query's result set was open */
    uint64_t autocommit; /* outside an explicit transaction */
    uint64_t errors;
    uint32_t outer; /* the query (resource id) of the latest such loop */
    uint32_t with_params;
    uint8_t distinct[NSP_DB_DISTINCT_REGS];
    uint64_t hist[NS_LLH_BUCKETS];
    /* the reader's: what it already sent */
    uint64_t sent_in_loop, sent_autocommit, sent_errors;
    uint8_t sent_distinct[NSP_DB_DISTINCT_REGS];
    uint64_t sent_hist[NS_LLH_BUCKETS];
};

/* One execution, as the hooks saw it. */
struct ns_db_exec_record {
    uint64_t time_ns, rows;
    uint64_t params_hash; /* of the statement's literals and bound values */
    uint32_t outer;       /* 0: not inside another query's results */
    uint8_t has_params, autocommit, error;
};

/* The site's block, allocated on first use; NULL when the region is full. */
struct ns_db_site *ns_db_site_of(struct ns_site *s);

static inline void ns_db_site_add(struct ns_site *s, struct ns_db_site *d,
                                  const struct ns_db_exec_record *e)
{
    s->calls++;
    s->bytes += e->rows;
    s->time_ns += e->time_ns;
    if (!d)
        return;
    d->hist[ns_llh_bucket(e->time_ns)]++;
    if (e->outer) {
        d->in_loop++;
        d->outer = e->outer;
    }
    d->autocommit += e->autocommit;
    d->errors += e->error;
    if (e->has_params) {
        d->with_params = 1;
        ns_distinct_add(d->distinct, e->params_hash);
    }
}

#endif
