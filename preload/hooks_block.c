/*
 * hooks_block — the calls a thread waits in that no other interposer covers, published while
 * they block (blocking.h) when wall time is profiled: sleeps, poll and its relatives, waits
 * for children and threads, semaphores, signal waits. Lock, condition and I/O calls publish
 * themselves from their own interposers (hooks_lock.c, hooks_io.c, hooks_fd.c).
 *
 * Each hook only brackets the real call: nothing about the call changes (arguments, result,
 * errno, cancellation), and with wall time off it is one flag test and a tail call.
 *
 * glibc's sleep(), system() and pclose() call their helpers (__nanosleep, __waitpid) inside
 * libc, never through the PLT, so each has a hook of its own; the fortified __poll_chk and
 * __ppoll_chk, which Debian's binaries call, too. Blind spots, charged by the agent to the
 * thread's last sampled stack as "other": raw system calls, libc's internal waits (a stdio
 * read that waits for the rest of a line; one with an empty buffer is hooks_stdio.c's), and
 * anything a library does without the PLT.
 */
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks_io.h"

#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)

/* A hook `hook` exported as `fn`: the real call, published as blocking for `reason` under
 * the name `label`. */
#define BLOCK_HOOK(rtype, hook, fn, label, reason, params, args)                                   \
    rtype hook params                                                                              \
    {                                                                                              \
        __typeof__(&fn) real_ = REAL(fn);                                                          \
        if (!ns_hooks_block_on())                                                                  \
            return real_ args;                                                                     \
        CALLER(caller_);                                                                           \
        static uint32_t name_id_;                                                                  \
        struct ns_block_token b_ = ns_block_begin(&caller_, label, &name_id_, reason);             \
        rtype ret_ = real_ args;                                                                   \
        ns_block_end(b_, 0);                                                                       \
        return ret_;                                                                               \
    }

int __poll_chk(struct pollfd *, nfds_t, int, size_t);
int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
int epoll_pwait2(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
int pthread_clockjoin_np(pthread_t, void **, clockid_t, const struct timespec *);

/* sleeping */
BLOCK_HOOK(int, ns_hook_nanosleep, nanosleep, "nanosleep", NS_BLOCK_SLEEP,
           (const struct timespec *req, struct timespec *rem), (req, rem))
BLOCK_HOOK(int, ns_hook_clock_nanosleep, clock_nanosleep, "clock_nanosleep", NS_BLOCK_SLEEP,
           (clockid_t clock, int flags, const struct timespec *req, struct timespec *rem),
           (clock, flags, req, rem))
BLOCK_HOOK(unsigned, ns_hook_sleep, sleep, "sleep", NS_BLOCK_SLEEP, (unsigned s), (s))
BLOCK_HOOK(int, ns_hook_usleep, usleep, "usleep", NS_BLOCK_SLEEP, (useconds_t us), (us))

/* waiting for descriptors */
BLOCK_HOOK(int, ns_hook_poll, poll, "poll", NS_BLOCK_POLL, (struct pollfd * fds, nfds_t n, int ms),
           (fds, n, ms))
BLOCK_HOOK(int, ns_hook_poll_chk, __poll_chk, "poll", NS_BLOCK_POLL,
           (struct pollfd * fds, nfds_t n, int ms, size_t len), (fds, n, ms, len))
BLOCK_HOOK(int, ns_hook_ppoll, ppoll, "ppoll", NS_BLOCK_POLL,
           (struct pollfd * fds, nfds_t n, const struct timespec *t, const sigset_t *mask),
           (fds, n, t, mask))
BLOCK_HOOK(int, ns_hook_ppoll_chk, __ppoll_chk, "ppoll", NS_BLOCK_POLL,
           (struct pollfd * fds, nfds_t n, const struct timespec *t, const sigset_t *mask,
            size_t len),
           (fds, n, t, mask, len))
BLOCK_HOOK(int, ns_hook_select, select, "select", NS_BLOCK_POLL,
           (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), (n, r, w, e, t))
BLOCK_HOOK(int, ns_hook_pselect, pselect, "pselect", NS_BLOCK_POLL,
           (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *mask),
           (n, r, w, e, t, mask))
BLOCK_HOOK(int, ns_hook_epoll_wait, epoll_wait, "epoll_wait", NS_BLOCK_POLL,
           (int ep, struct epoll_event *ev, int n, int ms), (ep, ev, n, ms))
BLOCK_HOOK(int, ns_hook_epoll_pwait, epoll_pwait, "epoll_pwait", NS_BLOCK_POLL,
           (int ep, struct epoll_event *ev, int n, int ms, const sigset_t *mask),
           (ep, ev, n, ms, mask))
BLOCK_HOOK(int, ns_hook_epoll_pwait2, epoll_pwait2, "epoll_pwait2", NS_BLOCK_POLL,
           (int ep, struct epoll_event *ev, int n, const struct timespec *t, const sigset_t *mask),
           (ep, ev, n, t, mask))

/* waiting for children and threads */
BLOCK_HOOK(pid_t, ns_hook_wait, wait, "wait", NS_BLOCK_WAIT, (int *status), (status))
BLOCK_HOOK(pid_t, ns_hook_waitpid, waitpid, "waitpid", NS_BLOCK_WAIT,
           (pid_t pid, int *status, int options), (pid, status, options))
BLOCK_HOOK(int, ns_hook_waitid, waitid, "waitid", NS_BLOCK_WAIT,
           (idtype_t type, id_t id, siginfo_t *info, int options), (type, id, info, options))
BLOCK_HOOK(pid_t, ns_hook_wait3, wait3, "wait3", NS_BLOCK_WAIT,
           (int *status, int options, struct rusage *ru), (status, options, ru))
BLOCK_HOOK(pid_t, ns_hook_wait4, wait4, "wait4", NS_BLOCK_WAIT,
           (pid_t pid, int *status, int options, struct rusage *ru), (pid, status, options, ru))
BLOCK_HOOK(int, ns_hook_pthread_join, pthread_join, "pthread_join", NS_BLOCK_WAIT,
           (pthread_t t, void **ret), (t, ret))
BLOCK_HOOK(int, ns_hook_pthread_timedjoin_np, pthread_timedjoin_np, "pthread_timedjoin_np",
           NS_BLOCK_WAIT, (pthread_t t, void **ret, const struct timespec *at), (t, ret, at))
BLOCK_HOOK(int, ns_hook_pthread_clockjoin_np, pthread_clockjoin_np, "pthread_clockjoin_np",
           NS_BLOCK_WAIT, (pthread_t t, void **ret, clockid_t clock, const struct timespec *at),
           (t, ret, clock, at))

/* a command run to its end: system() forks, execs a shell and waits for it inside libc,
 * and pclose() waits for popen's child */
BLOCK_HOOK(int, ns_hook_system, system, "system", NS_BLOCK_WAIT, (const char *cmd), (cmd))
BLOCK_HOOK(int, ns_hook_pclose, pclose, "pclose", NS_BLOCK_WAIT, (FILE * f), (f))

/* semaphores */
BLOCK_HOOK(int, ns_hook_sem_wait, sem_wait, "sem_wait", NS_BLOCK_LOCK, (sem_t * s), (s))
BLOCK_HOOK(int, ns_hook_sem_timedwait, sem_timedwait, "sem_timedwait", NS_BLOCK_LOCK,
           (sem_t * s, const struct timespec *at), (s, at))
BLOCK_HOOK(int, ns_hook_sem_clockwait, sem_clockwait, "sem_clockwait", NS_BLOCK_LOCK,
           (sem_t * s, clockid_t clock, const struct timespec *at), (s, clock, at))

/* waiting for signals */
BLOCK_HOOK(int, ns_hook_sigwait, sigwait, "sigwait", NS_BLOCK_SIGNAL,
           (const sigset_t *set, int *sig), (set, sig))
BLOCK_HOOK(int, ns_hook_sigwaitinfo, sigwaitinfo, "sigwaitinfo", NS_BLOCK_SIGNAL,
           (const sigset_t *set, siginfo_t *info), (set, info))
BLOCK_HOOK(int, ns_hook_sigtimedwait, sigtimedwait, "sigtimedwait", NS_BLOCK_SIGNAL,
           (const sigset_t *set, siginfo_t *info, const struct timespec *t), (set, info, t))
BLOCK_HOOK(int, ns_hook_sigsuspend, sigsuspend, "sigsuspend", NS_BLOCK_SIGNAL,
           (const sigset_t *mask), (mask))
BLOCK_HOOK(int, ns_hook_pause, pause, "pause", NS_BLOCK_SIGNAL, (void), ())

int nanosleep(const struct timespec *, struct timespec *) NS_EXPORT_AS(ns_hook_nanosleep);
int clock_nanosleep(clockid_t, int, const struct timespec *, struct timespec *)
    NS_EXPORT_AS(ns_hook_clock_nanosleep);
unsigned sleep(unsigned) NS_EXPORT_AS(ns_hook_sleep);
int usleep(useconds_t) NS_EXPORT_AS(ns_hook_usleep);
int poll(struct pollfd *, nfds_t, int) NS_EXPORT_AS(ns_hook_poll);
int __poll_chk(struct pollfd *, nfds_t, int, size_t) NS_EXPORT_AS(ns_hook_poll_chk);
int ppoll(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)
    NS_EXPORT_AS(ns_hook_ppoll);
int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t)
    NS_EXPORT_AS(ns_hook_ppoll_chk);
int select(int, fd_set *, fd_set *, fd_set *, struct timeval *) NS_EXPORT_AS(ns_hook_select);
int pselect(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *)
    NS_EXPORT_AS(ns_hook_pselect);
int epoll_wait(int, struct epoll_event *, int, int) NS_EXPORT_AS(ns_hook_epoll_wait);
int epoll_pwait(int, struct epoll_event *, int, int, const sigset_t *)
    NS_EXPORT_AS(ns_hook_epoll_pwait);
int epoll_pwait2(int, struct epoll_event *, int, const struct timespec *, const sigset_t *)
    NS_EXPORT_AS(ns_hook_epoll_pwait2);
pid_t wait(int *) NS_EXPORT_AS(ns_hook_wait);
pid_t waitpid(pid_t, int *, int) NS_EXPORT_AS(ns_hook_waitpid);
int waitid(idtype_t, id_t, siginfo_t *, int) NS_EXPORT_AS(ns_hook_waitid);
pid_t wait3(int *, int, struct rusage *) NS_EXPORT_AS(ns_hook_wait3);
pid_t wait4(pid_t, int *, int, struct rusage *) NS_EXPORT_AS(ns_hook_wait4);
int pthread_join(pthread_t, void **) NS_EXPORT_AS(ns_hook_pthread_join);
int pthread_timedjoin_np(pthread_t, void **, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_timedjoin_np);
int pthread_clockjoin_np(pthread_t, void **, clockid_t, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_clockjoin_np);
int system(const char *) NS_EXPORT_AS(ns_hook_system);
int pclose(FILE *) NS_EXPORT_AS(ns_hook_pclose);
int sem_wait(sem_t *) NS_EXPORT_AS(ns_hook_sem_wait);
int sem_timedwait(sem_t *, const struct timespec *) NS_EXPORT_AS(ns_hook_sem_timedwait);
int sem_clockwait(sem_t *, clockid_t, const struct timespec *) NS_EXPORT_AS(ns_hook_sem_clockwait);
int sigwait(const sigset_t *, int *) NS_EXPORT_AS(ns_hook_sigwait);
int sigwaitinfo(const sigset_t *, siginfo_t *) NS_EXPORT_AS(ns_hook_sigwaitinfo);
int sigtimedwait(const sigset_t *, siginfo_t *, const struct timespec *)
    NS_EXPORT_AS(ns_hook_sigtimedwait);
int sigsuspend(const sigset_t *) NS_EXPORT_AS(ns_hook_sigsuspend);
int pause(void) NS_EXPORT_AS(ns_hook_pause);
