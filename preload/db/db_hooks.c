/*
 * db_hooks — see db_hooks.h. The connection table is an open-addressing table of fixed size
 * under a mutex (connections open and close rarely); a connection beyond it is accounted to
 * an unknown database.
 */
#include "db_hooks.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../sampler/format/nsp_format.h"
#include "../../sampler/interposed/capture.h"
#include "../../sampler/interposed/db_sites.h"
#include "../../sampler/interposed/hooks.h"
#include "../../sampler/interposed/resources.h"
#include "../../sampler/real.h"
#include "../got_patch.h"
#include "db_clock.h"

extern const struct ns_got_hook ns_sqlite_hooks[], ns_pq_hooks[], ns_mysql_hooks[];
extern const size_t ns_sqlite_nhooks, ns_pq_nhooks, ns_mysql_nhooks;
extern size_t ns_pq_base, ns_mysql_base;

/* The process's one table (got_patch.h): each client library's hooks at an offset. */
#define MAX_HOOKS 64
static struct ns_got_hook all_hooks[MAX_HOOKS];

#define CONNS   4096 /* connections open at once that keep their database's name */
#define SQL_MAX 2048

struct ns_dbt ns_db_tracker;
void (*ns_db_on_first_use)(void);

static struct {
    pthread_mutex_t lock;
    struct {
        const void *conn;
        uint32_t database;
    } conns[CONNS];
    int installed, sql_full, used;
} D = {.lock = PTHREAD_MUTEX_INITIALIZER};

static __thread struct ns_thread *tls_thread __attribute__((tls_model("initial-exec")));

void ns_db_set_thread(struct ns_thread *th)
{
    tls_thread = th;
}

/* ---- connections ---- */

static unsigned conn_slot(const void *conn)
{
    uint64_t x = (uint64_t)(uintptr_t)conn * 0x9e3779b97f4a7c15ull;
    return (unsigned)(x >> 52) & (CONNS - 1);
}

void ns_db_conn_set(const void *conn, uint32_t database)
{
    pthread_mutex_lock(&D.lock);
    for (unsigned i = conn_slot(conn), n = 0; n < CONNS; i = (i + 1) & (CONNS - 1), n++) {
        if (!D.conns[i].conn || D.conns[i].conn == conn) {
            D.conns[i].conn = conn;
            D.conns[i].database = database;
            break;
        }
    }
    pthread_mutex_unlock(&D.lock);
}

uint32_t ns_db_conn_get(const void *conn)
{
    uint32_t db = 0;
    pthread_mutex_lock(&D.lock);
    for (unsigned i = conn_slot(conn), n = 0; n < CONNS; i = (i + 1) & (CONNS - 1), n++) {
        if (D.conns[i].conn == conn) {
            db = D.conns[i].database;
            break;
        }
        if (!D.conns[i].conn && !D.conns[i].database)
            break; /* never used: the probe ends */
    }
    pthread_mutex_unlock(&D.lock);
    return db;
}

void ns_db_conn_forget(const void *conn)
{
    pthread_mutex_lock(&D.lock);
    for (unsigned i = conn_slot(conn), n = 0; n < CONNS; i = (i + 1) & (CONNS - 1), n++) {
        if (D.conns[i].conn == conn) {
            /* a tombstone (database kept non-zero) so that later probes go on past it */
            D.conns[i].conn = NULL;
            D.conns[i].database = UINT32_MAX;
            break;
        }
        if (!D.conns[i].conn && !D.conns[i].database)
            break;
    }
    pthread_mutex_unlock(&D.lock);
}

/* ---- the client libraries' copies ---- */

#define COPIES 16
static struct ns_db_lib copies[COPIES];
static int ncopies; /* published with a release store after the entry is filled */
static pthread_mutex_t copies_lock = PTHREAD_MUTEX_INITIALIZER;

struct find_text {
    uintptr_t base, lo, hi;
};

static int text_of(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct find_text *f = ctx;
    if (info->dlpi_addr != f->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + p->p_vaddr, hi = lo + p->p_memsz;
        if (!f->lo || lo < f->lo)
            f->lo = lo;
        if (hi > f->hi)
            f->hi = hi;
    }
    return 1;
}

const struct ns_db_lib *ns_db_lib_of(const void *fn, const char *const *names, size_t n)
{
    int count = __atomic_load_n(&ncopies, __ATOMIC_ACQUIRE);
    for (int i = 0; i < count; i++)
        if ((uintptr_t)fn >= copies[i].lo && (uintptr_t)fn < copies[i].hi)
            return &copies[i];
    Dl_info info;
    struct link_map *lm = NULL;
    if (!fn || !dladdr1(fn, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return NULL;
    struct find_text f = {lm->l_addr, 0, 0};
    dl_iterate_phdr(text_of, &f);
    if (!f.lo)
        return NULL;
    const struct ns_db_lib *found = NULL;
    pthread_mutex_lock(&copies_lock);
    count = ncopies;
    for (int i = 0; i < count; i++)
        if (copies[i].lo == f.lo)
            found = &copies[i];
    if (!found && count < COPIES) {
        struct ns_db_lib *c = &copies[count];
        c->lo = f.lo;
        c->hi = f.hi;
        /* this copy's own functions (the library stays loaded while its functions run) */
        void *h = info.dli_fname ? ns_real.dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD) : NULL;
        for (size_t i = 0; h && i < n && i < NS_DB_LIB_FNS; i++)
            c->fn[i] = dlsym(h, names[i]);
        if (h)
            ns_real.dlclose(h);
        __atomic_store_n(&ncopies, count + 1, __ATOMIC_RELEASE);
        found = c;
    }
    pthread_mutex_unlock(&copies_lock);
    return found;
}

/* ---- resources ---- */

uint32_t ns_db_database(const char *system, const char *name)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s %s", system, name);
    return ns_resource_get_or_add(NSP_RES_DATABASE, text, NULL);
}

uint32_t ns_db_query(uint32_t database, const char *sql, size_t len, enum ns_sql_dialect dialect,
                     uint64_t *literal_hash, int *has_literals)
{
    char text[SQL_MAX], raw[SQL_MAX];
    struct ns_sql_norm n;
    ns_sql_normalize(sql, len, dialect, text, sizeof(text), &n);
    *literal_hash = n.literal_hash;
    *has_literals = n.literals > 0;
    if (!n.len)
        return 0;
    const char *example = NULL;
    if (D.sql_full) {
        size_t rl = strnlen(sql, len < sizeof(raw) - 1 ? len : sizeof(raw) - 1);
        memcpy(raw, sql, rl);
        raw[rl] = '\0';
        example = raw;
    }
    unsigned flags = (n.truncated ? NSP_QUERY_CUT : 0) | (n.literals ? NSP_QUERY_LITERALS : 0);
    /* enum ns_sql_verb and the format's verbs are the same numbers (nsp_format.h) */
    return ns_resource_get_or_add_in(NSP_RES_QUERY, database, text, (unsigned)n.verb, flags,
                                     example);
}

/* ---- accounting ---- */

void ns_db_account(struct ns_thread *th, unsigned family, struct ns_stack_entry *stack,
                   uint32_t resource, uint64_t time_ns)
{
    struct ns_site *s = stack ? ns_site_get(th, family, stack, resource) : NULL;
    if (s)
        ns_site_add(s, 0, time_ns, 0);
}

void ns_db_opened(struct ns_thread *th, const struct ns_regs *caller, uint32_t *name_id,
                  const char *name, const void *conn, const char *system, const char *db_name,
                  uint64_t time_ns)
{
    uint32_t database = ns_db_database(system, db_name);
    ns_db_conn_set(conn, database);
    struct ns_stack_entry *stack = ns_capture(th, caller, ns_pseudo_name_cached(name_id, name));
    ns_db_account(th, NS_SITE_DB_CONNECT, stack, database, time_ns);
}

void ns_db_closed(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                  const void *conn, uint32_t database, uint64_t time_ns)
{
    int saved = errno;
    ns_db_conn_forget(conn);
    struct ns_thread *th = database ? ns_hook_enter(NS_HOOK_DB) : NULL;
    if (th) {
        struct ns_stack_entry *stack = ns_capture(th, caller, ns_pseudo_name_cached(name_id, name));
        ns_db_account(th, NS_SITE_DB_CLOSE, stack, database, time_ns);
        ns_hook_leave(th);
    }
    errno = saved;
}

/* An execution ended (the tracker's callback, on the thread that ended it). */
static void executed(void *ctx, const struct ns_dbt_exec *e)
{
    (void)ctx;
    struct ns_thread *th = tls_thread;
    if (!th || !e->query || !e->start.origin)
        return; /* a statement prepared before nsprof looked: its text is unknown */
    struct ns_site *s = ns_site_get(th, NS_SITE_DB_EXEC, (struct ns_stack_entry *)e->start.origin,
                                    (uint32_t)e->query);
    if (!s)
        return;
    struct ns_db_exec_record r = {
        .time_ns = e->time_ns,
        .rows = e->rows,
        .params_hash = e->start.params_hash,
        .outer = (uint32_t)e->outer,
        .has_params = e->start.has_params,
        .autocommit = e->start.autocommit,
        .error = (uint8_t)(e->error != 0),
    };
    ns_db_site_add(s, ns_db_site_of(s), &r);
}

/* ---- installing ---- */

static void note_use(int patched)
{
    if (patched > 0 && !__atomic_exchange_n(&D.used, 1, __ATOMIC_ACQ_REL)) {
        ns_db_clock_start();
        if (ns_db_on_first_use)
            ns_db_on_first_use();
    }
}

/* nsprof's own work: what the patcher allocates (and keeps) is not the program's, and
 * must not show as its allocations or leaks. */
static struct ns_thread *own_begin(void)
{
    struct ns_thread *th = ns_threads_current();
    if (!th || th->in_hook)
        return NULL;
    th->in_hook = 1;
    return th;
}

static void own_end(struct ns_thread *th)
{
    if (th)
        th->in_hook = 0;
}

int ns_db_hooks_start(int sql_full)
{
    D.sql_full = sql_full;
    ns_dbt_init(&ns_db_tracker, executed, NULL);
    size_t n = 0;
    for (size_t i = 0; i < ns_sqlite_nhooks && n < MAX_HOOKS; i++)
        all_hooks[n++] = ns_sqlite_hooks[i];
    ns_pq_base = n;
    for (size_t i = 0; i < ns_pq_nhooks && n < MAX_HOOKS; i++)
        all_hooks[n++] = ns_pq_hooks[i];
    ns_mysql_base = n;
    for (size_t i = 0; i < ns_mysql_nhooks && n < MAX_HOOKS; i++)
        all_hooks[n++] = ns_mysql_hooks[i];
    struct ns_thread *th = own_begin();
    int r = ns_got_patch(all_hooks, n);
    own_end(th);
    if (r < 0)
        return -1;
    __atomic_store_n(&D.installed, 1, __ATOMIC_RELEASE);
    note_use(r);
    return r;
}

int ns_db_hooks_refresh(void)
{
    if (!ns_db_hooks_installed())
        return 0;
    struct ns_thread *th = own_begin();
    int r = ns_got_refresh();
    own_end(th);
    note_use(r);
    return r;
}

int ns_db_hooks_installed(void)
{
    return __atomic_load_n(&D.installed, __ATOMIC_ACQUIRE);
}
