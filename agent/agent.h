/*
 * agent — the process that profiles a session from outside: it owns the perf events and
 * their rings, drains them, merges their records by time, keeps each process's map of
 * loaded files, unwinds every sample with the files' CFI, reads the interposers' tables
 * from each process's shared region (sampler/shm.h), and writes one .nsp file per process
 * image — ended by exec, exit, crash or SIGKILL, with nothing lost that the kernel or the
 * region held. The profiled programs run no thread of nsprof's and hold no descriptor of it.
 *
 * It runs as `nsprof record` itself (the agent is the program's parent and opens the
 * events before it execs) or as `nsprof agent`, started by libnsprof.so when a program is
 * preloaded without nsprof record (detached: its own session, invisible to the program's
 * waitpid, no SIGCHLD). Either way it ends when the last process of its session has ended,
 * after writing every profile.
 *
 * When perf_event_open is refused, the processes sample themselves with CPU timers and
 * signals and leave raw samples (registers and a copy of the top of the stack) in rings in
 * their regions; the agent drains those and unwinds them the same way.
 */
#ifndef NS_AGENT_H
#define NS_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../preload/settings.h"

enum ns_agent_mech {
    NS_AGENT_PERF,   /* the agent's perf events sample every process */
    NS_AGENT_SIGNAL, /* the processes sample themselves into their regions */
    NS_AGENT_NONE,   /* event=none: only what the interposers record */
};

struct ns_agent_config {
    struct ns_config cfg;  /* the session's settings */
    char session[64];      /* session id */
    char dir[4096];        /* the session's 0700 directory of regions */
    pid_t root;            /* the session's first process */
    int root_is_child;     /* nsprof record: we are its parent and reap it */
    int root_exec_pending; /* the root has not exec'd the program yet */
    enum ns_agent_mech mech;
    char mech_reason[512]; /* why this mechanism (for the profile) */
    int exclude_kernel;    /* perf: the value the events were opened with */
    int stderr_fd;         /* where to say what goes wrong; -1: nowhere */
    const char *producer;  /* "nsprof 0.1.0 agent" */
};

struct ns_perf_session;

/* Runs the session until its last process ended (perf: the session's events, already
 * opened; NULL otherwise). Returns 0; *root_status receives the root's wait status when
 * root_is_child (else -1). */
int ns_agent_run(const struct ns_agent_config *cfg, struct ns_perf_session *perf, int *root_status);

/* The session's directory: base (NSPROF_SHM_DIR, else /dev/shm, else /tmp) /nsprof-UID/
 * SESSION, created 0700 and checked to be ours (not a symlink, our uid, mode 0700) at each
 * level. 0, or -1 with a sentence. */
int ns_agent_session_dir(const char *session, char *out, size_t cap, char *err, size_t errlen);
/* Removes the directory and what is left in it (regions of processes that never ended
 * within the session, files of a crashed earlier agent). */
void ns_agent_remove_dir(const char *dir);

/* The environment variable that tells a preloaded process its session's agent:
 * "PID:MECH:DIR" (MECH = perf|signal|none). */
#define NS_ENV_AGENT_SESSION "NSPROF_SESSION_AGENT"

#endif
