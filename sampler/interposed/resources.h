/*
 * resources — what interposed calls work on: files, sockets, pipes (by descriptor) and
 * locks (by address), each with a small stable id that sites refer to.
 *
 * Contract: ids are dense from 1 and never reused; a resource is immutable once created.
 * ns_resource_get and ns_fd_resource are lock-free (interposers' hot paths); creating a
 * resource or a lock's entry takes a mutex (rare: an open, a first contention). Bounded:
 * past NS_RESOURCES_MAX, new resources of a kind share one "(too many)" resource.
 * No malloc: entries and names are in the shared region (shm.h), indexes in mmap'd memory.
 */
#ifndef NS_RESOURCES_H
#define NS_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "stacks.h"

#define NS_RESOURCES_MAX (1u << 20)

struct ns_resource {
    uint32_t kind; /* enum nsp_resource_kind */
    const char *name;
    struct ns_stack_entry *stack; /* a lock's creating/first-using stack; NULL otherwise */
    /* a query: its database's id, its verb and flags (nsp_format.h) and, with db_sql=full,
     * the text of its first execution (NULL otherwise) */
    uint32_t parent;
    uint16_t verb, flags;
    const char *example;
};

/* What the reader walks (shm.h: header->resources): id i is chunks[(i-1) / CHUNK][(i-1) %
 * CHUNK] for 1 <= i <= count. */
#define NS_RESOURCES_CHUNK 4096
struct ns_resources_pub {
    uint32_t count; /* atomic */
    struct ns_resource *chunks[NS_RESOURCES_MAX / NS_RESOURCES_CHUNK];
};

/* A resource of this kind and name (the same id again for the same kind and name, so that a
 * file opened a thousand times is one resource); 0 when out of memory. */
uint32_t ns_resource_get_or_add(unsigned kind, const char *name, struct ns_stack_entry *stack);
/* A resource within another (a query of a database): the same id again for the same kind,
 * parent and name. verb, flags and example (may be NULL) are kept from the first call. */
uint32_t ns_resource_get_or_add_in(unsigned kind, uint32_t parent, const char *name, unsigned verb,
                                   unsigned flags, const char *example);
const struct ns_resource *ns_resource_get(uint32_t id);
uint32_t ns_resource_count(void);

/* Descriptors: what each open fd is. */
void ns_fd_set(int fd, uint32_t resource);
uint32_t ns_fd_resource(int fd); /* 0 when unknown */
void ns_fd_clear(int fd);
void ns_fd_clear_range(unsigned first, unsigned last);

/* Locks: the resource of the lock at addr, created on first use with `name` ("mutex"...)
 * and the stack of that first use (computed by make_stack only then). */
uint32_t ns_lock_resource(const void *addr, const char *name,
                          struct ns_stack_entry *(*make_stack)(void *ctx), void *ctx);
/* A lock at addr was destroyed: its address may now hold another lock. */
void ns_lock_forget(const void *addr);

/* fork: the mutex must not be held across fork by another thread. */
void ns_resources_prefork(void);
void ns_resources_postfork(int child);

#endif
