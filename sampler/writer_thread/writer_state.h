/*
 * writer_state — the in-process writer thread's state, shared by its two files: writer.c
 * (the loop and requests) and writer_threads.c (thread discovery, names, exits and
 * statistics). What goes into the file is the image's (writer/image.h). Internal to them.
 */
#ifndef NS_WRITER_STATE_H
#define NS_WRITER_STATE_H

#include <pthread.h>
#include <stdint.h>

#include "../../writer/image.h"
#include "../sources/source.h"
#include "writer.h"

#define NS_WRITER_MAX_POLL 4096

struct ns_writer_state {
    struct ns_image img;
    int ctl_fd;
    pthread_t thread;
    int thread_started, running, exit_requested;
    int paused; /* atomic: END written, the exec has not failed (yet) */
    pid_t pid;
    int eager_tables;
    pid_t tid;
    const struct ns_source *source;
    uint64_t flush_ns, next_flush_ns;
    struct ns_sample_sink sink;
    uint64_t modules_announced_ns;                 /* atomic: start of the latest dlopen */
    uint64_t internal_cpu_ns[NS_INTERNAL_THREADS]; /* nsprof's own threads' CPU time */

    int req_seq, ack_seq, served_seq;
    unsigned req_flags, req_reason;
    uint64_t req_status;

    void (*register_tid)(pid_t tid);
};

extern struct ns_writer_state W;

/* writer_threads.c */
void ns_threads_drain_all(const struct ns_sample_sink *sink);
/* /proc/self/task: new threads, vanished ones, names, CPU times. */
void ns_threads_refresh(int final);

#endif
