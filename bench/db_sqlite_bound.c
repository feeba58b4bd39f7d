/*
 * db_sqlite_bound — the workload of bench_db.py: nothing but short sqlite3 statements on an
 * in-memory database, the worst case for per-call database interposition.
 *
 *   db_sqlite_bound insert N   N single-row INSERTs of one prepared statement (bind, step,
 *                              reset), in one transaction
 *   db_sqlite_bound select N   N executions of a prepared `SELECT ? + 1` (bind, step to the
 *                              row, step to DONE, reset)
 *   db_sqlite_bound lookup N   N point lookups by primary key in a table of 100,000 rows
 *                              (`SELECT name FROM t WHERE id = ?`, pseudo-random ids): what an
 *                              application's typical short query costs, B-tree descent included
 *
 * Prints "statements=N wall=S cpu=S" (the timed loop only) and exits 0; 1 on an sqlite
 * error, naming it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fprintf(stderr, "db_sqlite_bound: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "insert") != 0 && strcmp(argv[1], "select") != 0 &&
                      strcmp(argv[1], "lookup") != 0)) {
        fprintf(stderr, "usage: db_sqlite_bound insert|select|lookup N\n");
        return 2;
    }
    long n = atol(argv[2]);
    int insert = strcmp(argv[1], "insert") == 0, lookup = strcmp(argv[1], "lookup") == 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    int rc = sqlite3_open(":memory:", &db);
    check(db, rc, "open");
    check(db, sqlite3_exec(db, "CREATE TABLE t (a INTEGER, b INTEGER)", NULL, NULL, NULL),
          "create");
    if (lookup) { /* the table, before the timed loop */
        check(db,
              sqlite3_exec(db,
                           "CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT);"
                           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                           "WHERE i < 100000) INSERT INTO names SELECT i, 'name-' || i FROM c",
                           NULL, NULL, NULL),
              "fill");
    }
    check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
    const char *sql = insert   ? "INSERT INTO t VALUES (?, ?)"
                      : lookup ? "SELECT name FROM names WHERE id = ?"
                               : "SELECT ? + 1";
    check(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), "prepare");
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    long sum = 0;
    for (long i = 0; i < n; i++) {
        check(db, sqlite3_bind_int64(st, 1, lookup ? (i * 7919) % 100000 + 1 : i), "bind");
        if (lookup) {
            check(db, sqlite3_step(st), "lookup");
            sum += sqlite3_column_bytes(st, 0);
            check(db, sqlite3_step(st), "lookup");
        } else if (insert) {
            check(db, sqlite3_bind_int64(st, 2, i * 7), "bind");
            check(db, sqlite3_step(st), "insert");
        } else {
            check(db, sqlite3_step(st), "select");
            sum += sqlite3_column_int64(st, 0);
            check(db, sqlite3_step(st), "select");
        }
        check(db, sqlite3_reset(st), "reset");
    }
    double w1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
    sqlite3_finalize(st);
    check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    sqlite3_close(db);
    printf("statements=%ld sum=%ld wall=%.6f cpu=%.6f\n", n, sum, w1 - w0, c1 - c0);
    return 0;
}
