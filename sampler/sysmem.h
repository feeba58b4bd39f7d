/*
 * sysmem — mmap, munmap and mremap as system calls, for nsprof's own memory. libnsprof.so
 * interposes mmap and munmap (anonymous mappings are allocations of the program), so its
 * own calls must not go through libc's names, which resolve to those interposers.
 */
#ifndef NS_SYSMEM_H
#define NS_SYSMEM_H

#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline void *ns_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off); /* MAP_FAILED on error */
}

static inline int ns_sys_munmap(void *addr, size_t len)
{
    return (int)syscall(SYS_munmap, addr, len);
}

static inline void *ns_sys_mremap(void *addr, size_t old_len, size_t new_len, int flags)
{
    return (void *)syscall(SYS_mremap, addr, old_len, new_len, flags);
}

#endif
