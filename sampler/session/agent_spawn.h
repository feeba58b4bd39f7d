/*
 * agent_spawn — a process preloaded without nsprof record starts its session's agent
 * (`nsprof agent`) itself: the perf events of its threads opened and handed over, the agent
 * detached from it (no SIGCHLD, invisible to waitpid(-1), its own session), and nothing of
 * it left in the process once the agent said it is ready. See agent_spawn.c.
 *
 * Not async-signal-safe; called once, from the constructor.
 */
#ifndef NS_AGENT_SPAWN_H
#define NS_AGENT_SPAWN_H

#include <stddef.h>

#include "agent_link.h"

/* Opens the events, creates the session directory, calls create_region (the process's
 * region must exist before the agent reads the session's settings from it), starts the
 * agent and waits for it. Fills *out (agent pid, perf, directory). 0, or -1 with a sentence
 * in err (nothing of the agent is left running then; the region, if created, is the
 * caller's to remove). */
int ns_agent_spawn(const struct ns_config *cfg, const char *session, struct ns_agent_link *out,
                   int (*create_region)(const struct ns_agent_link *l, void *ctx), void *ctx,
                   char *err, size_t errlen);

#endif
