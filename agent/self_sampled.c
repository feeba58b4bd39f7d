/*
 * self_sampled — the agent's side of a session whose processes sample themselves (perf
 * refused, mechanism=signal) or are not sampled at all (event=none): without perf's records the
 * agent learns of a process when its region appears in the session directory (a fork
 * child's is made by its atfork handler, an exec'd image's by its constructor), of its end
 * through its pidfd, and of its mapped files from /proc/PID/maps (again after each
 * dlopen/dlclose, which the process counts in its region). No signal is sent: threads
 * sample themselves with CPU timers, which never interrupt a blocked call.
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
