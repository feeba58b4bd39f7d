/*
 * writer — see writer.h.
 *
 * The loop: wait (poll on the perf rings and a control eventfd, or a short timeout for the
 * signal rings, which cannot be polled), drain every thread, and on each flush interval
 * emit thread names and statistics, counters, and a chunk. Requests (sync, exit) are
 * served after a full drain, so an acknowledged sync means "everything sampled before the
 * request is in the file".
 */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../preload/settings.h"
#include "../clock.h"
#include "../fdutil.h"
#include "../interposed/hooks.h"
#include "../interposed/io_stats.h"
#include "../unwind/modules.h"
#include "../format/nsp_format.h"
#include "../real.h"
#include "../session/shm.h"
#include "writer_state.h"

struct ns_writer_state W;
/* How long a replaced module snapshot outlives the drain that followed it. */
#define SNAPSHOT_MARGIN_NS 50000000ull

/* --- control ------------------------------------------------------------------------ */

/* A raw write: the program's threads wake the writer, and write() inside libnsprof.so binds
 * to the I/O interposer, which would count nsprof's own wake-up as the program's I/O. */
void ns_writer_wake(void)
{
    uint64_t one = 1;
    if (__atomic_load_n(&W.running, __ATOMIC_ACQUIRE) && W.ctl_fd >= 0 &&
        syscall(SYS_write, W.ctl_fd, &one, sizeof(one)) < 0) {
        /* The counter only saturates if the writer is gone; nothing to wake then. */
    }
}

static void futex_wait(int *addr, int val, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake_all(int *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

int ns_writer_sync(unsigned flags, unsigned end_reason, uint64_t status, int timeout_ms)
{
    if (!__atomic_load_n(&W.running, __ATOMIC_ACQUIRE))
        return -1;
    if (syscall(SYS_gettid) == W.tid)
        return -1; /* the writer cannot wait for itself (a crash in the writer) */
    W.req_flags = flags;
    W.req_reason = end_reason;
    W.req_status = status;
    int seq = __atomic_add_fetch(&W.req_seq, 1, __ATOMIC_SEQ_CST);
    ns_writer_wake();
    uint64_t deadline = ns_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        int ack = __atomic_load_n(&W.ack_seq, __ATOMIC_ACQUIRE);
        if (ack - seq >= 0)
            return 0;
        uint64_t now = ns_now_ns();
        if (now >= deadline)
            return -1;
        int left = (int)((deadline - now) / 1000000ull) + 1;
        futex_wait(&W.ack_seq, ack, left < 50 ? left : 50);
    }
}

void ns_writer_join(void)
{
    if (W.thread_started) {
        pthread_join(W.thread, NULL);
        W.thread_started = 0;
    }
}

void ns_writer_modules_announced(uint64_t t_ns)
{
    uint64_t prev = __atomic_exchange_n(&W.modules_announced_ns, t_ns, __ATOMIC_ACQ_REL);
    /* Within a watch window the writer is already looking every few ms. */
    if (!prev || t_ns - prev > 100000000ull)
        ns_writer_wake();
}

/* How soon to look at the loader's counters again: often right after a dlopen began. */
static uint64_t module_check_interval(uint64_t now, uint64_t *valid_from)
{
    uint64_t announced = __atomic_load_n(&W.modules_announced_ns, __ATOMIC_ACQUIRE);
    int recent = announced && now - announced < 200000000ull;
    *valid_from = recent ? announced : now;
    return recent ? 5000000ull : 100000000ull;
}

uint64_t ns_writer_new_objects_since(uint64_t now)
{
    uint64_t valid_from;
    module_check_interval(now, &valid_from);
    return valid_from;
}

pid_t ns_writer_tid(void)
{
    return W.tid;
}

int ns_writer_running(void)
{
    return __atomic_load_n(&W.running, __ATOMIC_ACQUIRE);
}

void ns_writer_set_thread_registrar(void (*fn)(pid_t tid))
{
    W.register_tid = fn;
}

/* --- records ------------------------------------------------------------------------ */

/* Counters only the in-process writer knows: its own threads' CPU time, and the kernel's
 * count of the process's I/O (beside what the interposers saw). */
static size_t extra_counters(const char **names, uint64_t *values)
{
    static const char *const internal_names[NS_INTERNAL_THREADS] = {"nsprof_writer_cpu_ns",
                                                                    "nsprof_ticker_cpu_ns"};
    size_t n = 0;
    for (int i = 0; i < NS_INTERNAL_THREADS; i++) {
        if (W.internal_cpu_ns[i]) {
            names[n] = internal_names[i];
            values[n++] = W.internal_cpu_ns[i];
        }
    }
    if (ns_hooks_enabled() & NS_HOOK_IO)
        n += ns_io_stats_counters(names + n, values + n, NS_IO_STATS_COUNTERS);
    return n;
}

static void flush_chunk(void)
{
    const char *names[NS_INTERNAL_THREADS + NS_IO_STATS_COUNTERS];
    uint64_t values[NS_INTERNAL_THREADS + NS_IO_STATS_COUNTERS];
    size_t n = extra_counters(names, values);
    ns_image_flush(&W.img, names, values, n);
    W.next_flush_ns = ns_now_ns() + W.flush_ns;
}

static int open_image(const struct ns_writer_setup *s, char *err, size_t errlen)
{
    static char cmdline[65536];
    size_t cmdlen;
    struct utsname u;
    char producer[64];
    cmdlen = ns_read_file("/proc/self/cmdline", cmdline, sizeof(cmdline));
    if (cmdlen && cmdline[cmdlen - 1] == '\0')
        cmdlen--; /* the arguments are *joined* by NULs */
    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    snprintf(producer, sizeof(producer), "nsprof %s preload", NSPROF_VERSION);
    struct ns_image_setup is = {
        .fd = s->fd,
        .pid = s->id->pid,
        .ppid = s->id->ppid,
        .exec_index = s->id->exec_index,
        .start_realtime_ns = s->start_realtime_ns,
        .start_mono_ns = s->start_mono_ns,
        .session = s->id->session,
        .exe = s->id->exe,
        .hostname = u.nodename,
        .kernel = u.release,
        .producer = producer,
        .cmdline = cmdline,
        .cmdline_len = cmdlen,
        .settings = s->settings,
        .event_id = s->event_id,
        .period_ns = s->period_ns,
        .extra_events = s->extra_events,
        .wall = s->wall,
    };
    int r = ns_image_open(&W.img, &is, err, errlen);
    if (r < 0)
        return r;
    /* This process's own region, read the way the agent reads it. */
    struct ns_shm_header *h = ns_shm_header();
    if (h) {
        struct ns_view v = {(const uint8_t *)h, (uint64_t)(uintptr_t)h, h->reserved};
        ns_image_set_region(&W.img, &v);
    }
    return 0;
}

/* --- the sample sink ---------------------------------------------------------------- */

static void sink_sample(void *ctx, pid_t tid, uint64_t time_ns, uint64_t weight, unsigned end,
                        const struct ns_frame *frames, int nframes)
{
    (void)ctx;
    ns_image_sample(&W.img, tid, time_ns, weight, end, frames, nframes);
}

static void sink_lost(void *ctx, const char *counter, uint64_t n)
{
    (void)ctx;
    ns_image_count(&W.img, counter, n);
}

/* --- the loop ----------------------------------------------------------------------- */

static int wait_for_work(void)
{
    struct pollfd fds[NS_WRITER_MAX_POLL];
    size_t n = 0;
    fds[n++] = (struct pollfd){.fd = W.ctl_fd, .events = POLLIN};
    size_t count = ns_threads_count();
    for (size_t i = 0; i < count && n < NS_WRITER_MAX_POLL; i++) {
        struct ns_thread *th = ns_threads_at(i);
        int st = __atomic_load_n(&th->state, __ATOMIC_ACQUIRE);
        if ((st == NS_TH_ACTIVE || st == NS_TH_EXITED) && ns_perf_fd(th) >= 0)
            fds[n++] = (struct pollfd){.fd = ns_perf_fd(th), .events = POLLIN};
    }
    /* Signal rings cannot wake us: visit them often enough that they never fill. */
    int timeout = n > 1 ? 50 : 10;
    uint64_t now = ns_now_ns(), valid_from;
    if (module_check_interval(now, &valid_from) < 10000000ull)
        timeout = 5;
    if (W.next_flush_ns > now && (W.next_flush_ns - now) / 1000000 < (uint64_t)timeout)
        timeout = (int)((W.next_flush_ns - now) / 1000000);
    int r = poll(fds, n, timeout);
    if (r > 0 && (fds[0].revents & POLLIN)) {
        uint64_t v;
        if (read(W.ctl_fd, &v, sizeof(v)) < 0) {
            /* EAGAIN: another wake-up consumed it; nothing lost. */
        }
    }
    return r;
}

static void serve_request(void)
{
    int seq = __atomic_load_n(&W.req_seq, __ATOMIC_ACQUIRE);
    if (seq == W.served_seq)
        return;
    W.served_seq = seq;
    unsigned flags = W.req_flags;
    ns_threads_drain_all(&W.sink);
    if (flags & NS_SYNC_END) {
        ns_threads_refresh(1);
        const char *names[NS_INTERNAL_THREADS + NS_IO_STATS_COUNTERS];
        uint64_t values[NS_INTERNAL_THREADS + NS_IO_STATS_COUNTERS];
        size_t n = extra_counters(names, values);
        ns_image_end(&W.img, W.req_reason, W.req_status, ns_now_ns(), names, values, n);
        __atomic_store_n(&W.paused, 1, __ATOMIC_RELEASE);
    } else {
        flush_chunk();
    }
    if (flags & NS_SYNC_EXIT)
        __atomic_store_n(&W.exit_requested, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&W.ack_seq, seq, __ATOMIC_RELEASE);
    futex_wake_all(&W.ack_seq);
}

/* One round of the writer's work: modules, tables, draining, and the periodic flush. */
static void writer_cycle(uint64_t now, uint64_t *next_module_check, uint64_t *announce_seen)
{
    /* A dlopen that just began is looked for at once, not at the next periodic check. */
    uint64_t announced = __atomic_load_n(&W.modules_announced_ns, __ATOMIC_ACQUIRE);
    if (announced != *announce_seen) {
        *announce_seen = announced;
        *next_module_check = now;
    }
    if (now >= *next_module_check) {
        uint64_t valid_from;
        uint64_t interval = module_check_interval(now, &valid_from);
        if (ns_modules_changed())
            ns_modules_rescan(valid_from);
        *next_module_check = now + interval;
    }
    /* The signal handler unwinds with whatever tables exist: build new objects' now.
     * (The perf path builds them when a sample first needs one.) */
    if (W.eager_tables)
        ns_modules_build_pending();
    ns_threads_drain_all(&W.sink);
    ns_image_poll_region(&W.img);
    /* Every sample taken before `now` is drained (a perf record being written right now is
     * younger than now minus a few microseconds): older snapshots can go. */
    if (now > SNAPSHOT_MARGIN_NS)
        ns_modules_retire(now - SNAPSHOT_MARGIN_NS);
    if (now >= W.next_flush_ns) {
        ns_threads_refresh(0);
        flush_chunk();
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    W.tid = (pid_t)syscall(SYS_gettid);
    ns_threads_set_internal(NS_INTERNAL_WRITER, W.tid);
    uint64_t next_module_check = 0, announce_seen = 0;
    while (!__atomic_load_n(&W.exit_requested, __ATOMIC_ACQUIRE)) {
        wait_for_work();
        /* After END(exec) nothing may be written until the exec fails (ns_writer_resume):
         * a record after that END would make a successful exec look like a failed one. */
        if (!__atomic_load_n(&W.paused, __ATOMIC_ACQUIRE))
            writer_cycle(ns_now_ns(), &next_module_check, &announce_seen);
        serve_request();
    }
    __atomic_store_n(&W.running, 0, __ATOMIC_RELEASE);
    return NULL;
}

void ns_writer_resume(void)
{
    ns_image_resume(&W.img);
    __atomic_store_n(&W.paused, 0, __ATOMIC_RELEASE);
    ns_writer_wake();
}

int ns_writer_start(const struct ns_writer_setup *s, char *err, size_t errlen)
{
    W.ctl_fd = -1;
    W.source = s->source;
    W.flush_ns = s->flush_ns;
    W.pid = s->id->pid;
    W.eager_tables = s->eager_tables;
    W.sink = (struct ns_sample_sink){sink_sample, sink_lost, NULL};
    int r = open_image(s, err, errlen);
    if (r < 0)
        return r;
    W.ctl_fd = ns_fd_move_high(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (W.ctl_fd < 0) {
        snprintf(err, errlen, "cannot set the profile writer up: %s", strerror(errno));
        ns_image_close(&W.img);
        return -1;
    }
    W.next_flush_ns = ns_now_ns() + W.flush_ns;
    sigset_t all, old;
    sigfillset(&all);
    /* The writer must never run the program's signal handlers nor be sampled. */
    ns_real.pthread_sigmask(SIG_SETMASK, &all, &old);
    __atomic_store_n(&W.running, 1, __ATOMIC_RELEASE);
    r = ns_real.pthread_create(&W.thread, NULL, writer_main, NULL);
    ns_real.pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        __atomic_store_n(&W.running, 0, __ATOMIC_RELEASE);
        snprintf(err, errlen, "cannot start the writer thread: %s", strerror(r));
        return -r;
    }
    W.thread_started = 1;
    pthread_setname_np(W.thread, "nsprof-writer");
    /* Until its tid is known the writer could be taken for a program thread. */
    while (!ns_threads_internal_tid(NS_INTERNAL_WRITER))
        sched_yield();
    return 0;
}

void ns_writer_postfork_child(void)
{
    /* The parent's writer thread does not exist here; its buffers are ours to free. */
    if (W.ctl_fd >= 0)
        close(W.ctl_fd);
    ns_image_close(&W.img);
    struct ns_writer_state fresh = {0};
    fresh.ctl_fd = -1;
    W = fresh;
}
