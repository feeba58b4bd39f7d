/*
 * threads_region — what the agent reads from the thread slots of a process's region
 * (sampler/sources/threads.h): the raw samples a thread took itself (signal mechanism, when perf
 * is refused or for wall time: registers and a copy of the top of its stack, for the agent
 * to unwind), and its end — after which the slot's last calls are written and the slot is
 * given back (the process reuses it for its next thread).
 *
 * A ring is another program's memory: every record is checked against the ring's size and
 * the sample's own length before it is read.
 */
#include <string.h>

#include "clock.h"
#include "nsp_format.h"
#include "off_cpu.h"
#include "procs.h"
#include "ring.h"
#include "shm.h"
#include "source.h"
#include "threads.h"

#define RING_HDR 8u
#define PAD_BIT  (1ull << 63)

/* The next record of a region ring (its bytes at *len), or NULL; release with ring_release. */
static const uint8_t *ring_next(struct ns_ring *r, const uint8_t *buf, size_t *len)
{
    for (;;) {
        uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE), tail = r->tail;
        if (tail == head)
            return NULL;
        size_t off = (size_t)(tail & (r->size - 1));
        if (head - tail > r->size || off + RING_HDR > r->size)
            goto corrupt;
        uint64_t h;
        memcpy(&h, buf + off, sizeof(h));
        if (h & PAD_BIT) {
            uint64_t pad = h & ~PAD_BIT;
            if (!pad || pad > r->size - off)
                goto corrupt;
            __atomic_store_n(&r->tail, tail + pad, __ATOMIC_RELEASE);
            continue;
        }
        if (h > r->size - off - RING_HDR)
            goto corrupt;
        *len = (size_t)h;
        return buf + off + RING_HDR;
    corrupt:
        /* Not what the process's handler writes: drop it all rather than guess. */
        __atomic_store_n(&r->tail, head, __ATOMIC_RELEASE);
        return NULL;
    }
}

static void ring_release(struct ns_ring *r, size_t len)
{
    __atomic_store_n(&r->tail, r->tail + RING_HDR + ((len + 7) & ~(size_t)7), __ATOMIC_RELEASE);
}

/* Unwinds and writes the raw samples waiting in one thread's ring that are older than
 * limit_ns. With perf's switch records (timer_samples), each is first a point of the
 * thread's time line (a, the agent's thread): the records of the thread older than the
 * sample were handed out before it (see ns_procs_self_drain). */
static void drain_ring(struct ns_procs *t, struct ns_aproc *p, struct ns_thread *th,
                       struct ns_athread *a, uint64_t limit_ns)
{
    struct ns_ring *r = &th->ring;
    if (!r->buf || !r->size || (r->size & (r->size - 1)))
        return;
    const uint8_t *buf = ns_view_at(&p->region.view, r->buf, r->size);
    if (!buf)
        return;
    const uint8_t *rec;
    size_t len;
    while ((rec = ring_next(r, buf, &len)) != NULL) {
        struct ns_raw_sample s;
        if (len >= sizeof(s)) {
            memcpy(&s, rec, sizeof(s));
            if (s.time_ns >= limit_ns)
                return; /* its turn comes with later records */
            /* While the time line has the thread off its CPU, the switch-in before this
             * sample is still to be read (its CPU's ring lags a little behind another's):
             * the sample waits for no piece of it. A switch-in really lost comes with a LOST
             * record, which makes the interval unknown by itself. */
            if (a && t->cfg->timer_samples && a->tl.state != NS_TL_OFF)
                ns_tl_sample(&a->tl, s.time_ns, ns_procs_add_piece, a);
            if (s.stack_len <= len - sizeof(s))
                ns_procs_raw_sample(t, p, (pid_t)s.tid, s.time_ns, s.weight, s.regs,
                                    rec + sizeof(s), s.stack_len);
        }
        ring_release(r, len);
    }
}

struct ns_thread *ns_procs_thread_slot(struct ns_athread *th)
{
    struct ns_aproc *p = th->proc;
    const struct ns_shm_header *h = p->region.hdr;
    if (!h)
        return NULL;
    struct ns_thread *s = th->slot ? ns_view_at_rw(&p->region.view, th->slot, sizeof(*s)) : NULL;
    if (s && s->tid == th->tid)
        return s;
    const struct ns_thread_dir *dir = ns_view_at(&p->region.view, h->threads, sizeof(*dir));
    uint64_t n = dir ? __atomic_load_n(&dir->n, __ATOMIC_ACQUIRE) : 0;
    for (uint64_t i = 0; i < n && i < NS_THREADS_MAX; i++) {
        s = ns_view_at_rw(&p->region.view, dir->slot[i], sizeof(*s));
        int state = s ? __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) : NS_TH_FREE;
        if (s && s->tid == th->tid && (state == NS_TH_ACTIVE || state == NS_TH_EXITED)) {
            th->slot = dir->slot[i];
            return s;
        }
    }
    return NULL;
}

void ns_procs_self_drain(struct ns_procs *t, struct ns_athread *th, uint64_t limit_ns)
{
    if (!t->cfg->timer_samples || th->exited)
        return;
    struct ns_thread *slot = ns_procs_thread_slot(th);
    if (slot)
        drain_ring(t, th->proc, slot, th, limit_ns);
}

/* A thread's name and start as its slot says, the first time the agent meets it. */
static struct ns_athread *meet(struct ns_procs *t, struct ns_aproc *p, const struct ns_thread *th)
{
    struct ns_athread *a = ns_procs_thread(t, th->tid);
    if (a && a->proc == p)
        return a;
    a = ns_procs_add_thread(t, p, th->tid, th->start_mono_ns);
    if (a && th->name[0]) {
        memcpy(a->comm, th->name, sizeof(a->comm) - 1);
        a->comm[sizeof(a->comm) - 1] = '\0';
        if (p->image_state > 0)
            ns_image_thread_name(&p->image, a->tid, a->comm, a->start_ns);
    }
    return a;
}

void ns_procs_read_threads(struct ns_procs *t, struct ns_aproc *p, int self_sampled,
                           uint64_t limit_ns)
{
    /* With perf's records (timer_samples), perf knows the threads, their starts and ends. */
    int timer = t->cfg->timer_samples;
    const struct ns_shm_header *h = p->region.hdr;
    const struct ns_thread_dir *dir =
        h ? ns_view_at(&p->region.view, h->threads, sizeof(*dir)) : NULL;
    uint64_t n = dir ? __atomic_load_n(&dir->n, __ATOMIC_ACQUIRE) : 0;
    for (uint64_t i = 0; i < n && i < NS_THREADS_MAX; i++) {
        struct ns_thread *th = ns_view_at_rw(&p->region.view, dir->slot[i], sizeof(*th));
        int state = th ? __atomic_load_n(&th->state, __ATOMIC_ACQUIRE) : NS_TH_FREE;
        if (state != NS_TH_ACTIVE && state != NS_TH_EXITED)
            continue;
        /* A process that ended took its threads along, whatever their slots say. */
        int gone = state == NS_TH_EXITED || p->state != NS_AP_ALIVE;
        struct ns_athread *a = NULL;
        if (timer) {
            a = ns_procs_thread(t, th->tid);
            if (a && a->proc != p)
                a = NULL;
            /* Not known yet: its FORK record is younger than the cutoff; else it was lost. */
            if (!a && th->start_mono_ns < limit_ns)
                a = meet(t, p, th);
            if (!a && !gone)
                continue;
            /* Until perf's EXIT of the thread was read, its last samples wait for it. */
            if (a && !a->exited && p->state == NS_AP_ALIVE)
                gone = 0;
            if (a && !a->exited)
                drain_ring(t, p, th, a, gone ? UINT64_MAX : limit_ns);
        } else if (self_sampled) {
            a = meet(t, p, th);
            drain_ring(t, p, th, a, UINT64_MAX);
        }
        if (!gone || p->image_state <= 0)
            continue;
        /* Gone: its last samples are in, its last calls are written, its slot is free. */
        if (a && !a->exited && !timer) {
            a->exited = 1;
            a->cpu_ns = th->cpu_ns;
            if (th->name[0])
                ns_image_thread_name(&p->image, a->tid, th->name, a->start_ns);
            ns_image_thread_cpu(&p->image, a->tid, th->cpu_ns);
            ns_image_thread_exited(&p->image, a->tid);
            if (p->live_threads)
                p->live_threads--;
        }
        if (state == NS_TH_EXITED) {
            ns_image_emit_thread_sites(&p->image, dir->slot[i]);
            struct ns_athread *owner = ns_procs_thread(t, th->tid);
            if (owner && owner->proc == p)
                ns_offcpu_slot_gone(owner, th);
            int expected = NS_TH_EXITED;
            __atomic_compare_exchange_n(&th->state, &expected, NS_TH_FREE, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED);
        }
    }
}
