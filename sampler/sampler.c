/*
 * sampler — see sampler.h.
 *
 * Mechanism choice: sampling prefers perf rings — about 1-4% at 1 kHz, no signal in the
 * program, a true 1 kHz — and falls back to per-thread CPU timers (signals, at most the
 * kernel tick, 250 Hz here) where perf_event_open is refused; the profile says which ran
 * and why, and the user is told how to enable perf.
 */
#include "sampler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../preload/settings.h"
#include "session/agent_link.h"
#include "session/agent_spawn.h"
#include "interposed/alloc.h"
#include "interposed/capture.h"
#include "clock.h"
#include "interposed/hooks.h"
#include "image.h"
#include "unwind/modules.h"
#include "format/nsp_format.h"
#include "real.h"
#include "session/shm.h"
#include "interposed/sites.h"
#include "sources/source.h"
#include "sources/threads.h"

static struct {
    int active;
    pid_t pid;
    struct ns_config cfg;
    struct ns_identity id;
    const struct ns_source *source;
    struct ns_source_params params;
    ns_open_output_fn open_output;
    int fd;
    char path[4096];
    char reason[512];
    pthread_key_t key;
    int key_created;
    uint64_t threads_failed;
    int first_failure;
    /* attached: the session's agent samples and writes; this process only fills its region */
    int attached;
    struct ns_agent_link link;
    int track_threads;        /* threads get slots (the interposers' site tables) */
    char agent_failure[1024]; /* why this process profiles itself though an agent was wanted */
} S = {.fd = -1};

int ns_sampler_active(void)
{
    return __atomic_load_n(&S.active, __ATOMIC_ACQUIRE);
}

int ns_sampler_in_owner_process(void)
{
    return ns_sampler_active() && getpid() == S.pid;
}

const char *ns_sampler_output_path(void)
{
    return S.path;
}

const char *ns_sampler_mechanism(void)
{
    return S.attached ? "agent" : S.source ? S.source->name : "none";
}

pid_t ns_sampler_agent(void)
{
    return S.attached ? S.link.agent : 0;
}

const char *ns_sampler_agent_failure(void)
{
    return S.agent_failure;
}

static void thread_exit_destructor(void *arg)
{
    struct ns_thread *th = arg;
    if (!th || getpid() != S.pid)
        return;
    th->cpu_ns = ns_thread_profiled_cpu(th);
    prctl(PR_GET_NAME, th->name, 0, 0, 0);
    S.source->thread_stop(th);
    ns_threads_set_exited(th);
    ns_writer_wake();
}

static void count_failure(int err)
{
    if (__atomic_fetch_add(&S.threads_failed, 1, __ATOMIC_RELAXED) == 0)
        S.first_failure = err;
}

/* Sets sampling up for tid; self = called by that thread. */
static void register_thread(pid_t tid, int self)
{
    struct ns_thread *th = ns_threads_claim(tid, self);
    if (!th) {
        count_failure(ENOSPC);
        return;
    }
    th->start_mono_ns = ns_now_ns();
    th->cpu_base_ns = ns_thread_cpu_ns(tid);
    if (self)
        prctl(PR_GET_NAME, th->name, 0, 0, 0);
    int r = S.source->thread_start(th);
    if (r < 0) {
        count_failure(-r);
        ns_threads_set_failed(th); /* not retried by every /proc/self/task scan */
        return;
    }
    ns_threads_activate(th);
    if (self && S.key_created)
        pthread_setspecific(S.key, th);
    /* Wall mode: the thread's first blocking call must not pay for its capture buffers. */
    if (S.cfg.value[NS_SET_EVENT] == NS_EVENT_WALL && (self || tid == (pid_t)syscall(SYS_gettid))) {
        th->in_hook = 1;
        ns_capture_prepare(th);
        th->in_hook = 0;
    }
    ns_writer_wake();
}

static void register_foreign(pid_t tid)
{
    register_thread(tid, 0);
}

void ns_sampler_thread_begin(void)
{
    if (!ns_sampler_in_owner_process() || (S.attached && !S.track_threads))
        return;
    register_thread((pid_t)syscall(SYS_gettid), 1);
}

/* The sampling parameters the settings give. */
static void set_params(void)
{
    const struct ns_config *c = &S.cfg;
    S.params.period_ns = 1000000000ull / c->value[NS_SET_FREQ];
    S.params.stack_copy = (uint32_t)c->value[NS_SET_STACK_COPY];
    S.params.max_depth = (uint32_t)c->value[NS_SET_MAX_DEPTH];
    S.params.exclude_kernel = c->value[NS_SET_KERNEL] == NS_KERNEL_ON    ? 0
                              : c->value[NS_SET_KERNEL] == NS_KERNEL_OFF ? 1
                                                                         : -1;
}

static void choose_source(void)
{
    const struct ns_config *c = &S.cfg;
    set_params();
    S.reason[0] = '\0';
    S.source = &ns_signal_source;
    if (c->value[NS_SET_EVENT] == NS_EVENT_NONE) {
        S.source = &ns_none_source;
        snprintf(S.reason, sizeof(S.reason), "event=none: no sampling was asked for");
    } else if (c->value[NS_SET_MECHANISM] == NS_MECH_SIGNAL) {
        snprintf(S.reason, sizeof(S.reason), "mechanism=signal was asked for");
    } else if (ns_perf_probe(&S.params, S.reason, sizeof(S.reason)) == 0) {
        S.source = &ns_perf_source;
        if (c->value[NS_SET_MECHANISM] == NS_MECH_AUTO)
            snprintf(S.reason, sizeof(S.reason), "perf_event_open is allowed");
        else
            snprintf(S.reason, sizeof(S.reason), "mechanism=perf was asked for");
    }
    if (S.source != &ns_perf_source)
        S.params.exclude_kernel = 0;
    if (S.source == &ns_none_source)
        S.params.period_ns = 0;
    ns_source_configure(&S.params);
}

/* Attached: the agent samples with perf (nothing to do here), or this process samples itself
 * with CPU timers into its region for the agent (perf refused; wall time, whose switches the
 * agent's perf events follow), or nothing. */
static void choose_attached_source(void)
{
    const struct ns_config *c = &S.cfg;
    set_params();
    S.params.exclude_kernel = 0;
    if ((S.link.mech == NS_LINK_SIGNAL || S.link.mech == NS_LINK_SWITCHES) &&
        c->value[NS_SET_EVENT] != NS_EVENT_NONE) {
        S.source = &ns_signal_source;
        ns_signal_set_agent(S.link.agent);
        snprintf(S.reason, sizeof(S.reason), "sampled with signals for nsprof's agent (pid %d)",
                 (int)S.link.agent);
    } else {
        S.source = &ns_none_source;
        S.params.period_ns = 0;
        snprintf(S.reason, sizeof(S.reason), "sampled by nsprof's agent (pid %d)",
                 (int)S.link.agent);
    }
    ns_source_configure(&S.params);
}

static void add_notes(void)
{
    if (S.agent_failure[0])
        ns_shm_note(NSP_NOTE_WARNING, "in_process",
                    "%s: profiled inside the program instead, whose writer thread makes it "
                    "multi-threaded (glibc then leaves its single-thread fast paths: an "
                    "uncontended mutex costs about 4x more)",
                    S.agent_failure);
    if (S.source == &ns_signal_source && S.cfg.value[NS_SET_MECHANISM] != NS_MECH_SIGNAL)
        ns_shm_note(NSP_NOTE_WARNING, "perf_refused",
                    "%s; sampled with CPU timers instead, which the kernel fires at most "
                    "once per tick (250 Hz on a CONFIG_HZ=250 kernel)",
                    S.reason);
    if (S.source == &ns_signal_source && S.cfg.value[NS_SET_FREQ] > 250)
        ns_shm_note(NSP_NOTE_INFO, "cpu_timer_rate",
                    "CPU timers tick with the kernel: the achieved rate can be below the "
                    "%llu Hz asked for; samples are weighted by their thread's CPU time since its "
                    "previous one, so time shares stay right",
                    (unsigned long long)S.cfg.value[NS_SET_FREQ]);
    if (S.source == &ns_perf_source && S.params.exclude_kernel)
        ns_shm_note(NSP_NOTE_WARNING, "kernel_ticks_excluded",
                    "perf events are limited to user space here (exclude_kernel): CPU "
                    "time spent inside system calls and page faults is not sampled");
}

/* Registers the threads that exist now: normally only the calling one, but another
 * library's constructor may have started threads before ours ran. */
static void register_existing_threads(void)
{
    static pid_t tids[4096];
    pid_t self = (pid_t)syscall(SYS_gettid);
    register_thread(self, 1);
    size_t n = ns_list_tasks(tids, sizeof(tids) / sizeof(tids[0]));
    for (size_t i = 0; i < n; i++) {
        if (tids[i] != self && !ns_threads_is_internal(tids[i]) && !ns_threads_find(tids[i]))
            register_thread(tids[i], 0);
    }
}

/* The events the interposers asked for will write (writer.h: extra_events). */
static uint32_t hook_events(void)
{
    uint32_t ev = 0;
    if (S.cfg.value[NS_SET_ALLOC] != NS_ALLOC_OFF)
        ev |= 1u << NS_EVID_ALLOC_BYTES | 1u << NS_EVID_ALLOC_COUNT | 1u << NS_EVID_LEAK_BYTES |
              1u << NS_EVID_PEAK_BYTES;
    if (S.cfg.value[NS_SET_IO] == NS_ON)
        ev |= 1u << NS_EVID_IO_TIME | 1u << NS_EVID_IO_BYTES | 1u << NS_EVID_IO_CALLS |
              1u << NS_EVID_STDIO_TIME | 1u << NS_EVID_STDIO_BYTES | 1u << NS_EVID_STDIO_CALLS;
    if (S.cfg.value[NS_SET_LOCKS] == NS_ON)
        ev |= 1u << NS_EVID_LOCK_WAIT | 1u << NS_EVID_COND_WAIT | 1u << NS_EVID_LOCK_CALLS |
              1u << NS_EVID_LOCK_CONTENDED;
    return ev;
}

/* Whether interposers capture their callers' stacks: they record events, or they publish
 * blocking calls for wall time (blocking.h). */
static int interposers_capture(void)
{
    return hook_events() != 0 || S.cfg.value[NS_SET_EVENT] == NS_EVENT_WALL;
}

/* Unwind tables are needed at once where stacks are unwound in the program's threads: the
 * signal handler, and interposers (which must not build them: they may hold the program's
 * locks, and building takes the loader's). */
static int eager_tables(void)
{
    return S.source->build_tables_eagerly || interposers_capture();
}

/* The SETTING records: every setting, and what the process found out itself. */
static const char *const *settings_kv(void)
{
    static char text[NS_SET__COUNT + 4][2][NS_SETTING_TEXT_MAX];
    static const char *kv[2 * (NS_SET__COUNT + 4) + 1];
    size_t n = 0;
    for (int i = 0; i < NS_SET__COUNT; i++, n++) {
        kv[2 * n] = ns_setting_defs[i].key;
        kv[2 * n + 1] = S.cfg.text[i];
    }
    const char *extra[][2] = {{"mechanism_used", S.source->name},
                              {"mechanism_reason", S.reason},
                              {"exclude_kernel", S.params.exclude_kernel ? "1" : "0"},
                              {"mode", "in-process"}};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++, n++) {
        snprintf(text[i][1], sizeof(text[i][1]), "%s", extra[i][1]);
        kv[2 * n] = extra[i][0];
        kv[2 * n + 1] = text[i][1];
    }
    kv[2 * n] = NULL;
    return kv;
}

static int start_writer(char *err, size_t errlen)
{
    const char *const *kv = settings_kv();
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint32_t ev = S.source == &ns_none_source ? 0 : NS_EVID_CPU;
    struct ns_writer_setup setup = {
        .fd = S.fd,
        .id = &S.id,
        .source = S.source,
        .event_id = ev,
        .event_name = ns_event_defs[ev].name,
        .period_ns = S.params.period_ns,
        .flush_ns = S.cfg.value[NS_SET_FLUSH_MS] * 1000000ull,
        .start_mono_ns = ns_now_ns(),
        .start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec,
        .settings = kv,
        .extra_events = hook_events(),
        .wall = S.source != &ns_none_source && S.cfg.value[NS_SET_EVENT] == NS_EVENT_WALL
                    ? NS_WALL_INTERPOSED
                    : NS_WALL_NONE,
        .eager_tables = eager_tables(),
    };
    ns_writer_set_thread_registrar(register_foreign);
    return ns_writer_start(&setup, err, errlen);
}

static int open_profile(char *err, size_t errlen)
{
    S.fd = S.open_output(&S.id, S.path, sizeof(S.path), err, errlen);
    return S.fd < 0 ? -1 : 0;
}

/* Allocation, I/O and lock tracking: the interposers start accounting from here on. */
static void start_hooks(void)
{
    ns_capture_configure((uint32_t)S.cfg.value[NS_SET_MAX_DEPTH], S.attached);
    unsigned alloc = (unsigned)S.cfg.value[NS_SET_ALLOC];
    if (alloc != NS_ALLOC_OFF && ns_alloc_start(alloc, S.cfg.value[NS_SET_ALLOC_INTERVAL]) < 0)
        ns_shm_note(NSP_NOTE_WARNING, "alloc_unavailable",
                    "allocation tracking could not start (no address range for sampled "
                    "blocks, or the real allocator was not found): no allocation events");
    unsigned on = 0;
    if (S.cfg.value[NS_SET_IO] == NS_ON)
        on |= NS_HOOK_IO;
    if (S.cfg.value[NS_SET_LOCKS] == NS_ON)
        on |= NS_HOOK_LOCKS;
    if (S.cfg.value[NS_SET_DB] == NS_ON)
        on |= NS_HOOK_DB; /* only reached through patched slots (preload/db/db_hooks.h) */
    if (S.cfg.value[NS_SET_EVENT] == NS_EVENT_WALL) {
        on |= NS_HOOK_BLOCK;
        /* the agent's switch records measure off-CPU time: the calls only say where */
        if (!S.attached || (S.link.mech != NS_LINK_PERF && S.link.mech != NS_LINK_SWITCHES))
            on |= NS_HOOK_BLOCK_SITES;
    }
    ns_hooks_set(on);
}

/*
 * Attached to the session's agent: the agent's perf events sample this process and its
 * agent writes the profile; this process only shares its region (the interposers' tables,
 * its identity, how it ends). No thread, no descriptor, no signal of nsprof's.
 */
static int start_attached(int have_region, char *err, size_t errlen)
{
    choose_attached_source();
    if (!have_region &&
        ns_agent_link_region(&S.link, &S.id, settings_kv(), hook_events(), err, errlen) < 0)
        return -1;
    S.attached = 1;
    /* Threads get slots for the interposers' tables, and for their timer and ring when they
     * sample themselves. */
    S.track_threads = interposers_capture() || S.source == &ns_signal_source;
    /* The interposers unwind their callers: they need the module registry (the signal
     * handler copies the stack for the agent to unwind: it does not). */
    if (interposers_capture() && ns_modules_init(S.id.exe) < 0) {
        snprintf(err, errlen, "cannot read the loaded objects (out of memory)");
        return -1;
    }
    /* A blocking call captures its stack before it waits: building a table there (libc's
     * takes milliseconds) would lengthen the program's first sleep or wait. Wall mode builds
     * the tables of the objects loaded now before main instead. */
    if (S.cfg.value[NS_SET_EVENT] == NS_EVENT_WALL)
        ns_modules_build_pending();
    int r = S.source->start();
    if (r < 0) {
        snprintf(err, errlen, "cannot start %s sampling: %s", S.source->name, strerror(-r));
        return -1;
    }
    if (S.track_threads && !S.key_created &&
        pthread_key_create(&S.key, thread_exit_destructor) == 0)
        S.key_created = 1;
    __atomic_store_n(&S.active, 1, __ATOMIC_RELEASE);
    if (S.track_threads)
        register_existing_threads();
    start_hooks();
    return 0;
}

void ns_sampler_track_threads(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!ns_sampler_in_owner_process() || !S.attached ||
        __atomic_load_n(&S.track_threads, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&lock);
    if (!S.track_threads) {
        /* interposers that did not capture before need the module registry now */
        if (!interposers_capture() && ns_modules_init(S.id.exe) < 0) {
            pthread_mutex_unlock(&lock);
            return;
        }
        if (!S.key_created && pthread_key_create(&S.key, thread_exit_destructor) == 0)
            S.key_created = 1;
        /* Set first: a thread starting now registers itself, or is listed by the scan. */
        __atomic_store_n(&S.track_threads, 1, __ATOMIC_RELEASE);
        register_existing_threads();
    }
    pthread_mutex_unlock(&lock);
}

/* Whether an agent does this run's work (NSPROF_AGENT=off: the process profiles itself). */
static int agent_wanted(void)
{
    return strcmp(S.cfg.text[NS_SET_AGENT], "off") != 0;
}

static int create_region(const struct ns_agent_link *l, void *ctx)
{
    char err[512];
    (void)ctx;
    S.source = &ns_none_source; /* the settings' mechanism: the agent writes its own */
    return ns_agent_link_region(l, &S.id, settings_kv(), hook_events(), err, sizeof(err));
}

/* Preloaded without nsprof record: this process starts the session's agent itself. */
static int start_own_agent(char *err, size_t errlen)
{
    char why[1024] = "", value[4300];
    if (ns_agent_spawn(&S.cfg, S.id.session, &S.link, create_region, NULL, why, sizeof(why)) < 0) {
        if (ns_shm_header()) {
            ns_shm_destroy();
            ns_agent_link_remove_dir(S.link.dir);
        }
        snprintf(S.agent_failure, sizeof(S.agent_failure), "%s", why);
        return -1;
    }
    ns_shm_header()->agent_pid = (uint32_t)S.link.agent;
    /* Everything this process starts is covered by the same events and the same agent. */
    if (ns_agent_link_format(&S.link, value, sizeof(value)) == 0)
        ns_setenv(NS_ENV_AGENT_SESSION, value);
    return start_attached(1, err, errlen);
}

int ns_sampler_start(const struct ns_config *cfg, const struct ns_identity *id,
                     ns_open_output_fn open_output, char *err, size_t errlen)
{
    if (ns_real_init() != 0) {
        snprintf(err, errlen, "cannot find libc's own functions (dlsym RTLD_NEXT failed)");
        return -1;
    }
    S.cfg = *cfg;
    S.id = *id;
    S.pid = getpid();
    S.open_output = open_output;
    if (ns_agent_link_from_env(&S.link))
        return start_attached(0, err, errlen);
    if (agent_wanted() && start_own_agent(err, errlen) == 0)
        return 0;
    if (ns_shm_create(NULL, err, errlen) < 0)
        return -1;
    if (ns_modules_init(S.id.exe) < 0) {
        snprintf(err, errlen, "cannot read the loaded objects (out of memory)");
        return -1;
    }
    choose_source();
    /* The signal handler cannot build unwind tables: have the ones of the objects loaded now
     * ready before the first signal (perf builds each when a sample first needs it). */
    if (eager_tables())
        ns_modules_build_pending();
    if (open_profile(err, errlen) < 0)
        return -1;
    if (!S.key_created && pthread_key_create(&S.key, thread_exit_destructor) == 0)
        S.key_created = 1;
    int r = S.source->start();
    if (r < 0) {
        snprintf(err, errlen, "cannot start %s sampling: %s", S.source->name, strerror(-r));
        return -1;
    }
    add_notes();
    if (start_writer(err, errlen) < 0)
        return -1;
    __atomic_store_n(&S.active, 1, __ATOMIC_RELEASE);
    register_existing_threads();
    start_hooks();
    return 0;
}

static void stop_all_threads(void)
{
    size_t n = ns_threads_count();
    for (size_t i = 0; i < n; i++) {
        struct ns_thread *th = ns_threads_at(i);
        if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) == NS_TH_ACTIVE)
            S.source->thread_stop(th);
    }
}

static void note_failures(void)
{
    uint64_t failed = __atomic_exchange_n(&S.threads_failed, 0, __ATOMIC_RELAXED);
    if (!failed)
        return;
    const char *hint = "";
    if (S.first_failure == EMFILE)
        hint = ": raise the open-files limit (ulimit -n)";
    else if (S.first_failure == EPERM && S.source == &ns_perf_source)
        hint = ": their perf rings would exceed the memory an unprivileged user may lock "
               "(kernel.perf_event_mlock_kb per CPU, plus ulimit -l); raise ulimit -l, lower "
               "--stack-copy, or profile as root";
    ns_shm_count(NS_CTR_THREADS_FAILED, failed);
    ns_shm_note(NSP_NOTE_WARNING, "threads_failed", "%llu thread(s) could not be sampled (%s)%s",
                (unsigned long long)failed, strerror(S.first_failure), hint);
}

void ns_sampler_finish(unsigned reason, uint64_t status)
{
    if (!ns_sampler_in_owner_process())
        return;
    if (S.attached) {
        /* The interposers go on recording until the process is gone (other destructors
         * still free memory); the agent reads the region after that. Threads that are
         * still there die with the process: their CPU time is now or never. */
        note_failures();
        size_t n = ns_threads_count();
        for (size_t i = 0; i < n; i++) {
            struct ns_thread *th = ns_threads_at(i);
            if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) == NS_TH_ACTIVE)
                th->cpu_ns = ns_thread_profiled_cpu(th);
        }
        ns_shm_set_end(NS_SHM_ENDED, reason, status);
        return;
    }
    __atomic_store_n(&S.active, 0, __ATOMIC_RELEASE);
    S.source->stop();
    stop_all_threads();
    note_failures();
    ns_writer_sync(NS_SYNC_END | NS_SYNC_EXIT, reason, status, 5000);
    ns_hooks_set(0);
    ns_alloc_stop();
    ns_writer_join();
    close(S.fd);
    S.fd = -1;
}

void ns_sampler_crash(int sig)
{
    if (!ns_sampler_in_owner_process())
        return;
    if (S.attached) {
        ns_shm_set_end(NS_SHM_ENDED, NSP_EXIT_SIGNAL, (uint64_t)sig);
        return;
    }
    /* Bounded: a crash must not turn into a hang if the writer is stuck. */
    ns_writer_sync(NS_SYNC_END | NS_SYNC_EXIT, NSP_EXIT_SIGNAL, (uint64_t)sig, 1000);
}

void ns_sampler_before_exec(void)
{
    if (!ns_sampler_in_owner_process())
        return;
    if (S.attached) {
        note_failures();
        /* A CPU timer's SIGPROF sent a moment ago must not reach the new image before it
         * has a handler: SIGPROF stays blocked through the exec and the new image's
         * constructor unblocks it (NSPROF_UNBLOCK_SIGPROF). */
        ns_shm_set_end(NS_SHM_EXEC, NSP_EXIT_EXEC, 0);
        if (S.source == &ns_signal_source) {
            stop_all_threads();
            ns_signal_block_for_exec();
        }
        return;
    }
    S.source->stop();
    stop_all_threads();
    if (S.source == &ns_signal_source)
        ns_signal_drain_pending();
    note_failures();
    ns_writer_sync(NS_SYNC_END, NSP_EXIT_EXEC, 0, 2000);
}

void ns_sampler_exec_failed(int err)
{
    if (!ns_sampler_in_owner_process())
        return;
    ns_shm_note(NSP_NOTE_INFO, "exec_failed",
                "an exec failed (%s); the process went on and so did profiling", strerror(err));
    if (S.attached) {
        ns_shm_set_end(NS_SHM_RUNNING, 0, 0);
        if (S.source == &ns_signal_source) {
            ns_signal_unblock_after_exec();
            size_t n = ns_threads_count();
            for (size_t i = 0; i < n; i++) {
                struct ns_thread *th = ns_threads_at(i);
                if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) == NS_TH_ACTIVE)
                    S.source->thread_resume(th);
            }
        }
        return;
    }
    ns_writer_resume();
    S.source->start();
    size_t n = ns_threads_count();
    for (size_t i = 0; i < n; i++) {
        struct ns_thread *th = ns_threads_at(i);
        if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) == NS_TH_ACTIVE)
            S.source->thread_resume(th);
    }
}

void ns_sampler_before_dlclose(void)
{
    if (!ns_sampler_in_owner_process() || (S.attached && !S.track_threads))
        return;
    if (ns_modules_changed())
        ns_modules_rescan(S.attached ? ns_now_ns() : ns_writer_new_objects_since(ns_now_ns()));
}

void ns_sampler_modules_changed(uint64_t valid_from_ns)
{
    if (!ns_sampler_in_owner_process() || (S.attached && !S.track_threads))
        return;
    ns_modules_rescan(valid_from_ns);
}

void ns_sampler_modules_announced(uint64_t t_ns)
{
    if (!ns_sampler_in_owner_process())
        return;
    struct ns_shm_header *h = ns_shm_header();
    if (h)
        __atomic_add_fetch(&h->modules_generation, 1, __ATOMIC_RELEASE);
    if (!S.attached)
        ns_writer_modules_announced(t_ns);
}

/* Whether this fork took the interposers' locks. Under an agent with every interposer and
 * allocation tracking off nothing in the process uses them, and their pages stay untouched in the
 * child: on these VMs each page a child first writes costs tens of µs (copy-on-write under shadow
 * paging). */
static int fork_took_hook_locks;

void ns_sampler_prefork(void)
{
    if (!ns_sampler_in_owner_process())
        return;
    ns_modules_lock();
    fork_took_hook_locks =
        !S.attached || ns_shm_local->hooks_on != 0 || ns_shm_local->alloc_active != 0;
    if (fork_took_hook_locks)
        ns_hooks_prefork();
    ns_shm_prefork();
}

void ns_sampler_postfork_parent(void)
{
    if (!ns_sampler_in_owner_process())
        return;
    ns_shm_postfork_parent();
    if (fork_took_hook_locks)
        ns_hooks_postfork(0);
    ns_modules_unlock();
}

static void release_in_child(struct ns_thread *th)
{
    /* Descriptors of the parent's events were inherited; their rings were not (perf
     * mappings are not copied by fork) and POSIX timers never are. */
    if (th->perf_fd >= 0)
        close(th->perf_fd);
    th->perf_fd = -1;
    th->perf_map = NULL;
    th->has_timer = 0;
    ns_ring_reset(&th->ring);
    ns_sites_reset(th); /* the parent's calls are the parent's profile's */
}

/*
 * In the child of an attached process, every slot is the parent's. The region was copied
 * after the fork (while the parent's threads went on), so a slot's pointers to private
 * memory (a site table's index, the capture cache, the scratch frames) may name memory the
 * parent allocated after the fork, which the child does not have: drop them unread (the
 * child allocates its own as it needs them; what they held is leaked, not touched).
 */
static void sever_in_child(struct ns_thread *th)
{
    th->sites = NULL;
    th->scratch = NULL;
    th->capture_cache = NULL;
    memset(&th->ring, 0, sizeof(th->ring));
    th->perf_fd = -1;
    th->perf_map = NULL;
    th->has_timer = 0;
}

/* The child of an attached process: a region of its own; the agent's events already cover
 * it (they are inherited), so that is all. */
static void postfork_attached(void)
{
    char err[512];
    S.id.ppid = S.id.pid;
    S.id.pid = S.pid = getpid();
    S.id.exec_index = 0;
    /* First the copy: until then the region (and the slots in it) is the parent's. */
    int copied = ns_agent_link_fork(&S.link, &S.id, err, sizeof(err)) == 0;
    if (fork_took_hook_locks)
        ns_hooks_postfork(1);
    ns_modules_unlock();
    if (!copied) {
        /* No region of its own: record nothing rather than write into the parent's (the
         * flags on the wiped page already say so). */
        __atomic_store_n(&S.active, 0, __ATOMIC_RELEASE);
        return;
    }
    ns_threads_after_fork(sever_in_child);
    struct ns_thread *self = ns_threads_self();
    if (self && self != NS_THREAD_NONE) {
        sever_in_child(self);
        ns_threads_free(self);
        ns_threads_forget_self();
    }
    if (S.track_threads)
        register_existing_threads();
}

void ns_sampler_postfork_child(void)
{
    char err[512];
    /* getpid() is the child's now, so S.active alone says whether the parent profiled. */
    if (!__atomic_load_n(&S.active, __ATOMIC_ACQUIRE))
        return;
    if (S.attached) {
        postfork_attached();
        return;
    }
    if (ns_shm_postfork_child(NULL, err, sizeof(err)) < 0)
        ns_hooks_set(0); /* no region of its own: record nothing rather than the parent's */
    ns_hooks_postfork(1);
    ns_writer_postfork_child();
    ns_modules_unlock();
    ns_threads_after_fork(release_in_child);
    ns_perf_after_fork();
    struct ns_thread *self = ns_threads_self();
    if (self && self != NS_THREAD_NONE) {
        release_in_child(self);
        ns_threads_free(self);
        ns_threads_forget_self();
    }
    close(S.fd);
    S.id.ppid = S.id.pid;
    S.id.pid = S.pid = getpid();
    S.id.exec_index = 0;
    __atomic_store_n(&S.active, 0, __ATOMIC_RELEASE);
    if (open_profile(err, sizeof(err)) < 0 || S.source->start() < 0 ||
        start_writer(err, sizeof(err)) < 0)
        return; /* the child runs on unprofiled; its parent's profile is intact */
    __atomic_store_n(&S.active, 1, __ATOMIC_RELEASE);
    register_existing_threads();
}
