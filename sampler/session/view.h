/*
 * view — how a reader (the agent, or the in-process writer thread) looks at a process's
 * shared region (shm.h): the region's bytes as mapped in the reader, and the address they
 * have in the process that owns them. Structures in the region point at each other with the
 * owner's addresses; every pointer the reader follows goes through ns_view_at, which
 * translates it and checks that the whole object lies inside what the reader mapped. A
 * region is written by another program (which may be buggy, or be killed mid-write): a
 * pointer out of bounds is NULL, never a crash.
 *
 * In-process the view is the identity (local == base).
 */
#ifndef NS_VIEW_H
#define NS_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ns_view {
    const uint8_t *local; /* the region as mapped here */
    uint64_t base;        /* its address in the owning process */
    uint64_t len;         /* bytes readable here */
};

/* The local address of `size` bytes at owner address `remote`, or NULL if they are not
 * all inside the view. */
static inline const void *ns_view_at(const struct ns_view *v, const void *remote, size_t size)
{
    uint64_t a = (uint64_t)(uintptr_t)remote;
    if (!remote || a < v->base || a - v->base > v->len || size > v->len - (a - v->base))
        return NULL;
    return v->local + (a - v->base);
}

/* Writable access, for the reader's own bookkeeping fields (what it already wrote). */
static inline void *ns_view_at_rw(const struct ns_view *v, const void *remote, size_t size)
{
    return (void *)(uintptr_t)ns_view_at(v, remote, size);
}

/* A NUL-terminated string of at most max bytes at `remote`: copied into out (cap bytes,
 * always terminated); 0 if it is not inside the view. */
static inline int ns_view_string(const struct ns_view *v, const void *remote, char *out, size_t cap)
{
    uint64_t a = (uint64_t)(uintptr_t)remote;
    out[0] = '\0';
    if (!remote || a < v->base || a - v->base >= v->len)
        return 0;
    const char *s = (const char *)v->local + (a - v->base);
    size_t room = (size_t)(v->len - (a - v->base));
    size_t n = strnlen(s, room < cap ? room : cap - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

#endif
