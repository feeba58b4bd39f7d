/*
 * none_source — the source of event=none: nsprof takes no samples and only records what
 * its interposers see (allocations, I/O, locks). Every operation has nothing to do.
 */
#include "source.h"

static int nothing_to_start(struct ns_thread *th)
{
    (void)th;
    return 0;
}

static void nothing_to_stop(struct ns_thread *th)
{
    (void)th;
}

static size_t nothing_to_drain(struct ns_thread *th, const struct ns_sample_sink *sink)
{
    (void)th;
    (void)sink;
    return 0;
}

static int no_process_start(void)
{
    return 0;
}

static void no_process_stop(void)
{
}

const struct ns_source ns_none_source = {
    .name = "none",
    .thread_start = nothing_to_start,
    .thread_stop = nothing_to_stop,
    .thread_resume = nothing_to_start,
    .thread_release = nothing_to_stop,
    .drain = nothing_to_drain,
    .start = no_process_start,
    .stop = no_process_stop,
};
