/*
 * db_mysql_truth — MySQL/MariaDB client calls (libmariadb) whose counts are known by
 * construction (issue 14), against a server the test starts.
 *
 *   db_mysql_truth MODE SOCKET
 *
 * Every mode connects once in main() as root through the server's unix socket to database
 * nsprof and rebuilds its tables (each statement one mysql_query), then runs its work in a
 * function of its own (noipa: the call site is named exactly):
 *
 *   nplus1       load_books_n_plus_one: mysql_query(SELECT id FROM authors ORDER BY id) +
 *                mysql_store_result, 40 rows; per row, that result not yet freed, a query
 *                built with the author's id (a literal) + store_result: 40 inner executions,
 *                200 rows
 *   batched      load_books_batched: one JOIN, 200 rows
 *   streamed     stream_books: mysql_use_result of 200 rows, fetched one by one
 *   stmt         lookup_statement: mysql_stmt_prepare once, 30 × mysql_stmt_execute, each row
 *                fetched with mysql_stmt_fetch
 *   autocommit   insert_autocommit: 60 single-row INSERTs outside a transaction
 *   transaction  insert_in_transaction: the same between START TRANSACTION and COMMIT
 *   churn        connect_per_query: 20 × mysql_real_connect, one query, mysql_close
 *   pooled       query_pooled: 1 connection, 20 queries
 *
 * stdout: one line per mode, identical profiled or not. Any unexpected error: a message on
 * stderr and exit status 1.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOIPA __attribute__((noipa))

#define AUTHORS 40
#define LOOKUPS 30
#define EVENTS  60
#define CHURN   20

static const char *socket_path;

static void fail(MYSQL *m, const char *what)
{
    fprintf(stderr, "db_mysql_truth: %s: %s\n", what, m ? mysql_error(m) : "no connection");
    exit(1);
}

static void run(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        fail(m, sql);
}

static MYSQL_RES *query_rows(MYSQL *m, const char *sql)
{
    run(m, sql);
    MYSQL_RES *r = mysql_store_result(m);
    if (!r)
        fail(m, "store");
    return r;
}

static MYSQL *connect_or_die(void)
{
    MYSQL *m = mysql_init(NULL);
    if (!m || !mysql_real_connect(m, NULL, "root", NULL, "nsprof", 0, socket_path, 0))
        fail(m, "connect");
    return m;
}

static void schema(MYSQL *m)
{
    static const char *const sql[] = {
        "DROP TABLE IF EXISTS books",
        "DROP TABLE IF EXISTS authors",
        "DROP TABLE IF EXISTS events",
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE books (id INTEGER AUTO_INCREMENT PRIMARY KEY, author_id INTEGER NOT NULL, "
        "title TEXT NOT NULL)",
        "CREATE TABLE events (id INTEGER AUTO_INCREMENT PRIMARY KEY, kind INTEGER NOT NULL)",
        "INSERT INTO authors SELECT seq, CONCAT('author ', seq) FROM seq_1_to_40",
        "INSERT INTO books (author_id, title) SELECT a.seq, CONCAT('book ', b.seq) FROM "
        "seq_1_to_40 a, seq_1_to_5 b",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        run(m, sql[i]);
}

NOIPA static void load_books_n_plus_one(MYSQL *m)
{
    MYSQL_RES *outer = query_rows(m, "SELECT id FROM authors ORDER BY id");
    MYSQL_ROW row;
    long books = 0, authors = 0;
    while ((row = mysql_fetch_row(outer)) != NULL) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT title FROM books WHERE author_id = %s", row[0]);
        MYSQL_RES *inner = query_rows(m, sql);
        books += (long)mysql_num_rows(inner);
        mysql_free_result(inner);
        authors++;
    }
    mysql_free_result(outer);
    printf("nplus1 authors=%ld books=%ld\n", authors, books);
}

NOIPA static void load_books_batched(MYSQL *m)
{
    MYSQL_RES *r = query_rows(
        m,
        "SELECT authors.id, books.title FROM authors JOIN books ON books.author_id = authors.id");
    printf("batched books=%ld\n", (long)mysql_num_rows(r));
    mysql_free_result(r);
}

NOIPA static void stream_books(MYSQL *m)
{
    run(m, "SELECT title FROM books");
    MYSQL_RES *r = mysql_use_result(m);
    if (!r)
        fail(m, "use");
    long n = 0;
    while (mysql_fetch_row(r))
        n++;
    mysql_free_result(r);
    printf("streamed books=%ld\n", n);
}

NOIPA static void lookup_statement(MYSQL *m)
{
    static const char sql[] = "SELECT name FROM authors WHERE id = ?";
    MYSQL_STMT *s = mysql_stmt_init(m);
    if (!s || mysql_stmt_prepare(s, sql, strlen(sql)) != 0)
        fail(m, "prepare");
    long found = 0;
    for (int i = 1; i <= LOOKUPS; i++) {
        MYSQL_BIND in, out;
        char name[64];
        unsigned long len = 0;
        int id = i;
        memset(&in, 0, sizeof(in));
        memset(&out, 0, sizeof(out));
        in.buffer_type = MYSQL_TYPE_LONG;
        in.buffer = &id;
        out.buffer_type = MYSQL_TYPE_STRING;
        out.buffer = name;
        out.buffer_length = sizeof(name);
        out.length = &len;
        if (mysql_stmt_bind_param(s, &in) || mysql_stmt_execute(s) ||
            mysql_stmt_bind_result(s, &out))
            fail(m, mysql_stmt_error(s));
        while (mysql_stmt_fetch(s) == 0)
            found++;
    }
    mysql_stmt_close(s);
    printf("stmt found=%ld\n", found);
}

static void insert_events(MYSQL *m)
{
    for (int i = 0; i < EVENTS; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "INSERT INTO events (kind) VALUES (%d)", i);
        run(m, sql);
    }
}

NOIPA static void insert_autocommit(MYSQL *m)
{
    insert_events(m);
    printf("autocommit events=%d\n", EVENTS);
}

NOIPA static void insert_in_transaction(MYSQL *m)
{
    run(m, "START TRANSACTION");
    insert_events(m);
    run(m, "COMMIT");
    printf("transaction events=%d\n", EVENTS);
}

NOIPA static void connect_per_query(void)
{
    long rows = 0;
    for (int i = 0; i < CHURN; i++) {
        MYSQL *m = connect_or_die();
        MYSQL_RES *r = query_rows(m, "SELECT count(*) FROM authors");
        rows += (long)mysql_num_rows(r);
        mysql_free_result(r);
        mysql_close(m);
    }
    printf("churn queries=%ld\n", rows);
}

NOIPA static void query_pooled(MYSQL *m)
{
    long rows = 0;
    for (int i = 0; i < CHURN; i++) {
        MYSQL_RES *r = query_rows(m, "SELECT count(*) FROM authors");
        rows += (long)mysql_num_rows(r);
        mysql_free_result(r);
    }
    printf("pooled queries=%ld\n", rows);
}

int main(int argc, char **argv)
{
    static const char *const modes[] = {"nplus1",     "batched",     "streamed", "stmt",
                                        "autocommit", "transaction", "churn",    "pooled"};
    const char *mode = argc == 3 ? argv[1] : "";
    int known = 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        known |= strcmp(mode, modes[i]) == 0;
    if (!known) {
        fprintf(stderr, "usage: db_mysql_truth MODE SOCKET\n");
        return 2;
    }
    socket_path = argv[2];
    MYSQL *m = connect_or_die();
    schema(m);
    if (strcmp(mode, "nplus1") == 0)
        load_books_n_plus_one(m);
    else if (strcmp(mode, "batched") == 0)
        load_books_batched(m);
    else if (strcmp(mode, "streamed") == 0)
        stream_books(m);
    else if (strcmp(mode, "stmt") == 0)
        lookup_statement(m);
    else if (strcmp(mode, "autocommit") == 0)
        insert_autocommit(m);
    else if (strcmp(mode, "transaction") == 0)
        insert_in_transaction(m);
    else if (strcmp(mode, "churn") == 0)
        connect_per_query();
    else
        query_pooled(m);
    mysql_close(m);
    return 0;
}
