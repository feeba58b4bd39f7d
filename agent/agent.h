/*
 * agent — the process that profiles a session from outside: it owns the perf events and
 * their rings, drains them, merges their records by time, keeps each process's map of
 * loaded files, unwinds every sample with the files' CFI, reads the interposers' tables
 * from each process's shared region (sampler/session/shm.h), and writes one .nsp file per process
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
    char mech_reason[640]; /* why this mechanism (for the profile) */
    int perf_refused;      /* signal: because perf_event_open was refused */
    /* perf: the events sample nothing (wall time, perf_session.h's switches_only); each
     * thread samples itself with CPU timers into its region, as with NS_AGENT_SIGNAL */
    int timer_samples;
    int exclude_kernel;   /* perf: the value the events were opened with */
    int stderr_fd;        /* where to say what goes wrong; -1: nowhere */
    const char *producer; /* "nsprof 0.1.0 agent" */
};

struct ns_perf_session;

/* Sets the session up (perf: the session's events, already opened; NULL otherwise): learns
 * the root — for a running root its threads and mapped files, while it waits for the agent,
 * so before the events are enabled. cfg and perf must outlive ns_agent_run. 0 or -1. */
int ns_agent_begin(const struct ns_agent_config *cfg, struct ns_perf_session *perf);
/* Runs the session until its last process ended. Returns 0; *root_status receives the
 * root's wait status when root_is_child (else -1). */
int ns_agent_run(int *root_status);

/* Asks a running ns_agent_run to stop: it reads what the rings hold, ends every profile
 * (END "stopped" for processes still running) and returns. Async-signal-safe. */
void ns_agent_stop(void);

/* The session's directory and the variable that names the agent: sampler/session/agent_link.h. */
#include "agent_link.h"

#endif
