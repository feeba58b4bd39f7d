/*
 * writer — nsprof's writer thread: drains every thread's samples from the active source,
 * interns stacks, mappings, strings and threads, and appends chunks to the profile at least
 * every flush interval, so a SIGKILL loses at most that much.
 *
 * Memory is bounded: intern tables and the sample batch are preallocated; when a table is
 * full it is cleared and definitions are repeated under new ids.
 *
 * Other threads talk to it through ns_writer_sync (drain + flush now, optionally with an END
 * record and exit) and ns_writer_wake; notes and counters go through the shared region
 * (shm.h), which the writer reads like the agent does. ns_writer_sync is async-signal-safe
 * (atomics, eventfd and futex only) so the crash handler can use it.
 */
#ifndef NS_WRITER_H
#define NS_WRITER_H

#include <stdint.h>
#include <sys/types.h>

#include "../sources/source.h"

struct ns_identity {
    pid_t pid, ppid;
    uint64_t exec_index;
    char session[64];
    char exe[4096];
};

struct ns_writer_setup {
    int fd;
    const struct ns_identity *id;
    const struct ns_source *source;
    uint32_t event_id; /* enum ns_event_id */
    const char *event_name;
    uint64_t period_ns;
    uint64_t flush_ns;
    uint64_t start_mono_ns, start_realtime_ns;
    /* Events of interposed calls to declare (enum ns_event_id bits: 1u << id). */
    uint32_t extra_events;
    unsigned wall;    /* NS_WALL_* (image.h) */
    int eager_tables; /* build new objects' unwind tables at once (writer.c) */
    /* SETTING records: key/value pairs, NULL-terminated. */
    const char *const *settings;
};

enum ns_sync_flags {
    NS_SYNC_END = 1,  /* write an END record (reason, status) */
    NS_SYNC_EXIT = 2, /* then stop the writer thread */
};

int ns_writer_start(const struct ns_writer_setup *s, char *err, size_t errlen);
/* Drains, flushes and acknowledges; waits at most timeout_ms. 0 when acknowledged. */
int ns_writer_sync(unsigned flags, unsigned end_reason, uint64_t status, int timeout_ms);
void ns_writer_join(void);
/* After a sync with NS_SYNC_END but not NS_SYNC_EXIT (an exec), the writer writes nothing
 * until this is called (the exec failed and the process goes on). */
void ns_writer_resume(void);
void ns_writer_wake(void);
pid_t ns_writer_tid(void);
/* A dlopen started at t_ns: look for new objects often for a while, and date them from t. */
void ns_writer_modules_announced(uint64_t t_ns);
/* When objects found loaded now were loaded: the start of a recent dlopen, else now. */
uint64_t ns_writer_new_objects_since(uint64_t now);
int ns_writer_running(void);
/* Registers a thread found in /proc/self/task that nsprof does not know yet. */
void ns_writer_set_thread_registrar(void (*fn)(pid_t tid));
/* fork child: forget the parent's writer (its thread does not exist there), free its
 * memory. */
void ns_writer_postfork_child(void);

#endif
