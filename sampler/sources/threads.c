/*
 * threads — see threads.h. Slots are allocated in the shared region (the reader walks them
 * through the directory) and never given back, so a signal handler holding a slot pointer
 * can never touch freed memory; a freed slot is simply reused by the next thread.
 */
#include "threads.h"

#include "../interposed/lock_counts.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "../clock.h"
#include "../session/shm.h"
#include "../interposed/lock_counts.h"
#include "../interposed/sites.h"

static struct ns_thread_dir *dir; /* in the region; NULL until the first thread */
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static pid_t internal_tids[NS_INTERNAL_THREADS];
__thread struct ns_thread *ns_threads_tls_self __attribute__((tls_model("initial-exec")));

static void read_stack_bounds(struct ns_thread *th)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        th->stack_lo = (uintptr_t)addr;
        th->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

static struct ns_thread *claim_free(void)
{
    size_t n = ns_threads_count();
    for (size_t i = 0; i < n; i++) {
        int expected = NS_TH_FREE;
        if (__atomic_compare_exchange_n(&dir->slot[i]->state, &expected, NS_TH_CLAIMED, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return dir->slot[i];
    }
    return NULL;
}

static struct ns_thread *claim_new(void)
{
    struct ns_thread *th = NULL;
    pthread_mutex_lock(&grow_lock);
    struct ns_shm_header *h = ns_shm_header();
    if (!dir && h && (dir = ns_shm_alloc(sizeof(*dir))) != NULL)
        __atomic_store_n(&h->threads, dir, __ATOMIC_RELEASE);
    if (dir && dir->n < NS_THREADS_MAX) {
        th = ns_shm_alloc(sizeof(*th));
        if (th) {
            th->state = NS_TH_CLAIMED;
            dir->slot[dir->n] = th;
            __atomic_store_n(&dir->n, dir->n + 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&grow_lock);
    return th;
}

struct ns_thread *ns_threads_claim(pid_t tid, int self)
{
    if (!ns_shm_owned())
        return NULL; /* a _Fork child: the slots are its parent's */
    struct ns_thread *th = claim_free();
    if (!th)
        th = claim_new();
    if (!th)
        return NULL;
    /* Keep the buffers of a reused slot: same sizes for every thread of a run. */
    struct ns_ring ring = th->ring;
    struct ns_frame *scratch = th->scratch;
    struct ns_capture_cache *cache = th->capture_cache; /* valid for any thread */
    struct ns_site_table *sites = th->sites;
    struct ns_lock_counts *locks = th->lock_counts;
    memset(th, 0, sizeof(*th));
    th->ring = ring;
    th->scratch = scratch;
    th->capture_cache = cache;
    th->sites = sites;
    th->lock_counts = locks;
    if (locks) /* the previous thread's counts were emitted before the slot was freed */
        memset(locks, 0, sizeof(*locks));
    ns_ring_reset(&th->ring);
    ns_sites_reset(th); /* the previous thread's calls were emitted before the slot was freed */
    th->state = NS_TH_CLAIMED;
    th->tid = tid;
    th->perf_fd = -1;
    th->self_registered = self;
    if (self) {
        /* pthread_getattr_np mallocs under a lock of its own: our hooks must pass through. */
        th->in_hook = 1;
        read_stack_bounds(th);
        th->in_hook = 0;
        ns_threads_tls_self = th;
    }
    return th;
}

void ns_threads_activate(struct ns_thread *th)
{
    __atomic_store_n(&th->state, NS_TH_ACTIVE, __ATOMIC_RELEASE);
}

struct ns_thread *ns_threads_find(pid_t tid)
{
    size_t n = ns_threads_count();
    for (size_t i = 0; i < n; i++) {
        struct ns_thread *th = dir->slot[i];
        int st = __atomic_load_n(&th->state, __ATOMIC_ACQUIRE);
        if ((st == NS_TH_ACTIVE || st == NS_TH_CLAIMED || st == NS_TH_FAILED) && th->tid == tid)
            return th;
    }
    return NULL;
}

struct ns_thread *ns_threads_current(void)
{
    if (!ns_shm_owned())
        return NULL; /* a _Fork child: its slot, if any, is in the parent's region */
    struct ns_thread *th = ns_threads_tls_self;
    if (th == NS_THREAD_NONE)
        return NULL;
    if (th)
        return th;
    th = ns_threads_find((pid_t)syscall(SYS_gettid));
    ns_threads_tls_self = th ? th : NS_THREAD_NONE;
    return th;
}

struct ns_thread *ns_threads_self_slow(pid_t tid)
{
    struct ns_thread *th = ns_threads_find(tid);
    if (th)
        ns_threads_tls_self = th;
    return th;
}

void ns_threads_set_exited(struct ns_thread *th)
{
    if (ns_threads_tls_self == th)
        ns_threads_tls_self = NULL;
    __atomic_store_n(&th->state, NS_TH_EXITED, __ATOMIC_RELEASE);
}

void ns_threads_set_failed(struct ns_thread *th)
{
    if (ns_threads_tls_self == th)
        ns_threads_tls_self = NULL;
    __atomic_store_n(&th->state, NS_TH_FAILED, __ATOMIC_RELEASE);
}

void ns_threads_free(struct ns_thread *th)
{
    th->tid = 0;
    __atomic_store_n(&th->state, NS_TH_FREE, __ATOMIC_RELEASE);
}

size_t ns_threads_count(void)
{
    return dir ? __atomic_load_n(&dir->n, __ATOMIC_ACQUIRE) : 0;
}

struct ns_thread *ns_threads_at(size_t i)
{
    return dir->slot[i];
}

void ns_threads_after_fork(void (*release_fn)(struct ns_thread *))
{
    /* Only the forking thread exists in the child; the grow lock may have been held by
     * another thread at fork time, so re-initialise it. */
    pthread_mutex_init(&grow_lock, NULL);
    /* nsprof's own threads were not copied either. */
    memset(internal_tids, 0, sizeof(internal_tids));
    size_t n = ns_threads_count();
    for (size_t i = 0; i < n; i++) {
        struct ns_thread *th = dir->slot[i];
        if (th->state == NS_TH_FREE || th == ns_threads_tls_self)
            continue;
        release_fn(th);
        th->tid = 0;
        th->state = NS_TH_FREE;
    }
}

void ns_threads_forget_self(void)
{
    ns_threads_tls_self = NULL;
}

void ns_threads_set_internal(int which, pid_t tid)
{
    __atomic_store_n(&internal_tids[which], tid, __ATOMIC_RELEASE);
}

pid_t ns_threads_internal_tid(int which)
{
    return __atomic_load_n(&internal_tids[which], __ATOMIC_ACQUIRE);
}

int ns_threads_is_internal(pid_t tid)
{
    for (int i = 0; i < NS_INTERNAL_THREADS; i++) {
        if (ns_threads_internal_tid(i) == tid)
            return 1;
    }
    return 0;
}

size_t ns_list_tasks(pid_t *tids, size_t cap)
{
    char buf[8192]; /* on the stack: the constructor and the writer may both be here */
    size_t n = 0;
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    long got;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
        for (long off = 0; off < got;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            if (d->d_name[0] >= '0' && d->d_name[0] <= '9' && n < cap)
                tids[n++] = (pid_t)atoi(d->d_name);
            off += d->d_reclen;
        }
    }
    close(fd);
    return n;
}

uint64_t ns_thread_profiled_cpu(const struct ns_thread *th)
{
    uint64_t now = ns_thread_cpu_ns(th->tid);
    return now > th->cpu_base_ns ? now - th->cpu_base_ns : 0;
}

int ns_threads_snapshot_busy(void)
{
    size_t n = ns_threads_count();
    for (size_t i = 0; i < n; i++) {
        if (__atomic_load_n(&dir->slot[i]->snapshot_busy, __ATOMIC_SEQ_CST))
            return 1;
    }
    return 0;
}
