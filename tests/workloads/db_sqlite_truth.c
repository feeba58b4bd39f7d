/*
 * db_sqlite_truth — sqlite3 client calls whose counts are known by construction (issue 14).
 *
 *   db_sqlite_truth MODE DBFILE
 *
 * Every mode but `none` starts from a fresh DBFILE (removed first), opened once in main(),
 * and fills it in create_library() inside one explicit transaction: BEGIN, a script of five
 * CREATE statements and COMMIT through sqlite3_exec, and two prepared INSERTs stepped
 * AUTHORS and AUTHORS * BOOKS_PER_AUTHOR times. Then the mode's measured work runs in a
 * function of its own (noipa: never inlined nor cloned, so the call site is named exactly):
 *
 *   nplus1         load_books_n_plus_one: SELECT id FROM authors, stepped row by row; per
 *                  row (the outer result still open) the inner SELECT ... WHERE author_id = ?,
 *                  prepared once, bound, stepped to DONE and reset: 1 outer execution of
 *                  40 rows, 40 inner executions of 200 rows
 *   batched        load_books_batched: one JOIN of 200 rows
 *   reprepare      lookup_reprepare: 60 × prepare, bind, step to DONE, finalize
 *   prepared_once  lookup_prepared_once: 1 prepare, 60 × bind, step to DONE, reset
 *   autocommit     insert_autocommit: 100 single-row INSERTs, each its own transaction
 *   transaction    insert_in_transaction: the same 100 INSERTs between BEGIN and COMMIT
 *   churn          open_per_query: 30 × open DBFILE, SELECT count(*), close
 *   pooled         query_pooled: 1 open, 1 prepare, 30 × SELECT count(*), 1 close
 *   exec_script    run_script: one sqlite3_exec of a 3-statement script with secret literals
 *   exec_nplus1    list_authors_via_exec: sqlite3_exec(SELECT id FROM authors) whose
 *                  callback count_books_cb steps a prepared query per row: 40 nested
 *                  executions while the exec's result is open
 *   threads        run_threads holds SELECT id FROM authors open (one row stepped) while 4
 *                  threads (thread_queries), each on its own connection, run SELECT ? + ?
 *                  25 times: 100 executions, none inside another query's result on its thread
 *   constraint     insert_duplicates: 10 INSERTs of ids that exist, each failing at its step
 *   slow_scan      scan_readings: READINGS rows inserted (one prepared INSERT in one
 *                  transaction), then SCANS × SELECT count(*) FROM readings WHERE sensor = ?
 *                  without an index: each reads the whole table (milliseconds)
 *   indexed        the same with an index on sensor: each a short index search
 *   none           touches no database (the library is linked, never called)
 *
 * The SQL is written in its normalized form (upper-case keywords, single spaces, `?`), so
 * the expected normalized text is the literal string below; only exec_script's literals
 * are replaced. Its secret values are assembled at run time, so that the only way they can
 * reach a profile is through the SQL text the program ran.
 *
 * stdout: one line per mode, e.g. "nplus1 authors=40 books=200", identical whether profiled
 * or not. Any unexpected sqlite error: a message on stderr and exit status 1.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

#define AUTHORS          40  /* rows of authors: ids 1..AUTHORS */
#define BOOKS_PER_AUTHOR 5   /* rows of books per author */
#define LOOKUPS          60  /* reprepare / prepared_once: lookups of author i % AUTHORS + 1 */
#define EVENTS           100 /* autocommit / transaction: rows inserted into events */
#define CHURN            30  /* churn / pooled: queries, each on a new connection for churn */
#define THREADS          4   /* threads: threads, each with a connection of its own */
#define PER_THREAD       25  /* threads: SELECT ? + ? per thread */
#define DUPLICATES       10  /* constraint: INSERTs of existing ids */

static const char *db_path;

static void fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "db_sqlite_truth: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void must(sqlite3 *db, int rc, int want, const char *what)
{
    if (rc != want)
        fail(db, what);
}

static void must_equal(long got, long want, const char *what)
{
    if (got != want) {
        fprintf(stderr, "db_sqlite_truth: %s: %ld, expected %ld\n", what, got, want);
        exit(1);
    }
}

static const char SCHEMA[] =
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL); "
    "CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT "
    "NULL); "
    "CREATE INDEX books_by_author ON books (author_id); "
    "CREATE TABLE events (id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, value INTEGER NOT "
    "NULL); "
    "CREATE TABLE secrets (k TEXT PRIMARY KEY, v TEXT NOT NULL)";

/* The setup: one transaction (BEGIN and COMMIT through sqlite3_exec), so that it is no
 * autocommit loop; the INSERTs are prepared once each and stepped in loops. */
NOIPA static void create_library(sqlite3 *db)
{
    sqlite3_stmt *author, *book;
    char text[64];

    must(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK, "BEGIN");
    must(db, sqlite3_exec(db, SCHEMA, NULL, NULL, NULL), SQLITE_OK, "schema");
    must(db,
         sqlite3_prepare_v2(db, "INSERT INTO authors (id, name) VALUES (?, ?)", -1, &author, NULL),
         SQLITE_OK, "prepare author");
    must(db,
         sqlite3_prepare_v2(db, "INSERT INTO books (id, author_id, title) VALUES (?, ?, ?)", -1,
                            &book, NULL),
         SQLITE_OK, "prepare book");
    for (int a = 1; a <= AUTHORS; a++) {
        snprintf(text, sizeof(text), "author %d", a);
        sqlite3_bind_int(author, 1, a);
        sqlite3_bind_text(author, 2, text, -1, SQLITE_TRANSIENT);
        must(db, sqlite3_step(author), SQLITE_DONE, "insert author");
        sqlite3_reset(author);
        for (int b = 0; b < BOOKS_PER_AUTHOR; b++) {
            int id = (a - 1) * BOOKS_PER_AUTHOR + b + 1;
            snprintf(text, sizeof(text), "book %d of author %d", b, a);
            sqlite3_bind_int(book, 1, id);
            sqlite3_bind_int(book, 2, a);
            sqlite3_bind_text(book, 3, text, -1, SQLITE_TRANSIENT);
            must(db, sqlite3_step(book), SQLITE_DONE, "insert book");
            sqlite3_reset(book);
        }
    }
    sqlite3_finalize(author);
    sqlite3_finalize(book);
    must(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "COMMIT");
}

/* N+1: the inner query runs once per row of the outer one, while the outer is open. */
NOIPA static void load_books_n_plus_one(sqlite3 *db)
{
    sqlite3_stmt *outer, *inner;
    int rc, authors = 0, books = 0;

    must(db, sqlite3_prepare_v2(db, "SELECT id FROM authors", -1, &outer, NULL), SQLITE_OK,
         "prepare outer");
    must(db,
         sqlite3_prepare_v2(db, "SELECT title FROM books WHERE author_id = ?", -1, &inner, NULL),
         SQLITE_OK, "prepare inner");
    while ((rc = sqlite3_step(outer)) == SQLITE_ROW) {
        authors++;
        sqlite3_bind_int(inner, 1, sqlite3_column_int(outer, 0));
        while ((rc = sqlite3_step(inner)) == SQLITE_ROW)
            books++;
        must(db, rc, SQLITE_DONE, "step inner");
        sqlite3_reset(inner);
    }
    must(db, rc, SQLITE_DONE, "step outer");
    sqlite3_finalize(inner);
    sqlite3_finalize(outer);
    must_equal(authors, AUTHORS, "authors");
    must_equal(books, AUTHORS * BOOKS_PER_AUTHOR, "books");
    printf("nplus1 authors=%d books=%d\n", authors, books);
}

/* The fix of N+1: one query. */
NOIPA static void load_books_batched(sqlite3 *db)
{
    sqlite3_stmt *join;
    int rc, rows = 0;

    must(db,
         sqlite3_prepare_v2(db,
                            "SELECT authors.id, books.title FROM authors JOIN books ON "
                            "books.author_id = authors.id",
                            -1, &join, NULL),
         SQLITE_OK, "prepare join");
    while ((rc = sqlite3_step(join)) == SQLITE_ROW)
        rows++;
    must(db, rc, SQLITE_DONE, "step join");
    sqlite3_finalize(join);
    must_equal(rows, AUTHORS * BOOKS_PER_AUTHOR, "rows");
    printf("batched rows=%d\n", rows);
}

/* The same text prepared for every lookup. */
NOIPA static void lookup_reprepare(sqlite3 *db)
{
    sqlite3_stmt *s;
    int rc, found = 0;

    for (int i = 0; i < LOOKUPS; i++) {
        rc = sqlite3_prepare_v2(db, "SELECT name FROM authors WHERE id = ?", -1, &s, NULL);
        must(db, rc, SQLITE_OK, "prepare lookup");
        sqlite3_bind_int(s, 1, i % AUTHORS + 1);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            found++;
        must(db, rc, SQLITE_DONE, "step lookup");
        sqlite3_finalize(s);
    }
    must_equal(found, LOOKUPS, "found");
    printf("reprepare lookups=%d found=%d\n", LOOKUPS, found);
}

/* Its fix: prepared once, reset between lookups. */
NOIPA static void lookup_prepared_once(sqlite3 *db)
{
    sqlite3_stmt *s;
    int rc, found = 0;

    rc = sqlite3_prepare_v2(db, "SELECT name FROM authors WHERE id = ?", -1, &s, NULL);
    must(db, rc, SQLITE_OK, "prepare lookup");
    for (int i = 0; i < LOOKUPS; i++) {
        sqlite3_bind_int(s, 1, i % AUTHORS + 1);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            found++;
        must(db, rc, SQLITE_DONE, "step lookup");
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    must_equal(found, LOOKUPS, "found");
    printf("prepared_once lookups=%d found=%d\n", LOOKUPS, found);
}

/* Every INSERT its own transaction (autocommit). */
NOIPA static void insert_autocommit(sqlite3 *db)
{
    sqlite3_stmt *s;

    must(db, sqlite3_prepare_v2(db, "INSERT INTO events (kind, value) VALUES (?, ?)", -1, &s, NULL),
         SQLITE_OK, "prepare event");
    for (int i = 0; i < EVENTS; i++) {
        sqlite3_bind_int(s, 1, i % 4);
        sqlite3_bind_int(s, 2, i);
        must(db, sqlite3_step(s), SQLITE_DONE, "insert event");
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    printf("autocommit inserts=%d\n", EVENTS);
}

/* Its fix: the same INSERTs in one transaction, BEGIN and COMMIT through sqlite3_exec. */
NOIPA static void insert_in_transaction(sqlite3 *db)
{
    sqlite3_stmt *s;

    must(db, sqlite3_prepare_v2(db, "INSERT INTO events (kind, value) VALUES (?, ?)", -1, &s, NULL),
         SQLITE_OK, "prepare event");
    must(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK, "BEGIN");
    for (int i = 0; i < EVENTS; i++) {
        sqlite3_bind_int(s, 1, i % 4);
        sqlite3_bind_int(s, 2, i);
        must(db, sqlite3_step(s), SQLITE_DONE, "insert event");
        sqlite3_reset(s);
    }
    must(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "COMMIT");
    sqlite3_finalize(s);
    printf("transaction inserts=%d\n", EVENTS);
}

/* A connection per query. */
NOIPA static void open_per_query(void)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long total = 0;

    for (int i = 0; i < CHURN; i++) {
        int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
        must(db, rc, SQLITE_OK, "open");
        rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM authors", -1, &s, NULL);
        must(db, rc, SQLITE_OK, "prepare count");
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            total += sqlite3_column_int(s, 0);
        must(db, rc, SQLITE_DONE, "step count");
        sqlite3_finalize(s);
        must(db, sqlite3_close(db), SQLITE_OK, "close");
    }
    must_equal(total, (long)CHURN * AUTHORS, "counted");
    printf("churn connections=%d counted=%ld\n", CHURN, total);
}

/* Its fix: one connection, one prepared statement, reused. */
NOIPA static void query_pooled(void)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long total = 0;

    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
    must(db, rc, SQLITE_OK, "open");
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM authors", -1, &s, NULL);
    must(db, rc, SQLITE_OK, "prepare count");
    for (int i = 0; i < CHURN; i++) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            total += sqlite3_column_int(s, 0);
        must(db, rc, SQLITE_DONE, "step count");
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    must(db, sqlite3_close(db), SQLITE_OK, "close");
    must_equal(total, (long)CHURN * AUTHORS, "counted");
    printf("pooled queries=%d counted=%ld\n", CHURN, total);
}

struct script_rows {
    const char *expected; /* the value the UPDATE wrote */
    int rows;
    int rotated;
};

static int script_row(void *arg, int ncols, char **values, char **names)
{
    struct script_rows *r = arg;
    (void)names;
    r->rows++;
    if (ncols != 1 || !values[0] || strcmp(values[0], r->expected) != 0)
        r->rotated = 0;
    return 0;
}

/* Three statements in one sqlite3_exec, two of them with secret literals. The secrets are
 * assembled at run time: the binary does not hold them whole. */
NOIPA static void run_script(sqlite3 *db)
{
    struct script_rows r = {.expected = NULL, .rows = 0, .rotated = 1};
    char script[512], rotated[32];
    char *err = NULL;

    snprintf(rotated, sizeof(rotated), "%s-SECRET-%d", "rotated", 43);
    r.expected = rotated;
    snprintf(script, sizeof(script),
             "INSERT INTO secrets (k, v) VALUES ('api_key', '%s-SECRET-%d'); "
             "UPDATE secrets SET v = '%s' WHERE k = 'api_key'; "
             "SELECT v FROM secrets",
             "hunter2", 42, rotated);
    if (sqlite3_exec(db, script, script_row, &r, &err) != SQLITE_OK) {
        fprintf(stderr, "db_sqlite_truth: script: %s\n", err ? err : "?");
        exit(1);
    }
    must_equal(r.rows, 1, "script rows");
    must_equal(r.rotated, 1, "secret rotated");
    printf("exec_script statements=3 rows=%d\n", r.rows);
}

struct per_author {
    sqlite3 *db;
    sqlite3_stmt *count;
    int authors;
    int books;
};

/* sqlite3_exec's callback, once per author: a query of its own while the exec's SELECT is
 * open. */
NOIPA static int count_books_cb(void *arg, int ncols, char **values, char **names)
{
    struct per_author *p = arg;
    int rc;
    (void)ncols;
    (void)names;

    p->authors++;
    sqlite3_bind_int(p->count, 1, atoi(values[0]));
    while ((rc = sqlite3_step(p->count)) == SQLITE_ROW)
        p->books += sqlite3_column_int(p->count, 0);
    must(p->db, rc, SQLITE_DONE, "step count");
    sqlite3_reset(p->count);
    return 0;
}

NOIPA static void list_authors_via_exec(sqlite3 *db)
{
    struct per_author p = {db, NULL, 0, 0};
    const char *sql = "SELECT count(*) FROM books WHERE author_id = ?";

    must(db, sqlite3_prepare_v2(db, sql, -1, &p.count, NULL), SQLITE_OK, "prepare count");
    must(db, sqlite3_exec(db, "SELECT id FROM authors", count_books_cb, &p, NULL), SQLITE_OK,
         "exec");
    sqlite3_finalize(p.count);
    must_equal(p.authors, AUTHORS, "authors");
    must_equal(p.books, AUTHORS * BOOKS_PER_AUTHOR, "books");
    printf("exec_nplus1 authors=%d books=%d\n", p.authors, p.books);
}

struct worker {
    int index;
    long sum;
};

NOIPA static void *thread_queries(void *arg)
{
    struct worker *w = arg;
    sqlite3 *db;
    sqlite3_stmt *s;

    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
    must(db, rc, SQLITE_OK, "open");
    must(db, sqlite3_prepare_v2(db, "SELECT ? + ?", -1, &s, NULL), SQLITE_OK, "prepare add");
    for (int i = 0; i < PER_THREAD; i++) {
        sqlite3_bind_int(s, 1, w->index * 1000);
        sqlite3_bind_int(s, 2, i);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            w->sum += sqlite3_column_int(s, 0);
        must(db, rc, SQLITE_DONE, "step add");
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    must(db, sqlite3_close(db), SQLITE_OK, "close");
    return NULL;
}

/* The main thread holds a result open (one row stepped) while the threads run: their
 * queries are inside no other query's result on their own thread. */
NOIPA static void run_threads(sqlite3 *db)
{
    pthread_t tids[THREADS];
    struct worker workers[THREADS];
    sqlite3_stmt *held;
    long sum = 0;

    must(db, sqlite3_prepare_v2(db, "SELECT id FROM authors", -1, &held, NULL), SQLITE_OK,
         "prepare held");
    must(db, sqlite3_step(held), SQLITE_ROW, "step held");
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){.index = t, .sum = 0};
        if (pthread_create(&tids[t], NULL, thread_queries, &workers[t]) != 0) {
            fprintf(stderr, "db_sqlite_truth: pthread_create failed\n");
            exit(1);
        }
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tids[t], NULL);
        sum += workers[t].sum;
    }
    sqlite3_finalize(held);
    /* sum over t, i of t * 1000 + i */
    must_equal(sum,
               1000L * PER_THREAD * (THREADS * (THREADS - 1) / 2) +
                   (long)THREADS * (PER_THREAD * (PER_THREAD - 1) / 2),
               "sum");
    printf("threads threads=%d queries=%d sum=%ld\n", THREADS, THREADS * PER_THREAD, sum);
}

/* INSERTs that fail at their step (the ids exist): executions with errors. */
NOIPA static void insert_duplicates(sqlite3 *db)
{
    sqlite3_stmt *s;
    int failures = 0;

    must(db, sqlite3_prepare_v2(db, "INSERT INTO authors (id, name) VALUES (?, ?)", -1, &s, NULL),
         SQLITE_OK, "prepare duplicate");
    for (int i = 1; i <= DUPLICATES; i++) {
        sqlite3_bind_int(s, 1, i);
        sqlite3_bind_text(s, 2, "duplicate", -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_CONSTRAINT)
            failures++;
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    must_equal(failures, DUPLICATES, "constraint failures");
    printf("constraint failures=%d\n", failures);
}

#define READINGS 1000000
#define SENSORS  1000
#define SCANS    20

static void fill_readings(sqlite3 *db, int with_index)
{
    sqlite3_stmt *s;

    must(db,
         sqlite3_exec(db,
                      "CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor INTEGER NOT NULL, "
                      "value INTEGER NOT NULL); BEGIN",
                      NULL, NULL, NULL),
         SQLITE_OK, "create readings");
    must(db,
         sqlite3_prepare_v2(db, "INSERT INTO readings (sensor, value) VALUES (?, ?)", -1, &s, NULL),
         SQLITE_OK, "prepare readings");
    for (int i = 0; i < READINGS; i++) {
        sqlite3_bind_int(s, 1, i % SENSORS);
        sqlite3_bind_int(s, 2, i);
        must(db, sqlite3_step(s), SQLITE_DONE, "insert reading");
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    must(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "commit readings");
    if (with_index)
        must(db,
             sqlite3_exec(db, "CREATE INDEX readings_by_sensor ON readings (sensor)", NULL, NULL,
                          NULL),
             SQLITE_OK, "index readings");
}

/* The query slow_query is about: a count over one sensor's readings, SCANS times. */
NOIPA static void scan_readings(sqlite3 *db)
{
    sqlite3_stmt *s;
    long total = 0;

    must(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM readings WHERE sensor = ?", -1, &s, NULL),
         SQLITE_OK, "prepare scan");
    for (int i = 0; i < SCANS; i++) {
        sqlite3_bind_int(s, 1, i * 37 % SENSORS);
        must(db, sqlite3_step(s), SQLITE_ROW, "scan");
        total += sqlite3_column_int(s, 0);
        must(db, sqlite3_step(s), SQLITE_DONE, "scan done");
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    must_equal(total, (long)SCANS * (READINGS / SENSORS), "readings counted");
    printf("scans=%d readings=%ld\n", SCANS, total);
}

static void remove_old(const char *path)
{
    char journal[4096];

    if (unlink(path) != 0 && errno != ENOENT) {
        perror(path);
        exit(1);
    }
    snprintf(journal, sizeof(journal), "%s-journal", path);
    unlink(journal);
}

int main(int argc, char **argv)
{
    static const char *const modes[] = {
        "nplus1",      "batched",    "reprepare", "prepared_once", "autocommit",
        "transaction", "churn",      "pooled",    "exec_script",   "exec_nplus1",
        "threads",     "constraint", "slow_scan", "indexed",       "none",
    };
    const char *mode = argc == 3 ? argv[1] : "";
    int known = 0;
    sqlite3 *db;

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        known |= strcmp(mode, modes[i]) == 0;
    if (!known) {
        fprintf(stderr, "usage: db_sqlite_truth MODE DBFILE\nmodes:");
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            fprintf(stderr, " %s", modes[i]);
        fprintf(stderr, "\n");
        return 2;
    }
    db_path = argv[2];
    if (strcmp(mode, "none") == 0) {
        printf("none\n");
        return 0;
    }
    remove_old(db_path);
    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    must(db, rc, SQLITE_OK, "open");
    create_library(db);

    if (strcmp(mode, "nplus1") == 0)
        load_books_n_plus_one(db);
    else if (strcmp(mode, "batched") == 0)
        load_books_batched(db);
    else if (strcmp(mode, "reprepare") == 0)
        lookup_reprepare(db);
    else if (strcmp(mode, "prepared_once") == 0)
        lookup_prepared_once(db);
    else if (strcmp(mode, "autocommit") == 0)
        insert_autocommit(db);
    else if (strcmp(mode, "transaction") == 0)
        insert_in_transaction(db);
    else if (strcmp(mode, "churn") == 0)
        open_per_query();
    else if (strcmp(mode, "pooled") == 0)
        query_pooled();
    else if (strcmp(mode, "exec_script") == 0)
        run_script(db);
    else if (strcmp(mode, "exec_nplus1") == 0)
        list_authors_via_exec(db);
    else if (strcmp(mode, "threads") == 0)
        run_threads(db);
    else if (strcmp(mode, "constraint") == 0)
        insert_duplicates(db);
    else if (strcmp(mode, "slow_scan") == 0 || strcmp(mode, "indexed") == 0) {
        fill_readings(db, strcmp(mode, "indexed") == 0);
        scan_readings(db);
    }

    must(db, sqlite3_close(db), SQLITE_OK, "close");
    return 0;
}
