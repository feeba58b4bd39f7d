/*
 * self_sampled — the agent's side of a session whose processes sample themselves (perf
 * refused, wall time) or are not sampled at all (event=none): without perf's records the
 * agent learns of a process when its region appears in the session directory (a fork
 * child's is made by its atfork handler, an exec'd image's by its constructor), of its end
 * through its pidfd, and of its mapped files from /proc/PID/maps (again after each
 * dlopen/dlclose, which the process counts in its region). In wall mode the agent is the
 * ticker: it sends each process's threads their SIGPROF, round robin, so that no process
 * runs a thread of nsprof's.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "procs.h"
#include "regions.h"
#include "shm.h"
#include "source.h"
#include "threads.h"

#define SCAN_NS  20000000ull /* how often the directory is listed */
#define SLACK_NS 1000000ull

/* The header of a region file, read without mapping it. */
static int peek_header(const char *path, struct ns_shm_header *h)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, h, sizeof(*h), 0);
    close(fd);
    return n == (ssize_t)sizeof(*h) && h->magic == NS_SHM_MAGIC && h->version == NS_SHM_VERSION
               ? 0
               : -1;
}

static void learn_maps(struct ns_aproc *p)
{
    ns_maps_clear(&p->maps);
    ns_maps_from_proc(&p->maps, p->pid);
    for (size_t i = 0; i < p->maps.n; i++) {
        const char *path = p->maps.v[i].file ? p->maps.v[i].file->path : "";
        size_t len = strlen(path);
        if (len >= 13 && strcmp(path + len - 13, "/libnsprof.so") == 0)
            p->maps.self_id = p->maps.v[i].id;
    }
}

/* One region file of the directory: a new process, a process's first region (the root of
 * nsprof record once it exec'd), or a process's new image after an exec. */
static void consider(struct ns_procs *t, const char *path, uint64_t now_ns)
{
    struct ns_shm_header h;
    if (peek_header(path, &h) < 0 || h.pid <= 0)
        return; /* being created: next time */
    struct ns_aproc *p = ns_procs_find(t, h.pid);
    if (p && p->region.hdr && strcmp(p->region.path, path) == 0)
        return;
    if (p && p->state != NS_AP_ALIVE)
        return;
    if (!p) {
        p = ns_procs_add(t, h.pid, h.ppid, h.start_mono_ns, (int64_t)h.exec_index);
        if (!p)
            return;
    } else if (p->region.hdr) {
        if (h.start_mono_ns <= p->image_start_ns + SLACK_NS)
            return; /* an older image's: not the current one */
        ns_procs_next_image(t, p, h.start_mono_ns, (int64_t)h.exec_index);
    } else {
        p->exec_index = (int64_t)h.exec_index;
    }
    p->image_start_ns = h.start_mono_ns;
    if (!p->ppid)
        p->ppid = h.ppid;
    t->last_activity_ns = now_ns;
    if (ns_regions_attach_path(p, path) == 0) {
        learn_maps(p);
        p->maps_generation = p->region.hdr->modules_generation;
    }
}

void ns_self_discover(struct ns_procs *t, uint64_t now_ns)
{
    if (now_ns < t->next_scan_ns)
        return;
    t->next_scan_ns = now_ns + SCAN_NS;
    DIR *d = opendir(t->cfg->dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096 + 300];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
            snprintf(path, sizeof(path), "%s/%.255s", t->cfg->dir, e->d_name) >= (int)sizeof(path))
            continue;
        consider(t, path, now_ns);
    }
    closedir(d);
    /* Objects loaded or unloaded since: read the maps again. */
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        const struct ns_shm_header *h = p->region.hdr;
        if (!h || p->state != NS_AP_ALIVE)
            continue;
        uint64_t gen = __atomic_load_n(&h->modules_generation, __ATOMIC_ACQUIRE);
        if (gen != p->maps_generation) {
            p->maps_generation = gen;
            learn_maps(p);
        }
    }
}

/* Sends a wall tick to one thread: the handler knows it by the magic and the agent's pid. */
static void send_tick(pid_t pid, pid_t tid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGPROF;
    si.si_code = SI_QUEUE;
    si.si_errno = NS_TICK_MAGIC;
    si.si_pid = getpid();
    si.si_uid = getuid();
    syscall(SYS_rt_tgsigqueueinfo, pid, tid, SIGPROF, &si);
}

/* Each process: the next wall_threads running threads after its cursor. A process about to
 * exec gets none (a tick must not reach the new image before it has a handler). */
static void tick(struct ns_procs *t)
{
    uint32_t per_tick = (uint32_t)t->cfg->cfg.value[NS_SET_WALL_THREADS];
    for (struct ns_aproc *p = t->list; p; p = p->next) {
        const struct ns_shm_header *h = p->region.hdr;
        if (!h || p->state != NS_AP_ALIVE ||
            __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != NS_SHM_RUNNING)
            continue;
        const struct ns_thread_dir *dir = ns_view_at(&p->region.view, h->threads, sizeof(*dir));
        uint64_t n = dir ? __atomic_load_n(&dir->n, __ATOMIC_ACQUIRE) : 0;
        if (n > NS_THREADS_MAX)
            n = NS_THREADS_MAX;
        uint32_t sent = 0;
        uint64_t k;
        for (k = 0; k < n && sent < per_tick; k++) {
            const struct ns_thread *th =
                ns_view_at(&p->region.view, dir->slot[(p->tick_cursor + k) % n], sizeof(*th));
            if (th && __atomic_load_n(&th->state, __ATOMIC_ACQUIRE) == NS_TH_ACTIVE) {
                send_tick(p->pid, th->tid);
                sent++;
            }
        }
        p->tick_cursor = n ? (p->tick_cursor + k) % n : 0;
    }
}

uint64_t ns_self_tick(struct ns_procs *t, uint64_t now_ns)
{
    uint64_t period = t->period_ns;
    if (t->cfg->cfg.value[NS_SET_EVENT] != NS_EVENT_WALL || !period)
        return UINT64_MAX;
    if (!t->next_tick_ns)
        t->next_tick_ns = now_ns;
    if (now_ns >= t->next_tick_ns) {
        tick(t);
        t->next_tick_ns += period;
        if (now_ns > t->next_tick_ns + period)
            t->next_tick_ns = now_ns + period; /* we were late: skip, the weights carry it */
    }
    return t->next_tick_ns;
}

void ns_self_thread_cpu(struct ns_procs *t, struct ns_aproc *p)
{
    (void)t;
    const struct ns_shm_header *h = p->region.hdr;
    const struct ns_thread_dir *dir =
        h ? ns_view_at(&p->region.view, h->threads, sizeof(*dir)) : NULL;
    uint64_t n = dir ? __atomic_load_n(&dir->n, __ATOMIC_ACQUIRE) : 0;
    for (uint64_t i = 0; i < n && i < NS_THREADS_MAX && p->state == NS_AP_ALIVE; i++) {
        const struct ns_thread *th = ns_view_at(&p->region.view, dir->slot[i], sizeof(*th));
        if (!th || __atomic_load_n(&th->state, __ATOMIC_ACQUIRE) != NS_TH_ACTIVE)
            continue;
        char path[96], buf[128];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)p->pid, (int)th->tid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t got = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (got <= 0)
            continue;
        buf[got] = '\0';
        uint64_t cpu = strtoull(buf, NULL, 10);
        if (cpu > th->cpu_base_ns)
            ns_image_thread_cpu(&p->image, th->tid, cpu - th->cpu_base_ns);
    }
}
