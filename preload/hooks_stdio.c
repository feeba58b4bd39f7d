/*
 * hooks_stdio — the stdio layer (setting io): fopen, fread, fwrite, fgets, fputs, getline,
 * fflush, fclose and their _unlocked and fortified forms. libc's stdio calls read and write
 * internally, never through an interposer, so without these a program's stdio I/O would be
 * invisible. A FILE stands for its descriptor's resource (hooks_fd.c).
 *
 * Buffer or kernel: a stdio call served from the FILE's buffer alone costs a memcpy and is
 * accounted as NS_SITE_STDIO; one that had to refill or flush the buffer reached the kernel
 * and is NS_SITE_IO. glibc does not say which happened, so the hook compares the FILE's public
 * buffer pointers (struct _IO_FILE, <bits/types/struct_FILE.h>) before and after the call:
 *  - a read served from the buffer only advances _IO_read_ptr by the bytes it returned and
 *    leaves _IO_read_end and _IO_buf_base alone; a refill (underflow) resets _IO_read_ptr to
 *    the buffer's start and moves _IO_read_end to what read() returned, and a read() that
 *    found end-of-file or failed sets _IO_EOF_SEEN or _IO_ERR_SEEN;
 *  - a write kept in the buffer grows the pending bytes (_IO_write_ptr - _IO_write_base) by
 *    exactly what it accepted; a flush empties them first, so afterwards fewer are pending
 *    (a buffer allocated by this very call starts with nothing to flush: no kernel write).
 * These fields are read without the FILE's lock: a FILE that several threads use at once
 * may be misclassified, never miscounted. Streams without a descriptor (fmemopen,
 * fopencookie) never reach the kernel through stdio: always NS_SITE_STDIO.
 * The bytes of a call are what the program asked of it, whichever way it was served.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "hooks_io.h"

/* <stdio.h> makes these macros when optimizing: the hooks need the functions. */
#undef fread_unlocked
#undef fwrite_unlocked

#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

struct buffer_state {
    const char *read_ptr, *read_end, *write_base, *write_ptr, *buf_base;
    int flags;
};

static void buffer_state(const FILE *f, struct buffer_state *s)
{
    s->read_ptr = f->_IO_read_ptr;
    s->read_end = f->_IO_read_end;
    s->write_base = f->_IO_write_base;
    s->write_ptr = f->_IO_write_ptr;
    s->buf_base = f->_IO_buf_base;
    s->flags = f->_flags;
}

static size_t pending(const struct buffer_state *s)
{
    return s->write_base && s->write_ptr > s->write_base ? (size_t)(s->write_ptr - s->write_base)
                                                         : 0;
}

static int newly_failed_or_ended(const struct buffer_state *b, const struct buffer_state *a)
{
    return (a->flags & ~b->flags & (_IO_EOF_SEEN | _IO_ERR_SEEN)) != 0;
}

static int read_from_buffer(const struct buffer_state *b, const struct buffer_state *a,
                            uint64_t consumed)
{
    return b->read_ptr && a->buf_base == b->buf_base && a->read_end == b->read_end &&
           a->read_ptr == b->read_ptr + consumed && !newly_failed_or_ended(b, a);
}

static int written_to_buffer(const struct buffer_state *b, const struct buffer_state *a,
                             uint64_t accepted)
{
    return a->write_base && (!b->write_base || a->write_base == b->write_base) &&
           pending(a) == pending(b) + accepted && !newly_failed_or_ended(b, a);
}

enum direction { READING, WRITING };

static void stdio_done(const struct ns_regs *caller, const char *name, uint32_t *name_id, FILE *f,
                       const struct buffer_state *before, enum direction dir, uint64_t bytes,
                       uint64_t t0)
{
    struct buffer_state after;
    buffer_state(f, &after);
    int fd = f->_fileno;
    int buffered = dir == READING ? read_from_buffer(before, &after, bytes)
                                  : written_to_buffer(before, &after, bytes);
    struct ns_io_call c = {
        name, name_id, fd < 0 || buffered ? NS_SITE_STDIO : NS_SITE_IO, fd, 0, bytes, 1, t0};
    ns_io_done(caller, &c);
}

/* Wall mode: a read whose buffer is empty goes to the kernel and may block there (a pipe,
 * a terminal): it is published as a blocking call (blocking.h). One served from the buffer
 * costs a flag test. A line longer than what the buffer holds may still block unseen. */
static int may_block(const FILE *f, enum direction dir)
{
    return dir == READING && ns_hooks_block_on() && f && f->_IO_read_ptr >= f->_IO_read_end;
}

/* The body of a hook: the real call with the buffer looked at around it. `bytes_of` turns
 * the result into the bytes the call moved. */
#define STDIO_HOOK_BODY(fn, label, f, dir, bytes_of, args)                                         \
    __typeof__(&fn) real = REAL(fn);                                                               \
    int blocks_ = may_block(f, dir);                                                               \
    if (!ns_io_on() && !blocks_)                                                                   \
        return real args;                                                                          \
    CALLER(r);                                                                                     \
    struct buffer_state before;                                                                    \
    buffer_state(f, &before);                                                                      \
    static uint32_t block_id_;                                                                     \
    struct ns_block_token b_ =                                                                     \
        blocks_ ? ns_block_begin(&r, label, &block_id_, NS_BLOCK_IO) : (struct ns_block_token){0}; \
    uint64_t t0 = ns_now_ns();                                                                     \
    __typeof__(real args) ret = real args;                                                         \
    ns_block_end(b_, 0);                                                                           \
    static uint32_t name_id;                                                                       \
    stdio_done(&r, label, &name_id, f, &before, dir, bytes_of, t0);                                \
    return ret

size_t __fread_chk(void *, size_t, size_t, size_t, FILE *);
size_t __fread_unlocked_chk(void *, size_t, size_t, size_t, FILE *);
char *__fgets_chk(char *, size_t, int, FILE *);
char *__fgets_unlocked_chk(char *, size_t, int, FILE *);
ssize_t __getdelim(char **, size_t *, int, FILE *);

size_t ns_hook_fread(void *p, size_t size, size_t n, FILE *f)
{
    STDIO_HOOK_BODY(fread, "fread", f, READING, (uint64_t)ret * size, (p, size, n, f));
}

size_t ns_hook_fread_unlocked(void *p, size_t size, size_t n, FILE *f)
{
    STDIO_HOOK_BODY(fread_unlocked, "fread", f, READING, (uint64_t)ret * size, (p, size, n, f));
}

size_t ns_hook_fread_chk(void *p, size_t cap, size_t size, size_t n, FILE *f)
{
    STDIO_HOOK_BODY(__fread_chk, "fread", f, READING, (uint64_t)ret * size, (p, cap, size, n, f));
}

size_t ns_hook_fread_unlocked_chk(void *p, size_t cap, size_t size, size_t n, FILE *f)
{
    STDIO_HOOK_BODY(__fread_unlocked_chk, "fread", f, READING, (uint64_t)ret * size,
                    (p, cap, size, n, f));
}

size_t ns_hook_fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    STDIO_HOOK_BODY(fwrite, "fwrite", f, WRITING, (uint64_t)ret * size, (p, size, n, f));
}

size_t ns_hook_fwrite_unlocked(const void *p, size_t size, size_t n, FILE *f)
{
    STDIO_HOOK_BODY(fwrite_unlocked, "fwrite", f, WRITING, (uint64_t)ret * size, (p, size, n, f));
}

#define LINE_BYTES(ret) ((ret) ? (uint64_t)strlen(ret) : 0)

char *ns_hook_fgets(char *s, int n, FILE *f)
{
    STDIO_HOOK_BODY(fgets, "fgets", f, READING, LINE_BYTES(ret), (s, n, f));
}

char *ns_hook_fgets_unlocked(char *s, int n, FILE *f)
{
    STDIO_HOOK_BODY(fgets_unlocked, "fgets", f, READING, LINE_BYTES(ret), (s, n, f));
}

char *ns_hook_fgets_chk(char *s, size_t cap, int n, FILE *f)
{
    STDIO_HOOK_BODY(__fgets_chk, "fgets", f, READING, LINE_BYTES(ret), (s, cap, n, f));
}

char *ns_hook_fgets_unlocked_chk(char *s, size_t cap, int n, FILE *f)
{
    STDIO_HOOK_BODY(__fgets_unlocked_chk, "fgets", f, READING, LINE_BYTES(ret), (s, cap, n, f));
}

#define PUT_BYTES(ret, s) ((ret) >= 0 ? (uint64_t)strlen(s) : 0)

int ns_hook_fputs(const char *s, FILE *f)
{
    STDIO_HOOK_BODY(fputs, "fputs", f, WRITING, PUT_BYTES(ret, s), (s, f));
}

int ns_hook_fputs_unlocked(const char *s, FILE *f)
{
    STDIO_HOOK_BODY(fputs_unlocked, "fputs", f, WRITING, PUT_BYTES(ret, s), (s, f));
}

#define GOT_BYTES(ret) ((ret) > 0 ? (uint64_t)(ret) : 0)

ssize_t ns_hook_getline(char **line, size_t *cap, FILE *f)
{
    STDIO_HOOK_BODY(getline, "getline", f, READING, GOT_BYTES(ret), (line, cap, f));
}

ssize_t ns_hook_getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    STDIO_HOOK_BODY(getdelim, "getdelim", f, READING, GOT_BYTES(ret), (line, cap, delim, f));
}

ssize_t ns_hook___getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    STDIO_HOOK_BODY(__getdelim, "getdelim", f, READING, GOT_BYTES(ret), (line, cap, delim, f));
}

/* A flush reaches the kernel when something was pending, and moves exactly that. */
static int flush_hook(int (*real)(FILE *), FILE *f, const struct ns_regs *r, uint32_t *name_id)
{
    if (!f) { /* every stream: what each held is not known */
        uint64_t t0 = ns_now_ns();
        int ret = real(f);
        struct ns_io_call c = {"fflush", name_id, NS_SITE_IO, -1, 0, 0, 0, t0};
        ns_io_done(r, &c);
        return ret;
    }
    struct buffer_state before;
    buffer_state(f, &before);
    size_t bytes = pending(&before);
    uint64_t t0 = ns_now_ns();
    int ret = real(f);
    int fd = f->_fileno;
    struct ns_io_call c = {"fflush",  name_id, fd >= 0 && bytes ? NS_SITE_IO : NS_SITE_STDIO,
                           fd,        0,       bytes,
                           bytes > 0, t0};
    ns_io_done(r, &c);
    return ret;
}

int ns_hook_fflush(FILE *f)
{
    __typeof__(&fflush) real = REAL(fflush);
    if (!ns_io_on())
        return real(f);
    CALLER(r);
    static uint32_t name_id;
    return flush_hook(real, f, &r, &name_id);
}

int ns_hook_fflush_unlocked(FILE *f)
{
    __typeof__(&fflush_unlocked) real = REAL(fflush_unlocked);
    if (!ns_io_on())
        return real(f);
    CALLER(r);
    static uint32_t name_id;
    return flush_hook(real, f, &r, &name_id);
}

/* fclose always reaches the kernel (close), after flushing what was pending. The FILE is
 * gone afterwards: its descriptor's resource is taken before. */
int ns_hook_fclose(FILE *f)
{
    __typeof__(&fclose) real = REAL(fclose);
    if (!ns_io_on())
        return real(f);
    CALLER(r);
    int fd = f->_fileno;
    uint32_t id = ns_io_fd_name_now(fd);
    struct buffer_state before;
    buffer_state(f, &before);
    size_t bytes = pending(&before);
    uint64_t t0 = ns_now_ns();
    int ret = real(f);
    ns_io_fd_forget(fd);
    static uint32_t name_id;
    struct ns_io_call c = {"fclose",  &name_id, fd >= 0 ? NS_SITE_IO : NS_SITE_STDIO, -1, id, bytes,
                           bytes > 0, t0};
    ns_io_done(&r, &c);
    return ret;
}

static FILE *opened(FILE *f, const struct ns_regs *r, uint32_t *name_id, uint64_t t0)
{
    int fd = f ? f->_fileno : -1;
    ns_io_fd_forget(fd);
    struct ns_io_call c = {"fopen", name_id, NS_SITE_IO, fd, 0, 0, 0, t0};
    ns_io_done(r, &c);
    return f;
}

FILE *ns_hook_fopen(const char *path, const char *mode)
{
    __typeof__(&fopen) real = REAL(fopen);
    if (!ns_io_on())
        return real(path, mode);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    static uint32_t name_id;
    return opened(real(path, mode), &r, &name_id, t0);
}

FILE *ns_hook_fopen64(const char *path, const char *mode)
{
    __typeof__(&fopen64) real = REAL(fopen64);
    if (!ns_io_on())
        return real(path, mode);
    CALLER(r);
    uint64_t t0 = ns_now_ns();
    static uint32_t name_id;
    return opened(real(path, mode), &r, &name_id, t0);
}

/* fdopen does no I/O; it is the moment an inherited descriptor becomes a stream, so the
 * descriptor is named while it surely is what the program thinks. */
FILE *ns_hook_fdopen(int fd, const char *mode)
{
    FILE *f = REAL(fdopen)(fd, mode);
    if (f && ns_io_on())
        ns_io_fd_name_now(fd);
    return f;
}

size_t fread(void *, size_t, size_t, FILE *) NS_EXPORT_AS(ns_hook_fread);
size_t fread_unlocked(void *, size_t, size_t, FILE *) NS_EXPORT_AS(ns_hook_fread_unlocked);
size_t __fread_chk(void *, size_t, size_t, size_t, FILE *) NS_EXPORT_AS(ns_hook_fread_chk);
size_t __fread_unlocked_chk(void *, size_t, size_t, size_t, FILE *)
    NS_EXPORT_AS(ns_hook_fread_unlocked_chk);
size_t fwrite(const void *, size_t, size_t, FILE *) NS_EXPORT_AS(ns_hook_fwrite);
size_t fwrite_unlocked(const void *, size_t, size_t, FILE *) NS_EXPORT_AS(ns_hook_fwrite_unlocked);
char *fgets(char *, int, FILE *) NS_EXPORT_AS(ns_hook_fgets);
char *fgets_unlocked(char *, int, FILE *) NS_EXPORT_AS(ns_hook_fgets_unlocked);
char *__fgets_chk(char *, size_t, int, FILE *) NS_EXPORT_AS(ns_hook_fgets_chk);
char *__fgets_unlocked_chk(char *, size_t, int, FILE *) NS_EXPORT_AS(ns_hook_fgets_unlocked_chk);
int fputs(const char *, FILE *) NS_EXPORT_AS(ns_hook_fputs);
int fputs_unlocked(const char *, FILE *) NS_EXPORT_AS(ns_hook_fputs_unlocked);
ssize_t getline(char **, size_t *, FILE *) NS_EXPORT_AS(ns_hook_getline);
ssize_t getdelim(char **, size_t *, int, FILE *) NS_EXPORT_AS(ns_hook_getdelim);
ssize_t __getdelim(char **, size_t *, int, FILE *) NS_EXPORT_AS(ns_hook___getdelim);
int fflush(FILE *) NS_EXPORT_AS(ns_hook_fflush);
int fflush_unlocked(FILE *) NS_EXPORT_AS(ns_hook_fflush_unlocked);
int fclose(FILE *) NS_EXPORT_AS(ns_hook_fclose);
FILE *fopen(const char *, const char *) NS_EXPORT_AS(ns_hook_fopen);
FILE *fopen64(const char *, const char *) NS_EXPORT_AS(ns_hook_fopen64);
FILE *fdopen(int, const char *) NS_EXPORT_AS(ns_hook_fdopen);
