/* db_explain — see db_explain.h. */
#include "db_explain.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsp_format.h"

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

#define SQLITE_OK            0
#define SQLITE_ROW           100
#define SQLITE_OPEN_READONLY 0x00000001

struct api {
    void *lib;
    int (*open_v2)(const char *, sqlite3 **, int, const char *);
    int (*close)(sqlite3 *);
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
    int (*step)(sqlite3_stmt *);
    const unsigned char *(*column_text)(sqlite3_stmt *, int);
    int (*column_count)(sqlite3_stmt *);
    int (*finalize)(sqlite3_stmt *);
    const char *(*errmsg)(sqlite3 *);
};

static int load_api(struct api *a, char *err, size_t errlen)
{
    a->lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!a->lib) {
        snprintf(err, errlen,
                 "--db-explain needs SQLite's library (libsqlite3.so.0): install Debian's "
                 "libsqlite3-0");
        return -1;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&a->open_v2, "sqlite3_open_v2"},
        {(void **)&a->close, "sqlite3_close"},
        {(void **)&a->prepare_v2, "sqlite3_prepare_v2"},
        {(void **)&a->step, "sqlite3_step"},
        {(void **)&a->column_text, "sqlite3_column_text"},
        {(void **)&a->column_count, "sqlite3_column_count"},
        {(void **)&a->finalize, "sqlite3_finalize"},
        {(void **)&a->errmsg, "sqlite3_errmsg"},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
        if (!(*syms[i].slot = dlsym(a->lib, syms[i].name))) {
            snprintf(err, errlen, "--db-explain: libsqlite3.so.0 has no %s", syms[i].name);
            dlclose(a->lib);
            return -1;
        }
    return 0;
}

/* Whether a plan line reads a whole table: "SCAN t" (not an index's rows, not a subquery's
 * or a constant row's). */
static int full_table_scan(const char *detail)
{
    if (strncmp(detail, "SCAN ", 5) != 0 || strstr(detail, " USING "))
        return 0;
    return strncmp(detail + 5, "CONSTANT ROW", 12) != 0 && strncmp(detail + 5, "SUBQUERY", 8) != 0;
}

/* The plan of one query, or NULL (not plannable here). */
static struct ns_db_plan *plan_of(const struct api *a, sqlite3 *db, const char *sql)
{
    size_t len = strlen(sql);
    char *text = malloc(len + sizeof("EXPLAIN QUERY PLAN "));
    if (!text)
        return NULL;
    memcpy(text, "EXPLAIN QUERY PLAN ", 19);
    memcpy(text + 19, sql, len + 1);
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = a->prepare_v2(db, text, -1, &st, &tail);
    int single = tail && strspn(tail, " \t\r\n;") == strlen(tail);
    free(text);
    if (rc != SQLITE_OK || !st || !single || a->column_count(st) < 4) {
        if (st)
            a->finalize(st);
        return NULL;
    }
    struct ns_db_plan *p = calloc(1, sizeof(*p));
    size_t used = 0, cap = 0;
    while (p && a->step(st) == SQLITE_ROW) {
        const char *detail = (const char *)a->column_text(st, 3);
        if (!detail)
            continue;
        size_t n = strlen(detail);
        if (used + n + 2 > cap) {
            cap = (used + n + 2) * 2;
            char *nt = realloc(p->text, cap);
            if (!nt)
                break;
            p->text = nt;
        }
        if (used)
            p->text[used++] = '\n';
        memcpy(p->text + used, detail, n + 1);
        used += n;
        p->full_scan |= full_table_scan(detail);
    }
    a->finalize(st);
    if (p && !p->text && !(p->text = calloc(1, 1))) { /* no table read (INSERT ... VALUES) */
        free(p);
        p = NULL;
    }
    return p;
}

static int plannable(const struct ns_model *m, uint32_t q)
{
    const struct ns_resource *r = &m->resources[q];
    if (r->kind != NSP_RES_QUERY || r->database >= m->nresources || (r->flags & NSP_QUERY_CUT))
        return 0;
    if (strncmp(m->resources[r->database].name, "sqlite ", 7) != 0)
        return 0;
    return r->verb == NSP_VERB_SELECT || r->verb == NSP_VERB_INSERT || r->verb == NSP_VERB_UPDATE ||
           r->verb == NSP_VERB_DELETE;
}

int ns_db_explain(struct ns_model *m, const char *dbfile, size_t *failed, char *err, size_t errlen)
{
    *failed = 0;
    if (access(dbfile, R_OK) != 0) {
        snprintf(err, errlen,
                 "--db-explain %s: cannot read it (give the database file the "
                 "program used)",
                 dbfile);
        return -1;
    }
    struct api a;
    if (load_api(&a, err, errlen) < 0)
        return -1;
    sqlite3 *db = NULL;
    int rc = a.open_v2(dbfile, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "--db-explain %s: %s", dbfile, db ? a.errmsg(db) : "cannot open");
        if (db)
            a.close(db);
        dlclose(a.lib);
        return -1;
    }
    /* Is it a database at all? (open is lazy: the first read says) */
    sqlite3_stmt *probe = NULL;
    if (a.prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &probe, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "--db-explain %s: %s", dbfile, a.errmsg(db));
        a.close(db);
        dlclose(a.lib);
        return -1;
    }
    a.finalize(probe);
    int planned = 0;
    if (!m->db_plans && m->nresources &&
        !(m->db_plans = calloc(m->nresources, sizeof(*m->db_plans)))) {
        snprintf(err, errlen, "out of memory");
        planned = -1;
    }
    for (uint32_t q = 0; planned >= 0 && q < m->nresources; q++) {
        if (!plannable(m, q) || m->db_plans[q])
            continue;
        if ((m->db_plans[q] = plan_of(&a, db, m->resources[q].name)))
            planned++;
        else
            (*failed)++;
    }
    a.close(db);
    dlclose(a.lib);
    return planned;
}
