/*
 * perf_session — see perf_session.h.
 *
 * Ring memory is locked memory: root gets 1 MiB of data per CPU; other users share
 * kernel.perf_event_mlock_kb per CPU plus RLIMIT_MEMLOCK, so each ring is halved until
 * the kernel accepts it (at least a few samples' worth). The agent is woken when a ring is
 * half full, and visits every ring at least every few milliseconds anyway.
 */
#include "perf_session.h"

#include <asm/perf_regs.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../preload/settings.h"
#include "clock.h"

#define REGS_MASK                                                                                  \
    ((1ull << PERF_REG_X86_BP) | (1ull << PERF_REG_X86_SP) | (1ull << PERF_REG_X86_IP))
#define MAX_RING_DATA (4u << 20)
#define PAGE          4096u

static void fill_attr(struct perf_event_attr *a, const struct ns_perf_params *p, int exclude_kernel,
                      size_t ring_data, int enable_on_exec)
{
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    a->type = PERF_TYPE_SOFTWARE;
    a->config = p->switches_only ? PERF_COUNT_SW_DUMMY : PERF_COUNT_SW_CPU_CLOCK;
    a->sample_period = p->switches_only ? 0 : p->period_ns;
    a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_REGS_USER |
                     PERF_SAMPLE_STACK_USER;
    a->sample_regs_user = REGS_MASK;
    a->sample_stack_user = p->stack_copy;
    a->exclude_kernel = (unsigned)exclude_kernel;
    a->exclude_hv = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->disabled = 1;
    a->inherit = 1;
    a->enable_on_exec = (unsigned)enable_on_exec;
    a->mmap = 1;
    a->mmap2 = 1;
    a->build_id = 1;
    a->comm = 1;
    a->comm_exec = 1;
    a->task = 1;
    a->context_switch = 1;
    a->sample_id_all = 1;
    a->watermark = 1;
    a->wakeup_watermark = (uint32_t)(ring_data / 2);
}

struct ns_perf_params ns_perf_params_of(const struct ns_config *c)
{
    struct ns_perf_params p = {
        .period_ns = 1000000000ull / c->value[NS_SET_FREQ],
        .stack_copy = (uint32_t)c->value[NS_SET_STACK_COPY],
        .exclude_kernel = c->value[NS_SET_KERNEL] == NS_KERNEL_ON    ? 0
                          : c->value[NS_SET_KERNEL] == NS_KERNEL_OFF ? 1
                                                                     : -1,
        /* wall time: exact switches, on-CPU stacks from CPU timers, unless perf's own
         * samples (999 Hz, but a cost at every context switch) were asked for */
        .switches_only =
            c->value[NS_SET_EVENT] == NS_EVENT_WALL && c->value[NS_SET_MECHANISM] != NS_MECH_PERF,
    };
    return p;
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    return n < 1 ? 1 : n > NS_PERF_MAX_CPUS ? NS_PERF_MAX_CPUS : (int)n;
}

static int perf_open(const struct perf_event_attr *a, pid_t pid, int cpu)
{
    return (int)syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void refusal(int e, int want_kernel, char *why, size_t whylen)
{
    int paranoid = -9;
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    if (f) {
        if (fscanf(f, "%d", &paranoid) != 1)
            paranoid = -9;
        fclose(f);
    }
    if (e == EACCES || e == EPERM)
        snprintf(why, whylen,
                 "perf_event_open refused (%s; kernel.perf_event_paranoid=%d): enable it with "
                 "'sysctl kernel.perf_event_paranoid=%d' or give the program CAP_PERFMON",
                 strerror(e), paranoid, want_kernel ? 1 : 2);
    else if (e == ENOSYS || e == ENOENT || e == EOPNOTSUPP)
        snprintf(why, whylen, "perf_event_open is not available here (%s)", strerror(e));
    else
        snprintf(why, whylen, "perf_event_open failed (%s)", strerror(e));
}

static int add_fd(struct ns_perf_session *s, int fd)
{
    if (s->nfds == s->fds_cap) {
        size_t cap = s->fds_cap ? s->fds_cap * 2 : 64;
        int *v = realloc(s->fds, cap * sizeof(*v));
        if (!v)
            return -1;
        s->fds = v;
        s->fds_cap = cap;
    }
    s->fds[s->nfds++] = fd;
    return 0;
}

/* Maps a ring for fd, halving its size while the locked-memory allowance refuses it. */
static int map_ring(struct ns_perf_session *s, int fd, int cpu, size_t data, char *why,
                    size_t whylen)
{
    for (; data >= 4 * PAGE; data /= 2) {
        void *map = mmap(NULL, PAGE + data, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            struct ns_perf_ring *r = &s->rings[s->nrings++];
            *r = (struct ns_perf_ring){
                .fd = fd, .cpu = cpu, .map = map, .map_len = PAGE + data, .data_size = data};
            s->ring_bytes += PAGE + data;
            return 0;
        }
        if (errno != EPERM && errno != ENOMEM)
            break;
    }
    snprintf(why, whylen,
             "cannot map a perf ring for CPU %d (%s): the locked-memory allowance "
             "(kernel.perf_event_mlock_kb, ulimit -l) is used up",
             cpu, strerror(errno));
    return -1;
}

static size_t ring_data_size(const struct ns_perf_params *p)
{
    /* Room for ~128 samples (the capture thread empties it every few ms), or ~10,000 switch
     * records; at least 4 pages. Beyond the locked-memory allowance map_ring halves it. */
    size_t want = p->switches_only ? 512u << 10 : (size_t)p->stack_copy * 128, size = 4 * PAGE;
    while (size < want && size < MAX_RING_DATA)
        size *= 2;
    return size;
}

int ns_perf_session_open(struct ns_perf_session *s, pid_t pid, const struct ns_perf_params *p,
                         int enable_on_exec, char *why, size_t whylen)
{
    memset(s, 0, sizeof(*s));
    s->params = *p;
    size_t data = ring_data_size(p);
    int want = p->exclude_kernel, ncpu = cpu_count(), err = 0;
    /* auto: with the kernel if allowed (root, paranoid <= 1), else user space only. */
    for (int exclude = want < 0 ? 0 : want; exclude <= (want < 0 ? 1 : want); exclude++) {
        struct perf_event_attr a;
        fill_attr(&a, p, exclude, data, enable_on_exec);
        int opened = 0;
        err = 0;
        for (int cpu = 0; cpu < ncpu; cpu++) {
            int fd = perf_open(&a, pid, cpu);
            if (fd < 0) {
                if (errno == ENODEV || errno == ENXIO)
                    continue; /* offline CPU */
                err = errno;
                break;
            }
            if (add_fd(s, fd) < 0 || map_ring(s, fd, cpu, data, why, whylen) < 0) {
                close(fd);
                ns_perf_session_close(s);
                return -ENOMEM;
            }
            opened++;
        }
        if (!err && opened) {
            s->params.exclude_kernel = exclude;
            return 0;
        }
        ns_perf_session_close(s);
        memset(s, 0, sizeof(*s));
        s->params = *p;
    }
    refusal(err ? err : ENODEV, want == 0, why, whylen);
    return -(err ? err : ENODEV);
}

int ns_perf_open_thread(pid_t tid, const struct ns_perf_params *p, int *out, int *out_cpus,
                        size_t cap, char *why, size_t whylen)
{
    struct perf_event_attr a;
    int ncpu = cpu_count(), n = 0;
    fill_attr(&a, p, p->exclude_kernel, ring_data_size(p), 0);
    for (int cpu = 0; cpu < ncpu && (size_t)n < cap; cpu++) {
        int fd = perf_open(&a, tid, cpu);
        if (fd >= 0) {
            out_cpus[n] = cpu;
            out[n++] = fd;
            continue;
        }
        if (errno == ENODEV || errno == ENXIO)
            continue;
        int e = errno;
        while (n > 0)
            close(out[--n]);
        refusal(e, p->exclude_kernel == 0, why, whylen);
        return -e;
    }
    return n;
}

int ns_perf_session_adopt(struct ns_perf_session *s, const int *fds, const int *cpus, size_t nfds,
                          const struct ns_perf_params *p, char *why, size_t whylen)
{
    memset(s, 0, sizeof(*s));
    s->params = *p;
    size_t data = ring_data_size(p);
    for (size_t i = 0; i < nfds; i++) {
        if (add_fd(s, fds[i]) < 0)
            return -ENOMEM;
        int ring = -1;
        for (int k = 0; k < s->nrings && ring < 0; k++) {
            if (s->rings[k].cpu == cpus[i])
                ring = k;
        }
        if (ring < 0) {
            if (s->nrings == NS_PERF_MAX_CPUS ||
                map_ring(s, fds[i], cpus[i], data, why, whylen) < 0)
                return -EPERM;
        } else if (ioctl(fds[i], PERF_EVENT_IOC_SET_OUTPUT, s->rings[ring].fd) != 0) {
            snprintf(why, whylen, "cannot share a perf ring between threads: %s", strerror(errno));
            return -errno;
        }
    }
    return 0;
}

void ns_perf_session_enable(struct ns_perf_session *s)
{
    for (size_t i = 0; i < s->nfds; i++)
        ioctl(s->fds[i], PERF_EVENT_IOC_ENABLE, 0);
}

void ns_perf_session_close(struct ns_perf_session *s)
{
    ns_perf_session_stop_capture(s);
    for (int i = 0; i < s->nrings; i++) {
        if (s->rings[i].map)
            munmap(s->rings[i].map, s->rings[i].map_len);
        if (s->queues[i].buf)
            ns_ring_destroy(&s->queues[i]);
    }
    for (size_t i = 0; i < s->nfds; i++)
        close(s->fds[i]);
    free(s->fds);
    s->fds = NULL;
    s->nfds = s->fds_cap = 0;
    s->nrings = 0;
}

/* --- reading ------------------------------------------------------------------------- */

static void copy_out(const struct ns_perf_ring *r, uint64_t pos, void *dst, size_t len)
{
    const uint8_t *data = r->map + PAGE;
    size_t off = (size_t)(pos % r->data_size);
    size_t first = len < r->data_size - off ? len : (size_t)(r->data_size - off);
    memcpy(dst, data + off, first);
    memcpy((uint8_t *)dst + first, data, len - first);
}

int ns_perf_record_ids(const uint8_t *rec, size_t len, uint32_t *pid, uint32_t *tid, uint64_t *time)
{
    if (len < sizeof(struct perf_event_header) + 16)
        return -1;
    memcpy(pid, rec + len - 16, 4);
    memcpy(tid, rec + len - 12, 4);
    memcpy(time, rec + len - 8, 8);
    return 0;
}

static uint64_t record_time(const uint8_t *rec, size_t len)
{
    const struct perf_event_header *h = (const void *)rec;
    uint64_t t = 0;
    uint32_t pid, tid;
    if (h->type == PERF_RECORD_SAMPLE) {
        if (len >= 32)
            memcpy(&t, rec + 24, 8); /* header, ip, pid/tid, time */
        return t;
    }
    return ns_perf_record_ids(rec, len, &pid, &tid, &t) == 0 ? t : 0;
}

/* How many bytes the record at pos takes in a queue. A sample keeps only the part of its
 * stack copy the kernel filled (dyn_size, often a few hundred bytes of the 16 KiB asked
 * for): copying and touching the rest is most of what the agent would spend per sample.
 * For a sample cut so, *stack_at is the offset of its stack data, *keep the bytes to copy
 * from there (the data rounded up to 8, plus room for dyn_size) and *dyn its dyn_size. */
static size_t queued_size(const struct ns_perf_ring *r, uint64_t pos,
                          const struct perf_event_header *h, size_t *keep, size_t *stack_at,
                          uint64_t *dyn)
{
    /* header, ip, pid+tid, time, abi[, regs], stack size: see fill_attr */
    const size_t abi_at = 32, regs = sizeof(uint64_t) * __builtin_popcountll(REGS_MASK);
    uint64_t abi, size;
    if (h->type != PERF_RECORD_SAMPLE || h->size < abi_at + 16)
        return h->size;
    copy_out(r, pos + abi_at, &abi, sizeof(abi));
    size_t size_at = abi_at + 8 + (abi != PERF_SAMPLE_REGS_ABI_NONE ? regs : 0);
    if (size_at + 8 > h->size)
        return h->size;
    copy_out(r, pos + size_at, &size, sizeof(size));
    if (!size || size > h->size - size_at - 16)
        return h->size;
    *stack_at = size_at + 8;
    copy_out(r, pos + *stack_at + size, dyn, sizeof(*dyn));
    uint64_t live = (*dyn < size ? *dyn : size);
    live = (live + 7) & ~(uint64_t)7;
    if (live >= size)
        return h->size;
    *keep = (size_t)live + sizeof(uint64_t);
    return *stack_at + *keep;
}

/* Moves every complete record of kernel ring r into its queue. Samples may fill a queue
 * only up to a reserve below its top, which is kept for the records that describe the
 * processes (FORK, COMM, EXIT, MMAP2...): the agent never drops one of those, since one
 * lost is a process or a library lost for the rest of the session. A sample that finds
 * no room is counted dropped; a process record that finds none stays in the kernel's ring
 * until the agent has caught up (what the kernel then cannot keep, it counts as LOST). */
static void capture_ring(struct ns_perf_session *s, int i)
{
    struct ns_perf_ring *r = &s->rings[i];
    struct ns_ring *q = &s->queues[i];
    struct perf_event_mmap_page *meta = (void *)r->map;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE), tail = r->tail;
    size_t sample_limit = q->size - q->size / 16;
    while (tail + sizeof(struct perf_event_header) <= head) {
        struct perf_event_header h;
        copy_out(r, tail, &h, sizeof(h));
        if (h.size < sizeof(h) || tail + h.size > head) {
            tail = head; /* cannot happen with a sane kernel: never loop on it */
            break;
        }
        size_t keep = 0, stack_at = 0;
        uint64_t dyn = 0;
        size_t len = queued_size(r, tail, &h, &keep, &stack_at, &dyn);
        int sample = h.type == PERF_RECORD_SAMPLE;
        void *dst = sample && ns_ring_used(q) + len > sample_limit ? NULL : ns_ring_reserve(q, len);
        if (dst) {
            if (len == h.size) {
                copy_out(r, tail, dst, h.size);
            } else {
                /* header .. stack size, the stack's live part, its length */
                copy_out(r, tail, dst, stack_at + keep);
                struct perf_event_header *qh = dst;
                uint64_t kept = keep - sizeof(uint64_t);
                qh->size = (uint16_t)len;
                memcpy((uint8_t *)dst + stack_at - sizeof(uint64_t), &kept, sizeof(kept));
                memcpy((uint8_t *)dst + stack_at + kept, &dyn, sizeof(dyn));
            }
            ns_ring_commit(q, len);
        } else if (sample) {
            __atomic_add_fetch(&s->queue_dropped[i], 1, __ATOMIC_RELAXED);
        } else {
            break; /* kept in the kernel's ring: taken at a later round */
        }
        tail += h.size;
    }
    r->tail = tail;
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

static void *capture_main(void *arg)
{
    struct ns_perf_session *s = arg;
    struct pollfd fds[NS_PERF_MAX_CPUS];
    for (int i = 0; i < s->nrings; i++)
        fds[i] = (struct pollfd){.fd = s->rings[i].fd, .events = POLLIN};
    int hung_up = 0;
    while (!__atomic_load_n(&s->capture_stop, __ATOMIC_ACQUIRE)) {
        /* Woken at each ring's watermark; every few ms anyway, so that a quiet ring never
         * holds back the merge by time. Once every traced task is gone the events report
         * POLLHUP for good: then the rings are only visited. */
        if (hung_up)
            poll(NULL, 0, 5);
        else if (poll(fds, (nfds_t)s->nrings, 5) > 0) {
            for (int i = 0; i < s->nrings; i++)
                hung_up |= (fds[i].revents & (POLLHUP | POLLERR)) != 0;
        }
        for (int i = 0; i < s->nrings; i++)
            capture_ring(s, i);
        __atomic_store_n(&s->captured_ns, ns_now_ns(), __ATOMIC_RELEASE);
    }
    return NULL;
}

int ns_perf_session_start_capture(struct ns_perf_session *s, char *why, size_t whylen)
{
    /* About 2 s of samples of a busy CPU, whatever the agent is busy with meanwhile. */
    size_t size = (size_t)1 << 25;
    while (size > (1u << 22) && size * (size_t)s->nrings > ((size_t)1 << 30))
        size >>= 1;
    for (int i = 0; i < s->nrings; i++) {
        if (ns_ring_init(&s->queues[i], size) < 0) {
            snprintf(why, whylen, "out of memory for the agent's queues");
            return -1;
        }
        /* Faulted in 2 MiB at a time where the kernel allows (THP "madvise" or "always"):
         * one fault per 4 KiB page cost more of the agent's CPU than copying the samples. */
        madvise(s->queues[i].buf, size, MADV_HUGEPAGE);
    }
    s->capture_stop = 0;
    int r = pthread_create(&s->capture, NULL, capture_main, s);
    if (r != 0) {
        snprintf(why, whylen, "cannot start the agent's capture thread: %s", strerror(r));
        return -1;
    }
    s->capturing = 1;
    return 0;
}

void ns_perf_session_stop_capture(struct ns_perf_session *s)
{
    if (s->capturing) {
        __atomic_store_n(&s->capture_stop, 1, __ATOMIC_RELEASE);
        pthread_join(s->capture, NULL);
        s->capturing = 0;
    }
    for (int i = 0; i < s->nrings; i++) /* what came in since its last round */
        capture_ring(s, i);
}

uint64_t ns_perf_session_captured(struct ns_perf_session *s)
{
    if (!s->capturing) { /* no thread (it could not start): the caller empties the rings */
        for (int i = 0; i < s->nrings; i++)
            capture_ring(s, i);
        s->captured_ns = ns_now_ns();
    }
    return __atomic_load_n(&s->captured_ns, __ATOMIC_ACQUIRE);
}

uint64_t ns_perf_session_dropped(struct ns_perf_session *s, int i)
{
    return __atomic_exchange_n(&s->queue_dropped[i], 0, __ATOMIC_RELAXED);
}

size_t ns_perf_session_read(struct ns_perf_session *s, uint64_t cutoff, ns_perf_record_fn fn,
                            void *ctx)
{
    size_t count = 0;
    for (;;) {
        int best = -1;
        uint64_t best_t = UINT64_MAX;
        const uint8_t *best_rec = NULL;
        size_t best_len = 0;
        for (int i = 0; i < s->nrings; i++) {
            size_t len;
            const uint8_t *rec = ns_ring_peek(&s->queues[i], &len);
            if (!rec)
                continue;
            uint64_t t = record_time(rec, len);
            if (best < 0 || t < best_t) {
                best = i;
                best_t = t;
                best_rec = rec;
                best_len = len;
            }
        }
        if (best < 0 || (cutoff != UINT64_MAX && best_t >= cutoff))
            break;
        fn(ctx, s->rings[best].cpu, best_rec, best_len, best_t);
        ns_ring_release(&s->queues[best], best_len);
        count++;
    }
    return count;
}

int ns_perf_parse_sample(const uint8_t *rec, size_t len, struct ns_perf_sample *s)
{
    const uint8_t *p = rec + sizeof(struct perf_event_header), *end = rec + len;
#define TAKE(dst)                                                                                  \
    do {                                                                                           \
        if ((size_t)(end - p) < sizeof(dst))                                                       \
            return -1;                                                                             \
        memcpy(&(dst), p, sizeof(dst));                                                            \
        p += sizeof(dst);                                                                          \
    } while (0)
    TAKE(s->ip);
    TAKE(s->pid);
    TAKE(s->tid);
    TAKE(s->time);
    TAKE(s->abi);
    if (s->abi != PERF_SAMPLE_REGS_ABI_NONE)
        TAKE(s->regs);
    TAKE(s->stack_size);
    if ((uint64_t)(end - p) < s->stack_size)
        return -1;
    s->stack = p;
    p += s->stack_size;
    s->dyn_size = 0;
    if (s->stack_size)
        TAKE(s->dyn_size);
#undef TAKE
    if (s->dyn_size > s->stack_size)
        s->dyn_size = s->stack_size;
    return 0;
}
