/*
 * mem — see mem.h. System calls directly, not libc's mmap: libnsprof.so interposes mmap
 * itself (anonymous mappings are allocations), and its own memory must not go through that.
 */
#include "mem.h"

#include "sysmem.h"

void *ns_mem_alloc(size_t size)
{
    void *p = ns_sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ns_mem_free(void *p, size_t size)
{
    if (p)
        ns_sys_munmap(p, size);
}

void *ns_mem_grow(void *p, size_t old_size, size_t new_size)
{
    if (!p)
        return ns_mem_alloc(new_size);
    void *q = ns_sys_mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}
