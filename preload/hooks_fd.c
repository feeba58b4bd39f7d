/*
 * hooks_fd — what each descriptor is (setting io): the calls that create, copy and close
 * descriptors keep the fd → resource map right, and a descriptor nsprof did not see opened
 * (stdin, one inherited or opened before the preload) is named on its first use from
 * /proc/self/fd and, for a socket, from its peer. Also open/close and connect/accept, which
 * take time of their own and are accounted like any I/O call (hooks_io.h).
 *
 * Names are built in stack buffers: nothing here calls malloc.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../sampler/format/nsp_format.h"
#include "../sampler/interposed/resources.h"
#include "hooks_io.h"
#include "preload.h"

#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

/* ---- names without malloc ---- */

struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *s)
{
    while (*s && t->len + 1 < t->cap)
        t->p[t->len++] = *s++;
    t->p[t->len] = '\0';
}

static void put_uint(struct text *t, unsigned long v)
{
    char digits[24];
    size_t n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof(digits));
    while (n && t->len + 1 < t->cap)
        t->p[t->len++] = digits[--n];
    t->p[t->len] = '\0';
}

/* "127.0.0.1:5432", "[::1]:80", "/run/x.sock"; 0 when the address says nothing. */
static int put_address(struct text *t, const struct sockaddr_storage *a, socklen_t len)
{
    char ip[INET6_ADDRSTRLEN];
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)a;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        put(t, ip);
        put(t, ":");
        put_uint(t, ntohs(in->sin_port));
        return 1;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)a;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        put(t, "[");
        put(t, ip);
        put(t, "]:");
        put_uint(t, ntohs(in6->sin6_port));
        return 1;
    }
    if (a->ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
        const struct sockaddr_un *un = (const void *)a;
        if (un->sun_path[0] == '\0') { /* abstract namespace */
            put(t, "@");
            size_t n = len - offsetof(struct sockaddr_un, sun_path) - 1;
            char name[sizeof(un->sun_path)];
            memcpy(name, un->sun_path + 1, n < sizeof(name) - 1 ? n : sizeof(name) - 1);
            name[n < sizeof(name) - 1 ? n : sizeof(name) - 1] = '\0';
            put(t, name);
        } else {
            put(t, un->sun_path);
        }
        return 1;
    }
    return 0;
}

static const char *protocol(int family, int type)
{
    if (family == AF_UNIX)
        return "unix";
    if (family == AF_INET || family == AF_INET6)
        return type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "ip";
    return NULL;
}

/* "tcp 10.0.0.5:5432" (the peer), "tcp local 0.0.0.0:8080" (a listening or not yet
 * connected socket), "unix /run/x.sock". Returns whether the name may be cached: a stream
 * socket without a peer may still connect (a non-blocking connect in progress). */
static int socket_name(int fd, struct text *t)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    int type = 0;
    socklen_t tlen = sizeof(type);
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen);
    int connected = getpeername(fd, (struct sockaddr *)&a, &len) == 0;
    if (!connected ||
        (a.ss_family == AF_UNIX && len <= offsetof(struct sockaddr_un, sun_path) + 1)) {
        /* A unix peer seldom has a name (the client did not bind): the local one says more. */
        len = sizeof(a);
        if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
            a.ss_family = AF_UNSPEC;
    }
    const char *proto = protocol(a.ss_family, type);
    if (!proto) {
        put(t, "socket family ");
        put_uint(t, a.ss_family);
        return 1;
    }
    put(t, proto);
    put(t, !connected && a.ss_family != AF_UNIX ? " local " : " ");
    if (!put_address(t, &a, len))
        put(t, "(unnamed)");
    return connected || type != SOCK_STREAM;
}

/* What fd is, from /proc/self/fd and fstat; returns whether the name may be cached. */
static int describe_fd(int fd, unsigned *kind, struct text *t)
{
    char link[40] = "/proc/self/fd/";
    struct text lt = {link, strlen(link), sizeof(link)};
    put_uint(&lt, (unsigned)fd);
    char target[4096];
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    struct stat st;
    if (n < 0 || fstat(fd, &st) != 0) {
        *kind = NSP_RES_UNKNOWN_FD;
        put(t, "fd ");
        put_uint(t, (unsigned)fd);
        return 0;
    }
    target[n] = '\0';
    if (S_ISSOCK(st.st_mode)) {
        *kind = NSP_RES_SOCKET;
        return socket_name(fd, t);
    }
    if (S_ISFIFO(st.st_mode)) {
        *kind = NSP_RES_PIPE;
        put(t, strncmp(target, "pipe:", 5) == 0 ? "pipe" : target); /* else a named fifo */
        return 1;
    }
    if (strncmp(target, "anon_inode:", 11) == 0) { /* "anon_inode:[eventfd]" → "eventfd" */
        *kind = NSP_RES_OTHER_FD;
        char *name = target + 11;
        size_t len = strlen(name);
        if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
            name[len - 1] = '\0';
            name++;
        }
        put(t, name);
        return 1;
    }
    *kind = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? NSP_RES_FILE : NSP_RES_OTHER_FD;
    put(t, target);
    return 1;
}

uint32_t ns_io_fd_resource(int fd)
{
    uint32_t id = ns_fd_resource(fd);
    if (id || fd < 0)
        return id;
    char buf[4200];
    struct text t = {buf, 0, sizeof(buf)};
    unsigned kind;
    int cache = describe_fd(fd, &kind, &t);
    id = ns_resource_get_or_add(kind, buf, NULL);
    if (cache && id)
        ns_fd_set(fd, id);
    return id;
}

/* ---- map updates ---- */

/* Map updates may create resources or map chunks (mmap, which the allocation hooks see):
 * nsprof's own work, so a known thread is marked as inside nsprof meanwhile. Returns 0 when
 * the update must not be made (--io off, or nsprof's own call). */
static int map_begin(struct ns_thread **th)
{
    if (!ns_io_on())
        return 0;
    struct ns_thread *t = ns_threads_current();
    if (t && t->in_hook)
        return 0;
    if (t)
        t->in_hook = 1;
    *th = t;
    return 1;
}

static void map_end(struct ns_thread *th)
{
    if (th)
        ns_hook_leave(th);
}

uint32_t ns_io_fd_name_now(int fd)
{
    /* Only a call that will be accounted needs the name. */
    struct ns_thread *th = fd >= 0 ? ns_hook_enter(NS_HOOK_IO) : NULL;
    if (!th)
        return 0;
    int saved = errno;
    uint32_t id = ns_io_fd_resource(fd);
    errno = saved;
    ns_hook_leave(th);
    return id;
}

void ns_io_fd_forget(int fd)
{
    if (fd >= 0 && ns_io_on())
        ns_fd_clear(fd); /* no allocation, no lock */
}

void ns_io_fd_copied(int from, int to)
{
    struct ns_thread *th;
    if (to < 0 || from == to || !map_begin(&th))
        return;
    uint32_t id = ns_fd_resource(from);
    if (id)
        ns_fd_set(to, id);
    else
        ns_fd_clear(to);
    map_end(th);
}

void ns_io_fd_pair(const int fds[2], unsigned kind, const char *name)
{
    struct ns_thread *th;
    if (!map_begin(&th))
        return;
    uint32_t id = ns_resource_get_or_add(kind, name, NULL);
    ns_fd_set(fds[0], id);
    ns_fd_set(fds[1], id);
    map_end(th);
}

/* ---- hooks: opening and closing ---- */

/* A call that returns a new descriptor (or -1), accounted to that descriptor. */
#define OPENED(regs, fname, fdv, t0)                                                               \
    do {                                                                                           \
        if ((fdv) >= 0)                                                                            \
            ns_io_fd_forget(fdv);                                                                  \
        static uint32_t name_id_;                                                                  \
        struct ns_io_call c_ = {fname, &name_id_, NS_SITE_IO, (fdv), 0, 0, 0, (t0)};               \
        ns_io_done(&(regs), &c_);                                                                  \
    } while (0)

static mode_t mode_arg(int flags, va_list ap)
{
    return __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0;
}

int ns_hook_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    __typeof__(&open) real = REAL(open);
    if (!ns_io_on())
        return real(path, flags, mode);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int fd = real(path, flags, mode);
    OPENED(r, "open", fd, t0);
    return fd;
}

int ns_hook_openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    __typeof__(&openat) real = REAL(openat);
    if (!ns_io_on())
        return real(dirfd, path, flags, mode);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int fd = real(dirfd, path, flags, mode);
    OPENED(r, "openat", fd, t0);
    return fd;
}

int ns_hook_creat(const char *path, mode_t mode)
{
    __typeof__(&creat) real = REAL(creat);
    if (!ns_io_on())
        return real(path, mode);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int fd = real(path, mode);
    OPENED(r, "creat", fd, t0);
    return fd;
}

/* The fortified open (_FORTIFY_SOURCE): the same call, checked for a missing mode. */
int __open_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);

int ns_hook_open_2(const char *path, int flags)
{
    __typeof__(&__open_2) real = REAL(__open_2);
    if (!ns_io_on())
        return real(path, flags);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int fd = real(path, flags);
    OPENED(r, "open", fd, t0);
    return fd;
}

int ns_hook_openat_2(int dirfd, const char *path, int flags)
{
    __typeof__(&__openat_2) real = REAL(__openat_2);
    if (!ns_io_on())
        return real(dirfd, path, flags);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    int fd = real(dirfd, path, flags);
    OPENED(r, "openat", fd, t0);
    return fd;
}

int ns_hook_close(int fd)
{
    __typeof__(&close) real = REAL(close);
    if (!ns_io_on())
        return real(fd);
    CALLER(r);
    uint32_t id = ns_io_fd_name_now(fd); /* as it was: the number is free once closed */
    uint64_t t0 = ns_now_ns();
    int ret = real(fd);
    ns_io_fd_forget(fd); /* Linux frees the number even when close fails with EINTR */
    static uint32_t name_id;
    struct ns_io_call c = {"close", &name_id, NS_SITE_IO, -1, id, 0, 0, t0};
    ns_io_done(&r, &c);
    return ret;
}

int ns_hook_close_range(unsigned first, unsigned last, int flags)
{
    int ret = REAL(close_range)(first, last, flags);
    if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && ns_io_on())
        ns_fd_clear_range(first, last);
    return ret;
}

void ns_hook_closefrom(int first)
{
    REAL(closefrom)(first);
    if (first >= 0 && ns_io_on())
        ns_fd_clear_range((unsigned)first, ~0u);
    NS_KEEP_FRAME();
}

/* ---- hooks: copies ---- */

int ns_hook_dup(int fd)
{
    int ret = REAL(dup)(fd);
    int saved = errno;
    ns_io_fd_copied(fd, ret);
    errno = saved;
    return ret;
}

int ns_hook_dup2(int fd, int to)
{
    int ret = REAL(dup2)(fd, to);
    int saved = errno;
    ns_io_fd_copied(fd, ret);
    errno = saved;
    return ret;
}

int ns_hook_dup3(int fd, int to, int flags)
{
    int ret = REAL(dup3)(fd, to, flags);
    int saved = errno;
    ns_io_fd_copied(fd, ret);
    errno = saved;
    return ret;
}

/* Every fcntl argument is an int, a long or a pointer, all passed in one register: glibc
 * reads it as a pointer too. */
int ns_hook_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int ret = REAL(fcntl)(fd, cmd, arg);
    if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) {
        int saved = errno;
        ns_io_fd_copied(fd, ret);
        errno = saved;
    }
    return ret;
}

/* ---- hooks: sockets and pipes ---- */

int ns_hook_socket(int domain, int type, int protocol)
{
    int fd = REAL(socket)(domain, type, protocol);
    ns_io_fd_forget(fd);
    return fd;
}

int ns_hook_socketpair(int domain, int type, int protocol, int fds[2])
{
    int ret = REAL(socketpair)(domain, type, protocol, fds);
    if (ret == 0) {
        int saved = errno;
        ns_io_fd_pair(fds, NSP_RES_SOCKET, domain == AF_UNIX ? "unix socketpair" : "socketpair");
        errno = saved;
    }
    return ret;
}

int ns_hook_pipe(int fds[2])
{
    int ret = REAL(pipe)(fds);
    if (ret == 0) {
        int saved = errno;
        ns_io_fd_pair(fds, NSP_RES_PIPE, "pipe");
        errno = saved;
    }
    return ret;
}

int ns_hook_pipe2(int fds[2], int flags)
{
    int ret = REAL(pipe2)(fds, flags);
    if (ret == 0) {
        int saved = errno;
        ns_io_fd_pair(fds, NSP_RES_PIPE, "pipe");
        errno = saved;
    }
    return ret;
}

int ns_hook_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    __typeof__(&connect) real = REAL(connect);
    if (!ns_io_on() && !ns_hooks_block_on())
        return real(fd, addr, len);
    CALLER(r);
    IO_BLOCK_BEGIN(b, r, "connect");
    uint64_t t0 = ns_now_ns();
    int ret = real(fd, addr, len);
    ns_block_end(b, 0);
    if (!ns_io_on())
        return ret;
    ns_io_fd_forget(fd); /* named again by its peer */
    static uint32_t name_id;
    struct ns_io_call c = {"connect", &name_id, NS_SITE_IO, fd, 0, 0, 0, t0};
    ns_io_done(&r, &c);
    return ret;
}

/* accept is accounted to the listening socket; the new one is named by its peer on use. */
int ns_hook_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    __typeof__(&accept) real = REAL(accept);
    if (!ns_io_on() && !ns_hooks_block_on())
        return real(fd, addr, len);
    CALLER(r);
    IO_BLOCK_BEGIN(b, r, "accept");
    uint64_t t0 = ns_now_ns();
    int ret = real(fd, addr, len);
    ns_block_end(b, 0);
    if (!ns_io_on())
        return ret;
    ns_io_fd_forget(ret);
    IO_DONE(r, "accept", fd, 0, t0, 0);
    return ret;
}

int ns_hook_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    __typeof__(&accept4) real = REAL(accept4);
    if (!ns_io_on() && !ns_hooks_block_on())
        return real(fd, addr, len, flags);
    CALLER(r);
    IO_BLOCK_BEGIN(b, r, "accept");
    uint64_t t0 = ns_now_ns();
    int ret = real(fd, addr, len, flags);
    ns_block_end(b, 0);
    if (!ns_io_on())
        return ret;
    ns_io_fd_forget(ret);
    IO_DONE(r, "accept", fd, 0, t0, 0);
    return ret;
}

/* On x86_64 the 64-bit-offset names are the same functions. */
int open(const char *, int, ...) NS_EXPORT_AS(ns_hook_open);
int open64(const char *, int, ...) NS_EXPORT_AS(ns_hook_open);
int openat(int, const char *, int, ...) NS_EXPORT_AS(ns_hook_openat);
int openat64(int, const char *, int, ...) NS_EXPORT_AS(ns_hook_openat);
int creat(const char *, mode_t) NS_EXPORT_AS(ns_hook_creat);
int creat64(const char *, mode_t) NS_EXPORT_AS(ns_hook_creat);
int __open_2(const char *, int) NS_EXPORT_AS(ns_hook_open_2);
int __open64_2(const char *, int) NS_EXPORT_AS(ns_hook_open_2);
int __openat_2(int, const char *, int) NS_EXPORT_AS(ns_hook_openat_2);
int __openat64_2(int, const char *, int) NS_EXPORT_AS(ns_hook_openat_2);
int close(int) NS_EXPORT_AS(ns_hook_close);
int close_range(unsigned, unsigned, int) NS_EXPORT_AS(ns_hook_close_range);
void closefrom(int) NS_EXPORT_AS(ns_hook_closefrom);
int dup(int) NS_EXPORT_AS(ns_hook_dup);
int dup2(int, int) NS_EXPORT_AS(ns_hook_dup2);
int dup3(int, int, int) NS_EXPORT_AS(ns_hook_dup3);
int fcntl(int, int, ...) NS_EXPORT_AS(ns_hook_fcntl);
int fcntl64(int, int, ...) NS_EXPORT_AS(ns_hook_fcntl);
int socket(int, int, int) NS_EXPORT_AS(ns_hook_socket);
int socketpair(int, int, int, int[2]) NS_EXPORT_AS(ns_hook_socketpair);
int pipe(int[2]) NS_EXPORT_AS(ns_hook_pipe);
int pipe2(int[2], int) NS_EXPORT_AS(ns_hook_pipe2);
int connect(int, const struct sockaddr *, socklen_t) NS_EXPORT_AS(ns_hook_connect);
int accept(int, struct sockaddr *, socklen_t *) NS_EXPORT_AS(ns_hook_accept);
int accept4(int, struct sockaddr *, socklen_t *, int) NS_EXPORT_AS(ns_hook_accept4);
