#include "off_cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../preload/settings.h"
#include "blocking.h"
#include "maps.h"
#include "nsp_format.h"
#include "shm.h"
#include "threads.h"

/* Frames kept of a thread's last sampled stack (deeper ones are cut: the marked fallback
 * only needs to say where the thread was). */
#define NS_OFFCPU_FRAMES 128

static int wall_kernel(const struct ns_aproc *p)
{
    return p->wall_kernel && p->image_state > 0 && p->image.wall == NS_WALL_KERNEL;
}

/* Pieces kept per process before its image opens (its first ~100 ms at most: see procs.c,
 * HOLD_NS); past this they are counted, not kept. */
#define EARLY_MAX 16384

/* Entry k of a history, copied if it is still call k (0 otherwise). */
static int read_call(const struct ns_block_history *h, uint64_t k, struct ns_block_call *out)
{
    const struct ns_block_call *c = &h->call[k % NS_BLOCK_HISTORY];
    uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
    if (seq != 2 * k + 2)
        return 0;
    out->seq = seq;
    out->begin_ns = c->begin_ns;
    out->end_ns = __atomic_load_n(&c->end_ns, __ATOMIC_ACQUIRE);
    out->stack = c->stack;
    out->reason = c->reason;
    out->resource = c->resource;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == seq;
}

enum found { FOUND_NONE, FOUND_CALL, FOUND_NEAREST };

/* th's blocking-call history: kept since its slot was freed, or in its slot; NULL if none. */
static const struct ns_block_history *history_of(struct ns_athread *th)
{
    if (th->kept)
        return th->kept;
    const struct ns_thread *s = ns_procs_thread_slot(th);
    return s ? &s->block : NULL;
}

/* The call th was in during [a, b] (see off_cpu.h). Calls begin in time order, so the
 * latest one that began by a is found by bisection: a thread that blocks often has begun
 * many calls since (the agent reads records a few ms late), and each entry read is a cache
 * line the thread writes. */
static enum found find_call(struct ns_athread *th, uint64_t a, uint64_t b,
                            struct ns_block_call *out)
{
    const struct ns_block_history *h = history_of(th);
    if (!h)
        return FOUND_NONE;
    uint64_t begun = __atomic_load_n(&h->begun, __ATOMIC_ACQUIRE);
    if (!begun)
        return FOUND_NONE;
    int full = begun > NS_BLOCK_HISTORY;
    uint64_t lo = full ? begun - NS_BLOCK_HISTORY : 0, hi = begun - 1;
    struct ns_block_call c;
    /* The oldest entries are the ones being rewritten: skip those that are. */
    while (lo <= hi && !read_call(h, lo, &c))
        lo++;
    if (lo > hi)
        return FOUND_NONE;
    if (c.begin_ns > a) {
        /* Every entry left began after a: the call was overwritten (or never published, if
         * the history is not full). */
        if (!full)
            return FOUND_NONE;
        *out = c;
        return FOUND_NEAREST;
    }
    /* Invariant: call lo began by a (c is its copy); calls after hi began later. */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        struct ns_block_call m;
        if (!read_call(h, mid, &m)) { /* rewritten meanwhile: the history moved on */
            *out = c;
            return FOUND_NEAREST;
        }
        if (m.begin_ns <= a) {
            lo = mid;
            c = m;
        } else {
            hi = mid - 1;
        }
    }
    uint64_t end = c.end_ns;
    if (!end) { /* still in it, or left by a cancelled thread: the next call bounds it */
        struct ns_block_call next;
        end = lo + 1 < begun && read_call(h, lo + 1, &next) ? next.begin_ns : UINT64_MAX;
    }
    if (end < b)
        return FOUND_NONE; /* the history covers a: no published call held it */
    *out = c;
    return FOUND_CALL;
}

/* Leaves, by index: a blocking call's reason, then these. */
enum { LEAF_PREEMPTED = NS_BLOCK__COUNT, LEAF_UNKNOWN, LEAF_OTHER };

/* The "[off-CPU: ...]" frame of leaf i in p's image, named once per image. */
static struct ns_frame leaf_frame(struct ns_aproc *p, unsigned i)
{
    if (i >= NS_OFFCPU_LEAVES)
        i = LEAF_OTHER;
    if (!p->off_leaf[i].mapping_id) {
        char name[48];
        snprintf(name, sizeof(name), "[off-CPU: %s]",
                 i == LEAF_PREEMPTED ? "preempted"
                 : i == LEAF_UNKNOWN ? "unknown"
                 : i == LEAF_OTHER   ? "other"
                                     : ns_block_reason_name(i));
        p->off_leaf[i] = ns_image_synthetic(&p->image, name);
    }
    return p->off_leaf[i];
}

/* The file's id of a published call's stack under leaf i; the thread's last few are kept
 * (a thread that blocks thousands of times a second does so in a few calls). */
static uint64_t call_stack(struct ns_athread *th, const void *remote, unsigned i)
{
    for (size_t k = 0; k < sizeof(th->off_stacks) / sizeof(th->off_stacks[0]); k++) {
        if (th->off_stacks[k].remote == remote && th->off_stacks[k].leaf == i &&
            th->off_stacks[k].stack)
            return th->off_stacks[k].stack;
    }
    struct ns_frame f = leaf_frame(th->proc, i);
    uint64_t stack = ns_image_region_stack(&th->proc->image, remote, &f, 1);
    if (stack) {
        uint32_t k = th->off_stacks_next++ % (sizeof(th->off_stacks) / sizeof(th->off_stacks[0]));
        th->off_stacks[k].remote = remote;
        th->off_stacks[k].leaf = i;
        th->off_stacks[k].stack = stack;
    }
    return stack;
}

/* The file id of th's last sampled stack under `leaf` and the "[last sampled stack]" mark. */
static uint64_t marked_stack(struct ns_image *im, struct ns_athread *th, struct ns_frame leaf)
{
    struct ns_frame f[NS_OFFCPU_FRAMES + 2];
    f[0] = leaf;
    f[1] = ns_image_synthetic(im, "[last sampled stack]");
    int n = 2;
    if (th->last_frames && th->nlast_frames) {
        memcpy(f + 2, th->last_frames, th->nlast_frames * sizeof(*f));
        n += (int)th->nlast_frames;
    } else {
        f[1] = ns_image_synthetic(im, "[no sample of this thread yet]");
    }
    return ns_image_stack(im, th->nlast_frames ? th->last_end : NSP_END_ROOT, f, n);
}

static void charge_off(struct ns_athread *th, const struct ns_piece *pc)
{
    struct ns_image *im = &th->proc->image;
    uint64_t d = pc->end_ns - pc->start_ns;
    struct ns_block_call c;
    enum found found = find_call(th, pc->start_ns, pc->end_ns, &c);
    unsigned leaf = pc->reason == NS_OFF_PREEMPTED ? LEAF_PREEMPTED
                    : pc->reason == NS_OFF_UNKNOWN ? LEAF_UNKNOWN
                    : found != FOUND_NONE          ? (c.reason < NS_BLOCK__COUNT ? c.reason : 0u)
                                                   : LEAF_OTHER;
    uint64_t stack = 0;
    if (found != FOUND_NONE) {
        stack = call_stack(th, c.stack, leaf);
        if (found == FOUND_NEAREST)
            ns_image_count(im, "off_cpu_nearest_call_ns", d);
    }
    if (!stack) {
        stack = marked_stack(im, th, leaf_frame(th->proc, leaf));
        if (pc->reason == NS_OFF_BLOCKED)
            ns_image_count(im, "off_cpu_not_interposed_ns", d);
    }
    ns_image_add(im, NS_EVID_OFF_CPU, th->tid, stack, 0, d, pc->end_ns);
    ns_image_add(im, NS_EVID_WALL, th->tid, stack, 0, d, pc->end_ns);
}

/* Keeps a piece of a process whose image is not open yet. */
static void hold_piece(struct ns_athread *th, const struct ns_piece *pc)
{
    struct ns_aproc *p = th->proc;
    if (!p->early && !(p->early = malloc(EARLY_MAX * sizeof(*p->early))))
        return;
    if (p->nearly < EARLY_MAX)
        p->early[p->nearly++] = (struct ns_early_piece){th->tid, *pc};
}

void ns_offcpu_piece(struct ns_athread *th, const struct ns_piece *pc)
{
    struct ns_aproc *p = th->proc;
    if (!p->wall_kernel || p->image_state < 0 || pc->end_ns <= pc->start_ns)
        return;
    uint64_t d = pc->end_ns - pc->start_ns;
    if (pc->kind == NS_PIECE_SAMPLE ||
        (pc->kind == NS_PIECE_ON_CPU && pc->reason == NS_OFF_PREEMPTED && p->user_period_ns)) {
        /* The next sample's. perf's cpu-clock timer counts the thread's CPU time, across a
         * preemption too: the time since its last sample, ticks dropped in the kernel
         * included, is measured up to its next sample wherever the span was cut. */
        th->wall_pending_ns += d;
        return;
    }
    struct ns_piece carried = *pc;
    if (pc->kind == NS_PIECE_ON_CPU && th->wall_pending_ns) {
        /* No sample came after a preemption: what was carried is this span's. */
        carried.start_ns -= th->wall_pending_ns;
        d += th->wall_pending_ns;
        th->wall_pending_ns = 0;
        pc = &carried;
    }
    if (p->image_state == 0) {
        hold_piece(th, pc);
        return;
    }
    if (!wall_kernel(p))
        return;
    switch (pc->kind) {
    case NS_PIECE_SAMPLE:
        break;
    case NS_PIECE_ON_CPU: {
        struct ns_image *im = &th->proc->image;
        uint64_t stack = th->last_stack ? th->last_stack
                                        : marked_stack(im, th, ns_image_synthetic(im, "[on CPU]"));
        ns_image_add(im, NS_EVID_WALL, th->tid, stack, 0, d, pc->end_ns);
        break;
    }
    case NS_PIECE_OFF_CPU:
        charge_off(th, pc);
        break;
    }
}

void ns_offcpu_replay_piece(struct ns_procs *t, struct ns_aproc *p, const struct ns_early_piece *e)
{
    struct ns_athread *th = ns_procs_thread(t, e->tid);
    if (th && th->proc == p)
        ns_offcpu_piece(th, &e->piece);
}

/* The latest published call of th that overlaps [a, b], or when the history no longer goes
 * back that far, the oldest call it holds (as find_call does). */
static int overlapping_call(struct ns_athread *th, uint64_t a, uint64_t b,
                            struct ns_block_call *out)
{
    const struct ns_block_history *h = history_of(th);
    if (!h)
        return 0;
    uint64_t begun = __atomic_load_n(&h->begun, __ATOMIC_ACQUIRE);
    uint64_t oldest = begun > NS_BLOCK_HISTORY ? begun - NS_BLOCK_HISTORY : 0;
    struct ns_block_call c = {0}, last = {0};
    int have_last = 0;
    for (uint64_t k = begun; k-- > oldest;) {
        if (!read_call(h, k, &c))
            break;
        if (c.begin_ns > b) {
            last = c;
            have_last = 1;
            continue;
        }
        if (!c.end_ns || c.end_ns >= a) {
            *out = c;
            return 1;
        }
        return 0; /* older calls ended earlier still */
    }
    if (have_last && begun > NS_BLOCK_HISTORY) {
        *out = last;
        return 1;
    }
    return 0;
}

/* The kernel time a user-only sample's piece held beyond its period (see off_cpu.h). */
static uint64_t charge_kernel(struct ns_athread *th, uint64_t time_ns, uint64_t wall_ns,
                              unsigned end, const struct ns_frame *frames, int nframes)
{
    uint64_t period = th->proc->user_period_ns;
    if (!period || wall_ns <= period + period / 2)
        return 0;
    struct ns_image *im = &th->proc->image;
    uint64_t excess = wall_ns - period, stack = 0;
    struct ns_frame kernel = {ns_maps_kernel_id() | NS_MAP_AGENT, 0};
    struct ns_block_call c;
    if (overlapping_call(th, time_ns - wall_ns, time_ns, &c))
        stack = ns_image_region_stack(im, c.stack, &kernel, 1);
    if (!stack) {
        struct ns_frame f[NS_OFFCPU_FRAMES + 1];
        int n = nframes < NS_OFFCPU_FRAMES ? nframes : NS_OFFCPU_FRAMES;
        f[0] = kernel;
        memcpy(f + 1, frames, (size_t)n * sizeof(*f));
        stack = ns_image_stack(im, n < nframes ? NSP_END_DEPTH : end, f, n + 1);
    }
    if (!stack)
        return 0;
    ns_image_add(im, NS_EVID_WALL, th->tid, stack, 0, excess, time_ns);
    ns_image_count(im, "wall_kernel_unsampled_ns", excess);
    return excess;
}

void ns_offcpu_sampled(struct ns_athread *th, uint64_t stack, uint64_t time_ns, uint64_t wall_ns,
                       unsigned end, const struct ns_frame *frames, int nframes)
{
    if (!wall_kernel(th->proc) || !stack)
        return;
    wall_ns -= charge_kernel(th, time_ns, wall_ns, end, frames, nframes);
    if (wall_ns)
        ns_image_add(&th->proc->image, NS_EVID_WALL, th->tid, stack, 0, wall_ns, time_ns);
    th->last_stack = stack;
    if (!th->last_frames)
        th->last_frames = malloc(NS_OFFCPU_FRAMES * sizeof(*th->last_frames));
    if (th->last_frames) {
        int n = nframes < NS_OFFCPU_FRAMES ? nframes : NS_OFFCPU_FRAMES;
        memcpy(th->last_frames, frames, (size_t)n * sizeof(*frames));
        th->nlast_frames = (uint32_t)n;
        th->last_end = n < nframes ? NSP_END_DEPTH : end;
    }
}

void ns_offcpu_slot_gone(struct ns_athread *th, const struct ns_thread *slot)
{
    if (!wall_kernel(th->proc) || th->kept)
        return;
    th->kept = malloc(sizeof(*th->kept));
    if (th->kept)
        memcpy(th->kept, &slot->block, sizeof(*th->kept));
}

void ns_offcpu_new_image(struct ns_athread *th)
{
    th->last_stack = 0;
    th->nlast_frames = 0;
    th->wall_pending_ns = 0;
    th->slot = NULL;
    memset(th->off_stacks, 0, sizeof(th->off_stacks));
    free(th->kept);
    th->kept = NULL;
}

void ns_offcpu_forget(struct ns_athread *th)
{
    free(th->last_frames);
    free(th->kept);
    th->last_frames = NULL;
    th->kept = NULL;
}
