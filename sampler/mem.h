/*
 * mem — memory for nsprof's in-process side. Everything comes from mmap: the preload
 * library must not use the program's malloc from a signal handler, must not perturb the
 * heap it measures, and (later) interposes malloc itself.
 */
#ifndef NS_MEM_H
#define NS_MEM_H

#include <stddef.h>

/* Zeroed, page-granular; NULL on failure. */
void *ns_mem_alloc(size_t size);
void ns_mem_free(void *p, size_t size);
/* Grows (or moves) a block; NULL on failure, the old block then stays valid. */
void *ns_mem_grow(void *p, size_t old_size, size_t new_size);

#endif
