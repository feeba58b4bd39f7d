#include "mem.h"

#include <sys/mman.h>

void *ns_mem_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ns_mem_free(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

void *ns_mem_grow(void *p, size_t old_size, size_t new_size)
{
    if (!p)
        return ns_mem_alloc(new_size);
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}
