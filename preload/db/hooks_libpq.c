/*
 * hooks_libpq — PostgreSQL's client library (libpq), reached through patched GOT slots
 * (db_hooks.h). An execution is one call that returns its result (PQexec, PQexecParams,
 * PQexecPrepared: rows from PQntuples, an error from PQresultStatus), or a query sent with
 * PQsendQuery / PQsendQueryParams / PQsendQueryPrepared whose results PQgetResult returns
 * until its NULL: its time runs from the send to that NULL, and so includes whatever the
 * application did in between (in pipeline mode, or an event loop on PQconsumeInput and
 * PQisBusy, that is its own work too). A result set is open from the call that returned it
 * to its PQclear: a query executed meanwhile on the thread ran inside a loop over it.
 * PQprepare counts a prepare of its text and names it for PQexecPrepared. Connections are
 * named host:port/database user (a socket directory for host), never a password.
 *
 * libpq calls its own functions (PQexec sends through PQsendQuery) through its PLT: those
 * slots are not patched, so nothing is counted twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../sampler/clock.h"
#include "../../sampler/interposed/capture.h"
#include "../../sampler/interposed/hooks.h"
#include "../got_patch.h"
#include "db_hooks.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
typedef unsigned int Oid;

enum { CONNECTION_OK = 0 };
enum {
    PGRES_TUPLES_OK = 2,
    PGRES_BAD_RESPONSE = 5,
    PGRES_NONFATAL_ERROR = 6,
    PGRES_FATAL_ERROR = 7,
    PGRES_SINGLE_TUPLE = 9,
    PGRES_PIPELINE_SYNC = 10,
    PGRES_PIPELINE_ABORTED = 11,
};
enum { PQTRANS_IDLE = 0 };

enum hook {
    H_CONNECTDB,
    H_CONNECTDB_PARAMS,
    H_SETDB_LOGIN,
    H_FINISH,
    H_EXEC,
    H_EXEC_PARAMS,
    H_PREPARE,
    H_EXEC_PREPARED,
    H_SEND_QUERY,
    H_SEND_QUERY_PARAMS,
    H_SEND_QUERY_PREPARED,
    H_GET_RESULT,
    H_CLEAR,
    H__COUNT
};

size_t ns_pq_base; /* where this table starts in the process's one (db_hooks.c) */

#define REAL(h, type) ((type)ns_got_original(ns_pq_base + (h), __builtin_return_address(0)))
#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

static inline int db_on(void)
{
    return ns_hooks_enabled() & NS_HOOK_DB;
}

/* ---- the library copy's own functions ---- */

enum {
    FN_NTUPLES,
    FN_RESULT_STATUS,
    FN_TRANSACTION_STATUS,
    FN_STATUS,
    FN_HOST,
    FN_PORT,
    FN_DB,
    FN_USER,
    FN__COUNT
};
static const char *const helper_names[FN__COUNT] = {
    "PQntuples", "PQresultStatus", "PQtransactionStatus", "PQstatus", "PQhost", "PQport",
    "PQdb",      "PQuser"};

static const struct ns_db_lib *lib_of(const void *real)
{
    return ns_db_lib_of(real, helper_names, FN__COUNT);
}

static int result_status(const struct ns_db_lib *l, const PGresult *r)
{
    int (*f)(const PGresult *) = l ? l->fn[FN_RESULT_STATUS] : NULL;
    return f && r ? f(r) : PGRES_FATAL_ERROR;
}

static uint64_t result_rows(const struct ns_db_lib *l, const PGresult *r)
{
    int (*f)(const PGresult *) = l ? l->fn[FN_NTUPLES] : NULL;
    int st = result_status(l, r);
    return f && (st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE) ? (uint64_t)f(r) : 0;
}

static int is_error(int status)
{
    return status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR ||
           status == PGRES_FATAL_ERROR || status == PGRES_PIPELINE_ABORTED;
}

static int idle(const struct ns_db_lib *l, const PGconn *c)
{
    int (*f)(const PGconn *) = l ? l->fn[FN_TRANSACTION_STATUS] : NULL;
    return f && c && f(c) == PQTRANS_IDLE;
}

/* ---- names ---- */

static uint32_t id_connectdb, id_connectdb_params, id_setdb_login, id_finish, id_exec,
    id_exec_params, id_prepare, id_exec_prepared, id_send, id_send_params, id_send_prepared;

/* The parameters' values (text, or binary with their lengths), as one set. */
static uint64_t params_hash(int n, const char *const *values, const int *lengths,
                            const int *formats)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; values && i < n && i < 64; i++) {
        const unsigned char *v = (const unsigned char *)values[i];
        size_t len = !v                                 ? 0
                     : formats && formats[i] && lengths ? (size_t)lengths[i]
                                                        : strlen((const char *)v);
        uint64_t x = v ? 1469598103934665603ull : 0x5bd1e995u; /* NULL is a value too */
        for (size_t k = 0; k < len && k < 256; k++)
            x = (x ^ v[k]) * 1099511628211ull;
        h = ns_db_mix(h, ns_db_mix(x, (uint64_t)i));
    }
    return h;
}

/* ---- connections ---- */

static void opened(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                   const void *real, PGconn *conn, uint64_t t0)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    const struct ns_db_lib *l = lib_of(real);
    int (*status)(const PGconn *) = l ? l->fn[FN_STATUS] : NULL;
    struct ns_thread *th =
        conn && status && status(conn) == CONNECTION_OK ? ns_hook_enter(NS_HOOK_DB) : NULL;
    if (th) {
        const char *(*get[4])(const PGconn *) = {l->fn[FN_HOST], l->fn[FN_PORT], l->fn[FN_DB],
                                                 l->fn[FN_USER]};
        const char *v[4];
        for (int i = 0; i < 4; i++)
            v[i] = get[i] ? get[i](conn) : NULL;
        char text[1024];
        snprintf(text, sizeof(text), "%s:%s/%s %s", v[0] ? v[0] : "?", v[1] ? v[1] : "?",
                 v[2] ? v[2] : "?", v[3] ? v[3] : "?");
        ns_db_opened(th, caller, name_id, name, conn, "postgresql", text, t1 - t0);
        ns_hook_leave(th);
    }
    errno = saved;
    ns_db_hooks_refresh();
}

static PGconn *hook_connectdb(const char *conninfo)
{
    PGconn *(*real)(const char *) = REAL(H_CONNECTDB, PGconn * (*)(const char *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(conninfo);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    PGconn *c = real(conninfo);
    opened(&r, &id_connectdb, "PQconnectdb", (const void *)real, c, t0);
    return c;
}

static PGconn *hook_connectdb_params(const char *const *keys, const char *const *values, int expand)
{
    PGconn *(*real)(const char *const *, const char *const *, int) =
        REAL(H_CONNECTDB_PARAMS, PGconn * (*)(const char *const *, const char *const *, int));
    if (!real)
        return NULL;
    if (!db_on())
        return real(keys, values, expand);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    PGconn *c = real(keys, values, expand);
    opened(&r, &id_connectdb_params, "PQconnectdbParams", (const void *)real, c, t0);
    return c;
}

static PGconn *hook_setdb_login(const char *host, const char *port, const char *options,
                                const char *tty, const char *db, const char *user, const char *pwd)
{
    PGconn *(*real)(const char *, const char *, const char *, const char *, const char *,
                    const char *, const char *) =
        REAL(H_SETDB_LOGIN, PGconn * (*)(const char *, const char *, const char *, const char *,
                                         const char *, const char *, const char *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(host, port, options, tty, db, user, pwd);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    PGconn *c = real(host, port, options, tty, db, user, pwd);
    opened(&r, &id_setdb_login, "PQsetdbLogin", (const void *)real, c, t0);
    return c;
}

/* ---- prepared statement names and queries sent, per connection ---- */

#define NAMED    4096
#define CONNS    64
#define PENDING  16
#define NAME_MAX 64

struct named {
    const PGconn *conn;
    char name[NAME_MAX];
    uint32_t query;
};

struct sent {
    uint32_t query;
    uint64_t t0, rows;
    int error;
    struct ns_dbt_start start;
};

struct conn_sent {
    const PGconn *conn;
    struct sent q[PENDING];
    unsigned head, n;
};

static struct {
    pthread_mutex_t lock;
    struct named named[NAMED];
    struct conn_sent sent[CONNS];
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned named_slot(const PGconn *c, const char *name)
{
    uint64_t h = (uint64_t)(uintptr_t)c * 0x9e3779b97f4a7c15ull;
    for (; name && *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211ull;
    return (unsigned)(h >> 40) & (NAMED - 1);
}

/* A bounded table: a name that finds no room within a few probes is not kept (its
 * executions are then counted under "EXECUTE name"). */
static void name_set(const PGconn *c, const char *name, uint32_t query)
{
    if (!name || strlen(name) >= NAME_MAX)
        return;
    pthread_mutex_lock(&P.lock);
    for (unsigned i = named_slot(c, name), k = 0; k < 16; i = (i + 1) & (NAMED - 1), k++) {
        struct named *e = &P.named[i];
        if (!e->conn || (e->conn == c && strcmp(e->name, name) == 0)) {
            e->conn = c;
            snprintf(e->name, sizeof(e->name), "%s", name);
            e->query = query;
            break;
        }
    }
    pthread_mutex_unlock(&P.lock);
}

static uint32_t name_get(const PGconn *c, const char *name)
{
    uint32_t q = 0;
    pthread_mutex_lock(&P.lock);
    for (unsigned i = named_slot(c, name), k = 0; name && k < 16; i = (i + 1) & (NAMED - 1), k++)
        if (P.named[i].conn == c && strcmp(P.named[i].name, name) == 0) {
            q = P.named[i].query;
            break;
        }
    pthread_mutex_unlock(&P.lock);
    return q;
}

/* A connection closed: its names and queries in flight go (its address may come back). */
static void conn_forget(const PGconn *c)
{
    pthread_mutex_lock(&P.lock);
    for (unsigned i = 0; i < NAMED; i++)
        if (P.named[i].conn == c)
            P.named[i].conn = NULL;
    for (unsigned i = 0; i < CONNS; i++)
        if (P.sent[i].conn == c)
            P.sent[i].conn = NULL;
    pthread_mutex_unlock(&P.lock);
}

static struct conn_sent *sent_of(const PGconn *c, int create)
{
    struct conn_sent *free_slot = NULL;
    for (unsigned i = 0; i < CONNS; i++) {
        if (P.sent[i].conn == c)
            return &P.sent[i];
        if (!P.sent[i].conn && !free_slot)
            free_slot = &P.sent[i];
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->conn = c;
    return free_slot;
}

/* ---- executions ---- */

/* The query of a text on conn's database (normalized), and its literal values' hash. */
static uint32_t query_of(const PGconn *conn, const char *sql, uint64_t *literal_hash,
                         int *has_literals)
{
    uint32_t database = ns_db_conn_get(conn);
    if (!database)
        database = ns_db_database("postgresql", "(connected before nsprof looked)");
    return sql ? ns_db_query(database, sql, strlen(sql), NS_SQL_POSTGRES, literal_hash,
                             has_literals)
               : 0;
}

/* A one-call execution has returned res. */
/* The query a prepared statement's name stands for on conn. */
static uint32_t prepared_query(const PGconn *conn, const char *name)
{
    uint32_t q = name_get(conn, name ? name : "");
    if (!q) { /* prepared before nsprof looked, or by an SQL PREPARE: named by its name */
        char text[NAME_MAX + 16];
        snprintf(text, sizeof(text), "EXECUTE %s", name && *name ? name : "(unnamed)");
        uint64_t hash;
        int lits;
        q = query_of(conn, text, &hash, &lits);
    }
    return q;
}

/* What an execution is: its text, or the name of a statement prepared on the connection,
 * and its parameters. Resolved to a query after the call, inside the hook's guard. */
struct what {
    const char *sql, *prepared;
    int n;
    const char *const *values;
    const int *lengths, *formats;
};

static uint32_t query_what(const PGconn *conn, const struct what *w, uint64_t *hash,
                           int *has_params)
{
    int lits = 0;
    uint32_t q;
    *hash = 0;
    if (w->sql)
        q = query_of(conn, w->sql, hash, &lits);
    else
        q = prepared_query(conn, w->prepared);
    if (w->n > 0)
        *hash = ns_db_mix(*hash, params_hash(w->n, w->values, w->lengths, w->formats));
    *has_params = lits || w->n > 0;
    return q;
}

static void executed(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                     const void *real, const PGconn *conn, const struct what *w, int was_idle,
                     const PGresult *res, uint64_t t0)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    uint64_t hash;
    int has_params;
    uint32_t query = th ? query_what(conn, w, &hash, &has_params) : 0;
    if (th && query) {
        const struct ns_db_lib *l = lib_of(real);
        struct ns_dbt_start start = {
            .origin = ns_capture(th, caller, ns_pseudo_name_cached(name_id, name)),
            .params_hash = hash,
            .has_params = (uint8_t)has_params,
            .autocommit = (uint8_t)was_idle,
        };
        ns_db_set_thread(th);
        ns_dbt_executed(&ns_db_tracker, res, query, result_rows(l, res), t1 - t0,
                        is_error(result_status(l, res)), (uint32_t)th->tid, &start);
    }
    if (th)
        ns_hook_leave(th);
    errno = saved;
}

static PGresult *hook_exec(PGconn *conn, const char *sql)
{
    PGresult *(*real)(PGconn *, const char *) =
        REAL(H_EXEC, PGresult * (*)(PGconn *, const char *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(conn, sql);
    CALLER(r);
    struct what w = {.sql = sql};
    int was_idle = idle(lib_of((const void *)real), conn);
    uint64_t t0 = ns_now_ns();
    PGresult *res = real(conn, sql);
    executed(&r, &id_exec, "PQexec", (const void *)real, conn, &w, was_idle, res, t0);
    return res;
}

static PGresult *hook_exec_params(PGconn *conn, const char *sql, int n, const Oid *types,
                                  const char *const *values, const int *lengths, const int *formats,
                                  int result_format)
{
    PGresult *(*real)(PGconn *, const char *, int, const Oid *, const char *const *, const int *,
                      const int *, int) =
        REAL(H_EXEC_PARAMS, PGresult * (*)(PGconn *, const char *, int, const Oid *,
                                           const char *const *, const int *, const int *, int));
    if (!real)
        return NULL;
    if (!db_on())
        return real(conn, sql, n, types, values, lengths, formats, result_format);
    CALLER(r);
    struct what w = {.sql = sql, .n = n, .values = values, .lengths = lengths, .formats = formats};
    int was_idle = idle(lib_of((const void *)real), conn);
    uint64_t t0 = ns_now_ns();
    PGresult *res = real(conn, sql, n, types, values, lengths, formats, result_format);
    executed(&r, &id_exec_params, "PQexecParams", (const void *)real, conn, &w, was_idle, res, t0);
    return res;
}

static PGresult *hook_prepare(PGconn *conn, const char *name, const char *sql, int n,
                              const Oid *types)
{
    PGresult *(*real)(PGconn *, const char *, const char *, int, const Oid *) =
        REAL(H_PREPARE, PGresult * (*)(PGconn *, const char *, const char *, int, const Oid *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(conn, name, sql, n, types);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    PGresult *res = real(conn, name, sql, n, types);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    if (th) {
        uint64_t hash;
        int lits;
        uint32_t q = query_of(conn, sql, &hash, &lits);
        if (q && !is_error(result_status(lib_of((const void *)real), res))) {
            name_set(conn, name ? name : "", q);
            ns_db_account(th, NS_SITE_DB_PREPARE,
                          ns_capture(th, &r, ns_pseudo_name_cached(&id_prepare, "PQprepare")), q,
                          t1 - t0);
        }
        ns_hook_leave(th);
    }
    errno = saved;
    return res;
}

static PGresult *hook_exec_prepared(PGconn *conn, const char *name, int n,
                                    const char *const *values, const int *lengths,
                                    const int *formats, int result_format)
{
    PGresult *(*real)(PGconn *, const char *, int, const char *const *, const int *, const int *,
                      int) =
        REAL(H_EXEC_PREPARED, PGresult * (*)(PGconn *, const char *, int, const char *const *,
                                             const int *, const int *, int));
    if (!real)
        return NULL;
    if (!db_on())
        return real(conn, name, n, values, lengths, formats, result_format);
    CALLER(r);
    struct what w = {.prepared = name ? name : "",
                     .n = n,
                     .values = values,
                     .lengths = lengths,
                     .formats = formats};
    int was_idle = idle(lib_of((const void *)real), conn);
    uint64_t t0 = ns_now_ns();
    PGresult *res = real(conn, name, n, values, lengths, formats, result_format);
    executed(&r, &id_exec_prepared, "PQexecPrepared", (const void *)real, conn, &w, was_idle, res,
             t0);
    return res;
}

/* A query was sent (ok: the send succeeded): it runs until PQgetResult's NULL. */
static void sent(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                 const PGconn *conn, const struct what *w, int was_idle, int ok, uint64_t t0)
{
    int saved = errno;
    struct ns_thread *th = ok ? ns_hook_enter(NS_HOOK_DB) : NULL;
    uint64_t hash;
    int has_params;
    uint32_t query = th ? query_what(conn, w, &hash, &has_params) : 0;
    if (th && query) {
        struct ns_dbt_start start = {
            .origin = ns_capture(th, caller, ns_pseudo_name_cached(name_id, name)),
            .params_hash = hash,
            .has_params = (uint8_t)has_params,
            .autocommit = (uint8_t)was_idle,
        };
        pthread_mutex_lock(&P.lock);
        struct conn_sent *s = sent_of(conn, 1);
        if (s && s->n < PENDING) {
            s->q[(s->head + s->n) % PENDING] = (struct sent){query, t0, 0, 0, start};
            s->n++;
        }
        pthread_mutex_unlock(&P.lock);
    }
    if (th)
        ns_hook_leave(th);
    errno = saved;
}

static int hook_send_query(PGconn *conn, const char *sql)
{
    int (*real)(PGconn *, const char *) = REAL(H_SEND_QUERY, int (*)(PGconn *, const char *));
    if (!real)
        return 0;
    if (!db_on())
        return real(conn, sql);
    CALLER(r);
    struct what w = {.sql = sql};
    int was_idle = idle(lib_of((const void *)real), conn);
    uint64_t t0 = ns_now_ns();
    int ok = real(conn, sql);
    sent(&r, &id_send, "PQsendQuery", conn, &w, was_idle, ok, t0);
    return ok;
}

static int hook_send_query_params(PGconn *conn, const char *sql, int n, const Oid *types,
                                  const char *const *values, const int *lengths, const int *formats,
                                  int result_format)
{
    int (*real)(PGconn *, const char *, int, const Oid *, const char *const *, const int *,
                const int *, int) =
        REAL(H_SEND_QUERY_PARAMS, int (*)(PGconn *, const char *, int, const Oid *,
                                          const char *const *, const int *, const int *, int));
    if (!real)
        return 0;
    if (!db_on())
        return real(conn, sql, n, types, values, lengths, formats, result_format);
    CALLER(r);
    struct what w = {.sql = sql, .n = n, .values = values, .lengths = lengths, .formats = formats};
    int was_idle = idle(lib_of((const void *)real), conn);
    uint64_t t0 = ns_now_ns();
    int ok = real(conn, sql, n, types, values, lengths, formats, result_format);
    sent(&r, &id_send_params, "PQsendQueryParams", conn, &w, was_idle, ok, t0);
    return ok;
}

static int hook_send_query_prepared(PGconn *conn, const char *name, int n,
                                    const char *const *values, const int *lengths,
                                    const int *formats, int result_format)
{
    int (*real)(PGconn *, const char *, int, const char *const *, const int *, const int *, int) =
        REAL(H_SEND_QUERY_PREPARED, int (*)(PGconn *, const char *, int, const char *const *,
                                            const int *, const int *, int));
    if (!real)
        return 0;
    if (!db_on())
        return real(conn, name, n, values, lengths, formats, result_format);
    CALLER(r);
    struct what w = {.prepared = name ? name : "",
                     .n = n,
                     .values = values,
                     .lengths = lengths,
                     .formats = formats};
    int was_idle = idle(lib_of((const void *)real), conn);
    uint64_t t0 = ns_now_ns();
    int ok = real(conn, name, n, values, lengths, formats, result_format);
    sent(&r, &id_send_prepared, "PQsendQueryPrepared", conn, &w, was_idle, ok, t0);
    return ok;
}

static PGresult *hook_get_result(PGconn *conn)
{
    PGresult *(*real)(PGconn *) = REAL(H_GET_RESULT, PGresult * (*)(PGconn *));
    if (!real)
        return NULL;
    if (!db_on())
        return real(conn);
    PGresult *res = real(conn);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    if (th) {
        const struct ns_db_lib *l = lib_of((const void *)real);
        int status = res ? result_status(l, res) : 0;
        struct sent done = {0};
        int finished = 0;
        pthread_mutex_lock(&P.lock);
        struct conn_sent *s = sent_of(conn, 0);
        if (s && s->n && status != PGRES_PIPELINE_SYNC) {
            struct sent *head = &s->q[s->head];
            if (res) {
                head->rows += result_rows(l, res);
                head->error |= is_error(status);
            } else { /* the head query's results are over */
                done = *head;
                s->head = (s->head + 1) % PENDING;
                s->n--;
                finished = 1;
            }
        }
        pthread_mutex_unlock(&P.lock);
        if (finished) {
            ns_db_set_thread(th);
            ns_dbt_executed(&ns_db_tracker, NULL, done.query, done.rows,
                            t1 > done.t0 ? t1 - done.t0 : 0, done.error, (uint32_t)th->tid,
                            &done.start);
        }
        ns_hook_leave(th);
    }
    errno = saved;
    return res;
}

static void hook_clear(PGresult *res)
{
    void (*real)(PGresult *) = REAL(H_CLEAR, void (*)(PGresult *));
    if (!real)
        return;
    if (db_on() && res) {
        int saved = errno;
        ns_dbt_cleared(&ns_db_tracker, res);
        errno = saved;
    }
    real(res);
}

static void hook_finish(PGconn *conn)
{
    void (*real)(PGconn *) = REAL(H_FINISH, void (*)(PGconn *));
    if (!real)
        return;
    if (!db_on() || !conn) {
        real(conn);
        return;
    }
    CALLER(r);
    uint32_t database = ns_db_conn_get(conn);
    uint64_t t0 = ns_now_ns();
    real(conn);
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    conn_forget(conn);
    errno = saved;
    ns_db_closed(&r, &id_finish, "PQfinish", conn, database, t1 - t0);
}

/* The order of enum hook. */
const struct ns_got_hook ns_pq_hooks[H__COUNT] = {
    [H_CONNECTDB] = {"PQconnectdb", (void *)hook_connectdb, 0},
    [H_CONNECTDB_PARAMS] = {"PQconnectdbParams", (void *)hook_connectdb_params, 0},
    [H_SETDB_LOGIN] = {"PQsetdbLogin", (void *)hook_setdb_login, 0},
    [H_FINISH] = {"PQfinish", (void *)hook_finish, 0},
    [H_EXEC] = {"PQexec", (void *)hook_exec, 0},
    [H_EXEC_PARAMS] = {"PQexecParams", (void *)hook_exec_params, 0},
    [H_PREPARE] = {"PQprepare", (void *)hook_prepare, 0},
    [H_EXEC_PREPARED] = {"PQexecPrepared", (void *)hook_exec_prepared, 0},
    [H_SEND_QUERY] = {"PQsendQuery", (void *)hook_send_query, 0},
    [H_SEND_QUERY_PARAMS] = {"PQsendQueryParams", (void *)hook_send_query_params, 0},
    [H_SEND_QUERY_PREPARED] = {"PQsendQueryPrepared", (void *)hook_send_query_prepared, 0},
    [H_GET_RESULT] = {"PQgetResult", (void *)hook_get_result, 0},
    [H_CLEAR] = {"PQclear", (void *)hook_clear, 0},
};
const size_t ns_pq_nhooks = H__COUNT;
