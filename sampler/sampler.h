/*
 * sampler — the in-process profiler as the preload library drives it: start, per-thread
 * begin/end, fork, exec, crash and exit. It picks the mechanism (perf rings, else signal
 * timers, saying why), registers threads, and runs the writer.
 *
 * Contract: call ns_sampler_start once from the constructor. Every other entry point is a
 * no-op when the sampler is not running in *this* process (a vfork child shares our memory
 * but is another process: it must not touch the parent's sampler).
 * ns_sampler_crash is async-signal-safe; the others are not.
 */
#ifndef NS_SAMPLER_H
#define NS_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "writer_thread/writer.h"

struct ns_config;

/* Opens the profile for an identity (the preload's naming rules); returns an fd or -1 with
 * a sentence in err. Used again in fork children. */
typedef int (*ns_open_output_fn)(const struct ns_identity *id, char *path, size_t pathlen,
                                 char *err, size_t errlen);

int ns_sampler_start(const struct ns_config *cfg, const struct ns_identity *id,
                     ns_open_output_fn open_output, char *err, size_t errlen);
int ns_sampler_active(void);
/* The pid the sampler runs for; a different getpid() means a vfork child. */
int ns_sampler_in_owner_process(void);
const char *ns_sampler_output_path(void);
const char *ns_sampler_mechanism(void);
/* The pid of the session's agent this process is attached to, 0 when it profiles itself. */
pid_t ns_sampler_agent(void);
/* Why the agent could not be started ("" when it was, or was not wanted). */
const char *ns_sampler_agent_failure(void);

void ns_sampler_thread_begin(void);

void ns_sampler_prefork(void);
void ns_sampler_postfork_parent(void);
void ns_sampler_postfork_child(void);

/* exec: stop sampling and flush (with END exec); if the exec fails, resume. */
void ns_sampler_before_exec(void);
void ns_sampler_exec_failed(int err);

void ns_sampler_finish(unsigned reason, uint64_t status);
/* From a fatal signal's handler: write what we have, END(signal), within a bounded wait. */
void ns_sampler_crash(int sig);

/* dlclose: before it, capture objects loaded since the last scan (so that samples taken
 * in them can be unwound later); after it, record that they are gone. */
void ns_sampler_before_dlclose(void);
void ns_sampler_modules_changed(uint64_t valid_from_ns);
/* dlopen is starting (at t_ns): the writer watches for the new object closely. */
void ns_sampler_modules_announced(uint64_t t_ns);

/* Gives the program's threads slots for their call sites from now on (attached mode
 * without interposers gave them none): the database hooks' first use. */
void ns_sampler_track_threads(void);

#endif
