/*
 * hooks_alloc — the malloc family, interposed (setting alloc; sampler/interposed/alloc.h does the
 * work).
 *
 * Every allocator entry point of glibc that a program or library can call through the PLT:
 * malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc, malloc_usable_size, and anonymous mmap/munmap. C++ new and delete reach
 * malloc and free from libstdc++. This file is built with frame pointers so that each hook
 * can hand its caller's registers to the stack capture (capture.h, NS_CALLER_REGS).
 *
 * The hooks are exported under glibc's names and defined under names of our own, so that
 * nsprof can tell (dlsym) whether the program's calls really reach them: a program that
 * defines malloc itself, or a static one, is not tracked and the profile says so.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../sampler/interposed/alloc.h"
#include "../sampler/interposed/capture.h"
#include "preload.h"

#define NS_EXPORT_AS(name) __attribute__((visibility("default"), alias(#name)))
#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

#define LIKELY(x) __builtin_expect(!!(x), 1)

/* ns_alloc_hooks_reached's probe: 1 while it calls the malloc the program binds to, 2 once
 * that call arrived here. */
static __thread int probe __attribute__((tls_model("initial-exec")));

void *ns_hook_malloc(size_t size)
{
    if (LIKELY(ns_alloc_passes(size)))
        return ns_alloc_real.malloc(size);
    if (__builtin_expect(probe == 1, 0) && ns_alloc_real.malloc) {
        probe = 2;
        return ns_alloc_real.malloc(size);
    }
    CALLER(r);
    return ns_alloc_malloc(size, NS_AF_MALLOC, &r);
}

void ns_hook_free(void *p)
{
    if (LIKELY(ns_alloc_free_passes(p))) {
        ns_alloc_real.free(p); /* passed on: a tail call leaves no frame of nsprof's */
    } else {
        ns_alloc_free(p);
        NS_KEEP_FRAME();
    }
}

void *ns_hook_calloc(size_t nmemb, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(nmemb, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    if (LIKELY(ns_alloc_passes(bytes)))
        return ns_alloc_real.calloc(nmemb, size);
    CALLER(r);
    return ns_alloc_malloc(bytes, NS_AF_CALLOC, &r);
}

/* The aligned family, once its arguments are valid. */
#define ALIGNED(align, size, fn)                                                                   \
    do {                                                                                           \
        if (LIKELY(ns_alloc_passes(size)))                                                         \
            return ns_alloc_real.memalign((align), (size));                                        \
        CALLER(r);                                                                                 \
        return ns_alloc_aligned((align), (size), (fn), &r);                                        \
    } while (0)

void *ns_hook_realloc(void *p, size_t size)
{
    /* Resizing a block of the real allocator's that free() would pass through (not sampled,
     * not tracked), into a block that is not sampled either: straight to it. */
    if (LIKELY(p && size && ns_alloc_free_passes(p))) {
        if (LIKELY(ns_alloc_passes(size)))
            return ns_alloc_real.realloc(p, size);
        CALLER(r);
        return ns_alloc_realloc_charged(p, size, NS_AF_REALLOC, &r);
    }
    CALLER(r);
    return ns_alloc_realloc(p, size, NS_AF_REALLOC, &r);
}

void *ns_hook_reallocarray(void *p, size_t nmemb, size_t size)
{
    CALLER(r);
    size_t bytes;
    if (__builtin_mul_overflow(nmemb, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return ns_alloc_realloc(p, bytes, NS_AF_REALLOCARRAY, &r);
}

static int power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

int ns_hook_posix_memalign(void **out, size_t align, size_t size)
{
    if (!power_of_two(align) || align % sizeof(void *))
        return EINVAL;
    int saved = errno;
    void *p;
    if (LIKELY(ns_alloc_passes(size))) {
        p = ns_alloc_real.memalign(align, size);
    } else {
        CALLER(r);
        p = ns_alloc_aligned(align, size, NS_AF_POSIX_MEMALIGN, &r);
    }
    if (!p)
        return ENOMEM;
    errno = saved; /* posix_memalign reports through its result, not errno */
    *out = p;
    return 0;
}

void *ns_hook_aligned_alloc(size_t align, size_t size)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    ALIGNED(align, size, NS_AF_ALIGNED_ALLOC);
}

void *ns_hook_memalign(size_t align, size_t size)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    ALIGNED(align, size, NS_AF_MEMALIGN);
}

void *ns_hook_valloc(size_t size)
{
    ALIGNED((size_t)sysconf(_SC_PAGESIZE), size, NS_AF_VALLOC);
}

void *ns_hook_pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = size ? (size + page - 1) & ~(page - 1) : page;
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    ALIGNED(page, rounded, NS_AF_PVALLOC);
}

size_t ns_hook_malloc_usable_size(void *p)
{
    size_t n = ns_alloc_usable_size(p);
    NS_KEEP_FRAME();
    return n;
}

void *ns_hook_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    CALLER(r);
    return ns_alloc_mmap(addr, len, prot, flags, fd, off, &r);
}

int ns_hook_munmap(void *addr, size_t len)
{
    int r = ns_alloc_munmap(addr, len);
    NS_KEEP_FRAME();
    return r;
}

void *malloc(size_t) NS_EXPORT_AS(ns_hook_malloc);
void free(void *) NS_EXPORT_AS(ns_hook_free);
void *calloc(size_t, size_t) NS_EXPORT_AS(ns_hook_calloc);
void *realloc(void *, size_t) NS_EXPORT_AS(ns_hook_realloc);
void *reallocarray(void *, size_t, size_t) NS_EXPORT_AS(ns_hook_reallocarray);
int posix_memalign(void **, size_t, size_t) NS_EXPORT_AS(ns_hook_posix_memalign);
void *aligned_alloc(size_t, size_t) NS_EXPORT_AS(ns_hook_aligned_alloc);
void *memalign(size_t, size_t) NS_EXPORT_AS(ns_hook_memalign);
void *valloc(size_t) NS_EXPORT_AS(ns_hook_valloc);
void *pvalloc(size_t) NS_EXPORT_AS(ns_hook_pvalloc);
size_t malloc_usable_size(void *) NS_EXPORT_AS(ns_hook_malloc_usable_size);
void *mmap(void *, size_t, int, int, int, off_t) NS_EXPORT_AS(ns_hook_mmap);
void *mmap64(void *, size_t, int, int, int, off_t) NS_EXPORT_AS(ns_hook_mmap);
int munmap(void *, size_t) NS_EXPORT_AS(ns_hook_munmap);

/*
 * The first definition of malloc in the global scope is the one the program's calls bind
 * to. When it is not ours it may still lead here: a non-PIE executable that takes malloc's
 * address (Debian's python3 does) defines a PLT stub that everyone binds to, and the stub
 * jumps on to us. So the bound malloc is called once and the hook notes whether the call
 * arrived (freed with the bound free, which owns the block either way).
 */
int ns_alloc_hooks_reached(void)
{
    void *(*bound_malloc)(size_t);
    void (*bound_free)(void *);
    *(void **)&bound_malloc = dlsym(RTLD_DEFAULT, "malloc");
    *(void **)&bound_free = dlsym(RTLD_DEFAULT, "free");
    if ((void *)bound_malloc == (void *)ns_hook_malloc)
        return 1;
    if (!bound_malloc || !bound_free)
        return 0;
    int64_t countdown = ns_alloc_countdown;
    ns_alloc_countdown = 0; /* the probe takes the slow path, where it is noticed */
    probe = 1;
    void *p = bound_malloc(1);
    int reached = probe == 2;
    probe = 0;
    ns_alloc_countdown = countdown;
    bound_free(p);
    return reached;
}
