/*
 * agent_link — how a profiled process finds its session's agent, and what it shares with it.
 *
 * The environment variable NSPROF_SESSION_AGENT = "PID:MECH:DIR" names the agent (PID), how
 * the session samples (MECH: perf = the agent's inherited perf events cover every process of
 * the session; signal = each process samples itself into its region; switches = both: the
 * agent's perf events follow the processes and their context switches but sample nothing,
 * each thread samples itself with CPU timers (wall time); none = no sampling),
 * and the session's 0700 directory, where each process image creates its region file
 * DIR/PID.EXEC (sampler/session/shm.h). nsprof record sets it for the program it starts; a
 * preloaded process that starts an agent itself sets it for its descendants; exec'd images get it
 * back from nsprof's exec hooks even when the program gives them another environment.
 *
 * Not async-signal-safe (it formats strings); called from the constructor and atfork.
 */
#ifndef NS_AGENT_LINK_H
#define NS_AGENT_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../preload/settings.h"
#include "../writer_thread/writer.h"

#define NS_ENV_AGENT_SESSION "NSPROF_SESSION_AGENT"

enum ns_link_mech { NS_LINK_PERF, NS_LINK_SIGNAL, NS_LINK_NONE, NS_LINK_SWITCHES };

/* Why a session samples with NS_LINK_SWITCHES (the profile's mechanism_reason). */
#define NS_SWITCHES_REASON                                                                         \
    "perf_event_open is allowed: nsprof's agent follows every context switch; on-CPU stacks "      \
    "come from CPU timers, which cost the program's context switches nothing "                     \
    "(--mechanism=perf samples with perf instead)"

struct ns_agent_link {
    pid_t agent;
    enum ns_link_mech mech;
    char dir[4096];
};

/* Parses text ("PID:MECH:DIR"); 0 if valid. */
int ns_agent_link_parse(const char *text, struct ns_agent_link *out);
/* Formats the variable's value into out; 0 if it fits. */
int ns_agent_link_format(const struct ns_agent_link *l, char *out, size_t cap);
/* The link from the environment, if its agent is still running: 1, else 0. */
int ns_agent_link_from_env(struct ns_agent_link *out);
const char *ns_agent_link_mech_name(enum ns_link_mech m);

/* The session's directory: base (NSPROF_SHM_DIR, else /dev/shm, else /tmp) /nsprof-UID/
 * SESSION, created 0700 and checked to be ours (not a symlink, our uid, mode 0700) at each
 * level; the directories of earlier sessions whose agent is gone are removed on the way.
 * 0, or -1 with a sentence. */
int ns_agent_link_session_dir(const char *session, char *out, size_t cap, char *err, size_t errlen);
/* Marks the directory as this agent's (its pid and start time): a later session removes a
 * directory whose agent is gone (stale). */
int ns_agent_link_claim_dir(const char *dir);
/* Removes the directory and what is left in it. */
void ns_agent_link_remove_dir(const char *dir);

/* Creates this image's region file in the session directory (DIR/PID.EXEC, or DIR/PID.EXEC.N
 * when that name is taken) and fills its header: identity, command line, the settings as
 * key/value text, the events the interposers write. 0, or -1 with a sentence. */
int ns_agent_link_region(const struct ns_agent_link *l, const struct ns_identity *id,
                         const char *const *settings, uint32_t extra_events, char *err,
                         size_t errlen);
/* fork child: a region of its own (a copy of the parent's, same address) with its identity. */
int ns_agent_link_fork(const struct ns_agent_link *l, const struct ns_identity *id, char *err,
                       size_t errlen);

#endif
