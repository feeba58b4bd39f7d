/*
 * db_pq_truth — PostgreSQL client calls (libpq) whose counts are known by construction
 * (issue 14), against a server the test starts.
 *
 *   db_pq_truth MODE CONNINFO
 *
 * Every mode connects once in main() and rebuilds its tables with one PQexec of a script
 * (one execution), then runs its work in a function of its own (noipa: the call site is
 * named exactly):
 *
 *   nplus1         load_books_n_plus_one: PQexec(SELECT id FROM authors ORDER BY id), 40
 *                  rows; per row, with that result not yet cleared, PQexecParams of the
 *                  books of the author ($1): 40 inner executions, 200 rows
 *   batched        load_books_batched: one JOIN, 200 rows
 *   reprepare      lookup_reprepare: 30 × PQprepare of the same text (unnamed) + PQexecPrepared
 *   prepared_once  lookup_prepared_once: 1 PQprepare ("lookup"), 30 × PQexecPrepared
 *   autocommit     insert_autocommit: 60 single-row INSERTs (PQexecParams) outside a
 *                  transaction
 *   transaction    insert_in_transaction: the same between BEGIN and COMMIT
 *   churn          connect_per_query: 20 × PQconnectdb, one PQexec, PQfinish
 *   pooled         query_pooled: 1 connection, 20 PQexec
 *   send           send_and_wait: 10 × PQsendQueryParams, then PQgetResult to its NULL
 *   pipeline       pipeline_batch: pipeline mode, 10 PQsendQueryParams, one sync, then the
 *                  results read
 *
 * stdout: one line per mode, identical profiled or not. Any unexpected error: a message on
 * stderr and exit status 1.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOIPA __attribute__((noipa))

#define AUTHORS          40
#define BOOKS_PER_AUTHOR 5
#define LOOKUPS          30
#define EVENTS           60
#define CHURN            20
#define SENDS            10

static const char *conninfo;

static void fail(PGconn *c, const char *what)
{
    fprintf(stderr, "db_pq_truth: %s: %s", what, c ? PQerrorMessage(c) : "no connection\n");
    exit(1);
}

static PGresult *must(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
    if (!r || PQresultStatus(r) != want)
        fail(c, what);
    return r;
}

static PGconn *connect_or_die(void)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail(c, "connect");
    return c;
}

static const char SCHEMA[] =
    "SET client_min_messages = warning;"
    "DROP TABLE IF EXISTS books; DROP TABLE IF EXISTS authors; DROP TABLE IF EXISTS events;"
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE books (id SERIAL PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL);"
    "CREATE TABLE events (id SERIAL PRIMARY KEY, kind INTEGER NOT NULL);"
    "INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 40) g;"
    "INSERT INTO books (author_id, title) SELECT a, 'book ' || b FROM generate_series(1, 40) a, "
    "generate_series(1, 5) b";

NOIPA static void load_books_n_plus_one(PGconn *c)
{
    PGresult *outer =
        must(c, PQexec(c, "SELECT id FROM authors ORDER BY id"), PGRES_TUPLES_OK, "authors");
    int books = 0;
    for (int i = 0; i < PQntuples(outer); i++) {
        const char *id = PQgetvalue(outer, i, 0);
        PGresult *inner = must(c,
                               PQexecParams(c, "SELECT title FROM books WHERE author_id = $1", 1,
                                            NULL, &id, NULL, NULL, 0),
                               PGRES_TUPLES_OK, "books");
        books += PQntuples(inner);
        PQclear(inner);
    }
    printf("nplus1 authors=%d books=%d\n", PQntuples(outer), books);
    PQclear(outer);
}

NOIPA static void load_books_batched(PGconn *c)
{
    PGresult *r = must(c,
                       PQexec(c, "SELECT authors.id, books.title FROM authors JOIN books ON "
                                 "books.author_id = authors.id"),
                       PGRES_TUPLES_OK, "join");
    printf("batched books=%d\n", PQntuples(r));
    PQclear(r);
}

NOIPA static void lookup_reprepare(PGconn *c)
{
    int found = 0;
    for (int i = 1; i <= LOOKUPS; i++) {
        char id[16];
        const char *v = id;
        snprintf(id, sizeof(id), "%d", i);
        PQclear(must(c, PQprepare(c, "", "SELECT name FROM authors WHERE id = $1", 1, NULL),
                     PGRES_COMMAND_OK, "prepare"));
        PGresult *r =
            must(c, PQexecPrepared(c, "", 1, &v, NULL, NULL, 0), PGRES_TUPLES_OK, "lookup");
        found += PQntuples(r);
        PQclear(r);
    }
    printf("reprepare found=%d\n", found);
}

NOIPA static void lookup_prepared_once(PGconn *c)
{
    int found = 0;
    PQclear(must(c, PQprepare(c, "lookup", "SELECT name FROM authors WHERE id = $1", 1, NULL),
                 PGRES_COMMAND_OK, "prepare"));
    for (int i = 1; i <= LOOKUPS; i++) {
        char id[16];
        const char *v = id;
        snprintf(id, sizeof(id), "%d", i);
        PGresult *r =
            must(c, PQexecPrepared(c, "lookup", 1, &v, NULL, NULL, 0), PGRES_TUPLES_OK, "lookup");
        found += PQntuples(r);
        PQclear(r);
    }
    printf("prepared_once found=%d\n", found);
}

static void insert_events(PGconn *c)
{
    for (int i = 0; i < EVENTS; i++) {
        char kind[16];
        const char *v = kind;
        snprintf(kind, sizeof(kind), "%d", i);
        PQclear(must(
            c, PQexecParams(c, "INSERT INTO events (kind) VALUES ($1)", 1, NULL, &v, NULL, NULL, 0),
            PGRES_COMMAND_OK, "insert"));
    }
}

NOIPA static void insert_autocommit(PGconn *c)
{
    insert_events(c);
    printf("autocommit events=%d\n", EVENTS);
}

NOIPA static void insert_in_transaction(PGconn *c)
{
    PQclear(must(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "begin"));
    insert_events(c);
    PQclear(must(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK, "commit"));
    printf("transaction events=%d\n", EVENTS);
}

NOIPA static void connect_per_query(void)
{
    int rows = 0;
    for (int i = 0; i < CHURN; i++) {
        PGconn *c = connect_or_die();
        PGresult *r = must(c, PQexec(c, "SELECT count(*) FROM authors"), PGRES_TUPLES_OK, "count");
        rows += PQntuples(r);
        PQclear(r);
        PQfinish(c);
    }
    printf("churn queries=%d\n", rows);
}

NOIPA static void query_pooled(PGconn *c)
{
    int rows = 0;
    for (int i = 0; i < CHURN; i++) {
        PGresult *r = must(c, PQexec(c, "SELECT count(*) FROM authors"), PGRES_TUPLES_OK, "count");
        rows += PQntuples(r);
        PQclear(r);
    }
    printf("pooled queries=%d\n", rows);
}

static const char SEND_SQL[] = "SELECT title FROM books WHERE author_id = $1";

NOIPA static void send_and_wait(PGconn *c)
{
    int rows = 0;
    for (int i = 1; i <= SENDS; i++) {
        char id[16];
        const char *v = id;
        snprintf(id, sizeof(id), "%d", i);
        if (!PQsendQueryParams(c, SEND_SQL, 1, NULL, &v, NULL, NULL, 0))
            fail(c, "send");
        PGresult *r;
        while ((r = PQgetResult(c)) != NULL) {
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fail(c, "result");
            rows += PQntuples(r);
            PQclear(r);
        }
    }
    printf("send queries=%d rows=%d\n", SENDS, rows);
}

NOIPA static void pipeline_batch(PGconn *c)
{
    char ids[SENDS][16];
    int rows = 0, syncs = 0;
    if (!PQenterPipelineMode(c))
        fail(c, "pipeline mode");
    for (int i = 0; i < SENDS; i++) {
        const char *v = ids[i];
        snprintf(ids[i], sizeof(ids[i]), "%d", i + 1);
        if (!PQsendQueryParams(c, SEND_SQL, 1, NULL, &v, NULL, NULL, 0))
            fail(c, "send");
    }
    if (!PQpipelineSync(c))
        fail(c, "sync");
    for (int q = 0; q < SENDS; q++) {
        PGresult *r;
        while ((r = PQgetResult(c)) != NULL) {
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fail(c, "pipeline result");
            rows += PQntuples(r);
            PQclear(r);
        }
    }
    PGresult *sync = PQgetResult(c);
    syncs += sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if (!PQexitPipelineMode(c))
        fail(c, "exit pipeline mode");
    printf("pipeline queries=%d rows=%d syncs=%d\n", SENDS, rows, syncs);
}

int main(int argc, char **argv)
{
    static const char *const modes[] = {"nplus1",     "batched",     "reprepare", "prepared_once",
                                        "autocommit", "transaction", "churn",     "pooled",
                                        "send",       "pipeline"};
    const char *mode = argc == 3 ? argv[1] : "";
    int known = 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        known |= strcmp(mode, modes[i]) == 0;
    if (!known) {
        fprintf(stderr, "usage: db_pq_truth MODE CONNINFO\n");
        return 2;
    }
    conninfo = argv[2];
    PGconn *c = connect_or_die();
    PQclear(must(c, PQexec(c, SCHEMA), PGRES_COMMAND_OK, "schema"));
    if (strcmp(mode, "nplus1") == 0)
        load_books_n_plus_one(c);
    else if (strcmp(mode, "batched") == 0)
        load_books_batched(c);
    else if (strcmp(mode, "reprepare") == 0)
        lookup_reprepare(c);
    else if (strcmp(mode, "prepared_once") == 0)
        lookup_prepared_once(c);
    else if (strcmp(mode, "autocommit") == 0)
        insert_autocommit(c);
    else if (strcmp(mode, "transaction") == 0)
        insert_in_transaction(c);
    else if (strcmp(mode, "churn") == 0)
        connect_per_query();
    else if (strcmp(mode, "pooled") == 0)
        query_pooled(c);
    else if (strcmp(mode, "send") == 0)
        send_and_wait(c);
    else
        pipeline_batch(c);
    PQfinish(c);
    return 0;
}
