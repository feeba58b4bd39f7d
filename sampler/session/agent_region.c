/*
 * agent_region — this image's region in its session's directory (agent_link.h): created
 * with the process's identity, command line and settings, and copied for a fork child.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent_link.h"
#include "../clock.h"
#include "shm.h"

/* Reads /proc/self/cmdline with raw system calls (open/read are interposed here). */
static size_t read_cmdline(char *buf, size_t cap)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t len = 0;
    long r;
    while (len < cap && (r = syscall(SYS_read, fd, buf + len, cap - len)) > 0)
        len += (size_t)r;
    syscall(SYS_close, fd);
    return len;
}

static void fill_identity(struct ns_shm_header *h, const struct ns_identity *id,
                          const struct ns_agent_link *l)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    h->pid = id->pid;
    h->ppid = id->ppid;
    h->exec_index = id->exec_index;
    h->start_mono_ns = ns_now_ns();
    h->start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    snprintf(h->session, sizeof(h->session), "%s", id->session);
    snprintf(h->exe, sizeof(h->exe), "%s", id->exe);
    h->agent_pid = (uint32_t)l->agent;
    h->perf_covered = l->mech == NS_LINK_PERF || l->mech == NS_LINK_SWITCHES;
    h->end_reason = 0;
    h->end_status = h->end_mono_ns = 0;
    memset(h->counters, 0, sizeof(h->counters));
    h->nnotes = 0;
    __atomic_store_n(&h->state, NS_SHM_RUNNING, __ATOMIC_RELEASE);
}

/* "key\0value\0...\0\0" in the region. */
static void store_settings(struct ns_shm_header *h, const char *const *kv)
{
    size_t len = 1;
    for (const char *const *p = kv; p && p[0]; p += 2)
        len += strlen(p[0]) + strlen(p[1]) + 2;
    char *block = ns_shm_alloc(len);
    if (!block)
        return;
    char *w = block;
    for (const char *const *p = kv; p && p[0]; p += 2) {
        for (int k = 0; k < 2; k++) {
            size_t n = strlen(p[k]) + 1;
            memcpy(w, p[k], n);
            w += n;
        }
    }
    *w = '\0';
    h->settings = block;
    h->settings_len = len;
}

static int region_path(const struct ns_agent_link *l, const struct ns_identity *id, int n,
                       char *out, size_t cap)
{
    int r = n ? snprintf(out, cap, "%s/%d.%llu.%d", l->dir, (int)id->pid,
                         (unsigned long long)id->exec_index, n)
              : snprintf(out, cap, "%s/%d.%llu", l->dir, (int)id->pid,
                         (unsigned long long)id->exec_index);
    return r > 0 && (size_t)r < cap ? 0 : -1;
}

int ns_agent_link_region(const struct ns_agent_link *l, const struct ns_identity *id,
                         const char *const *settings, uint32_t extra_events, char *err,
                         size_t errlen)
{
    static char cmdline[65536];
    char path[4200];
    int r = -EEXIST;
    /* A name still taken (a pid reused before the agent removed its last holder's file, an
     * exec that did not know its index): another one; the agent checks the header. */
    for (int n = 0; n < 16 && r == -EEXIST; n++) {
        if (region_path(l, id, n, path, sizeof(path)) < 0) {
            snprintf(err, errlen, "the session directory's path is too long");
            return -1;
        }
        r = ns_shm_create(path, err, errlen);
    }
    if (r < 0)
        return -1;
    struct ns_shm_header *h = ns_shm_header();
    fill_identity(h, id, l);
    size_t len = read_cmdline(cmdline, sizeof(cmdline));
    if (len && (h->cmdline = ns_shm_strndup(cmdline, len)) != NULL)
        h->cmdline_len = len;
    store_settings(h, settings);
    h->extra_events = extra_events;
    return 0;
}

int ns_agent_link_fork(const struct ns_agent_link *l, const struct ns_identity *id, char *err,
                       size_t errlen)
{
    char path[4200];
    int r = -EEXIST;
    for (int n = 0; n < 16 && r == -EEXIST; n++) {
        if (region_path(l, id, n, path, sizeof(path)) < 0)
            return -1;
        r = ns_shm_postfork_child(path, err, errlen);
    }
    if (r < 0)
        return -1;
    fill_identity(ns_shm_header(), id, l);
    return 0;
}
