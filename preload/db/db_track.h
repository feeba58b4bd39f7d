/*
 * db_track — turns database client calls into statement executions, the unit every database
 * number of nsprof counts (issue 14), and says which executions ran inside a loop over
 * another query's results (the evidence of an N+1 pattern).
 *
 * Two shapes of client API are followed:
 *  - statements stepped row by row (sqlite3): an execution runs from its first step to DONE,
 *    an error, a reset or the finalize; its time is the sum of its steps' times, its rows the
 *    steps that returned a row; its result set is open from the first row to the end of the
 *    execution;
 *  - one call per execution that returns a result (PQexec, mysql_query + store_result): the
 *    execution is done when the call returns; its result set is open until it is cleared
 *    (PQclear, mysql_free_result).
 * An execution that starts on a thread while a result set of another execution of that
 * thread is open is *inside a loop over* the newest such result set: `outer` names that
 * query. (A loop over a result set that was read whole and cleared first is not seen: the
 * application's loop then runs over its own copy.)
 *
 * Handles (statements, results) are the client library's pointers, never dereferenced.
 * Queries are the caller's 64-bit identities (e.g. ns_sql_norm's hash with the database).
 *
 * Contract: thread-safe (one spin lock, held for a table lookup; a waiter yields its CPU
 * after a few spins); no allocation after
 * ns_dbt_init: at most NS_DBT_MAX - 1 live handles are followed; a statement beyond them is
 * counted in `dropped` and its executions are not seen, a result beyond them is reported
 * but not kept open (no loop detection over it). Not async-signal-safe.
 */
#ifndef NS_DB_TRACK_H
#define NS_DB_TRACK_H

#include <stdint.h>

#define NS_DBT_MAX 1024 /* live statements and open results followed at once */

/* What the caller knows of an execution when it starts, handed back when it ends: where
 * it was made (the hook's captured stack), its parameters and its transaction state. */
struct ns_dbt_start {
    const void *origin;
    uint64_t params_hash;
    uint8_t has_params, autocommit;
};

struct ns_dbt_exec {
    struct ns_dbt_start start;
    uint64_t query;
    uint64_t outer;   /* the query whose result set was open on this thread, or 0 */
    uint64_t rows;    /* rows returned */
    uint64_t time_ns; /* inside the client library */
    int error;        /* ended by an error */
    uint32_t tid;
};

enum ns_dbt_outcome { NS_DBT_ROW, NS_DBT_DONE, NS_DBT_ERROR };

struct ns_dbt_entry {
    const void *handle; /* NULL: free */
    struct ns_dbt_start start;
    uint64_t literal_hash; /* of the statement's text */
    uint8_t has_literals;
    uint64_t query, outer, rows, time_ns;
    uint64_t opened; /* when its result set opened (a sequence number), 0: not open */
    uint32_t tid;
    uint8_t running; /* a stepped statement between its first step and its end */
    uint8_t result;  /* a one-shot result, kept until cleared */
};

struct ns_dbt {
    int lock; /* a spin lock: not pthread's, which libnsprof.so itself interposes */
    struct ns_dbt_entry v[NS_DBT_MAX];
    uint64_t seq;
    uint32_t live; /* entries in use: at most NS_DBT_MAX - 1, so that a probe always ends */
    uint32_t open; /* entries whose result set is open: none, no loop to look for */
    uint64_t dropped;
    void (*emit)(void *ctx, const struct ns_dbt_exec *e);
    void *ctx;
};

void ns_dbt_init(struct ns_dbt *t, void (*emit)(void *ctx, const struct ns_dbt_exec *e), void *ctx);

/* Stepped statements (sqlite3). */
/* literal_hash, has_literals: of the statement's own text, joined to the bound values'
 * hash of each execution (its parameter set). */
void ns_dbt_prepared(struct ns_dbt *t, const void *stmt, uint64_t query, uint32_t tid,
                     uint64_t literal_hash, int has_literals);
/* start (may be NULL) is read only when the step starts an execution; ns_dbt_starts says
 * whether it would (so that the caller gathers it only then). */
void ns_dbt_step(struct ns_dbt *t, const void *stmt, enum ns_dbt_outcome outcome, uint64_t time_ns,
                 uint32_t tid, const struct ns_dbt_start *start);
void ns_dbt_reset(struct ns_dbt *t, const void *stmt); /* ends a running execution */
void ns_dbt_finalize(struct ns_dbt *t, const void *stmt);

/* One-shot executions: done when the call returns; the result set stays open until
 * ns_dbt_cleared (result NULL: nothing is kept open, e.g. a command without rows). */
void ns_dbt_executed(struct ns_dbt *t, const void *result, uint64_t query, uint64_t rows,
                     uint64_t time_ns, int error, uint32_t tid, const struct ns_dbt_start *start);
void ns_dbt_cleared(struct ns_dbt *t, const void *result);

#endif
