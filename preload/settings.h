/*
 * settings — the one registry of nsprof's events and switches.
 *
 * Every user-visible knob is one line of NS_SETTINGS below: its key (as written into the
 * profile's SETTING records), its environment variable (how libnsprof.so is configured),
 * its `nsprof record` option, its type, default, allowed values and help text. The
 * preload library reads the environment through it, `nsprof record` builds its options and
 * --help from it, and docs list it. Adding a capability (allocation, I/O, locks...) means
 * adding a line here, not a new ad-hoc variable.
 *
 * Contract: no allocation anywhere in this module (it runs in the preload constructor and
 * in exec interposers); all state lives in the caller's struct ns_config.
 */
#ifndef NS_SETTINGS_H
#define NS_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

enum ns_setting_type {
    NS_TYPE_ENUM,   /* one of a '|'-separated list; value = index */
    NS_TYPE_UINT,   /* decimal, within [min, max]; "auto" allowed when default is "auto" */
    NS_TYPE_SIZE,   /* bytes, k/M suffixes (powers of 1024), within [min, max] */
    NS_TYPE_STRING, /* free text (a path or pattern) */
};

/*
 * X(ID, key, env, short_opt, long_opt, type, default, choices, min, max, help)
 * short_opt 0 = none. For enums `choices` lists the values; `auto` in a default means the
 * value is derived from other settings (see ns_config_resolve).
 */
#define NS_SETTINGS(X)                                                                             \
    X(EVENT, "event", "NSPROF_EVENT", 'e', "event", NS_TYPE_ENUM, "cpu", "cpu|wall|none", 0, 0,    \
      "what to sample: cpu = each thread on its own CPU time (a sleeping thread is not "           \
      "sampled); wall = every thread on wall-clock time, running or blocked; none = no "           \
      "sampling, only what --alloc, --io and --locks record")                                      \
    X(ALLOC, "alloc", "NSPROF_ALLOC", 0, "alloc", NS_TYPE_ENUM, "off", "off|sample|full", 0, 0,    \
      "allocations (malloc and friends, C++ new, anonymous mmap): sample = one stack per "         \
      "alloc_interval bytes on average, scaled to unbiased estimates (cheap); full = every "       \
      "allocation and free with its stack: exact live heap, peak and leaks (costly)")              \
    X(ALLOC_INTERVAL, "alloc_interval", "NSPROF_ALLOC_INTERVAL", 0, "alloc-interval",              \
      NS_TYPE_SIZE, "512K", NULL, 1, 1ull << 30,                                                   \
      "alloc=sample: mean bytes allocated between two sampled allocations")                        \
    X(IO, "io", "NSPROF_IO", 0, "io", NS_TYPE_ENUM, "off", "off|on", 0, 0,                         \
      "file and socket I/O calls (read, write, send, recv, open, fsync, stdio...): calls, "        \
      "bytes, time and sizes per call site and per file or peer")                                  \
    X(LOCKS, "locks", "NSPROF_LOCKS", 0, "locks", NS_TYPE_ENUM, "off", "off|on", 0, 0,             \
      "time spent waiting for pthread mutexes, rwlocks and spinlocks per call site and per "       \
      "lock, and idle time in condition-variable waits")                                           \
    X(DB, "db", "NSPROF_DB", 0, "db", NS_TYPE_ENUM, "on", "off|on", 0, 0,                          \
      "database client calls (sqlite3, PostgreSQL's libpq, MySQL/MariaDB): statement executions "  \
      "with their "                                                                                \
      "normalized SQL, time, "                                                                     \
      "rows and latency percentiles per call site, prepares and connections; only the calls "      \
      "the program's own modules make into a database library are redirected (a program that "     \
      "loads none is untouched)")                                                                  \
    X(DB_SQL, "db_sql", "NSPROF_DB_SQL", 0, "db-sql", NS_TYPE_ENUM, "normalized",                  \
      "normalized|full", 0, 0,                                                                     \
      "SQL in the profile: normalized = every literal replaced by ?, so that no value reaches "    \
      "the file; full = also one statement per query as the program wrote it, literals and all "   \
      "(they can hold passwords and personal data)")                                               \
    X(FREQ, "freq", "NSPROF_FREQ", 'F', "freq", NS_TYPE_UINT, "auto", NULL, 1, 20000,              \
      "samples per second of CPU time per thread; auto = 999")                                     \
    X(OUTPUT, "output", "NSPROF_OUTPUT", 'o', "output", NS_TYPE_STRING, "nsprof.%s.%p.%e.nsp",     \
      NULL, 0, 0,                                                                                  \
      "profile file name or pattern: %p pid, %s session, %e exec index, %n program, %% "           \
      "percent; a plain name is used by the first process, others add .PID.EXEC")                  \
    X(IF_EXISTS, "if_exists", "NSPROF_IF_EXISTS", 0, "if-exists", NS_TYPE_ENUM, "backup",          \
      "backup|refuse", 0, 0,                                                                       \
      "when the output file exists: backup = rename it to NAME.~N~ first; refuse = do not "        \
      "profile")                                                                                   \
    X(MECHANISM, "mechanism", "NSPROF_MECHANISM", 0, "mechanism", NS_TYPE_ENUM, "auto",            \
      "auto|perf|signal", 0, 0,                                                                    \
      "cpu sampling mechanism: perf = perf_event rings unwound off the hot path (no signal "       \
      "reaches the program); signal = per-thread CPU timers and a signal handler (at most "        \
      "the kernel tick, 250 Hz here); auto = perf when allowed (wall: perf's switch records "      \
      "with CPU-timer samples, perf = perf's samples too)")                                        \
    X(KERNEL, "kernel", "NSPROF_KERNEL", 0, "kernel", NS_TYPE_ENUM, "auto", "auto|on|off", 0, 0,   \
      "perf mechanism: also take samples whose tick lands in the kernel (charged to the "          \
      "user stack that entered it); needs perf_event_paranoid <= 1 or CAP_PERFMON; auto = "        \
      "when allowed")                                                                              \
    X(STACK_COPY, "stack_copy", "NSPROF_STACK_COPY", 0, "stack-copy", NS_TYPE_SIZE, "16K", NULL,   \
      1024, 65528,                                                                                 \
      "perf mechanism: bytes of user stack the kernel copies per sample (deeper stacks are "       \
      "truncated and counted)")                                                                    \
    X(MAX_DEPTH, "max_depth", "NSPROF_MAX_DEPTH", 0, "max-depth", NS_TYPE_UINT, "256", NULL, 8,    \
      2048, "frames kept per stack (deeper stacks are truncated and counted)")                     \
    X(FLUSH_MS, "flush_ms", "NSPROF_FLUSH_MS", 0, "flush-ms", NS_TYPE_UINT, "1000", NULL, 50,      \
      10000,                                                                                       \
      "milliseconds between writes to the profile: what a SIGKILL of nsprof's agent (or, "         \
      "with agent=off, of the program) can lose")                                                  \
    X(AGENT, "agent", "NSPROF_AGENT", 0, "agent", NS_TYPE_STRING, "auto", NULL, 0, 0,              \
      "the process that samples, unwinds and writes, so that the program runs no thread of "       \
      "nsprof's: auto = the nsprof next to libnsprof.so (nsprof record is its own); PATH = "       \
      "that nsprof; off = do it inside the program (a writer thread there, which costs glibc's "   \
      "single-thread fast paths)")                                                                 \
    X(LOG, "log", "NSPROF_LOG", 0, "log", NS_TYPE_ENUM, "warn", "quiet|warn|info", 0, 0,           \
      "messages libnsprof.so prints on stderr: quiet = none, warn = problems, info = also "        \
      "what it does")

enum ns_setting {
#define NS_SETTING_ENUM(id, ...) NS_SET_##id,
    NS_SETTINGS(NS_SETTING_ENUM)
#undef NS_SETTING_ENUM
        NS_SET__COUNT
};

/* Enum values, in the order of their `choices`. */
enum ns_event { NS_EVENT_CPU, NS_EVENT_WALL, NS_EVENT_NONE };
enum ns_alloc_mode { NS_ALLOC_OFF, NS_ALLOC_SAMPLE, NS_ALLOC_FULL };
enum ns_switch { NS_OFF, NS_ON };
enum ns_if_exists { NS_IF_EXISTS_BACKUP, NS_IF_EXISTS_REFUSE };
enum ns_mechanism { NS_MECH_AUTO, NS_MECH_PERF, NS_MECH_SIGNAL };
enum ns_kernel { NS_KERNEL_AUTO, NS_KERNEL_ON, NS_KERNEL_OFF };
enum ns_log { NS_LOG_QUIET, NS_LOG_WARN, NS_LOG_INFO };
enum ns_db_sql { NS_DB_SQL_NORMALIZED, NS_DB_SQL_FULL };

/*
 * The events a profile can hold, with the unit of their weights. Later capabilities add
 * lines (alloc_bytes, io_time, lock_wait, ...).
 */
#define NS_EVENTS(X)                                                                               \
    X(CPU, "cpu", "ns", 0, "CPU time of each thread")                                              \
    X(WALL, "wall", "ns", 1, "wall-clock time of each thread: on its CPU and off it")              \
    X(ALLOC_BYTES, "alloc_bytes", "bytes", 1, "bytes allocated")                                   \
    X(ALLOC_COUNT, "alloc_count", "count", 1, "allocations made")                                  \
    X(LEAK_BYTES, "leak_bytes", "bytes", 3, "bytes still allocated when the process ended")        \
    X(PEAK_BYTES, "peak_bytes", "bytes", 3, "bytes allocated and live at the heap's peak")         \
    X(IO_TIME, "io_time", "ns", 1, "time in I/O calls that reached the kernel")                    \
    X(IO_BYTES, "io_bytes", "bytes", 1, "bytes moved by I/O calls that reached the kernel")        \
    X(IO_CALLS, "io_calls", "count", 1, "I/O calls that reached the kernel")                       \
    X(STDIO_TIME, "stdio_time", "ns", 1, "time in stdio calls served from the buffer")             \
    X(STDIO_BYTES, "stdio_bytes", "bytes", 1, "bytes of stdio calls served from the buffer")       \
    X(STDIO_CALLS, "stdio_calls", "count", 1, "stdio calls served from the buffer")                \
    X(LOCK_WAIT, "lock_wait", "ns", 1, "time spent waiting for a contended lock")                  \
    X(COND_WAIT, "cond_wait", "ns", 1, "time spent idle in condition-variable waits")              \
    X(LOCK_CALLS, "lock_calls", "count", 1, "lock calls that could wait (multi-threaded)")         \
    X(LOCK_CONTENDED, "lock_contended", "count", 1, "lock calls that found the lock taken")        \
    X(OFF_CPU, "off_cpu", "ns", 1, "time threads spent off their CPU, under a frame naming why")   \
    X(DB_TIME, "db_time", "ns", 1,                                                                 \
      "time in database client calls: executions, prepares, connects")                             \
    X(DB_CALLS, "db_calls", "count", 1, "database statement executions")                           \
    X(DB_ROWS, "db_rows", "count", 1, "rows returned by database statements")                      \
    X(DB_PREPARES, "db_prepares", "count", 1, "database statements prepared")                      \
    X(DB_CONNECTS, "db_connects", "count", 1, "database connections opened")                       \
    X(DB_CLOSES, "db_closes", "count", 1, "database connections closed")

enum ns_event_id {
    NS_EVID__NONE = 0,
#define NS_EVENT_ID(id, ...) NS_EVID_##id,
    NS_EVENTS(NS_EVENT_ID)
#undef NS_EVENT_ID
        NS_EVID__COUNT
};

struct ns_setting_def {
    const char *key, *env, *long_opt;
    char short_opt;
    enum ns_setting_type type;
    const char *default_text, *choices;
    uint64_t min, max;
    const char *help;
};

#define NS_SETTING_TEXT_MAX 4096

struct ns_config {
    uint64_t value[NS_SET__COUNT];                 /* number, enum index; 0 for "auto" */
    char text[NS_SET__COUNT][NS_SETTING_TEXT_MAX]; /* effective text, as given or default */
};

extern const struct ns_setting_def ns_setting_defs[NS_SET__COUNT];

struct ns_event_def {
    const char *name, *unit;
    unsigned flags; /* NSP_EVENT_* of docs/FORMAT.md: 1 aggregate, 2 snapshot */
    const char *help;
};
extern const struct ns_event_def ns_event_defs[NS_EVID__COUNT];

/* getenv that cannot be interposed: a program may define its own getenv (bash does, and
 * answers nothing before its main), so nsprof reads the process's environment itself. */
const char *ns_getenv(const char *name);
/* The C library's setenv (overwriting) and unsetenv, whatever the program defines. */
int ns_setenv(const char *name, const char *value);
int ns_unsetenv(const char *name);

void ns_config_defaults(struct ns_config *c);
/* Validates and stores one value. 0, or -1 with a sentence in err naming the problem. */
int ns_config_set(struct ns_config *c, enum ns_setting id, const char *text, char *err,
                  size_t errlen);
/* Reads every setting's environment variable; invalid ones keep their default and are
 * reported through warn (may be NULL). Returns the number of invalid values. */
int ns_config_from_env(struct ns_config *c, void (*warn)(const char *msg));
/* Resolves "auto" values that depend on others (freq from event). */
void ns_config_resolve(struct ns_config *c);
/* Looks a setting up by key ("freq") or by long option ("stack-copy"); -1 if unknown. */
int ns_setting_find(const char *name);
/* Index of `text` in a '|'-separated choices list, or -1. */
int ns_choice_index(const char *choices, const char *text);

#endif
