/*
 * The execution tracker (preload/db/db_track.h) on call sequences whose executions are known
 * by construction: statements stepped to DONE, cut by reset, finalize or an error; an N+1
 * loop (an inner query run per row of an outer one) against its batched fix; one-shot
 * results kept open until cleared (libpq, MariaDB); other threads; a full table; and a long
 * random sequence checked against a plain reference model.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db_track.h"

#define MAX_SEEN 20000
static struct ns_dbt_exec seen[MAX_SEEN];
static size_t nseen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void record(void *ctx, const struct ns_dbt_exec *e)
{
    (void)ctx;
    pthread_mutex_lock(&seen_lock);
    seen[nseen % MAX_SEEN] = *e; /* the last MAX_SEEN kept */
    nseen++;
    pthread_mutex_unlock(&seen_lock);
}

static struct ns_dbt t;

static void setup(void)
{
    nseen = 0;
    ns_dbt_init(&t, record, NULL);
}

TestSuite(db_track, .init = setup);

/* Distinct fake handles: the tracker never dereferences them. */
static char handles[4096];
#define H(i) ((const void *)&handles[i])

enum { Q_AUTHORS = 11, Q_BOOKS = 22, Q_BATCH = 33 };

Test(db_track, an_execution_runs_from_its_first_step_to_done)
{
    ns_dbt_prepared(&t, H(1), Q_AUTHORS, 7, 0, 0);
    for (int i = 0; i < 3; i++)
        ns_dbt_step(&t, H(1), NS_DBT_ROW, 10, 7, NULL);
    cr_assert_eq(nseen, 0, "still running");
    ns_dbt_step(&t, H(1), NS_DBT_DONE, 5, 7, NULL);
    cr_assert_eq(nseen, 1);
    cr_assert_eq(seen[0].query, Q_AUTHORS);
    cr_assert_eq(seen[0].rows, 3);
    cr_assert_eq(seen[0].time_ns, 35);
    cr_assert_eq(seen[0].outer, 0);
    cr_assert_eq(seen[0].error, 0);
    cr_assert_eq(seen[0].tid, 7);
    /* Stepped again after DONE (sqlite3 resets it on its own): a second execution. */
    ns_dbt_step(&t, H(1), NS_DBT_DONE, 4, 7, NULL);
    cr_assert_eq(nseen, 2);
    cr_assert_eq(seen[1].rows, 0);
}

Test(db_track, what_is_known_at_the_start_comes_back_at_the_end)
{
    struct ns_dbt_start first = {H(100), 0x1234, 1, 1}, later = {H(200), 0x5678, 1, 0};
    ns_dbt_prepared(&t, H(1), Q_BOOKS, 7, 0, 0);
    ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 7, &first);
    ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 7, &later); /* not a start: ignored */
    ns_dbt_reset(&t, H(1));
    cr_assert_eq(nseen, 1);
    cr_assert_eq(seen[0].start.origin, H(100));
    cr_assert_eq(seen[0].start.params_hash, 0x1234);
    cr_assert_eq(seen[0].start.autocommit, 1);
    ns_dbt_step(&t, H(1), NS_DBT_DONE, 1, 7, &later);
    cr_assert_eq(seen[1].start.origin, H(200));
    cr_assert_eq(seen[1].start.autocommit, 0);
    ns_dbt_executed(&t, NULL, Q_BATCH, 3, 9, 0, 7, &first);
    cr_assert_eq(seen[2].start.params_hash, 0x1234);
}

Test(db_track, reset_finalize_and_errors_end_an_execution)
{
    ns_dbt_prepared(&t, H(1), Q_AUTHORS, 1, 0, 0);
    ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 1, NULL);
    ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 1, NULL);
    ns_dbt_reset(&t, H(1));
    cr_assert_eq(nseen, 1);
    cr_assert_eq(seen[0].rows, 2);
    ns_dbt_reset(&t, H(1));
    cr_assert_eq(nseen, 1, "a reset of a statement not running is no execution");
    ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 1, NULL);
    ns_dbt_finalize(&t, H(1));
    cr_assert_eq(nseen, 2);
    cr_assert_eq(seen[1].rows, 1);
    ns_dbt_prepared(&t, H(2), Q_BOOKS, 1, 0, 0);
    ns_dbt_step(&t, H(2), NS_DBT_ERROR, 3, 1, NULL);
    cr_assert_eq(nseen, 3);
    cr_assert_eq(seen[2].error, 1);
    /* A statement prepared before nsprof looked: executions of query 0. */
    ns_dbt_step(&t, H(3), NS_DBT_DONE, 2, 1, NULL);
    cr_assert_eq(nseen, 4);
    cr_assert_eq(seen[3].query, 0);
}

/* The N+1 pattern: for each author row, the books query runs once. */
Test(db_track, queries_run_per_row_of_another_are_inside_its_loop)
{
    ns_dbt_prepared(&t, H(1), Q_AUTHORS, 1, 0, 0);
    ns_dbt_prepared(&t, H(2), Q_BOOKS, 1, 0, 0);
    for (int author = 0; author < 10; author++) {
        ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 1, NULL);
        ns_dbt_step(&t, H(2), NS_DBT_ROW, 1, 1, NULL);
        ns_dbt_step(&t, H(2), NS_DBT_ROW, 1, 1, NULL);
        ns_dbt_step(&t, H(2), NS_DBT_DONE, 1, 1, NULL);
        ns_dbt_reset(&t, H(2));
    }
    ns_dbt_step(&t, H(1), NS_DBT_DONE, 1, 1, NULL);
    cr_assert_eq(nseen, 11);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(seen[i].query, Q_BOOKS);
        cr_assert_eq(seen[i].outer, Q_AUTHORS, "execution %d", i);
        cr_assert_eq(seen[i].rows, 2);
    }
    cr_assert_eq(seen[10].query, Q_AUTHORS);
    cr_assert_eq(seen[10].outer, 0);
    cr_assert_eq(seen[10].rows, 10);
}

/* The fix: read the authors to the end, then one batched query. */
Test(db_track, a_query_after_the_loop_is_not_inside_it)
{
    ns_dbt_prepared(&t, H(1), Q_AUTHORS, 1, 0, 0);
    for (int author = 0; author < 10; author++)
        ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 1, NULL);
    ns_dbt_step(&t, H(1), NS_DBT_DONE, 1, 1, NULL);
    ns_dbt_prepared(&t, H(2), Q_BATCH, 1, 0, 0);
    ns_dbt_step(&t, H(2), NS_DBT_ROW, 1, 1, NULL);
    ns_dbt_step(&t, H(2), NS_DBT_DONE, 1, 1, NULL);
    cr_assert_eq(nseen, 2);
    cr_assert_eq(seen[1].query, Q_BATCH);
    cr_assert_eq(seen[1].outer, 0);
    /* A statement with no row yet has no open result set: nothing is inside it. */
    ns_dbt_prepared(&t, H(3), Q_AUTHORS, 1, 0, 0);
    ns_dbt_step(&t, H(3), NS_DBT_DONE, 1, 1, NULL);
    ns_dbt_step(&t, H(2), NS_DBT_DONE, 1, 1, NULL);
    cr_assert_eq(seen[nseen - 1].outer, 0);
}

Test(db_track, other_threads_loops_are_theirs)
{
    ns_dbt_prepared(&t, H(1), Q_AUTHORS, 1, 0, 0);
    ns_dbt_step(&t, H(1), NS_DBT_ROW, 1, 1, NULL);
    ns_dbt_prepared(&t, H(2), Q_BOOKS, 2, 0, 0);
    ns_dbt_step(&t, H(2), NS_DBT_DONE, 1, 2, NULL);
    cr_assert_eq(seen[0].outer, 0, "thread 2 runs no loop of thread 1's");
}

/* libpq and MariaDB: a result is open from its execution until it is cleared. */
Test(db_track, one_shot_results_stay_open_until_cleared)
{
    ns_dbt_executed(&t, H(10), Q_AUTHORS, 5, 100, 0, 1, NULL);
    ns_dbt_executed(&t, H(11), Q_BOOKS, 2, 10, 0, 1, NULL);
    ns_dbt_cleared(&t, H(11));
    ns_dbt_executed(&t, NULL, Q_BOOKS, 0, 10, 1, 1, NULL); /* an error: no result */
    ns_dbt_cleared(&t, H(10));
    ns_dbt_executed(&t, H(12), Q_BATCH, 2, 10, 0, 1, NULL);
    cr_assert_eq(nseen, 4);
    cr_assert_eq(seen[0].outer, 0);
    cr_assert_eq(seen[1].outer, Q_AUTHORS);
    cr_assert_eq(seen[2].outer, Q_AUTHORS);
    cr_assert_eq(seen[2].error, 1);
    cr_assert_eq(seen[3].outer, 0, "the authors' result was cleared");
    /* Nested loops: the newest open result is the loop an execution is in. */
    ns_dbt_executed(&t, H(13), Q_BOOKS, 3, 1, 0, 1, NULL);
    ns_dbt_executed(&t, H(14), Q_AUTHORS, 1, 1, 0, 1, NULL);
    cr_assert_eq(seen[5].outer, Q_BOOKS);
}

Test(db_track, a_full_table_drops_what_it_cannot_follow)
{
    for (int i = 0; i < NS_DBT_MAX + 100; i++)
        ns_dbt_prepared(&t, H(i), Q_BOOKS, 1, 0, 0);
    cr_assert_gt(t.dropped, 0);
    for (int i = 0; i < NS_DBT_MAX + 100; i++)
        ns_dbt_finalize(&t, H(i));
    ns_dbt_prepared(&t, H(5000 % 4096), Q_AUTHORS, 1, 0, 0);
    ns_dbt_step(&t, H(5000 % 4096), NS_DBT_DONE, 1, 1, NULL);
    cr_assert_eq(seen[nseen - 1].query, Q_AUTHORS, "room again after the finalizes");
}

/* A long random sequence against a reference model (an array searched linearly): what the
 * table's probing and deletion get wrong shows as a different execution. */
Test(db_track, random_calls_match_a_reference_model)
{
    struct ref {
        int live, running;
        uint64_t query, rows, time;
    } ref[512] = {{0}};
    srand(11);
    size_t expected = 0;
    for (int op = 0; op < 200000; op++) {
        int h = rand() % 512, what = rand() % 10;
        struct ref *r = &ref[h];
        if (what == 0) {
            if (r->running)
                expected++;
            ns_dbt_finalize(&t, H(h));
            memset(r, 0, sizeof(*r));
        } else if (what == 1) {
            if (r->running)
                expected++;
            r->running = 0;
            r->rows = r->time = 0;
            r->live = 1;
            r->query = (uint64_t)h * 1000 + (uint64_t)op;
            ns_dbt_prepared(&t, H(h), r->query, 1, 0, 0);
        } else if (what == 2) {
            if (r->running)
                expected++;
            r->running = 0;
            r->rows = r->time = 0;
            ns_dbt_reset(&t, H(h));
        } else {
            int done = what >= 8;
            size_t before = nseen;
            ns_dbt_step(&t, H(h), done ? NS_DBT_DONE : NS_DBT_ROW, 3, 1, NULL);
            r->live = 1;
            r->running = 1;
            r->time += 3;
            r->rows += !done;
            if (done) {
                expected++;
                cr_assert_eq(nseen, before + 1);
                const struct ns_dbt_exec *e = &seen[(nseen - 1) % MAX_SEEN];
                cr_assert_eq(e->query, r->query, "op %d handle %d", op, h);
                cr_assert_eq(e->rows, r->rows, "op %d handle %d", op, h);
                cr_assert_eq(e->time_ns, r->time, "op %d handle %d", op, h);
                r->running = 0;
                r->rows = r->time = 0;
            }
        }
        cr_assert_eq(nseen, expected, "op %d", op);
    }
    cr_assert_eq(t.dropped, 0);
}

static void *worker(void *arg)
{
    int base = (int)(intptr_t)arg * 1000;
    for (int i = 0; i < 5000; i++) {
        const void *h = H(base + i % 500);
        ns_dbt_prepared(&t, h, Q_BOOKS, (uint32_t)base, 0, 0);
        ns_dbt_step(&t, h, NS_DBT_ROW, 1, (uint32_t)base, NULL);
        ns_dbt_step(&t, h, NS_DBT_DONE, 1, (uint32_t)base, NULL);
        ns_dbt_finalize(&t, h);
    }
    return NULL;
}

Test(db_track, threads_at_once)
{
    pthread_t th[4];
    for (intptr_t i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(nseen, 4 * 5000);
    for (size_t i = 0; i < MAX_SEEN; i++) {
        cr_assert_eq(seen[i].rows, 1);
        cr_assert_eq(seen[i].outer, 0, "a thread's own statement is never its own loop");
    }
}
