/*
 * regions — the agent's side of a process's shared region (sampler/session/shm.h): finding the
 * file the process created in the session directory (named PID.N; the one whose header
 * names this pid and started no earlier than the current image), mapping it, and letting it
 * go — unmapped and removed — when the image it belongs to has been written out.
 *
 * A region is another program's memory: it is accepted only if the file is a regular file
 * of the agent's own user with the right magic and version, and everything read from it
 * goes through the view's bounds checks (view.h).
 *
 * Internal to agent/. Not thread-safe.
 */
#ifndef NS_REGIONS_H
#define NS_REGIONS_H

#include <stddef.h>
#include <stdint.h>

struct ns_procs;
struct ns_aproc;

/* Finds and maps p's region if it has none yet; at most every 20 ms per process unless
 * force. A region created at or after `before_ns` belongs to a later image (0: no bound).
 * 1 when p has a region. */
int ns_regions_attach(struct ns_procs *t, struct ns_aproc *p, uint64_t now_ns, int force,
                      uint64_t before_ns);
/* Maps the region file at path for p (its header must name p's pid); 0 or -1. */
int ns_regions_attach_path(struct ns_aproc *p, const char *path);
/* Unmaps p's region and removes its file (the image it belongs to was written out). */
void ns_regions_detach(struct ns_aproc *p);
/* Counters only the agent can add: the kernel's I/O counts of a live process when I/O is
 * profiled. Returns how many. */
size_t ns_regions_extra_counters(struct ns_procs *t, struct ns_aproc *p, const char **names,
                                 uint64_t *values, size_t max);

#endif
