/*
 * hooks_io — the calls that move data through a descriptor (setting io): read and write and
 * their positioned, vectored, socket and fortified forms, sendfile, copy_file_range, fsync.
 * Each is accounted after the real call returned, to its caller's stack and to the
 * descriptor's resource, with the bytes it moved (hooks_io.h). Also the two functions every
 * I/O hook shares: the lazy lookup of libc's functions and the accounting itself.
 */
#include <dlfcn.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hooks_io.h"

#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

void *ns_io_real(void **slot, const char *name)
{
    /* dlsym may allocate: the allocation hooks serve it even before libc's malloc is known. */
    void *p = dlsym(RTLD_NEXT, name);
    __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    return p;
}

void ns_io_done(const struct ns_regs *caller, const struct ns_io_call *c)
{
    uint64_t t1 = ns_now_ns();
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_IO);
    if (th) {
        uint32_t name_id = ns_pseudo_name_cached(c->name_id, c->name);
        uint32_t resource = c->fd >= 0 ? ns_io_fd_resource(c->fd) : c->resource;
        struct ns_stack_entry *stack = ns_capture(th, caller, name_id);
        struct ns_site *site = stack ? ns_site_get(th, c->family, stack, resource) : NULL;
        if (site)
            ns_site_add(site, c->bytes, t1 > c->t0 ? t1 - c->t0 : 0, c->with_hist);
        ns_hook_leave(th);
    }
    errno = saved;
}

/*
 * A hook `hook` exported as libc's `fn`: the real call, then its accounting under the name
 * `label` (the fortified __read_chk is "read": what the source called) to descriptor `fdv`,
 * with the result as the bytes moved. `hist`: the call moves data (its size is counted).
 * In wall mode the call is also published while it may block (blocking.h).
 */
#define IO_HOOK(rtype, hook, fn, label, fdv, hist, params, args)                                   \
    rtype hook params                                                                              \
    {                                                                                              \
        __typeof__(&fn) real = REAL(fn);                                                           \
        if (!ns_io_on() && !ns_hooks_block_on())                                                   \
            return real args;                                                                      \
        CALLER(r);                                                                                 \
        IO_BLOCK_BEGIN(b, r, label);                                                               \
        int io_ = ns_io_on();                                                                      \
        uint64_t t0 = io_ ? ns_now_ns() : 0;                                                       \
        rtype ret = real args;                                                                     \
        ns_block_end(b, 0);                                                                        \
        if (io_)                                                                                   \
            IO_DONE(r, label, fdv, ret, t0, hist);                                                 \
        return ret;                                                                                \
    }

/* Fortified forms (_FORTIFY_SOURCE), which Debian's own binaries call. */
ssize_t __read_chk(int, void *, size_t, size_t);
ssize_t __pread_chk(int, void *, size_t, off_t, size_t);
ssize_t __pread64_chk(int, void *, size_t, off64_t, size_t);
ssize_t __recv_chk(int, void *, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);

IO_HOOK(ssize_t, ns_hook_read, read, "read", fd, 1, (int fd, void *buf, size_t n), (fd, buf, n))
IO_HOOK(ssize_t, ns_hook_write, write, "write", fd, 1, (int fd, const void *buf, size_t n),
        (fd, buf, n))
IO_HOOK(ssize_t, ns_hook_pread, pread, "pread", fd, 1, (int fd, void *buf, size_t n, off_t off),
        (fd, buf, n, off))
IO_HOOK(ssize_t, ns_hook_pwrite, pwrite, "pwrite", fd, 1,
        (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off))
IO_HOOK(ssize_t, ns_hook_readv, readv, "readv", fd, 1, (int fd, const struct iovec *iov, int n),
        (fd, iov, n))
IO_HOOK(ssize_t, ns_hook_writev, writev, "writev", fd, 1, (int fd, const struct iovec *iov, int n),
        (fd, iov, n))
IO_HOOK(ssize_t, ns_hook_preadv, preadv, "preadv", fd, 1,
        (int fd, const struct iovec *iov, int n, off_t off), (fd, iov, n, off))
IO_HOOK(ssize_t, ns_hook_pwritev, pwritev, "pwritev", fd, 1,
        (int fd, const struct iovec *iov, int n, off_t off), (fd, iov, n, off))
IO_HOOK(int, ns_hook_fsync, fsync, "fsync", fd, 0, (int fd), (fd))
IO_HOOK(int, ns_hook_fdatasync, fdatasync, "fdatasync", fd, 0, (int fd), (fd))
IO_HOOK(ssize_t, ns_hook_send, send, "send", fd, 1, (int fd, const void *buf, size_t n, int flags),
        (fd, buf, n, flags))
IO_HOOK(ssize_t, ns_hook_recv, recv, "recv", fd, 1, (int fd, void *buf, size_t n, int flags),
        (fd, buf, n, flags))
IO_HOOK(ssize_t, ns_hook_sendto, sendto, "sendto", fd, 1,
        (int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t len),
        (fd, buf, n, flags, to, len))
IO_HOOK(ssize_t, ns_hook_recvfrom, recvfrom, "recvfrom", fd, 1,
        (int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *len),
        (fd, buf, n, flags, from, len))
IO_HOOK(ssize_t, ns_hook_sendmsg, sendmsg, "sendmsg", fd, 1,
        (int fd, const struct msghdr *msg, int flags), (fd, msg, flags))
IO_HOOK(ssize_t, ns_hook_recvmsg, recvmsg, "recvmsg", fd, 1,
        (int fd, struct msghdr *msg, int flags), (fd, msg, flags))
/* Data copied inside the kernel is accounted to where it lands: the output descriptor. */
IO_HOOK(ssize_t, ns_hook_sendfile, sendfile, "sendfile", out, 1,
        (int out, int in, off_t *off, size_t n), (out, in, off, n))
IO_HOOK(ssize_t, ns_hook_copy_file_range, copy_file_range, "copy_file_range", out, 1,
        (int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned flags),
        (in, in_off, out, out_off, n, flags))
IO_HOOK(ssize_t, ns_hook_read_chk, __read_chk, "read", fd, 1,
        (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen))
IO_HOOK(ssize_t, ns_hook_pread_chk, __pread_chk, "pread", fd, 1,
        (int fd, void *buf, size_t n, off_t off, size_t buflen), (fd, buf, n, off, buflen))
IO_HOOK(ssize_t, ns_hook_recv_chk, __recv_chk, "recv", fd, 1,
        (int fd, void *buf, size_t n, size_t buflen, int flags), (fd, buf, n, buflen, flags))
IO_HOOK(ssize_t, ns_hook_recvfrom_chk, __recvfrom_chk, "recvfrom", fd, 1,
        (int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
         socklen_t *len),
        (fd, buf, n, buflen, flags, from, len))

/* On x86_64 the 64-bit-offset names are the same functions. */
ssize_t read(int, void *, size_t) NS_EXPORT_AS(ns_hook_read);
ssize_t write(int, const void *, size_t) NS_EXPORT_AS(ns_hook_write);
ssize_t pread(int, void *, size_t, off_t) NS_EXPORT_AS(ns_hook_pread);
ssize_t pread64(int, void *, size_t, off_t) NS_EXPORT_AS(ns_hook_pread);
ssize_t pwrite(int, const void *, size_t, off_t) NS_EXPORT_AS(ns_hook_pwrite);
ssize_t pwrite64(int, const void *, size_t, off_t) NS_EXPORT_AS(ns_hook_pwrite);
ssize_t readv(int, const struct iovec *, int) NS_EXPORT_AS(ns_hook_readv);
ssize_t writev(int, const struct iovec *, int) NS_EXPORT_AS(ns_hook_writev);
ssize_t preadv(int, const struct iovec *, int, off_t) NS_EXPORT_AS(ns_hook_preadv);
ssize_t preadv64(int, const struct iovec *, int, off_t) NS_EXPORT_AS(ns_hook_preadv);
ssize_t pwritev(int, const struct iovec *, int, off_t) NS_EXPORT_AS(ns_hook_pwritev);
ssize_t pwritev64(int, const struct iovec *, int, off_t) NS_EXPORT_AS(ns_hook_pwritev);
int fsync(int) NS_EXPORT_AS(ns_hook_fsync);
int fdatasync(int) NS_EXPORT_AS(ns_hook_fdatasync);
ssize_t send(int, const void *, size_t, int) NS_EXPORT_AS(ns_hook_send);
ssize_t recv(int, void *, size_t, int) NS_EXPORT_AS(ns_hook_recv);
ssize_t sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t)
    NS_EXPORT_AS(ns_hook_sendto);
ssize_t recvfrom(int, void *, size_t, int, struct sockaddr *, socklen_t *)
    NS_EXPORT_AS(ns_hook_recvfrom);
ssize_t sendmsg(int, const struct msghdr *, int) NS_EXPORT_AS(ns_hook_sendmsg);
ssize_t recvmsg(int, struct msghdr *, int) NS_EXPORT_AS(ns_hook_recvmsg);
ssize_t sendfile(int, int, off_t *, size_t) NS_EXPORT_AS(ns_hook_sendfile);
ssize_t sendfile64(int, int, off_t *, size_t) NS_EXPORT_AS(ns_hook_sendfile);
ssize_t copy_file_range(int, off64_t *, int, off64_t *, size_t, unsigned)
    NS_EXPORT_AS(ns_hook_copy_file_range);
ssize_t __read_chk(int, void *, size_t, size_t) NS_EXPORT_AS(ns_hook_read_chk);
ssize_t __pread_chk(int, void *, size_t, off_t, size_t) NS_EXPORT_AS(ns_hook_pread_chk);
ssize_t __pread64_chk(int, void *, size_t, off_t, size_t) NS_EXPORT_AS(ns_hook_pread_chk);
ssize_t __recv_chk(int, void *, size_t, size_t, int) NS_EXPORT_AS(ns_hook_recv_chk);
ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *)
    NS_EXPORT_AS(ns_hook_recvfrom_chk);
