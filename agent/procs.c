/*
 * procs — see procs.h: the table of processes and threads, their images' lives (open, exec,
 * end, finalize) and flushes. What each perf record does to them is in perf_records.c.
 */
#include "procs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../preload/preload.h"
#include "clock.h"
#include "fdutil.h"
#include "nsp_format.h"
#include "off_cpu.h"
#include "perf_session.h"
#include "regions.h"
#include "shm.h"

#define KERNEL_ADDRESS 0xffff800000000000ull
#define HOLD_NS        200000000ull /* how long a new image's samples wait for its region */
#define HOLD_MAX       64

static void free_pending(struct ns_aproc *p)
{
    for (size_t i = 0; i < p->npending; i++)
        free(p->pending[i].frames);
    free(p->pending);
    p->pending = NULL;
    p->npending = 0;
    free(p->early);
    p->early = NULL;
    p->nearly = 0;
}

/* Writes the held samples, and the pieces of wall time held with them, into the image that
 * just opened, in time order. */
static void replay_pending(struct ns_procs *t, struct ns_aproc *p)
{
    size_t j = 0;
    for (size_t i = 0; i < p->npending; i++) {
        struct ns_pending_sample *s = &p->pending[i];
        for (; j < p->nearly && p->early[j].piece.end_ns <= s->time_ns; j++)
            ns_offcpu_replay_piece(t, p, &p->early[j]);
        uint64_t stack = ns_image_sample(&p->image, s->tid, s->time_ns, s->weight, s->end,
                                         s->frames, (int)s->nframes);
        struct ns_athread *th = ns_procs_thread(t, s->tid);
        if (th && th->proc == p)
            ns_offcpu_sampled(th, stack, s->time_ns, s->wall_ns, s->end, s->frames,
                              (int)s->nframes);
    }
    for (; j < p->nearly; j++)
        ns_offcpu_replay_piece(t, p, &p->early[j]);
    p->samples_since_flush += p->npending;
    free_pending(p);
}

/* --- threads ------------------------------------------------------------------------- */

static size_t tid_hash(const struct ns_procs *t, pid_t tid)
{
    return ((size_t)tid * 2654435761u) & (t->tid_slots - 1);
}

struct ns_athread *ns_procs_thread(struct ns_procs *t, pid_t tid)
{
    for (struct ns_athread *th = t->tids[tid_hash(t, tid)]; th; th = th->hash_next) {
        if (th->tid == tid)
            return th;
    }
    return NULL;
}

static void thread_unlink(struct ns_procs *t, struct ns_athread *th)
{
    struct ns_athread **pp = &t->tids[tid_hash(t, th->tid)];
    while (*pp && *pp != th)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = th->hash_next;
}

struct ns_athread *ns_procs_add_thread(struct ns_procs *t, struct ns_aproc *p, pid_t tid,
                                       uint64_t start_ns)
{
    struct ns_athread *th = ns_procs_thread(t, tid);
    if (th && th->proc == p && !th->exited)
        return th;
    if (th) { /* a tid reused: the old thread is gone */
        thread_unlink(t, th);
        ns_offcpu_forget(th);
        free(th);
    }
    th = calloc(1, sizeof(*th));
    if (!th)
        return NULL;
    th->tid = tid;
    th->proc = p;
    th->start_ns = start_ns;
    ns_tl_start(&th->tl, start_ns, 0);
    memcpy(th->comm, p->comm, sizeof(th->comm));
    size_t h = tid_hash(t, tid);
    th->hash_next = t->tids[h];
    t->tids[h] = th;
    p->live_threads++;
    p->have_threads = 1;
    return th;
}

void ns_procs_rekey_thread(struct ns_procs *t, struct ns_athread *th, pid_t tid)
{
    thread_unlink(t, th);
    th->tid = tid;
    size_t h = tid_hash(t, tid);
    th->hash_next = t->tids[h];
    t->tids[h] = th;
}

/* Every thread of p (the hash is small enough to walk at an image's start and end). */
static void each_thread(struct ns_procs *t, struct ns_aproc *p,
                        void (*fn)(struct ns_procs *, struct ns_athread *, void *), void *ctx)
{
    for (size_t i = 0; i < t->tid_slots; i++) {
        for (struct ns_athread *th = t->tids[i], *next; th; th = next) {
            next = th->hash_next;
            if (th->proc == p)
                fn(t, th, ctx);
        }
    }
}

/* CPU time while profiled, up to `now` for a thread on CPU. */
static uint64_t thread_cpu(const struct ns_athread *th, uint64_t now)
{
    return th->cpu_ns + (th->on_cpu_since && now > th->on_cpu_since ? now - th->on_cpu_since : 0);
}

/* --- processes ----------------------------------------------------------------------- */

struct ns_aproc *ns_procs_find(struct ns_procs *t, pid_t pid)
{
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        if (p->pid == pid)
            return p;
    }
    return NULL;
}

static void read_proc_file(pid_t pid, const char *what, char *buf, size_t cap, size_t *len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
    *len = ns_read_file(path, buf, cap);
}

/* The start time the kernel gives pid in /proc/PID/stat (clock ticks since boot); 0 if it
 * does not exist. */
static unsigned long long proc_start_ticks(pid_t pid)
{
    char buf[1024];
    size_t len;
    read_proc_file(pid, "stat", buf, sizeof(buf) - 1, &len);
    buf[len] = '\0';
    const char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* A process the agent could not get a pidfd for (it had ended, or its pid was reused, by the
 * time its FORK record was read) may also have lost its EXIT records to a full ring: it has
 * ended when no process with its pid and start time is left. */
void ns_procs_check_alive(struct ns_procs *t, uint64_t now_ns)
{
    long hz = sysconf(_SC_CLK_TCK);
    struct timespec boot, mono;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t offset = ((int64_t)boot.tv_sec - (int64_t)mono.tv_sec) * 1000000000ll +
                     (int64_t)boot.tv_nsec - (int64_t)mono.tv_nsec;
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        if (p->state != NS_AP_ALIVE || p->pidfd >= 0 || !p->fork_ns)
            continue;
        unsigned long long ticks = proc_start_ticks(p->pid);
        unsigned long long expected =
            (unsigned long long)(((int64_t)p->fork_ns + offset) / (1000000000ll / hz));
        if (!ticks || ticks + 3 < expected || ticks > expected + 3)
            ns_procs_ended(t, p, now_ns);
    }
}

struct ns_aproc *ns_procs_add(struct ns_procs *t, pid_t pid, pid_t ppid, uint64_t start_ns,
                              int64_t exec_index)
{
    struct ns_aproc *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->pid = pid;
    p->ppid = ppid;
    p->exec_index = exec_index;
    p->image_start_ns = start_ns;
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    p->fork_ns = start_ns;
    p->state = NS_AP_ALIVE;
    p->wall_kernel =
        t->cfg->mech == NS_AGENT_PERF && t->cfg->cfg.value[NS_SET_EVENT] == NS_EVENT_WALL;
    p->user_period_ns = p->wall_kernel && t->cfg->exclude_kernel ? t->period_ns : 0;
    p->next = t->list;
    t->list = p;
    t->nlive++;
    return p;
}

static int alive(const struct ns_aproc *p)
{
    return p->state == NS_AP_ALIVE;
}

void ns_procs_name_thread(struct ns_procs *t, struct ns_athread *th, void *ctx)
{
    (void)t;
    (void)ctx;
    if (th->comm[0])
        ns_image_thread_name(&th->proc->image, th->tid, th->comm, th->start_ns);
}

/* Opens the file of p's current image (when there is something to write). 1 if open. */
int ns_procs_open_image(struct ns_procs *t, struct ns_aproc *p)
{
    static char cmdline[65536];
    if (p->image_state)
        return p->image_state > 0;
    const struct ns_agent_config *c = t->cfg;
    ns_regions_attach(t, p, ns_now_ns(), 1, p->region_before_ns);
    const struct ns_shm_header *h = p->region.hdr;
    size_t cmdlen = 0;
    if (h && h->cmdline_len && ns_view_at(&p->region.view, h->cmdline, (size_t)h->cmdline_len)) {
        cmdlen = h->cmdline_len < sizeof(cmdline) ? (size_t)h->cmdline_len : sizeof(cmdline);
        memcpy(cmdline, ns_view_at(&p->region.view, h->cmdline, cmdlen), cmdlen);
    } else if (alive(p)) {
        read_proc_file(p->pid, "cmdline", cmdline, sizeof(cmdline), &cmdlen);
    }
    if (cmdlen && cmdline[cmdlen - 1] == '\0')
        cmdlen--; /* the arguments are joined by NULs */
    if (!cmdlen) {
        cmdlen = strnlen(p->comm, sizeof(p->comm));
        memcpy(cmdline, p->comm, cmdlen);
    }
    if (!p->exe[0] && h)
        memcpy(p->exe, h->exe, sizeof(p->exe) - 1);
    if (!p->exe[0] && alive(p)) {
        char link[64];
        snprintf(link, sizeof(link), "/proc/%d/exe", (int)p->pid);
        ssize_t n = readlink(link, p->exe, sizeof(p->exe) - 1);
        p->exe[n > 0 ? n : 0] = '\0';
    }
    struct ns_identity id = {.pid = p->pid,
                             .ppid = p->ppid,
                             .exec_index = (uint64_t)(p->exec_index < 0 ? 0 : p->exec_index)};
    snprintf(id.session, sizeof(id.session), "%s", c->session);
    snprintf(id.exe, sizeof(id.exe), "%s", p->exe[0] ? p->exe : p->comm);
    char err[1024];
    int first = p->is_root && p->exec_index <= 0;
    int fd = -1;
    if (ns_output_name(c->cfg.text[NS_SET_OUTPUT], &id, first, p->out_path, sizeof(p->out_path)) <
        0)
        snprintf(err, sizeof(err), "invalid output pattern '%.900s'", c->cfg.text[NS_SET_OUTPUT]);
    else
        fd = ns_output_create(p->out_path, (int)c->cfg.value[NS_SET_IF_EXISTS], err, sizeof(err));
    if (fd < 0) {
        if (c->stderr_fd >= 0)
            dprintf(c->stderr_fd, "nsprof: not profiling %s (pid %d): %s\n", id.exe, (int)p->pid,
                    err);
        p->image_state = -1;
        return 0;
    }
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    struct ns_image_setup s = {
        .fd = fd,
        .pid = p->pid,
        .ppid = p->ppid,
        .exec_index = id.exec_index,
        .start_mono_ns = p->image_start_ns,
        .start_realtime_ns = p->image_start_ns + t->mono_to_real,
        .session = c->session,
        .exe = id.exe,
        .hostname = u.nodename,
        .kernel = u.release,
        .producer = c->producer,
        .cmdline = cmdline,
        .cmdline_len = cmdlen,
        .settings = t->settings,
        .event_id = c->mech == NS_AGENT_NONE ? 0 : NS_EVID_CPU,
        .period_ns = t->period_ns,
        .extra_events = t->extra_events,
        .wall = c->mech == NS_AGENT_NONE || c->cfg.value[NS_SET_EVENT] != NS_EVENT_WALL
                    ? NS_WALL_NONE
                : c->mech == NS_AGENT_PERF ? NS_WALL_KERNEL
                                           : NS_WALL_INTERPOSED,
    };
    if (ns_image_open(&p->image, &s, err, sizeof(err)) < 0) {
        close(fd);
        if (c->stderr_fd >= 0)
            dprintf(c->stderr_fd, "nsprof: not profiling pid %d: %s\n", (int)p->pid, err);
        p->image_state = -1;
        return 0;
    }
    struct ns_image_agent_maps maps = {ns_maps_describe, NULL};
    ns_image_set_agent_maps(&p->image, &maps);
    if (p->region.hdr)
        ns_image_set_region(&p->image, &p->region.view);
    p->image_state = 1;
    memset(p->off_leaf, 0, sizeof(p->off_leaf)); /* names of the previous image's file */
    each_thread(t, p, ns_procs_name_thread, NULL);
    if (c->mech == NS_AGENT_SIGNAL && c->perf_refused)
        ns_image_note(&p->image, NSP_NOTE_WARNING, "perf_refused",
                      "%s; sampled with CPU timers instead, which the kernel fires at most "
                      "once per tick (250 Hz on a CONFIG_HZ=250 kernel)",
                      c->mech_reason);
    if ((c->mech == NS_AGENT_SIGNAL || c->timer_samples) && c->cfg.value[NS_SET_FREQ] > 250)
        ns_image_note(
            &p->image, NSP_NOTE_INFO, "cpu_timer_rate",
            "CPU timers tick with the kernel: the achieved rate can be below the "
            "%llu Hz asked for; samples are weighted by their thread's CPU time since its "
            "previous one, so time shares stay right%s",
            (unsigned long long)c->cfg.value[NS_SET_FREQ],
            c->timer_samples ? ". Wall and off-CPU time stay exact (perf's "
                               "context-switch records); --mechanism=perf samples "
                               "at the full rate, at a cost on every context switch"
                             : "");
    if (c->mech == NS_AGENT_PERF && c->exclude_kernel)
        ns_image_note(&p->image, NSP_NOTE_WARNING, "kernel_ticks_excluded",
                      "perf events are limited to user space here (exclude_kernel): CPU time "
                      "spent inside system calls and page faults is not sampled");
    if (p->dropped_before_exec) {
        ns_image_count(&p->image, "samples_before_exec", p->dropped_before_exec);
        p->dropped_before_exec = 0;
    }
    replay_pending(t, p);
    return 1;
}

/* A piece of a thread's time line (timeline.h): its off-CPU time adds up by reason. */
void ns_procs_add_piece(void *ctx, const struct ns_piece *piece)
{
    struct ns_athread *th = ctx;
    ns_offcpu_piece(th, piece);
    if (piece->kind != NS_PIECE_OFF_CPU)
        return;
    uint64_t d = piece->end_ns - piece->start_ns;
    if (piece->reason == NS_OFF_BLOCKED)
        th->off.blocked_ns += d;
    else if (piece->reason == NS_OFF_PREEMPTED)
        th->off.runnable_ns += d;
    else
        th->off.unknown_ns += d;
}

static void close_thread(struct ns_procs *t, struct ns_athread *th, void *ctx)
{
    uint64_t end = *(const uint64_t *)ctx;
    (void)t;
    if (th->proc->image_state > 0) {
        ns_image_thread_cpu(&th->proc->image, th->tid, thread_cpu(th, end));
        if (t->cfg->mech == NS_AGENT_PERF) {
            if (!th->exited)
                ns_tl_flush(&th->tl, end, ns_procs_add_piece, th);
            ns_image_thread_off_cpu(&th->proc->image, th->tid, &th->off);
        }
        if (th->exited)
            ns_image_thread_exited(&th->proc->image, th->tid);
    }
}

/* What the image's END says: the region knows how the program ended (its exit status, the
 * signal its crash handler saw); as the root's parent, nsprof record knows how it died. */
static void end_reason(struct ns_procs *t, struct ns_aproc *p, unsigned *reason, uint64_t *status)
{
    const struct ns_shm_header *h = p->region.hdr;
    *reason = NSP_EXIT_GONE;
    *status = 0;
    if (p->is_root && t->root_status >= 0) {
        int st = t->root_status;
        if ((st & 0x7f) == 0) {
            *reason = NSP_EXIT_NORMAL;
            *status = (uint64_t)((st >> 8) & 0xff);
        } else {
            *reason = NSP_EXIT_SIGNAL;
            *status = (uint64_t)(st & 0x7f);
        }
        return;
    }
    if (h && __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == NS_SHM_ENDED &&
        h->end_reason != NSP_EXIT_EXEC) {
        *reason = h->end_reason;
        *status = h->end_status;
    }
}

/* An image worth a file: it has samples or a region (the preloaded library ran in it), or it
 * is the last image of a process that had none (so every process gets one). */
static int image_wanted(const struct ns_aproc *p, int last)
{
    return p->image_state != 0 || p->region.hdr || (last && (p->exec_index <= 0 || p->npending));
}

/* Counters beside the samples: the agent's own CPU time so far, for the whole session (what
 * profiling cost outside the program, which no process of the program pays), and the
 * kernel's count of the process's I/O. */
static size_t extra_counters(struct ns_procs *t, struct ns_aproc *p, const char **names,
                             uint64_t *values, size_t max)
{
    struct timespec ts;
    size_t n = 0;
    if (max && clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0) {
        names[n] = "agent_session_cpu_ns";
        values[n++] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    return n + ns_regions_extra_counters(t, p, names + n, values + n, max - n);
}

/* Ends p's current image: END, the file closed, the region let go. */
static void end_image(struct ns_procs *t, struct ns_aproc *p, unsigned reason, uint64_t status,
                      uint64_t end_ns, int last)
{
    /* The region may have appeared since the last look (a short life: a fork child whose
     * copy of its parent's region took a while). */
    p->region_before_ns = reason == NSP_EXIT_EXEC ? end_ns : 0;
    if (!p->region.hdr && p->exec_index >= 0 &&
        ns_regions_attach(t, p, ns_now_ns(), 1, p->region_before_ns) && p->image_state > 0)
        ns_image_set_region(&p->image, &p->region.view);
    if (p->image_state == 0 && image_wanted(p, last))
        ns_procs_open_image(t, p);
    p->region_before_ns = 0;
    if (p->image_state > 0) {
        each_thread(t, p, close_thread, &end_ns);
        const char *names[8];
        uint64_t values[8];
        size_t n = extra_counters(t, p, names, values, 8);
        ns_image_end(&p->image, reason, status, end_ns, names, values, n);
        close(p->image.fd);
        ns_image_close(&p->image);
    }
    p->image_state = 0;
    ns_regions_detach(p);
}

static void forget_image(struct ns_procs *t, struct ns_athread *th, void *ctx)
{
    (void)t;
    (void)ctx;
    ns_offcpu_new_image(th);
}

void ns_procs_next_image(struct ns_procs *t, struct ns_aproc *p, uint64_t time_ns,
                         int64_t exec_index)
{
    /* The program is replaced: its image ends here, the new one starts. Samples held for an
     * image that never got a region (a vfork child's exec) are only counted. */
    if (p->image_state == 0 && !p->region.hdr && p->npending) {
        p->dropped_before_exec += p->npending;
        free_pending(p);
    }
    if (p->exec_index >= 0)
        end_image(t, p, NSP_EXIT_EXEC, 0, time_ns, 0);
    p->exec_index = exec_index;
    p->image_start_ns = time_ns;
    p->exe[0] = '\0';
    /* What a thread's wall time refers to (stack ids of the old file, its old region) is gone. */
    each_thread(t, p, forget_image, NULL);
    ns_maps_clear(&p->maps);
    p->region.next_try_ns = 0;
}

void ns_procs_ended(struct ns_procs *t, struct ns_aproc *p, uint64_t end_ns)
{
    t->last_activity_ns = ns_now_ns();
    if (p->state == NS_AP_ENDED && end_ns < p->end_ns)
        p->end_ns = end_ns; /* its last EXIT record, read after its pidfd said it ended */
    if (p->state != NS_AP_ALIVE)
        return;
    p->state = NS_AP_ENDED;
    p->end_ns = end_ns;
}

static void free_thread(struct ns_procs *t, struct ns_athread *th, void *ctx)
{
    (void)ctx;
    thread_unlink(t, th);
    ns_offcpu_forget(th);
    free(th);
}

static void free_proc(struct ns_procs *t, struct ns_aproc *p)
{
    each_thread(t, p, free_thread, NULL);
    free_pending(p);
    if (p->pidfd >= 0)
        close(p->pidfd);
    ns_maps_free(&p->maps);
    struct ns_aproc **pp = &t->list;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    free(p);
    t->nlive--;
}

size_t ns_procs_finalize(struct ns_procs *t, uint64_t caught_up_ns)
{
    for (struct ns_aproc *p = t->list, *next; p; p = next) {
        next = p->next;
        if (p->state != NS_AP_ENDED || p->end_ns >= caught_up_ns)
            continue;
        if (p->is_root && t->cfg->root_is_child && t->root_status < 0)
            continue; /* wait until nsprof record has reaped it: it knows how it ended */
        unsigned reason;
        uint64_t status;
        end_reason(t, p, &reason, &status);
        end_image(t, p, reason, status, p->end_ns, 1);
        free_proc(t, p);
    }
    return t->nlive;
}

/* --- samples ------------------------------------------------------------------------- */

/* Holds a sample of an image that has no region yet; 0 if it cannot wait. */
static int hold(struct ns_aproc *p, pid_t tid, uint64_t time_ns, uint64_t weight, uint64_t wall_ns,
                unsigned end, const struct ns_frame *frames, int n)
{
    if (p->image_state || p->region.hdr || p->npending >= HOLD_MAX ||
        time_ns >= p->image_start_ns + HOLD_NS)
        return 0;
    if (!p->pending && !(p->pending = calloc(HOLD_MAX, sizeof(*p->pending))))
        return 0;
    struct ns_pending_sample *s = &p->pending[p->npending];
    s->frames = malloc((size_t)(n ? n : 1) * sizeof(*frames));
    if (!s->frames)
        return 0;
    memcpy(s->frames, frames, (size_t)n * sizeof(*frames));
    s->tid = tid;
    s->time_ns = time_ns;
    s->weight = weight;
    s->wall_ns = wall_ns;
    s->end = end;
    s->nframes = (uint32_t)n;
    p->npending++;
    return 1;
}

void ns_procs_take_sample(struct ns_procs *t, struct ns_aproc *p, pid_t tid, uint64_t time_ns,
                          uint64_t weight, uint64_t ip, const uint64_t regs3[3],
                          const uint8_t *stack, size_t stack_len)
{
    if (p->image_state < 0)
        return;
    if (!p->region.hdr && p->exec_index >= 0)
        ns_regions_attach(t, p, ns_now_ns(), 0, 0);
    struct ns_frame *frames = t->frames;
    int max = (int)t->cfg->cfg.value[NS_SET_MAX_DEPTH], n = 0;
    unsigned end = NSP_END_ROOT;
    if (ip >= KERNEL_ADDRESS) {
        /* A tick in a syscall or fault: say so as a leaf above the user stack. */
        frames[n++] = (struct ns_frame){ns_maps_kernel_id() | NS_MAP_AGENT, 0};
    }
    struct ns_regs regs = {.ip = regs3[2], .sp = regs3[1], .bp = regs3[0]};
    struct ns_stack_mem mem = {.lo = regs.sp, .hi = regs.sp + stack_len, .copy = stack};
    int base = n;
    /* A file whose table was never needed before has none yet: build it, unwind again.
     * Each retry builds one more table, so this ends within the number of files. */
    for (int attempt = 0; attempt < 64; attempt++) {
        n = base +
            ns_unwind(ns_maps_modules(&p->maps), &regs, &mem, frames + base, max - base, &end);
        if (end != NSP_END_NO_CFI || n <= base ||
            !ns_maps_build_cfi(&p->maps, frames[n - 1].mapping_id & ~NS_MAP_AGENT,
                               alive(p) ? p->pid : 0))
            break;
    }
    struct ns_athread *th = ns_procs_thread(t, tid);
    if (th && th->proc != p)
        th = NULL;
    uint64_t wall_ns = th ? th->wall_pending_ns : 0;
    if (th)
        th->wall_pending_ns = 0;
    if (hold(p, tid, time_ns, weight, wall_ns, end, frames, n) || !ns_procs_open_image(t, p))
        return;
    if (end == NSP_END_STACK_END && stack_len)
        ns_image_count(&p->image, "stack_copy_truncated", 1);
    uint64_t stack_id = ns_image_sample(&p->image, tid, time_ns, weight, end, frames, n);
    if (th)
        ns_offcpu_sampled(th, stack_id, time_ns, wall_ns, end, frames, n);
    p->samples_since_flush++;
}

void ns_procs_raw_sample(struct ns_procs *t, struct ns_aproc *p, pid_t tid, uint64_t time_ns,
                         uint64_t weight, const uint64_t regs[3], const uint8_t *stack,
                         size_t stack_len)
{
    ns_procs_take_sample(t, p, tid, time_ns, weight, regs[2], regs, stack, stack_len);
}

/* --- flush --------------------------------------------------------------------------- */

struct flush_ctx {
    uint64_t now;
};

static void flush_thread(struct ns_procs *t, struct ns_athread *th, void *ctx)
{
    (void)t;
    const struct flush_ctx *f = ctx;
    if (!th->exited) {
        ns_image_thread_cpu(&th->proc->image, th->tid, thread_cpu(th, f->now));
        /* an interval still open goes out up to where every record was read */
        ns_tl_flush(&th->tl, t->horizon_ns, ns_procs_add_piece, th);
        ns_image_thread_off_cpu(&th->proc->image, th->tid, &th->off);
    }
}

void ns_procs_flush(struct ns_procs *t)
{
    struct flush_ctx f = {ns_now_ns()};
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        if (p->image_state == 0 &&
            (p->region.hdr || (p->npending && f.now >= p->image_start_ns + HOLD_NS)))
            ns_procs_open_image(t, p);
        if (p->image_state <= 0)
            continue;
        if (t->cfg->mech == NS_AGENT_PERF)
            each_thread(t, p, flush_thread, &f);
        else
            ns_self_thread_cpu(t, p);
        const char *names[8];
        uint64_t values[8];
        size_t n = extra_counters(t, p, names, values, 8);
        ns_image_flush(&p->image, names, values, n);
        p->samples_since_flush = 0;
    }
}

int ns_procs_init(struct ns_procs *t, const struct ns_agent_config *cfg,
                  const char *const *settings)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->settings = settings;
    t->root_status = -1;
    t->tid_slots = 4096;
    t->tids = calloc(t->tid_slots, sizeof(*t->tids));
    if (!t->tids)
        return -1;
    struct timespec rt, mono;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    t->mono_to_real = ((uint64_t)rt.tv_sec - (uint64_t)mono.tv_sec) * 1000000000ull +
                      (uint64_t)rt.tv_nsec - (uint64_t)mono.tv_nsec;
    t->period_ns = cfg->mech == NS_AGENT_NONE ? 0 : 1000000000ull / cfg->cfg.value[NS_SET_FREQ];
    const struct ns_config *c = &cfg->cfg;
    if (c->value[NS_SET_ALLOC] != NS_ALLOC_OFF)
        t->extra_events |= 1u << NS_EVID_ALLOC_BYTES | 1u << NS_EVID_ALLOC_COUNT |
                           1u << NS_EVID_LEAK_BYTES | 1u << NS_EVID_PEAK_BYTES;
    if (c->value[NS_SET_IO] == NS_ON)
        t->extra_events |= 1u << NS_EVID_IO_TIME | 1u << NS_EVID_IO_BYTES | 1u << NS_EVID_IO_CALLS |
                           1u << NS_EVID_STDIO_TIME | 1u << NS_EVID_STDIO_BYTES |
                           1u << NS_EVID_STDIO_CALLS;
    if (c->value[NS_SET_LOCKS] == NS_ON)
        t->extra_events |= 1u << NS_EVID_LOCK_WAIT | 1u << NS_EVID_COND_WAIT |
                           1u << NS_EVID_LOCK_CALLS | 1u << NS_EVID_LOCK_CONTENDED;
    return 0;
}

void ns_procs_destroy(struct ns_procs *t)
{
    while (t->list) {
        struct ns_aproc *p = t->list;
        if (p->image_state > 0) {
            unsigned reason;
            uint64_t status;
            end_reason(t, p, &reason, &status);
            end_image(t, p,
                      reason == NSP_EXIT_GONE && p->state == NS_AP_ALIVE ? NSP_EXIT_STOPPED
                                                                         : reason,
                      status, ns_now_ns(), 1);
        }
        ns_regions_detach(p);
        free_proc(t, p);
    }
    free(t->tids);
    t->tids = NULL;
}

void ns_procs_attach_regions(struct ns_procs *t, uint64_t now_ns)
{
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        if (p->region.hdr || p->image_state < 0 || p->exec_index < 0)
            continue;
        if (!ns_regions_attach(t, p, now_ns, 0, 0))
            continue;
        if (p->image_state > 0)
            ns_image_set_region(&p->image, &p->region.view);
        else if (p->npending)
            ns_procs_open_image(t, p); /* what was held can be written now */
    }
}

void ns_procs_poll_regions(struct ns_procs *t)
{
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        if (p->region.hdr && p->image_state > 0)
            ns_image_poll_region(&p->image);
    }
}
