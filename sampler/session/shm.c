/*
 * shm — see shm.h.
 *
 * System calls go through syscall(): this runs inside interposers (malloc, open...), and
 * libc's names inside libnsprof.so resolve to those same interposers.
 *
 * Growth: a shared region is reserved at once (a sparse file the size of the reservation,
 * mapped whole) but its pages are backed with fallocate as the bump pointer needs them, so
 * a full /dev/shm makes an allocation fail instead of raising SIGBUS in the program on a
 * page that was never backed. No descriptor is kept: the file is reopened by its path for
 * each growth step (rare: steps double).
 */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../clock.h"
#include "../interposed/io_stats.h"
#include "../sysmem.h"

#define FIRST_COMMIT (256u << 10)
#define MAX_RESERVE  (4ull << 30)
#define MIN_RESERVE  (32u << 20)
#define ALIGN        16u
#define MIN_CLASS    4096u /* blocks this big and bigger go back to free lists */

static struct ns_shm_local boot_local; /* all zero: nothing is recorded before start */
struct ns_shm_local *ns_shm_local = &boot_local;
/* The region's address, also in the copy of our memory a fork child gets (the local page
 * is wiped there, and the child's handler needs the parent's region to copy it). */
static struct ns_shm_header *region;

static int sys_open(const char *path, int flags, int mode)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static void sys_close(int fd)
{
    syscall(SYS_close, fd);
}

static void lock(struct ns_shm_header *h)
{
    while (__atomic_exchange_n(&h->lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&h->lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void unlock(struct ns_shm_header *h)
{
    __atomic_store_n(&h->lock, 0, __ATOMIC_RELEASE);
}

static void say(char *err, size_t errlen, const char *what, const char *path, int e)
{
    snprintf(err, errlen, "%s '%s': %s", what, path, strerror(e));
}

/* The page of flags a _Fork child gets zeroed. */
static struct ns_shm_local *local_page(void)
{
    if (ns_shm_local != &boot_local)
        return ns_shm_local;
    void *p = ns_sys_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Without it (kernels before 4.14) a _Fork child's calls land in its parent's region:
     * still no crash, only mixed numbers. */
    syscall(SYS_madvise, p, 4096, MADV_WIPEONFORK);
    __atomic_store_n(&ns_shm_local, (struct ns_shm_local *)p, __ATOMIC_RELEASE);
    return p;
}

/* Reserves address space for a private region, halving until it fits (ulimit -v). */
static void *reserve_private(uint64_t *size)
{
    for (uint64_t s = MAX_RESERVE; s >= MIN_RESERVE; s /= 2) {
        void *p = ns_sys_mmap(NULL, s, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            *size = s;
            return p;
        }
    }
    return NULL;
}

/* Maps fd (its size is set to the reservation) at `at` (0: anywhere), halving the size
 * until the address space allows it. */
static void *map_shared(int fd, void *at, uint64_t *size)
{
    for (uint64_t s = *size; s >= MIN_RESERVE; s /= 2) {
        if (syscall(SYS_ftruncate, fd, (off_t)s) != 0)
            return NULL;
        void *p = ns_sys_mmap(at, s, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_NORESERVE | (at ? MAP_FIXED : 0), fd, 0);
        if (p != MAP_FAILED) {
            *size = s;
            return p;
        }
        if (at)
            return NULL; /* the size was the parent's: no smaller one will do */
    }
    return NULL;
}

static void init_header(struct ns_shm_header *h, uint64_t reserved, uint64_t committed,
                        const char *path)
{
    h->magic = NS_SHM_MAGIC;
    h->version = NS_SHM_VERSION;
    h->header_bytes = sizeof(*h);
    h->base = (uint64_t)(uintptr_t)h;
    h->reserved = reserved;
    h->committed = committed;
    h->used = (sizeof(*h) + 63) & ~(uint64_t)63;
    h->shared = path != NULL;
    if (path)
        snprintf(h->path, sizeof(h->path), "%s", path);
    h->state = NS_SHM_RUNNING;
}

static void publish(struct ns_shm_header *h)
{
    struct ns_shm_local *l = local_page();
    region = h;
    if (!l)
        l = &boot_local; /* no page: still usable, just not wiped on _Fork */
    __atomic_store_n(&l->header, h, __ATOMIC_RELEASE);
}

static int backed(int fd, uint64_t from, uint64_t to)
{
    return syscall(SYS_fallocate, fd, 0, (off_t)from, (off_t)(to - from)) == 0 ? 0 : -errno;
}

int ns_shm_create(const char *path, char *err, size_t errlen)
{
    uint64_t reserved = MAX_RESERVE;
    if (!path) {
        void *p = reserve_private(&reserved);
        if (!p) {
            snprintf(err, errlen, "cannot reserve memory for nsprof's tables: %s", strerror(errno));
            return -1;
        }
        init_header(p, reserved, reserved, NULL);
        publish(p);
        return 0;
    }
    if (strlen(path) >= NS_SHM_PATH) {
        snprintf(err, errlen, "the shared-memory path is too long: '%s'", path);
        return -ENAMETOOLONG;
    }
    int fd = sys_open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        say(err, errlen, "cannot create the shared-memory file", path, e);
        return -e;
    }
    void *p = map_shared(fd, NULL, &reserved);
    int e = p ? backed(fd, 0, FIRST_COMMIT) : -errno;
    sys_close(fd);
    if (!p || e < 0) {
        if (p)
            ns_sys_munmap(p, reserved);
        int en = e < 0 ? -e : errno;
        syscall(SYS_unlinkat, AT_FDCWD, path, 0);
        say(err, errlen, "cannot map the shared-memory file", path, en);
        return -(en ? en : ENOMEM);
    }
    init_header(p, reserved, FIRST_COMMIT, path);
    publish(p);
    return 0;
}

struct ns_shm_header *ns_shm_header(void)
{
    return __atomic_load_n(&ns_shm_local->header, __ATOMIC_ACQUIRE);
}

int ns_shm_owned(void)
{
    return ns_shm_header() != NULL;
}

/* Backs the region up to at least `need` bytes. Caller holds the lock. */
static int grow(struct ns_shm_header *h, uint64_t need)
{
    uint64_t have = __atomic_load_n(&h->committed, __ATOMIC_ACQUIRE);
    if (need <= have)
        return 0;
    if (need > h->reserved || !h->shared)
        return -1;
    uint64_t want = have * 2 > need ? have * 2 : need;
    if (want > h->reserved)
        want = h->reserved;
    int fd = sys_open(h->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int r = backed(fd, have, want);
    sys_close(fd);
    if (r < 0)
        return -1;
    __atomic_store_n(&h->committed, want, __ATOMIC_RELEASE);
    return 0;
}

/* Free list k holds blocks of at least MIN_CLASS << k bytes: a block goes to the list of the
 * largest such k, and an allocation takes from the list of the smallest k that is enough. */
struct free_block {
    struct free_block *next;
    size_t size;
};

static int class_floor(size_t size)
{
    int c = 0;
    while (c < 47 && ((size_t)MIN_CLASS << (c + 1)) <= size)
        c++;
    return c;
}

static int class_ceil(size_t size)
{
    int c = 0;
    while (c < 48 && ((size_t)MIN_CLASS << c) < size)
        c++;
    return c < 48 ? c : -1;
}

static void *from_free_list(struct ns_shm_header *h, size_t size)
{
    int c = class_ceil(size);
    if (c < 0 || !__atomic_load_n(&h->free_lists[c], __ATOMIC_RELAXED))
        return NULL;
    lock(h);
    struct free_block *b = h->free_lists[c];
    if (b)
        h->free_lists[c] = b->next;
    unlock(h);
    if (b)
        memset(b, 0, b->size < size ? b->size : size);
    return b;
}

void *ns_shm_alloc(size_t size)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!h || size == 0)
        return NULL;
    if (size >= MIN_CLASS) {
        void *p = from_free_list(h, size);
        if (p)
            return p;
    }
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    uint64_t align = size >= MIN_CLASS ? 4096 : ALIGN;
    uint64_t used = __atomic_load_n(&h->used, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t start = (used + align - 1) & ~(align - 1), end = start + size;
        if (end > __atomic_load_n(&h->committed, __ATOMIC_ACQUIRE)) {
            lock(h);
            int r = grow(h, end);
            unlock(h);
            if (r < 0) {
                __atomic_add_fetch(&h->counters[NS_CTR_SHM_EXHAUSTED], 1, __ATOMIC_RELAXED);
                return NULL;
            }
        }
        if (__atomic_compare_exchange_n(&h->used, &used, end, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return (char *)h + start; /* fresh pages of a new file / anonymous map are zero */
    }
}

void ns_shm_free(void *p, size_t size)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!h || !p || size < MIN_CLASS)
        return; /* small blocks are not reused: the region only ever frees big tables */
    struct free_block *b = p;
    int c = class_floor(size);
    lock(h);
    b->size = size;
    b->next = h->free_lists[c];
    h->free_lists[c] = b;
    unlock(h);
}

char *ns_shm_strndup(const char *s, size_t len)
{
    char *p = ns_shm_alloc(len + 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

void ns_shm_count(enum ns_shm_counter c, uint64_t n)
{
    struct ns_shm_header *h = ns_shm_header();
    if (h && n)
        __atomic_add_fetch(&h->counters[c], n, __ATOMIC_RELAXED);
}

void ns_shm_note(unsigned level, const char *code, const char *fmt, ...)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!h)
        return;
    lock(h);
    uint32_t i = h->nnotes;
    if (i < NS_SHM_NOTES) {
        struct ns_shm_note *n = &h->notes[i];
        n->level = level;
        snprintf(n->code, sizeof(n->code), "%s", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(n->text, sizeof(n->text), fmt, ap);
        va_end(ap);
        __atomic_store_n(&h->nnotes, i + 1, __ATOMIC_RELEASE);
    } else {
        h->counters[NS_CTR_NOTES_DROPPED]++;
    }
    unlock(h);
}

void ns_shm_set_end(unsigned state, unsigned reason, uint64_t status)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!h)
        return;
    unsigned cur = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
    if (cur == NS_SHM_ENDED)
        return;
    if (state == NS_SHM_RUNNING) { /* an exec failed: the image goes on */
        __atomic_store_n(&h->state, NS_SHM_RUNNING, __ATOMIC_RELEASE);
        return;
    }
    h->end_reason = reason;
    h->end_status = status;
    h->end_mono_ns = ns_now_ns();
    if (ns_io_stats_read(0, h->proc_io) == 0)
        h->proc_io_set = 1;
    __atomic_store_n(&h->state, state, __ATOMIC_RELEASE);
}

/* The flags as they were at fork: the child's page comes back zeroed (MADV_WIPEONFORK). */
static struct ns_shm_local at_fork;

void ns_shm_prefork(void)
{
    at_fork = *ns_shm_local;
    if (region)
        lock(region);
}

void ns_shm_postfork_parent(void)
{
    if (region)
        unlock(region);
}

/* Writes bytes [off, off + len) of the region (mapped at `from`) into fd at the same offset. */
static int write_range(int fd, const char *from, uint64_t off, uint64_t len)
{
    while (len) {
        long n = syscall(SYS_pwrite64, fd, from + off, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* Copies the first `len` bytes of the region into fd: what holds data, read from the region's
 * own file so that the pages never written (most of a sparse table) are skipped, and the rest
 * moved inside the kernel; byte by byte through the mapping when the file cannot be read. */
static int copy_out(int fd, const struct ns_shm_header *h, uint64_t len)
{
    int in = sys_open(h->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (in < 0)
        return write_range(fd, (const char *)h, 0, len);
    int r = 0;
    for (uint64_t off = 0; off < len && r == 0;) {
        long data = syscall(SYS_lseek, in, (off_t)off, SEEK_DATA);
        if (data < 0 || (uint64_t)data >= len)
            break; /* only holes are left */
        long hole = syscall(SYS_lseek, in, data, SEEK_HOLE);
        uint64_t end = hole < 0 || (uint64_t)hole > len ? len : (uint64_t)hole;
        loff_t src = data, dst = data;
        uint64_t left = end - (uint64_t)data;
        while (left) {
            long n = syscall(SYS_copy_file_range, in, &src, fd, &dst, left, 0);
            if (n <= 0) {
                r = write_range(fd, (const char *)h, (uint64_t)src, left);
                break;
            }
            left -= (uint64_t)n;
        }
        off = end;
    }
    sys_close(in);
    return r;
}

/* The child's private copy of a private region needs nothing: fork copied it. A shared one
 * is copied into a file of the child's own, mapped over the same addresses. */
int ns_shm_postfork_child(const char *new_path, char *err, size_t errlen)
{
    struct ns_shm_header *h = region;
    if (!h)
        return -1;
    if (!h->shared) {
        h->lock = 0; /* our copy of the lock word: the parent's was taken in prefork */
        publish(h);
        ns_shm_local->hooks_on = at_fork.hooks_on;
        ns_shm_local->alloc_active = at_fork.alloc_active;
        return 0;
    }
    int fd = new_path ? sys_open(new_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)
                      : -1;
    if (fd < 0) {
        int e = new_path ? errno : ENOENT;
        say(err, errlen, "cannot create the shared-memory file", new_path ? new_path : "", e);
        if (e == EEXIST)
            return -EEXIST; /* the caller may try another name */
        region = NULL;
        return -1;
    }
    uint64_t used = __atomic_load_n(&h->used, __ATOMIC_ACQUIRE);
    uint64_t committed = __atomic_load_n(&h->committed, __ATOMIC_ACQUIRE);
    uint64_t reserved = h->reserved;
    int ok = syscall(SYS_ftruncate, fd, (off_t)reserved) == 0 && backed(fd, 0, committed) == 0 &&
             copy_out(fd, h, used) == 0 && map_shared(fd, h, &reserved) == (void *)h;
    int e = errno;
    sys_close(fd);
    if (!ok) {
        syscall(SYS_unlinkat, AT_FDCWD, new_path, 0);
        say(err, errlen, "cannot copy the shared-memory file to", new_path, e);
        /* Our mapping may now be anything: record nothing rather than guess. */
        region = NULL;
        return -1;
    }
    /* From here on h is the child's own copy. */
    snprintf(h->path, sizeof(h->path), "%s", new_path);
    h->lock = 0;
    publish(h);
    ns_shm_local->hooks_on = at_fork.hooks_on;
    ns_shm_local->alloc_active = at_fork.alloc_active;
    return 0;
}

void ns_shm_destroy(void)
{
    struct ns_shm_header *h = region;
    if (!h)
        return;
    __atomic_store_n(&ns_shm_local->header, NULL, __ATOMIC_RELEASE);
    region = NULL;
    if (h->shared)
        syscall(SYS_unlinkat, AT_FDCWD, h->path, 0);
    ns_sys_munmap(h, h->reserved);
}
