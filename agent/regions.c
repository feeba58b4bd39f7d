/*
 * regions — see regions.h.
 */
#include "regions.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_stats.h"
#include "procs.h"
#include "shm.h"

#define RETRY_NS    20000000ull
#define CLOCK_SLACK 1000000ull /* the kernel's and the process's reading of one clock */

/* Maps path if it is p's region for its current image. */
static int try_file(struct ns_aproc *p, const char *path, uint64_t before_ns)
{
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (uint64_t)st.st_size < sizeof(struct ns_shm_header)) {
        close(fd);
        return 0;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return 0;
    const struct ns_shm_header *h = (const void *)map;
    if (h->magic != NS_SHM_MAGIC || h->version != NS_SHM_VERSION || h->pid != p->pid ||
        h->start_mono_ns + CLOCK_SLACK < p->image_start_ns ||
        (before_ns && h->start_mono_ns >= before_ns)) {
        munmap(map, len);
        return 0;
    }
    p->region.map = map;
    p->region.map_len = len;
    p->region.view = (struct ns_view){map, h->base, len};
    p->region.hdr = h;
    snprintf(p->region.path, sizeof(p->region.path), "%s", path);
    return 1;
}

int ns_regions_attach_path(struct ns_aproc *p, const char *path)
{
    uint64_t start = p->image_start_ns;
    p->image_start_ns = 0; /* the caller checked the image */
    int r = try_file(p, path, 0);
    p->image_start_ns = start;
    return r ? 0 : -1;
}

int ns_regions_attach(struct ns_procs *t, struct ns_aproc *p, uint64_t now_ns, int force,
                      uint64_t before_ns)
{
    if (p->region.hdr)
        return 1;
    if (!force && now_ns < p->region.next_try_ns)
        return 0;
    if (!before_ns || (t->horizon_ns && t->horizon_ns < before_ns))
        before_ns = t->horizon_ns;
    p->region.next_try_ns = now_ns + RETRY_NS;
    const char *dir = t->cfg->dir;
    char path[4096 + 320], prefix[32];
    /* The usual name first, then anything else the process may have used (an exec that
     * did not go through nsprof's hooks does not know its index). */
    snprintf(path, sizeof(path), "%s/%d.%lld", dir, (int)p->pid,
             (long long)(p->exec_index < 0 ? 0 : p->exec_index));
    if (try_file(p, path, before_ns))
        return 1;
    int n = snprintf(prefix, sizeof(prefix), "%d.", (int)p->pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%.255s", dir, e->d_name) < (int)sizeof(path))
            found = try_file(p, path, before_ns);
    }
    closedir(d);
    return found;
}

void ns_regions_detach(struct ns_aproc *p)
{
    if (p->region.map) {
        munmap(p->region.map, p->region.map_len);
        unlink(p->region.path);
    }
    uint64_t next = p->region.next_try_ns;
    memset(&p->region, 0, sizeof(p->region));
    p->region.next_try_ns = next;
}

size_t ns_regions_extra_counters(struct ns_procs *t, struct ns_aproc *p, const char **names,
                                 uint64_t *values, size_t max)
{
    if (t->cfg->cfg.value[NS_SET_IO] != NS_ON)
        return 0;
    size_t n = p->state == NS_AP_ALIVE ? ns_io_stats_counters_of(p->pid, names, values, max) : 0;
    const struct ns_shm_header *h = p->region.hdr;
    if (!n && h && h->proc_io_set)
        n = ns_io_stats_named(h->proc_io, names, values, max);
    return n;
}
