/*
 * writer_threads — the writer's view of the program's threads: it drains them, names them
 * (THREAD records from /proc/self/task/TID/comm, again whenever a name changes), finds
 * threads nsprof was not told about (created with a raw clone, or before the preload hooks
 * were in place), notices threads that vanished without a TLS destructor, and keeps the
 * per-thread CPU time and sample counts that give the achieved sampling rate.
 *
 * /proc is read with open/getdents64/read only: no opendir or stdio, which allocate.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../clock.h"
#include "../mem.h"
#include "../format/nsp_format.h"
#include "../interposed/sites.h"
#include "writer_state.h"

#define MAX_TASKS 65536

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

static void read_comm(pid_t tid, char *name, size_t cap)
{
    char path[64];
    /* "/proc/self/task/%d/comm" without stdio */
    memcpy(path, "/proc/self/task/", 16);
    int len = 16;
    char digits[16];
    int nd = 0;
    for (unsigned v = (unsigned)tid; nd == 0 || v; v /= 10)
        digits[nd++] = (char)('0' + v % 10);
    while (nd)
        path[len++] = digits[--nd];
    memcpy(path + len, "/comm", 6);
    if (read_small(path, name, cap) <= 0) {
        name[0] = '\0';
        return;
    }
    name[strcspn(name, "\n")] = '\0';
}

/* Writes a THREAD record when the thread's name is new or changed. */
static void update_name(struct ns_thread *th, const char *name)
{
    ns_image_thread_name(&W.img, th->tid, name, th->start_mono_ns);
}

/* The signal path reads the live stack only within known bounds. A thread registered by
 * the writer has none until we find the mapping that holds the sp its handler saw. */
static void resolve_stack_bounds(struct ns_thread *th)
{
    static char buf[1 << 16];
    uintptr_t sp = th->last_sp;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t have = 0;
    ssize_t n;
    while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
        have += (size_t)n;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            char *dash;
            uintptr_t lo = strtoull(line, &dash, 16);
            uintptr_t hi = *dash == '-' ? strtoull(dash + 1, NULL, 16) : 0;
            if (sp >= lo && sp < hi) {
                th->stack_lo = lo;
                __atomic_store_n(&th->stack_hi, hi, __ATOMIC_RELEASE);
                close(fd);
                return;
            }
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
    }
    close(fd);
}

static void finish_thread(struct ns_thread *th, const struct ns_sample_sink *sink)
{
    W.source->drain(th, sink);
    if (th->name[0])
        update_name(th, th->name);
    ns_image_thread_cpu(&W.img, th->tid, th->cpu_ns);
    ns_image_thread_exited(&W.img, th->tid);
    W.source->thread_release(th);
    ns_image_emit_thread_sites(&W.img, th); /* its last calls, before the slot is reused */
    ns_threads_free(th);
}

void ns_threads_drain_all(const struct ns_sample_sink *sink)
{
    size_t count = ns_threads_count();
    for (size_t i = 0; i < count; i++) {
        struct ns_thread *th = ns_threads_at(i);
        int st = __atomic_load_n(&th->state, __ATOMIC_ACQUIRE);
        if (st == NS_TH_ACTIVE) {
            if (!th->names_sent) {
                /* A thread that registered itself left its name: reading /proc here would
                 * take a descriptor while the program may be opening files. */
                char name[32];
                if (th->name[0])
                    snprintf(name, sizeof(name), "%s", th->name);
                else
                    read_comm(th->tid, name, sizeof(name));
                update_name(th, name);
                th->names_sent = 1;
            }
            W.source->drain(th, sink);
            if (th->last_sp && !__atomic_load_n(&th->stack_hi, __ATOMIC_ACQUIRE))
                resolve_stack_bounds(th);
        } else if (st == NS_TH_EXITED) {
            finish_thread(th, sink);
        }
    }
}

static int listed(const pid_t *tids, size_t n, pid_t tid)
{
    for (size_t i = 0; i < n; i++) {
        if (tids[i] == tid)
            return 1;
    }
    return 0;
}

void ns_threads_refresh(int final)
{
    static pid_t tids[MAX_TASKS];
    size_t ntasks = ns_list_tasks(tids, MAX_TASKS);
    for (size_t i = 0; i < ntasks && !final && W.register_tid; i++) {
        if (!ns_threads_is_internal(tids[i]) && !ns_threads_find(tids[i]))
            W.register_tid(tids[i]);
    }
    size_t count = ns_threads_count();
    for (size_t i = 0; i < count; i++) {
        struct ns_thread *th = ns_threads_at(i);
        int st = __atomic_load_n(&th->state, __ATOMIC_ACQUIRE);
        if (st == NS_TH_FAILED && ntasks && !listed(tids, ntasks, th->tid))
            ns_threads_free(th); /* gone: its tid may come back as another thread */
        if (st != NS_TH_ACTIVE)
            continue;
        uint64_t cpu = ns_thread_profiled_cpu(th);
        if (cpu > th->cpu_ns)
            th->cpu_ns = cpu;
        ns_image_thread_cpu(&W.img, th->tid, th->cpu_ns);
        if (ntasks && !listed(tids, ntasks, th->tid)) {
            /* Gone without telling us (no TLS destructor ran): finish it now. */
            ns_threads_set_exited(th);
            continue;
        }
        char name[32];
        read_comm(th->tid, name, sizeof(name));
        update_name(th, name);
    }
    for (int i = 0; i < NS_INTERNAL_THREADS; i++) {
        pid_t t = ns_threads_internal_tid(i);
        if (t)
            W.internal_cpu_ns[i] = ns_thread_cpu_ns(t);
    }
}
