/*
 * hooks_mysql — the MySQL/MariaDB client library (libmariadb, the MySQL C API), reached
 * through patched GOT slots (db_hooks.h). An execution is a mysql_query/mysql_real_query
 * call, and for a statement with a result set the mysql_store_result or mysql_use_result
 * that takes it (its time is both calls'); its result set is open until mysql_free_result:
 * a query run meanwhile on the thread ran inside a loop over it (N+1). Rows: mysql_num_rows
 * of a stored result; rows of a used result (streamed) and of a prepared statement are
 * counted as mysql_fetch_row / mysql_stmt_fetch return them, and added to the execution's
 * site when the result is freed or the statement executed again or closed. Prepared
 * statements: mysql_stmt_prepare counts a prepare of its text, mysql_stmt_execute an
 * execution (bound values are not read: no distinct parameter sets for them). The
 * transaction state comes from the server's status (SERVER_STATUS_IN_TRANS). Connections
 * are named host:port/database user (the socket path for a local one), never a password.
 *
 * libmariadb calls its own functions (mysql_query through mysql_real_query) through its PLT:
 * those slots are not patched, so nothing is counted twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../sampler/clock.h"
#include "../../sampler/interposed/capture.h"
#include "../../sampler/interposed/db_sites.h"
#include "../../sampler/interposed/hooks.h"
#include "../got_patch.h"
#include "db_hooks.h"

typedef struct st_mysql MYSQL;
typedef struct st_mysql_res MYSQL_RES;
typedef struct st_mysql_stmt MYSQL_STMT;
typedef char **MYSQL_ROW;

#define SERVER_STATUS_IN_TRANS           1
#define MARIADB_CONNECTION_SERVER_STATUS 30 /* enum mariadb_value (mysql.h) */

enum hook {
    H_REAL_CONNECT,
    H_CLOSE,
    H_QUERY,
    H_REAL_QUERY,
    H_STORE_RESULT,
    H_USE_RESULT,
    H_FETCH_ROW,
    H_FREE_RESULT,
    H_STMT_INIT,
    H_STMT_PREPARE,
    H_STMT_EXECUTE,
    H_STMT_FETCH,
    H_STMT_CLOSE,
    H__COUNT
};

size_t ns_mysql_base; /* where this table starts in the process's one (db_hooks.c) */

#define REAL(h, type) ((type)ns_got_original(ns_mysql_base + (h), __builtin_return_address(0)))
#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

static inline int db_on(void)
{
    return ns_hooks_enabled() & NS_HOOK_DB;
}

enum { FN_FIELD_COUNT, FN_NUM_ROWS, FN_GET_INFOV, FN__COUNT };
static const char *const helper_names[FN__COUNT] = {"mysql_field_count", "mysql_num_rows",
                                                    "mariadb_get_infov"};

static const struct ns_db_lib *lib_of(const void *real)
{
    return ns_db_lib_of(real, helper_names, FN__COUNT);
}

/* Outside an explicit transaction, by the server's last status. */
static int autocommit(const struct ns_db_lib *l, MYSQL *m)
{
    char (*infov)(MYSQL *, int, void *, ...) = l ? l->fn[FN_GET_INFOV] : NULL;
    unsigned int status = 0;
    return infov && m && infov(m, MARIADB_CONNECTION_SERVER_STATUS, &status) == 0 &&
           !(status & SERVER_STATUS_IN_TRANS);
}

static uint32_t id_connect, id_close, id_query, id_real_query, id_stmt_prepare, id_stmt_execute;

/* ---- per connection: a query waiting for its result to be taken; per result or
 * statement: rows still being fetched; per statement: its query and connection ---- */

#define SLOTS 256

struct pending {
    const MYSQL *conn;
    uint32_t query;
    uint64_t time_ns;
    struct ns_dbt_start start;
};

struct fetching { /* a used result or an executed statement whose rows are being fetched */
    const void *handle;
    const void *origin;
    uint32_t query;
    uint64_t rows;
};

struct statement {
    const MYSQL_STMT *stmt;
    const MYSQL *conn;
    uint32_t query;
};

static struct {
    pthread_mutex_t lock;
    int nfetching; /* entries of fetching in use (atomic): none, a row costs no lookup */
    struct pending pending[SLOTS];
    struct fetching fetching[SLOTS];
    struct statement statements[SLOTS * 4];
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define FIND(arr, field, key)                                                                      \
    ({                                                                                             \
        __typeof__(&(arr)[0]) found_ = NULL;                                                       \
        for (size_t i_ = 0; i_ < sizeof(arr) / sizeof((arr)[0]) && !found_; i_++)                  \
            if ((arr)[i_].field == (key))                                                          \
                found_ = &(arr)[i_];                                                               \
        found_;                                                                                    \
    })

/* Rows fetched from a handle, added to its execution's site (on this thread). */
static void flush_rows(struct ns_thread *th, const void *handle)
{
    pthread_mutex_lock(&M.lock);
    struct fetching *f = FIND(M.fetching, handle, handle);
    struct fetching got = f ? *f : (struct fetching){0};
    if (f) {
        f->handle = NULL;
        __atomic_sub_fetch(&M.nfetching, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&M.lock);
    if (!got.rows || !got.origin)
        return;
    struct ns_site *s =
        ns_site_get(th, NS_SITE_DB_EXEC, (struct ns_stack_entry *)got.origin, got.query);
    if (s)
        s->bytes += got.rows;
}

static void start_fetching(const void *handle, const void *origin, uint32_t query)
{
    pthread_mutex_lock(&M.lock);
    struct fetching *f = FIND(M.fetching, handle, handle);
    if (!f && (f = FIND(M.fetching, handle, NULL)) != NULL)
        __atomic_add_fetch(&M.nfetching, 1, __ATOMIC_RELAXED);
    if (f)
        *f = (struct fetching){handle, origin, query, 0};
    pthread_mutex_unlock(&M.lock);
}

static void count_row(const void *handle)
{
    if (!__atomic_load_n(&M.nfetching, __ATOMIC_RELAXED))
        return; /* a stored result's rows are counted already */
    pthread_mutex_lock(&M.lock);
    struct fetching *f = FIND(M.fetching, handle, handle);
    if (f)
        f->rows++;
    pthread_mutex_unlock(&M.lock);
}

/* ---- connections ---- */

static MYSQL *hook_real_connect(MYSQL *m, const char *host, const char *user, const char *passwd,
                                const char *db, unsigned int port, const char *socket,
                                unsigned long flags)
{
    MYSQL *(*real)(MYSQL *, const char *, const char *, const char *, const char *, unsigned int,
                   const char *, unsigned long) =
        REAL(H_REAL_CONNECT, MYSQL * (*)(MYSQL *, const char *, const char *, const char *,
                                         const char *, unsigned int, const char *, unsigned long));
    if (!real)
        return NULL;
    if (!db_on())
        return real(m, host, user, passwd, db, port, socket, flags);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    MYSQL *c = real(m, host, user, passwd, db, port, socket, flags);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = c ? ns_hook_enter(NS_HOOK_DB) : NULL;
    if (th) {
        char text[1024];
        int local = !host || !*host || strcmp(host, "localhost") == 0;
        if (local && socket && *socket)
            snprintf(text, sizeof(text), "%s/%s %s", socket, db ? db : "", user ? user : "");
        else
            snprintf(text, sizeof(text), "%s:%u/%s %s", host && *host ? host : "localhost",
                     port ? port : 3306, db ? db : "", user ? user : "");
        ns_db_opened(th, &r, &id_connect, "mysql_real_connect", c, "mysql", text, t1 - t0);
        ns_hook_leave(th);
    }
    errno = saved;
    ns_db_hooks_refresh();
    return c;
}

static void hook_close(MYSQL *m)
{
    void (*real)(MYSQL *) = REAL(H_CLOSE, void (*)(MYSQL *));
    if (!real)
        return;
    if (!db_on() || !m) {
        real(m);
        return;
    }
    CALLER(r);
    uint32_t database = ns_db_conn_get(m);
    uint64_t t0 = ns_now_ns();
    real(m);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    pthread_mutex_lock(&M.lock);
    struct pending *p = FIND(M.pending, conn, m);
    if (p)
        p->conn = NULL;
    pthread_mutex_unlock(&M.lock);
    errno = saved;
    ns_db_closed(&r, &id_close, "mysql_close", m, database, t1 - t0);
}

/* ---- queries ---- */

static uint32_t query_of(const MYSQL *conn, const char *sql, size_t len, uint64_t *hash, int *lits)
{
    uint32_t database = ns_db_conn_get(conn);
    if (!database)
        database = ns_db_database("mysql", "(connected before nsprof looked)");
    return sql ? ns_db_query(database, sql, len, NS_SQL_MYSQL, hash, lits) : 0;
}

/* A query call returned rc: done now (an error, or no result set), or waiting for its
 * result to be taken. */
static void queried(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                    const void *real, MYSQL *m, const char *sql, size_t len, int was_auto, int rc,
                    uint64_t t0)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    if (th) {
        uint64_t hash;
        int lits;
        uint32_t q = query_of(m, sql, len, &hash, &lits);
        const struct ns_db_lib *l = lib_of(real);
        unsigned int (*field_count)(MYSQL *) = l ? l->fn[FN_FIELD_COUNT] : NULL;
        struct ns_dbt_start start = {
            .origin = ns_capture(th, caller, ns_pseudo_name_cached(name_id, name)),
            .params_hash = hash,
            .has_params = (uint8_t)lits,
            .autocommit = (uint8_t)was_auto,
        };
        if (q && (rc != 0 || !field_count || field_count(m) == 0)) {
            ns_db_set_thread(th);
            ns_dbt_executed(&ns_db_tracker, NULL, q, 0, t1 - t0, rc != 0, (uint32_t)th->tid,
                            &start);
        } else if (q) {
            pthread_mutex_lock(&M.lock);
            struct pending *p = FIND(M.pending, conn, m);
            if (!p)
                p = FIND(M.pending, conn, NULL);
            if (p)
                *p = (struct pending){m, q, t1 - t0, start};
            pthread_mutex_unlock(&M.lock);
        }
        ns_hook_leave(th);
    }
    errno = saved;
}

static int hook_query(MYSQL *m, const char *sql)
{
    int (*real)(MYSQL *, const char *) = REAL(H_QUERY, int (*)(MYSQL *, const char *));
    if (!real)
        return 1;
    if (!db_on())
        return real(m, sql);
    CALLER(r);
    int was_auto = autocommit(lib_of((const void *)real), m);
    uint64_t t0 = ns_now_ns();
    int rc = real(m, sql);
    queried(&r, &id_query, "mysql_query", (const void *)real, m, sql, sql ? strlen(sql) : 0,
            was_auto, rc, t0);
    return rc;
}

static int hook_real_query(MYSQL *m, const char *sql, unsigned long len)
{
    int (*real)(MYSQL *, const char *, unsigned long) =
        REAL(H_REAL_QUERY, int (*)(MYSQL *, const char *, unsigned long));
    if (!real)
        return 1;
    if (!db_on())
        return real(m, sql, len);
    CALLER(r);
    int was_auto = autocommit(lib_of((const void *)real), m);
    uint64_t t0 = ns_now_ns();
    int rc = real(m, sql, len);
    queried(&r, &id_real_query, "mysql_real_query", (const void *)real, m, sql, len, was_auto, rc,
            t0);
    return rc;
}

/* The result of the query waiting on m was taken (stored: rows known; used: streamed). */
static void taken(const void *real, MYSQL *m, MYSQL_RES *res, int stored, uint64_t t0)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    if (th) {
        pthread_mutex_lock(&M.lock);
        struct pending *p = FIND(M.pending, conn, m);
        struct pending got = p ? *p : (struct pending){0};
        if (p)
            p->conn = NULL;
        pthread_mutex_unlock(&M.lock);
        if (got.query) {
            const struct ns_db_lib *l = lib_of(real);
            unsigned long long (*num_rows)(MYSQL_RES *) = l ? l->fn[FN_NUM_ROWS] : NULL;
            uint64_t rows = stored && res && num_rows ? num_rows(res) : 0;
            if (!stored && res)
                start_fetching(res, got.start.origin, got.query);
            ns_db_set_thread(th);
            ns_dbt_executed(&ns_db_tracker, res, got.query, rows, got.time_ns + (t1 - t0), !res,
                            (uint32_t)th->tid, &got.start);
        }
        ns_hook_leave(th);
    }
    errno = saved;
}

static MYSQL_RES *hook_store_result(MYSQL *m)
{
    MYSQL_RES *(*real)(MYSQL *) = REAL(H_STORE_RESULT, MYSQL_RES * (*)(MYSQL *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(m);
    uint64_t t0 = ns_now_ns();
    MYSQL_RES *res = real(m);
    taken((const void *)real, m, res, 1, t0);
    return res;
}

static MYSQL_RES *hook_use_result(MYSQL *m)
{
    MYSQL_RES *(*real)(MYSQL *) = REAL(H_USE_RESULT, MYSQL_RES * (*)(MYSQL *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(m);
    uint64_t t0 = ns_now_ns();
    MYSQL_RES *res = real(m);
    taken((const void *)real, m, res, 0, t0);
    return res;
}

static MYSQL_ROW hook_fetch_row(MYSQL_RES *res)
{
    MYSQL_ROW (*real)(MYSQL_RES *) = REAL(H_FETCH_ROW, MYSQL_ROW(*)(MYSQL_RES *));
    if (!real)
        return NULL;
    MYSQL_ROW row = real(res);
    if (row && db_on())
        count_row(res);
    return row;
}

static void hook_free_result(MYSQL_RES *res)
{
    void (*real)(MYSQL_RES *) = REAL(H_FREE_RESULT, void (*)(MYSQL_RES *));
    if (!real)
        return;
    if (db_on() && res) {
        int saved = errno;
        struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
        if (th) {
            flush_rows(th, res);
            ns_hook_leave(th);
        }
        ns_dbt_cleared(&ns_db_tracker, res);
        errno = saved;
    }
    real(res);
}

/* ---- prepared statements ---- */

static MYSQL_STMT *hook_stmt_init(MYSQL *m)
{
    MYSQL_STMT *(*real)(MYSQL *) = REAL(H_STMT_INIT, MYSQL_STMT * (*)(MYSQL *));
    if (!real)
        return NULL;
    MYSQL_STMT *s = real(m);
    if (s && db_on()) {
        pthread_mutex_lock(&M.lock);
        struct statement *e = FIND(M.statements, stmt, s);
        if (!e)
            e = FIND(M.statements, stmt, NULL);
        if (e)
            *e = (struct statement){s, m, 0};
        pthread_mutex_unlock(&M.lock);
    }
    return s;
}

static int hook_stmt_prepare(MYSQL_STMT *s, const char *sql, unsigned long len)
{
    int (*real)(MYSQL_STMT *, const char *, unsigned long) =
        REAL(H_STMT_PREPARE, int (*)(MYSQL_STMT *, const char *, unsigned long));
    if (!real)
        return 1;
    if (!db_on())
        return real(s, sql, len);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int rc = real(s, sql, len);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = rc == 0 ? ns_hook_enter(NS_HOOK_DB) : NULL;
    if (th) {
        pthread_mutex_lock(&M.lock);
        struct statement *e = FIND(M.statements, stmt, s);
        const MYSQL *conn = e ? e->conn : NULL;
        pthread_mutex_unlock(&M.lock);
        uint64_t hash;
        int lits;
        uint32_t q = query_of(conn, sql, len, &hash, &lits);
        pthread_mutex_lock(&M.lock);
        if ((e = FIND(M.statements, stmt, s)) != NULL)
            e->query = q;
        pthread_mutex_unlock(&M.lock);
        if (q)
            ns_db_account(
                th, NS_SITE_DB_PREPARE,
                ns_capture(th, &r, ns_pseudo_name_cached(&id_stmt_prepare, "mysql_stmt_prepare")),
                q, t1 - t0);
        ns_hook_leave(th);
    }
    errno = saved;
    return rc;
}

static int hook_stmt_execute(MYSQL_STMT *s)
{
    int (*real)(MYSQL_STMT *) = REAL(H_STMT_EXECUTE, int (*)(MYSQL_STMT *));
    if (!real)
        return 1;
    if (!db_on())
        return real(s);
    CALLER(r);
    pthread_mutex_lock(&M.lock);
    struct statement *e = FIND(M.statements, stmt, s);
    struct statement st = e ? *e : (struct statement){0};
    pthread_mutex_unlock(&M.lock);
    int was_auto = autocommit(lib_of((const void *)real), (MYSQL *)st.conn);
    uint64_t t0 = ns_now_ns();
    int rc = real(s);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = st.query ? ns_hook_enter(NS_HOOK_DB) : NULL;
    if (th) {
        flush_rows(th, s); /* the previous execution's fetched rows */
        struct ns_dbt_start start = {
            .origin =
                ns_capture(th, &r, ns_pseudo_name_cached(&id_stmt_execute, "mysql_stmt_execute")),
            .autocommit = (uint8_t)was_auto,
        };
        if (rc == 0)
            start_fetching(s, start.origin, st.query);
        ns_db_set_thread(th);
        ns_dbt_executed(&ns_db_tracker, NULL, st.query, 0, t1 - t0, rc != 0, (uint32_t)th->tid,
                        &start);
        ns_hook_leave(th);
    }
    errno = saved;
    return rc;
}

static int hook_stmt_fetch(MYSQL_STMT *s)
{
    int (*real)(MYSQL_STMT *) = REAL(H_STMT_FETCH, int (*)(MYSQL_STMT *));
    if (!real)
        return 1;
    int rc = real(s);
    if (rc == 0 && db_on())
        count_row(s);
    return rc;
}

static char hook_stmt_close(MYSQL_STMT *s)
{
    char (*real)(MYSQL_STMT *) = REAL(H_STMT_CLOSE, char (*)(MYSQL_STMT *));
    if (!real)
        return 1;
    if (db_on() && s) {
        int saved = errno;
        struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
        if (th) {
            flush_rows(th, s);
            ns_hook_leave(th);
        }
        pthread_mutex_lock(&M.lock);
        struct statement *e = FIND(M.statements, stmt, s);
        if (e)
            e->stmt = NULL;
        pthread_mutex_unlock(&M.lock);
        errno = saved;
    }
    return real(s);
}

/* The order of enum hook. */
const struct ns_got_hook ns_mysql_hooks[H__COUNT] = {
    [H_REAL_CONNECT] = {"mysql_real_connect", (void *)hook_real_connect, 0},
    [H_CLOSE] = {"mysql_close", (void *)hook_close, 0},
    [H_QUERY] = {"mysql_query", (void *)hook_query, 0},
    [H_REAL_QUERY] = {"mysql_real_query", (void *)hook_real_query, 0},
    [H_STORE_RESULT] = {"mysql_store_result", (void *)hook_store_result, 0},
    [H_USE_RESULT] = {"mysql_use_result", (void *)hook_use_result, 0},
    [H_FETCH_ROW] = {"mysql_fetch_row", (void *)hook_fetch_row, 0},
    [H_FREE_RESULT] = {"mysql_free_result", (void *)hook_free_result, 0},
    [H_STMT_INIT] = {"mysql_stmt_init", (void *)hook_stmt_init, 0},
    [H_STMT_PREPARE] = {"mysql_stmt_prepare", (void *)hook_stmt_prepare, 0},
    [H_STMT_EXECUTE] = {"mysql_stmt_execute", (void *)hook_stmt_execute, 0},
    [H_STMT_FETCH] = {"mysql_stmt_fetch", (void *)hook_stmt_fetch, 0},
    [H_STMT_CLOSE] = {"mysql_stmt_close", (void *)hook_stmt_close, 0},
};
const size_t ns_mysql_nhooks = H__COUNT;
