/*
 * db_hooks — what the database client hooks (hooks_sqlite.c; libpq and MariaDB next) share:
 * installing them by GOT patching (got_patch.h: nothing is exported, a program that loads
 * no database library is untouched), the connections' databases, the queries as resources
 * (normalized SQL of a database), the execution tracker and the accounting of executions,
 * prepares, connects and closes at their call sites (sites.h, db_sites.h).
 *
 * Contract: the hooks run on the program's threads between its calls into the client
 * library; nothing here is async-signal-safe. ns_db_hooks_start and ns_db_hooks_refresh
 * take the loader's lock (dl_iterate_phdr) and must not be called with it held.
 */
#ifndef NS_DB_HOOKS_H
#define NS_DB_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "../../sampler/interposed/capture.h"
#include "../../sampler/interposed/sites.h"
#include "db_track.h"
#include "sql_norm.h"

/* Patches the loaded modules' calls into database libraries (setting db=on); sql_full:
 * keep one raw text per query (db_sql=full). Returns the slots patched (0: no database
 * library is used yet), -1 on failure. */
int ns_db_hooks_start(int sql_full);
/* Patches modules loaded since (after a dlopen); the slots newly patched. Cheap when
 * nothing was loaded. No-op before ns_db_hooks_start. */
int ns_db_hooks_refresh(void);
/* Whether ns_db_hooks_start ran (the dlopen interposer then refreshes after loading). */
int ns_db_hooks_installed(void);

/* Called when the first slot is patched: the program's threads must get slots for their
 * call sites (sampler.c). Set by the sampler before ns_db_hooks_start. */
extern void (*ns_db_on_first_use)(void);

/* A copy of a client library in the process: where its code is (to tell the calls it makes
 * to itself) and functions of that same copy the hooks call (names given at its first
 * lookup, by the hooks of its family). */
#define NS_DB_LIB_FNS 12
struct ns_db_lib {
    uintptr_t lo, hi;
    void *fn[NS_DB_LIB_FNS];
};
/* The copy function fn belongs to, its helpers names[0..n) resolved there; NULL if it cannot
 * be told. Lock-free once known. */
const struct ns_db_lib *ns_db_lib_of(const void *fn, const char *const *names, size_t n);
static inline int ns_db_lib_has(const struct ns_db_lib *lib, const void *addr)
{
    return lib && (uintptr_t)addr >= lib->lo && (uintptr_t)addr < lib->hi;
}

/* Folds value v into hash h: bound parameters into a parameter set's hash. */
static inline uint64_t ns_db_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

/* The connection's database resource (0: unknown), kept from its open to its close. */
void ns_db_conn_set(const void *conn, uint32_t database);
uint32_t ns_db_conn_get(const void *conn);
void ns_db_conn_forget(const void *conn);

/* The resource of a database ("sqlite /path/to.db"). */
uint32_t ns_db_database(const char *system, const char *name);

/* A statement's text → its query resource in `database`, normalized (raw kept with
 * db_sql=full); the literal values' hash and whether there are any. 0 when the text is
 * empty or the resource table is full. */
uint32_t ns_db_query(uint32_t database, const char *sql, size_t len, enum ns_sql_dialect dialect,
                     uint64_t *literal_hash, int *has_literals);

/* The process's execution tracker; its executions are accounted on the thread that ends
 * them, which must have called ns_db_set_thread first. */
extern struct ns_dbt ns_db_tracker;
void ns_db_set_thread(struct ns_thread *th);

/* A connection to database db_name of system was opened (th entered the hook): it is
 * remembered and the connect accounted at the caller's stack, under the client function's
 * name (a literal; *name_id caches its pseudo frame). */
void ns_db_opened(struct ns_thread *th, const struct ns_regs *caller, uint32_t *name_id,
                  const char *name, const void *conn, const char *system, const char *db_name,
                  uint64_t time_ns);
/* A connection of database (its resource, 0: unknown) was closed: forgotten, and the close
 * accounted (the hook is entered here). errno is kept. */
void ns_db_closed(const struct ns_regs *caller, uint32_t *name_id, const char *name,
                  const void *conn, uint32_t database, uint64_t time_ns);

/* One prepare, connect or close of `time_ns` at stack, on resource. */
void ns_db_account(struct ns_thread *th, unsigned family, struct ns_stack_entry *stack,
                   uint32_t resource, uint64_t time_ns);

#endif
