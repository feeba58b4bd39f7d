/*
 * hooks_sqlite — sqlite3's client calls, reached through patched GOT slots (db_hooks.h):
 * connections (open/close), statements prepared (their text normalized once per statement
 * handle), executions (first step to DONE, an error, reset or finalize: db_track.h) with
 * their rows, time, bound values (for distinct parameter sets) and transaction state.
 *
 * sqlite3_exec runs each statement of its script through sqlite3_prepare_v2 and
 * sqlite3_step, called through libsqlite3's own PLT: those slots are patched too
 * (NS_GOT_ALSO_OWN), and a call whose return address is inside the library counts only
 * while one of the program's sqlite3_exec calls runs on the thread — as that exec's
 * statements, at the exec's call site — so nothing is counted twice, and the queries an
 * exec callback issues itself are the program's own calls.
 *
 * The real function is the slot's previous target for the calling module
 * (ns_got_original), so two copies of the library in one process each get their own.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sampler/clock.h"
#include "../../sampler/interposed/capture.h"
#include "../../sampler/interposed/hooks.h"
#include "../../sampler/real.h"
#include "../got_patch.h"
#include "db_clock.h"
#include "db_hooks.h"

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
typedef long long sqlite3_int64;

#define SQLITE_OK     0
#define SQLITE_MISUSE 21
#define SQLITE_ROW    100
#define SQLITE_DONE   101

enum hook {
    H_OPEN,
    H_OPEN_V2,
    H_OPEN16,
    H_CLOSE,
    H_CLOSE_V2,
    H_EXEC,
    H_PREPARE,
    H_PREPARE_V2,
    H_PREPARE_V3,
    H_PREPARE16,
    H_PREPARE16_V2,
    H_PREPARE16_V3,
    H_STEP,
    H_RESET,
    H_FINALIZE,
    H_BIND_INT,
    H_BIND_INT64,
    H_BIND_DOUBLE,
    H_BIND_TEXT,
    H_BIND_BLOB,
    H_BIND_NULL,
    H__COUNT
};

#define REAL(h, type) ((type)ns_got_original((h), __builtin_return_address(0)))
#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

static inline int db_on(void)
{
    return ns_hooks_enabled() & NS_HOOK_DB;
}

/* ---- the library copies' helpers ---- */

enum { FN_DB_HANDLE, FN_GET_AUTOCOMMIT, FN__COUNT };
static const char *const helper_names[FN__COUNT] = {"sqlite3_db_handle", "sqlite3_get_autocommit"};

static const struct ns_db_lib *copy_of(const void *fn)
{
    return ns_db_lib_of(fn, helper_names, FN__COUNT);
}

/* ---- per thread: the running exec, running statements, bound values ---- */

struct exec_ctx {
    int internal; /* the library's own sqlite3_exec (reading its schema): not the program's */
    struct ns_regs caller;
    struct ns_stack_entry *stack; /* captured at its first statement */
    sqlite3_stmt *current;        /* the statement it runs now */
    struct exec_ctx *outer;       /* an exec called from an exec's callback */
};

#define RUNNING 8
#define BOUND   4
#define PARAMS  8
struct running {
    sqlite3_stmt *stmt;
    struct ns_stack_entry *stack;
};
struct bound {
    sqlite3_stmt *stmt;
    uint64_t value[PARAMS];
};
struct tls {
    struct exec_ctx *exec;
    /* The statement whose execution this thread ended last, not stepped since: its reset
     * (the usual next call) has nothing to end and need not take the tracker's lock. A
     * statement stepped on another thread in between (the program synchronizes such use)
     * would have its execution ended by its next DONE or finalize instead. */
    sqlite3_stmt *ended_here;
    struct running running[RUNNING];
    unsigned next_running;
    struct bound bound[BOUND];
    unsigned next_bound;
};
static __thread struct tls T __attribute__((tls_model("initial-exec")));

static struct running *running_of(sqlite3_stmt *s)
{
    for (int i = 0; i < RUNNING; i++)
        if (T.running[i].stmt == s)
            return &T.running[i];
    return NULL;
}

static void running_forget(sqlite3_stmt *s)
{
    struct running *r = running_of(s);
    if (r)
        r->stmt = NULL;
}

static struct bound *bound_of(sqlite3_stmt *s, int create)
{
    for (int i = 0; i < BOUND; i++)
        if (T.bound[i].stmt == s)
            return &T.bound[i];
    if (!create)
        return NULL;
    struct bound *b = &T.bound[T.next_bound++ % BOUND];
    memset(b, 0, sizeof(*b));
    b->stmt = s;
    return b;
}

static uint64_t bytes_hash(const void *p, int n)
{
    const unsigned char *s = p;
    size_t len = !s ? 0 : n < 0 ? strnlen((const char *)s, 256) : (size_t)n;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len && i < 256; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return ns_db_mix(h, len);
}

/* A parameter was bound: its value joins the statement's set (the first PARAMS). */
static void note_bound(sqlite3_stmt *s, int index, uint64_t value_hash)
{
    if (!db_on() || index < 1 || index > PARAMS)
        return;
    struct bound *b = bound_of(s, 1);
    b->value[index - 1] = ns_db_mix(value_hash, (uint64_t)index);
}

static uint64_t params_hash(sqlite3_stmt *s)
{
    struct bound *b = bound_of(s, 0);
    uint64_t h = 0;
    if (b)
        for (int i = 0; i < PARAMS; i++)
            h = ns_db_mix(h, b->value[i]);
    return h;
}

/* ---- names and stacks ---- */

static uint32_t id_step, id_exec, id_open, id_open_v2, id_open16, id_close, id_close_v2;
static uint32_t id_prepare[6];
static const char *const prepare_names[6] = {"sqlite3_prepare",      "sqlite3_prepare_v2",
                                             "sqlite3_prepare_v3",   "sqlite3_prepare16",
                                             "sqlite3_prepare16_v2", "sqlite3_prepare16_v3"};

static struct ns_stack_entry *exec_stack(struct ns_thread *th, struct exec_ctx *x)
{
    if (!x->stack)
        x->stack = ns_capture(th, &x->caller, ns_pseudo_name_cached(&id_exec, "sqlite3_exec"));
    return x->stack;
}

/* ---- connections ---- */

/* How a database is named: its file's absolute path as opened (a URI's path, never its
 * parameters), :memory:, or (temporary). */
static void database_name(const char *filename, char *out, size_t cap)
{
    const char *p = filename ? filename : "";
    size_t len = strlen(p);
    if (strncmp(p, "file:", 5) == 0) {
        p += 5;
        len = strcspn(p, "?#");
        if (len >= 2 && p[0] == '/' && p[1] == '/') { /* file://host/path */
            const char *slash = memchr(p + 2, '/', len - 2);
            len -= slash ? (size_t)(slash - p) : len;
            p = slash ? slash : p + len;
        }
    }
    if (len == 0) {
        snprintf(out, cap, "(temporary)");
    } else if (len == 8 && memcmp(p, ":memory:", 8) == 0) {
        snprintf(out, cap, ":memory:");
    } else if (p[0] == '/') {
        snprintf(out, cap, "%.*s", (int)len, p);
    } else {
        char cwd[2048];
        if (!getcwd(cwd, sizeof(cwd)))
            snprintf(cwd, sizeof(cwd), ".");
        snprintf(out, cap, "%s/%.*s", strcmp(cwd, "/") == 0 ? "" : cwd, (int)len, p);
    }
}

/* UTF-16 (native order) to UTF-8, cut to fit; returns the bytes written. */
static size_t utf16_to_utf8(const void *in, int nbytes, char *out, size_t cap)
{
    const uint16_t *s = in;
    size_t n = 0, units = nbytes < 0 ? (size_t)-1 : (size_t)nbytes / 2;
    for (size_t i = 0; s && i < units && s[i] && n + 4 < cap; i++) {
        uint32_t c = s[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < units && s[i + 1] >= 0xdc00 && s[i + 1] < 0xe000)
            c = 0x10000 + ((c - 0xd800) << 10) + (s[++i] - 0xdc00);
        if (c < 0x80) {
            out[n++] = (char)c;
        } else if (c < 0x800) {
            out[n++] = (char)(0xc0 | c >> 6);
            out[n++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            out[n++] = (char)(0xe0 | c >> 12);
            out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (c & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | c >> 18);
            out[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[n] = '\0';
    return n;
}

static void opened(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                   const char *filename, sqlite3 *db, uint64_t t0)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    if (th) {
        char path[4096];
        database_name(filename, path, sizeof(path));
        ns_db_opened(th, caller, name_id, name, db, "sqlite", path, t1 - t0);
        ns_hook_leave(th);
    }
    errno = saved;
    /* A library loaded by a bare name since the last dlopen nsprof saw: patched now. */
    ns_db_hooks_refresh();
}

static int hook_open(const char *filename, sqlite3 **db)
{
    int (*real)(const char *, sqlite3 **) = REAL(H_OPEN, int (*)(const char *, sqlite3 **));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on())
        return real(filename, db);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int rc = real(filename, db);
    if (rc == SQLITE_OK && db && *db)
        opened(&r, &id_open, "sqlite3_open", filename, *db, t0);
    return rc;
}

static int hook_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs)
{
    int (*real)(const char *, sqlite3 **, int, const char *) =
        REAL(H_OPEN_V2, int (*)(const char *, sqlite3 **, int, const char *));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on())
        return real(filename, db, flags, vfs);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int rc = real(filename, db, flags, vfs);
    if (rc == SQLITE_OK && db && *db)
        opened(&r, &id_open_v2, "sqlite3_open_v2", filename, *db, t0);
    return rc;
}

static int hook_open16(const void *filename, sqlite3 **db)
{
    int (*real)(const void *, sqlite3 **) = REAL(H_OPEN16, int (*)(const void *, sqlite3 **));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on())
        return real(filename, db);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int rc = real(filename, db);
    if (rc == SQLITE_OK && db && *db) {
        char name[4096];
        utf16_to_utf8(filename, -1, name, sizeof(name));
        opened(&r, &id_open16, "sqlite3_open16", name, *db, t0);
    }
    return rc;
}

static int hook_close(sqlite3 *db)
{
    int (*real)(sqlite3 *) = REAL(H_CLOSE, int (*)(sqlite3 *));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on() || !db)
        return real(db);
    CALLER(r);
    uint32_t database = ns_db_conn_get(db);
    uint64_t t0 = ns_now_ns();
    int rc = real(db);
    if (rc == SQLITE_OK) /* SQLITE_BUSY: still open */
        ns_db_closed(&r, &id_close, "sqlite3_close", db, database, ns_now_ns() - t0);
    return rc;
}

static int hook_close_v2(sqlite3 *db)
{
    int (*real)(sqlite3 *) = REAL(H_CLOSE_V2, int (*)(sqlite3 *));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on() || !db)
        return real(db);
    CALLER(r);
    uint32_t database = ns_db_conn_get(db);
    uint64_t t0 = ns_now_ns();
    int rc = real(db);
    if (rc == SQLITE_OK)
        ns_db_closed(&r, &id_close_v2, "sqlite3_close_v2", db, database, ns_now_ns() - t0);
    return rc;
}

/* ---- statements ---- */

/* A statement was prepared (tail: where its text ended). */
static void prepared(const struct ns_regs *caller, const void *ra, const void *real, int variant,
                     sqlite3 *db, const void *sql, const void *tail, int nbyte, int utf16,
                     sqlite3_stmt *stmt, uint64_t t0)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct exec_ctx *x = T.exec;
    int own = ns_db_lib_has(copy_of(real), ra);
    struct ns_thread *th = own && (!x || x->internal) ? NULL : ns_hook_enter(NS_HOOK_DB);
    if (th) {
        char text[4096];
        const char *s = sql;
        size_t len;
        if (utf16) {
            int n = tail && tail >= sql ? (int)((const char *)tail - (const char *)sql) : nbyte;
            len = utf16_to_utf8(sql, n, text, sizeof(text));
            s = text;
        } else {
            len = tail && tail >= sql ? (size_t)((const char *)tail - (const char *)sql)
                  : nbyte < 0         ? strlen(s)
                                      : (size_t)nbyte;
        }
        uint32_t database = ns_db_conn_get(db);
        if (!database)
            database = ns_db_database("sqlite", "(opened before nsprof looked)");
        uint64_t literal_hash;
        int has_literals;
        uint32_t query = ns_db_query(database, s, len, NS_SQL_SQLITE, &literal_hash, &has_literals);
        struct ns_stack_entry *stack;
        if (own) {
            /* sqlite3_exec's next statement: its previous one was finalized inside it */
            if (x->current)
                ns_dbt_finalize(&ns_db_tracker, x->current);
            x->current = stmt;
            stack = exec_stack(th, x);
        } else {
            stack = ns_capture(th, caller,
                               ns_pseudo_name_cached(&id_prepare[variant], prepare_names[variant]));
        }
        ns_db_set_thread(th);
        ns_dbt_prepared(&ns_db_tracker, stmt, query, (uint32_t)th->tid, literal_hash, has_literals);
        running_forget(stmt); /* a reused address */
        if (T.ended_here == stmt)
            T.ended_here = NULL;
        if (query)
            ns_db_account(th, NS_SITE_DB_PREPARE, stack, query, t1 - t0);
        ns_hook_leave(th);
    }
    errno = saved;
}

#define PREPARE_HOOK(fn, index, variant, ctype, utf16, extra_params, extra_args)                   \
    static int fn(sqlite3 *db, const ctype *sql, int nbyte extra_params, sqlite3_stmt **stmt,      \
                  const ctype **tail)                                                              \
    {                                                                                              \
        int (*real)(sqlite3 *, const ctype *, int extra_params, sqlite3_stmt **, const ctype **) = \
            REAL(index, int (*)(sqlite3 *, const ctype *, int extra_params, sqlite3_stmt **,       \
                                const ctype **));                                                  \
        if (!real)                                                                                 \
            return SQLITE_MISUSE;                                                                  \
        if (!db_on())                                                                              \
            return real(db, sql, nbyte extra_args, stmt, tail);                                    \
        CALLER(r);                                                                                 \
        const ctype *end = NULL;                                                                   \
        uint64_t t0 = ns_now_ns();                                                                 \
        int rc = real(db, sql, nbyte extra_args, stmt, &end);                                      \
        if (tail)                                                                                  \
            *tail = end;                                                                           \
        if (rc == SQLITE_OK && stmt && *stmt)                                                      \
            prepared(&r, __builtin_return_address(0), (const void *)real, variant, db, sql, end,   \
                     nbyte, utf16, *stmt, t0);                                                     \
        return rc;                                                                                 \
    }

#define COMMA ,
PREPARE_HOOK(hook_prepare, H_PREPARE, 0, char, 0, , )
PREPARE_HOOK(hook_prepare_v2, H_PREPARE_V2, 1, char, 0, , )
PREPARE_HOOK(hook_prepare_v3, H_PREPARE_V3, 2, char, 0, COMMA unsigned flags, COMMA flags)
PREPARE_HOOK(hook_prepare16, H_PREPARE16, 3, void, 1, , )
PREPARE_HOOK(hook_prepare16_v2, H_PREPARE16_V2, 4, void, 1, , )
PREPARE_HOOK(hook_prepare16_v3, H_PREPARE16_V3, 5, void, 1, COMMA unsigned flags, COMMA flags)

static void stepped(const struct ns_regs *caller, const void *ra, const void *real,
                    sqlite3_stmt *stmt, int rc, uint64_t time_ns)
{
    int saved = errno;
    struct exec_ctx *x = T.exec;
    const struct ns_db_lib *c = copy_of(real);
    int own = ns_db_lib_has(c, ra);
    struct ns_thread *th = own && (!x || x->internal) ? NULL : ns_hook_enter(NS_HOOK_DB);
    if (!th) {
        errno = saved;
        return;
    }
    if (T.ended_here == stmt)
        T.ended_here = NULL;
    enum ns_dbt_outcome outcome = rc == SQLITE_ROW    ? NS_DBT_ROW
                                  : rc == SQLITE_DONE ? NS_DBT_DONE
                                                      : NS_DBT_ERROR;
    struct running *run = running_of(stmt);
    struct ns_dbt_start start = {0};
    if (!run) { /* (most likely) an execution starts: where, with what, in a transaction? */
        start.origin =
            own ? exec_stack(th, x)
                : ns_capture(th, caller, ns_pseudo_name_cached(&id_step, "sqlite3_step"));
        start.params_hash = params_hash(stmt);
        start.has_params = bound_of(stmt, 0) != NULL;
        sqlite3 *(*db_handle)(sqlite3_stmt *) = c ? c->fn[FN_DB_HANDLE] : NULL;
        int (*get_autocommit)(sqlite3 *) = c ? c->fn[FN_GET_AUTOCOMMIT] : NULL;
        if (db_handle && get_autocommit) {
            sqlite3 *db = db_handle(stmt);
            /* after the step: a write in autocommit mode is still in it; BEGIN has left it */
            start.autocommit = db && get_autocommit(db) ? 1 : 0;
        }
    }
    ns_db_set_thread(th);
    ns_dbt_step(&ns_db_tracker, stmt, outcome, time_ns, (uint32_t)th->tid, run ? NULL : &start);
    if (outcome == NS_DBT_ROW && !run) {
        struct running *slot = &T.running[T.next_running++ % RUNNING];
        *slot = (struct running){stmt, (struct ns_stack_entry *)start.origin};
    } else if (outcome != NS_DBT_ROW && run) {
        run->stmt = NULL;
    }
    if (outcome != NS_DBT_ROW)
        T.ended_here = stmt;
    ns_hook_leave(th);
    errno = saved;
}

static int hook_step(sqlite3_stmt *stmt)
{
    int (*real)(sqlite3_stmt *) = REAL(H_STEP, int (*)(sqlite3_stmt *));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on())
        return real(stmt);
    CALLER(r);
    int tsc = ns_db_clock_mode();
    uint64_t t0 = ns_db_clock_read(tsc);
    int rc = real(stmt);
    uint64_t t1 = ns_db_clock_read(tsc);
    stepped(&r, __builtin_return_address(0), (const void *)real, stmt, rc,
            ns_db_clock_ns(tsc, t0, t1));
    return rc;
}

/* reset and finalize end a running execution (on the thread that calls them). */
static void ended(sqlite3_stmt *stmt, int finalize)
{
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
    if (th) {
        ns_db_set_thread(th);
        if (finalize)
            ns_dbt_finalize(&ns_db_tracker, stmt);
        else
            ns_dbt_reset(&ns_db_tracker, stmt);
        running_forget(stmt);
        if (finalize) { /* its address may be a new statement's next */
            struct bound *b = bound_of(stmt, 0);
            if (b)
                b->stmt = NULL;
            if (T.ended_here == stmt)
                T.ended_here = NULL;
        }
        ns_hook_leave(th);
    }
    errno = saved;
}

static int hook_reset(sqlite3_stmt *stmt)
{
    int (*real)(sqlite3_stmt *) = REAL(H_RESET, int (*)(sqlite3_stmt *));
    if (!real)
        return SQLITE_MISUSE;
    if (db_on() && stmt && T.ended_here != stmt)
        ended(stmt, 0);
    return real(stmt);
}

static int hook_finalize(sqlite3_stmt *stmt)
{
    int (*real)(sqlite3_stmt *) = REAL(H_FINALIZE, int (*)(sqlite3_stmt *));
    if (!real)
        return SQLITE_MISUSE;
    if (db_on() && stmt)
        ended(stmt, 1);
    return real(stmt);
}

static int hook_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                     void *arg, char **errmsg)
{
    int (*real)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **) =
        REAL(H_EXEC, int (*)(sqlite3 *, const char *, int (*)(void *, int, char **, char **),
                             void *, char **));
    if (!real)
        return SQLITE_MISUSE;
    if (!db_on())
        return real(db, sql, cb, arg, errmsg);
    struct exec_ctx x = {
        .outer = T.exec,
        .internal = ns_db_lib_has(copy_of((const void *)real), __builtin_return_address(0))};
    NS_CALLER_REGS(x.caller);
    T.exec = &x;
    int rc = real(db, sql, cb, arg, errmsg);
    T.exec = x.outer;
    if (x.current) { /* finalized inside the exec: its execution ends now, if it had not */
        struct ns_thread *th = ns_hook_enter(NS_HOOK_DB);
        if (th) {
            ns_db_set_thread(th);
            ns_dbt_finalize(&ns_db_tracker, x.current);
            running_forget(x.current);
            ns_hook_leave(th);
        }
    }
    return rc;
}

/* ---- bound values ---- */

/* A bind: the real call, and the value's hash (computed before the call: with a destructor
 * the library may free the value) joins the statement's set. */
#define BIND_HOOK(fn, index, params, args, value_hash)                                             \
    static int fn params                                                                           \
    {                                                                                              \
        int(*real) params = REAL(index, int(*) params);                                            \
        if (!real)                                                                                 \
            return SQLITE_MISUSE;                                                                  \
        uint64_t h = db_on() ? (value_hash) : 0;                                                   \
        int rc = real args;                                                                        \
        note_bound(s, i, h);                                                                       \
        return rc;                                                                                 \
    }

static uint64_t double_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

BIND_HOOK(hook_bind_int, H_BIND_INT, (sqlite3_stmt * s, int i, int v), (s, i, v),
          ns_db_mix(1, (uint64_t)(int64_t)v))
BIND_HOOK(hook_bind_int64, H_BIND_INT64, (sqlite3_stmt * s, int i, sqlite3_int64 v), (s, i, v),
          ns_db_mix(1, (uint64_t)v))
BIND_HOOK(hook_bind_double, H_BIND_DOUBLE, (sqlite3_stmt * s, int i, double v), (s, i, v),
          ns_db_mix(2, double_bits(v)))
BIND_HOOK(hook_bind_text, H_BIND_TEXT,
          (sqlite3_stmt * s, int i, const char *v, int n, void (*d)(void *)), (s, i, v, n, d),
          ns_db_mix(3, bytes_hash(v, n)))
BIND_HOOK(hook_bind_blob, H_BIND_BLOB,
          (sqlite3_stmt * s, int i, const void *v, int n, void (*d)(void *)), (s, i, v, n, d),
          ns_db_mix(4, bytes_hash(v, n < 0 ? 0 : n)))
BIND_HOOK(hook_bind_null, H_BIND_NULL, (sqlite3_stmt * s, int i), (s, i), 5)

/* The order of enum hook. */
const struct ns_got_hook ns_sqlite_hooks[H__COUNT] = {
    [H_OPEN] = {"sqlite3_open", (void *)hook_open, 0},
    [H_OPEN_V2] = {"sqlite3_open_v2", (void *)hook_open_v2, 0},
    [H_OPEN16] = {"sqlite3_open16", (void *)hook_open16, 0},
    [H_CLOSE] = {"sqlite3_close", (void *)hook_close, 0},
    [H_CLOSE_V2] = {"sqlite3_close_v2", (void *)hook_close_v2, 0},
    [H_EXEC] = {"sqlite3_exec", (void *)hook_exec, NS_GOT_ALSO_OWN},
    [H_PREPARE] = {"sqlite3_prepare", (void *)hook_prepare, 0},
    [H_PREPARE_V2] = {"sqlite3_prepare_v2", (void *)hook_prepare_v2, NS_GOT_ALSO_OWN},
    [H_PREPARE_V3] = {"sqlite3_prepare_v3", (void *)hook_prepare_v3, 0},
    [H_PREPARE16] = {"sqlite3_prepare16", (void *)hook_prepare16, 0},
    [H_PREPARE16_V2] = {"sqlite3_prepare16_v2", (void *)hook_prepare16_v2, 0},
    [H_PREPARE16_V3] = {"sqlite3_prepare16_v3", (void *)hook_prepare16_v3, 0},
    [H_STEP] = {"sqlite3_step", (void *)hook_step, NS_GOT_ALSO_OWN},
    [H_RESET] = {"sqlite3_reset", (void *)hook_reset, 0},
    [H_FINALIZE] = {"sqlite3_finalize", (void *)hook_finalize, 0},
    [H_BIND_INT] = {"sqlite3_bind_int", (void *)hook_bind_int, 0},
    [H_BIND_INT64] = {"sqlite3_bind_int64", (void *)hook_bind_int64, 0},
    [H_BIND_DOUBLE] = {"sqlite3_bind_double", (void *)hook_bind_double, 0},
    [H_BIND_TEXT] = {"sqlite3_bind_text", (void *)hook_bind_text, 0},
    [H_BIND_BLOB] = {"sqlite3_bind_blob", (void *)hook_bind_blob, 0},
    [H_BIND_NULL] = {"sqlite3_bind_null", (void *)hook_bind_null, 0},
};
const size_t ns_sqlite_nhooks = H__COUNT;
