/*
 * preload — libnsprof.so's own glue: the constructor that reads the settings and starts
 * the sampler, the identity of this process within a profiled session, and what the
 * interposers (hooks_*.c) share.
 */
#ifndef NS_PRELOAD_H
#define NS_PRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "../sampler/writer_thread/writer.h"
#include "settings.h"

/* Environment variables nsprof uses to link a process tree into one session. */
#define NS_ENV_SESSION "NSPROF_SESSION"
#define NS_ENV_ROOT    "NSPROF_ROOT" /* pid of the session's first process */
#define NS_ENV_EXEC    "NSPROF_EXEC" /* "PID.N": this pid's image N called exec */
#define NS_ENV_DISABLE "NSPROF_DISABLE"

struct ns_preload {
    int started;
    struct ns_config cfg;
    struct ns_identity id;
    pid_t root_pid;
    char lib_path[4096]; /* this library, for LD_PRELOAD of exec'd images */
    /* "NAME=value" of every NSPROF_* setting present at start, handed on to exec'd images
     * even when the program passes them an environment of its own. */
    char inherited_env[NS_SET__COUNT][NS_SETTING_TEXT_MAX + 32];
    size_t ninherited;
    /* "NSPROF_SESSION_AGENT=..." when this process's session has an agent (agent_link.h):
     * handed on to exec'd images like the session itself. */
    char agent_env[4200];
    int exit_status_known;
    int exit_status;
};

extern struct ns_preload ns_preload;

/* Messages on stderr, as NSPROF_LOG allows ("nsprof: ..."). No allocation. */
void ns_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ns_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* output.c: the profile's file name and its safe creation (no global state: unit-tested). */
int ns_output_name(const char *pattern, const struct ns_identity *id, int first_of_session,
                   char *out, size_t cap);
int ns_output_create(const char *path, int if_exists, char *err, size_t errlen);
/* preload.c: both, for this process's identity and settings. */
int ns_output_open(const struct ns_identity *id, char *path, size_t pathlen, char *err,
                   size_t errlen);

/* hooks_alloc.c: whether the program's malloc calls reach nsprof's (not a malloc of its
 * own, or another preloaded allocator's, ahead of ours). */
int ns_alloc_hooks_reached(void);

/* hooks_signal.c: crash handlers flush the profile before the program dies. */
void ns_install_crash_handlers(void);

/* Put after a call an exported function makes last, so that the call is not a tail call:
 * the exported function's frame must stay on the stack while nsprof's own code runs, since
 * it is how a profile tells the program's call (shown as the function it called) from
 * nsprof's own work (report/model/model_frames.c); a tail call would leave a frame of a
 * function nothing exports. tests/integration/test_names.py checks every export. */
#define NS_KEEP_FRAME() __asm__ volatile("")

#endif
