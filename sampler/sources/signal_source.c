/*
 * signal_source — samples delivered as SIGPROF and unwound inside the handler.
 *
 * A POSIX timer per thread on that thread's CPU clock, delivered to that thread
 * (SIGEV_THREAD_ID). The kernel checks CPU timers on its tick, so the rate is capped at
 * CONFIG_HZ (250 here). A sample weighs the thread's CPU time since its previous one, read
 * from its CPU clock: the expiries the kernel delivers undercount a thread that shares its
 * CPU (measured: 78-93 ms of 100 beside two CPU hogs, counting overruns), the clock does not.
 * A CPU timer fires only while its thread runs, so no signal ever interrupts a blocked call
 * (wall time adds the blocking calls' own times, blocking.h).
 *
 * The handler is async-signal-safe: no allocation, no locks, no loader calls. It unwinds
 * with the prebuilt CFI snapshot (modules.h) over the live stack, reading only inside the
 * thread's known stack bounds, into the thread's ring. Signals that are not nsprof's are
 * passed to the handler the program installed (sigaction is interposed while nsprof owns
 * SIGPROF), so a program that profiles itself keeps working.
 */
#include "source.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../clock.h"
#include "../unwind/modules.h"
#include "../real.h"
#include "../session/shm.h"

#define NS_SIG SIGPROF
/* ~100 samples of a typical stack; the writer drains every 10 ms, i.e. 2.5 samples at
 * 250 Hz. The ring always holds at least four of the deepest stacks (max_depth frames). */
#define RING_MIN_BYTES (32u << 10)

struct sig_sample {
    uint64_t time_ns, weight;
    uint32_t nframes, end;
    struct ns_frame frames[];
};

static const int timer_anchor; /* its address tags our timers' si_value */
static int owns_sigprof;
static int sampling_on;
static pid_t our_pid;
static struct sigaction program_action;
static uint64_t dropped_no_thread;
/* Attached to an agent: samples are copied raw for it to unwind. */
static pid_t agent_pid;

void ns_signal_set_agent(pid_t agent)
{
    agent_pid = agent;
}

static int is_ours(const siginfo_t *si)
{
    return si->si_code == SI_TIMER && si->si_value.sival_ptr == &timer_anchor;
}

/* Runs the program's own SIGPROF disposition as the kernel would have. */
static void forward(int sig, siginfo_t *si, void *uc)
{
    struct sigaction pa = program_action;
    ns_shm_count(NS_CTR_SIGPROF_FORWARDED, 1);
    if (!(pa.sa_flags & SA_SIGINFO) && pa.sa_handler == SIG_IGN)
        return;
    if (!(pa.sa_flags & SA_SIGINFO) && pa.sa_handler == SIG_DFL) {
        /* Without nsprof this signal would have terminated the program: so it shall. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        ns_real.sigaction(sig, &dfl, NULL);
        __atomic_store_n(&owns_sigprof, 0, __ATOMIC_RELEASE);
        syscall(SYS_tgkill, our_pid, syscall(SYS_gettid), sig);
        return;
    }
    sigset_t old;
    ns_real.pthread_sigmask(SIG_BLOCK, &pa.sa_mask, &old);
    if (pa.sa_flags & SA_RESETHAND)
        program_action.sa_handler = SIG_DFL, program_action.sa_flags &= ~SA_SIGINFO;
    if (pa.sa_flags & SA_SIGINFO)
        pa.sa_sigaction(sig, si, uc);
    else
        pa.sa_handler(sig);
    ns_real.pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Attached: the registers and up to stack_copy bytes of the live stack from sp, read only
 * inside the thread's stack, for the agent to unwind. */
static void copy_sample(struct ns_thread *th, const ucontext_t *uc, uint64_t now, uint64_t weight)
{
    uint64_t sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t hi = __atomic_load_n(&th->stack_hi, __ATOMIC_ACQUIRE);
    size_t len = 0;
    if (sp >= th->stack_lo && sp < hi)
        len = hi - sp < ns_source_params.stack_copy ? hi - sp : ns_source_params.stack_copy;
    struct ns_raw_sample *rec = ns_ring_reserve(&th->ring, sizeof(*rec) + len);
    if (!rec) {
        __atomic_fetch_add(&th->dropped_ring_full, 1, __ATOMIC_RELAXED);
        ns_shm_count(NS_CTR_DROPPED_RING_FULL, 1);
        return;
    }
    rec->time_ns = now;
    rec->weight = weight;
    rec->tid = (uint32_t)th->tid;
    rec->stack_len = (uint32_t)len;
    rec->regs[0] = (uint64_t)uc->uc_mcontext.gregs[REG_RBP];
    rec->regs[1] = sp;
    rec->regs[2] = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    memcpy(rec->stack, (const void *)(uintptr_t)sp, len);
    ns_ring_commit(&th->ring, sizeof(*rec) + len);
}

static void take_sample(struct ns_thread *th, const siginfo_t *si, const ucontext_t *uc)
{
    uint64_t now = ns_now_ns();
    uint64_t weight = ns_source_params.period_ns;
    if (si->si_overrun > 0)
        weight *= 1 + (uint64_t)si->si_overrun;
    uint64_t cpu = ns_thread_cpu_ns(th->tid);
    if (cpu > th->last_sample_cpu_ns && th->last_sample_cpu_ns)
        weight = cpu - th->last_sample_cpu_ns;
    if (cpu)
        th->last_sample_cpu_ns = cpu;
    th->last_sample_ns = now;
    if (agent_pid) {
        copy_sample(th, uc, now, weight);
        return;
    }

    size_t max = ns_source_params.max_depth;
    struct sig_sample *rec =
        ns_ring_reserve(&th->ring, sizeof(*rec) + max * sizeof(struct ns_frame));
    if (!rec) {
        __atomic_fetch_add(&th->dropped_ring_full, 1, __ATOMIC_RELAXED);
        return;
    }
    struct ns_regs regs = {
        .ip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP],
        .sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP],
        .bp = (uint64_t)uc->uc_mcontext.gregs[REG_RBP],
    };
    /* Read only inside this thread's stack; unknown bounds: the leaf alone, and leave the
     * sp for the writer to find the bounds from /proc/self/maps. */
    uintptr_t hi = __atomic_load_n(&th->stack_hi, __ATOMIC_ACQUIRE);
    struct ns_stack_mem mem = {.lo = regs.sp, .hi = regs.sp, .copy = NULL};
    if (regs.sp >= th->stack_lo && regs.sp < hi)
        mem.hi = hi;
    else
        th->last_sp = regs.sp;
    unsigned end = NSP_END_STACK_END;
    const struct ns_snapshot *snap = ns_modules_acquire(&th->snapshot_busy);
    int n = snap ? ns_unwind(&snap->mods, &regs, &mem, rec->frames, (int)max, &end) : 0;
    ns_modules_release(&th->snapshot_busy);
    rec->time_ns = now;
    rec->weight = weight;
    rec->nframes = (uint32_t)n;
    rec->end = end;
    ns_ring_commit(&th->ring, sizeof(*rec) + (size_t)n * sizeof(struct ns_frame));
}

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    if (!is_ours(si)) {
        forward(sig, si, ucv);
        errno = saved_errno;
        return;
    }
    if (!__atomic_load_n(&sampling_on, __ATOMIC_ACQUIRE))
        goto out;
    struct ns_thread *th = ns_threads_self();
    if (!th || th == NS_THREAD_NONE)
        th = ns_threads_self_slow((pid_t)syscall(SYS_gettid));
    if (!th || __atomic_load_n(&th->state, __ATOMIC_ACQUIRE) != NS_TH_ACTIVE || !th->ring.buf) {
        __atomic_fetch_add(&dropped_no_thread, 1, __ATOMIC_RELAXED);
        goto out;
    }
    if (th->in_handler) {
        __atomic_fetch_add(&th->dropped_reentrant, 1, __ATOMIC_RELAXED);
        ns_shm_count(NS_CTR_DROPPED_REENTRANT, 1);
        goto out;
    }
    th->in_handler = 1;
    take_sample(th, si, ucv);
    th->in_handler = 0;
out:
    errno = saved_errno;
}

static int install_handler(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigprof;
    /* SA_ONSTACK: a program near the end of its stack that set up an alternate stack
     * (for its own overflow handling) should not be pushed over by us. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    if (ns_real.sigaction(NS_SIG, &sa, &old) != 0)
        return -errno;
    if (!__atomic_load_n(&owns_sigprof, __ATOMIC_ACQUIRE)) {
        program_action = old;
        /* A second start (after fork or a failed exec) keeps what the program set. */
        if (old.sa_sigaction == on_sigprof)
            memset(&program_action, 0, sizeof(program_action));
    }
    __atomic_store_n(&owns_sigprof, 1, __ATOMIC_RELEASE);
    return 0;
}

static size_t ring_bytes(void)
{
    /* Attached: room for four raw samples of the deepest copy; else four unwound stacks. */
    size_t deepest = agent_pid ? sizeof(struct ns_raw_sample) + ns_source_params.stack_copy
                               : sizeof(struct sig_sample) +
                                     ns_source_params.max_depth * sizeof(struct ns_frame);
    size_t size = RING_MIN_BYTES;
    while (size < 4 * (deepest + 16))
        size <<= 1;
    return size;
}

static int signal_thread_start(struct ns_thread *th)
{
    if (!th->ring.buf) {
        /* Attached: in the region, where the agent drains it. */
        void *buf = agent_pid ? ns_shm_alloc(ring_bytes()) : NULL;
        if (buf)
            ns_ring_attach(&th->ring, buf, ring_bytes());
        else if (agent_pid || ns_ring_init(&th->ring, ring_bytes()) < 0)
            return -ENOMEM;
    }
    th->last_sample_ns = ns_now_ns();
    th->last_sample_cpu_ns = ns_thread_cpu_ns(th->tid);
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = NS_SIG;
    sev.sigev_value.sival_ptr = (void *)&timer_anchor;
    sev._sigev_un._tid = th->tid;
    if (timer_create(ns_thread_cpu_clock(th->tid), &sev, &th->timer) != 0)
        return -errno;
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(ns_source_params.period_ns / 1000000000u);
    its.it_interval.tv_nsec = (long)(ns_source_params.period_ns % 1000000000u);
    its.it_value = its.it_interval;
    if (timer_settime(th->timer, 0, &its, NULL) != 0) {
        int e = errno;
        timer_delete(th->timer);
        return -e;
    }
    th->has_timer = 1;
    return 0;
}

static void signal_thread_stop(struct ns_thread *th)
{
    if (th->has_timer) {
        th->has_timer = 0;
        timer_delete(th->timer);
    }
}

static void signal_thread_release(struct ns_thread *th)
{
    signal_thread_stop(th);
    ns_ring_reset(&th->ring);
}

static size_t signal_drain(struct ns_thread *th, const struct ns_sample_sink *sink)
{
    size_t n = 0, len;
    const struct sig_sample *rec;
    if (!th->ring.buf)
        return 0;
    while ((rec = ns_ring_peek(&th->ring, &len)) != NULL) {
        if (len >= sizeof(*rec) &&
            len >= sizeof(*rec) + (size_t)rec->nframes * sizeof(struct ns_frame)) {
            sink->sample(sink->ctx, th->tid, rec->time_ns, rec->weight, rec->end, rec->frames,
                         (int)rec->nframes);
            n++;
        }
        ns_ring_release(&th->ring, len);
    }
    uint64_t full = __atomic_exchange_n(&th->dropped_ring_full, 0, __ATOMIC_RELAXED);
    uint64_t reent = __atomic_exchange_n(&th->dropped_reentrant, 0, __ATOMIC_RELAXED);
    if (full)
        sink->lost(sink->ctx, "dropped_ring_full", full);
    if (reent)
        sink->lost(sink->ctx, "dropped_reentrant", reent);
    uint64_t orphan = __atomic_exchange_n(&dropped_no_thread, 0, __ATOMIC_RELAXED);
    if (orphan)
        sink->lost(sink->ctx, "dropped_no_thread", orphan);
    return n;
}

static int signal_start(void)
{
    our_pid = getpid();
    int r = install_handler();
    if (r < 0)
        return r;
    __atomic_store_n(&sampling_on, 1, __ATOMIC_RELEASE);
    return 0;
}

static void signal_stop(void)
{
    __atomic_store_n(&sampling_on, 0, __ATOMIC_RELEASE);
    /* The handler stays installed: a SIGPROF still in flight must not find SIG_DFL, whose
     * action is to terminate the process. */
}

int ns_signal_program_sigaction(const struct sigaction *act, struct sigaction *oldact)
{
    if (oldact)
        *oldact = program_action;
    if (act)
        program_action = *act;
    return 0;
}

int ns_signal_owns_sigprof(void)
{
    return __atomic_load_n(&owns_sigprof, __ATOMIC_ACQUIRE);
}

/* Blocks SIGPROF in the calling thread (*old: the mask before) and discards the ones of
 * nsprof's already queued; a pending SIGPROF of the program's is left for the new image, as
 * it would have been without nsprof (only the first one: standard signals don't queue). */
static void block_and_discard_ours(sigset_t *old)
{
    sigset_t prof;
    siginfo_t si;
    struct timespec zero = {0, 0};
    sigemptyset(&prof);
    sigaddset(&prof, NS_SIG);
    ns_real.pthread_sigmask(SIG_BLOCK, &prof, old);
    while (sigtimedwait(&prof, &si, &zero) == NS_SIG) {
        if (!is_ours(&si)) {
            syscall(SYS_rt_tgsigqueueinfo, our_pid, syscall(SYS_gettid), NS_SIG, &si);
            break;
        }
    }
}

void ns_signal_drain_pending(void)
{
    sigset_t old;
    block_and_discard_ours(&old);
    ns_real.pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Attached: SIGPROF is blocked through an exec (see sampler.c). */
static int blocked_for_exec;

void ns_signal_block_for_exec(void)
{
    sigset_t old;
    block_and_discard_ours(&old);
    blocked_for_exec = !sigismember(&old, NS_SIG);
}

void ns_signal_unblock_after_exec(void)
{
    if (!blocked_for_exec)
        return;
    sigset_t prof;
    sigemptyset(&prof);
    sigaddset(&prof, NS_SIG);
    ns_real.pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
    blocked_for_exec = 0;
}

int ns_signal_blocked_for_exec(void)
{
    return blocked_for_exec;
}

const struct ns_source ns_signal_source = {
    .name = "signal",
    .build_tables_eagerly = 1,
    .thread_start = signal_thread_start,
    .thread_stop = signal_thread_stop,
    .thread_resume = signal_thread_start,
    .thread_release = signal_thread_release,
    .drain = signal_drain,
    .start = signal_start,
    .stop = signal_stop,
};
