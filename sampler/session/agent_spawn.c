/*
 * agent_spawn — a preloaded process without nsprof record starts its session's agent
 * (`nsprof agent`) itself, so that it needs no thread of its own either.
 *
 * The process starts the agent detached from it. Its own child is a keeper: a raw clone
 * whose exit signal is 0, so the program gets no SIGCHLD and waitpid(-1) never returns it
 * (an exec would make it an ordinary child again: the kernel resets the exit signal to
 * SIGCHLD at every exec, so the keeper never execs). The keeper starts a session of its
 * own (the terminal's ^C reaches neither it nor the agent), ignores the job-control
 * signals, closes every descriptor of the program and starts the agent as its child, which
 * is thus never the program's. Then it exits at once and the constructor reaps it, so that
 * the program has no child of nsprof's left (a program that reaps with __WALL, as strace and
 * supervisors do, waits for every child, whatever its exit signal): the agent, an orphan,
 * goes to init or to a subreaper above the program. Only when the program is itself a
 * subreaper (a container's PID 1), which would inherit the agent, does the keeper stay and
 * wait for the agent instead. The agent runs with
 * stdin and stdout on /dev/null and one end of a socket pair, through the real execve (not
 * nsprof's exec hook), with LD_PRELOAD and every NSPROF_ variable taken out of its
 * environment (an agent that preloads nsprof would start agents without end). Only then does it
 * open the perf events on its threads — inherited by everything it will start, but not by the
 * agent, which must not sample itself — and hands them over the socket (SCM_RIGHTS). It waits until
 * the agent has mapped the rings and enabled the events — so nothing is lost of its start — then
 * closes its copies of everything.
 *
 * The keeper, and the agent until its exec, only make system calls: they are copies of a
 * process that may have other threads, whose locks they must not touch.
 */
#include "agent_spawn.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../agent/perf_session.h"
#include "../sources/threads.h"

#define MAX_FDS     4096
#define FDS_PER_MSG 200 /* under the kernel's SCM_MAX_FD (253) */
#define MAX_ENV     4096
#define READY_WAIT  10000 /* ms: the agent's start (exec, mapping the rings) */
#define ARG_BYTES   (64u << 10)

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1u << 2)
#endif

extern char **environ;

static int fds[MAX_FDS], cpus[MAX_FDS];
static size_t nfds;

/* The nsprof next to libnsprof.so (the build tree), or in ../bin (an installation). */
static int find_agent(const char *setting, char *out, size_t cap, char *err, size_t errlen)
{
    if (strcmp(setting, "auto") != 0) {
        if (access(setting, X_OK) == 0 && snprintf(out, cap, "%s", setting) < (int)cap)
            return 0;
        snprintf(err, errlen, "the agent NSPROF_AGENT='%s' is not an executable (%s)", setting,
                 strerror(errno));
        return -1;
    }
    Dl_info info;
    char lib[PATH_MAX];
    if (!dladdr((void *)&find_agent, &info) || !info.dli_fname || !realpath(info.dli_fname, lib)) {
        snprintf(err, errlen, "cannot tell where libnsprof.so is, to find nsprof beside it");
        return -1;
    }
    char *slash = strrchr(lib, '/');
    *slash = '\0';
    const char *tries[] = {"%s/nsprof", "%s/../bin/nsprof"};
    for (size_t i = 0; i < 2; i++) {
        if (snprintf(out, cap, tries[i], lib) < (int)cap && access(out, X_OK) == 0)
            return 0;
    }
    snprintf(err, errlen,
             "no nsprof executable beside %s/libnsprof.so (nor in ../bin) to run the agent: set "
             "NSPROF_AGENT to it",
             lib);
    return -1;
}

static void close_events(void)
{
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    nfds = 0;
}

/* The events of every thread of this process, on every CPU. */
static int open_events(struct ns_perf_params *p, char *err, size_t errlen)
{
    static pid_t tids[4096];
    size_t ntids = ns_list_tasks(tids, sizeof(tids) / sizeof(tids[0]));
    int want = p->exclude_kernel;
    for (int exclude = want < 0 ? 0 : want; exclude <= (want < 0 ? 1 : want); exclude++) {
        p->exclude_kernel = exclude;
        int failed = 0;
        for (size_t i = 0; i < ntids && !failed; i++) {
            int n = ns_perf_open_thread(tids[i], p, fds + nfds, cpus + nfds, MAX_FDS - nfds, err,
                                        errlen);
            if (n < 0)
                failed = 1;
            else
                nfds += (size_t)n;
        }
        if (!failed && nfds)
            return 0;
        close_events();
    }
    return -1;
}

/* argv for `nsprof agent` and its environment, in static memory (the clone child must not
 * allocate). */
static char arg_text[ARG_BYTES];
static char *agent_argv[16];
static char *agent_envp[MAX_ENV];

static int build_command(const char *agent, const struct ns_agent_link *l, int sock)
{
    size_t used = 0, n = 0;
#define ARG(...)                                                                                   \
    do {                                                                                           \
        int len_ = snprintf(arg_text + used, sizeof(arg_text) - used, __VA_ARGS__);                \
        if (len_ < 0 || (size_t)len_ >= sizeof(arg_text) - used)                                   \
            return -1;                                                                             \
        agent_argv[n++] = arg_text + used;                                                         \
        used += (size_t)len_ + 1;                                                                  \
    } while (0)
    ARG("%s", agent);
    ARG("agent");
    ARG("--root=%d", (int)getpid());
    ARG("--dir=%s", l->dir);
    ARG("--socket=%d", sock);
    agent_argv[n] = NULL;
#undef ARG
    size_t e = 0;
    for (char **v = environ; v && *v && e < MAX_ENV - 1; v++) {
        if (strncmp(*v, "LD_PRELOAD=", 11) != 0 && strncmp(*v, "NSPROF_", 7) != 0)
            agent_envp[e++] = *v;
    }
    agent_envp[e] = NULL;
    return 0;
}

/* The agent, child of the keeper, until its exec: system calls only. */
static void exec_agent(int sock)
{
    int null = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        syscall(SYS_dup3, null, 0, 0);
        syscall(SYS_dup3, null, 1, 0);
    }
    /* Everything of the program's closes at the exec; ours stays open. */
    syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
    syscall(SYS_fcntl, sock, F_SETFD, 0);
    syscall(SYS_execve, agent_argv[0], agent_argv, agent_envp);
    syscall(SYS_exit_group, 127);
}

/* The kernel's struct sigaction (rt_sigaction does not take libc's). */
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

/* The program's child: system calls only, no exec (see above). stay: wait for the agent
 * rather than leave it to be reparented. */
static void keeper(int sock, int stay)
{
    static const int quiet[] = {SIGINT,  SIGQUIT, SIGHUP,  SIGTERM, SIGTSTP,
                                SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2};
    struct kernel_sigaction ign = {SIG_IGN, 0, NULL, 0};
    syscall(SYS_setsid);
    syscall(SYS_prctl, PR_SET_NAME, "nsprof-keeper", 0, 0, 0);
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        syscall(SYS_rt_sigaction, quiet[i], &ign, NULL, sizeof(ign.mask));
    long agent = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    if (agent == 0)
        exec_agent(sock);
    if (!stay)
        syscall(SYS_exit_group, 0);
    /* It holds nothing of the program's, not even a copy of a descriptor. */
    syscall(SYS_close_range, 0, ~0u, 0);
    int status;
    while (agent > 0 && syscall(SYS_wait4, agent, &status, __WALL, NULL) < 0)
        ;
    syscall(SYS_exit_group, 0);
}

/* Tells the agent how the session samples: "MECH EXCLUDE_KERNEL COUNT REFUSED\nREASON" (REFUSED:
 * 1 when perf was refused and REASON says why), then (perf)
 * messages of at most FDS_PER_MSG descriptors (SCM_RIGHTS) whose text is their CPUs,
 * comma-separated. */
static int send_events(int sock, enum ns_link_mech mech, int exclude_kernel, int refused,
                       const char *reason)
{
    char text[FDS_PER_MSG * 12 + 640];
    int n = snprintf(text, sizeof(text), "%s %d %zu %d\n%.600s", ns_agent_link_mech_name(mech),
                     exclude_kernel, nfds, refused, reason);
    if (send(sock, text, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    for (size_t at = 0; at < nfds; at += FDS_PER_MSG) {
        size_t k = nfds - at < FDS_PER_MSG ? nfds - at : FDS_PER_MSG, len = 0;
        for (size_t i = 0; i < k; i++)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d", i ? "," : "",
                                    cpus[at + i]);
        union {
            char buf[CMSG_SPACE(FDS_PER_MSG * sizeof(int))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {text, len};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = CMSG_SPACE(k * sizeof(int))};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(k * sizeof(int));
        memcpy(CMSG_DATA(c), fds + at, k * sizeof(int));
        if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)len)
            return -1;
    }
    return 0;
}

/* Waits for the agent's "ok PID" (or its sentence of why not) on the socket. */
static int wait_ready(int fd, pid_t child, pid_t *agent, char *err, size_t errlen)
{
    char buf[600];
    size_t len = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, READY_WAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "nsprof's agent (pid %d) did not start within %d s", (int)child,
                     READY_WAIT / 1000);
            return -1;
        }
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(buf, '\n', len) || len == sizeof(buf) - 1)
            break;
    }
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    int pid;
    if (sscanf(buf, "ok %d", &pid) == 1 && pid > 0) {
        *agent = (pid_t)pid;
        return 0;
    }
    snprintf(err, errlen, "nsprof's agent could not start: %s",
             len ? buf : "it ended without saying why (could it run? is it nsprof?)");
    return -1;
}

/* How the session samples, and why: the agent's perf events when they can be opened; else
 * (refused, mechanism=signal) the processes themselves with CPU timers; or nothing. */
static enum ns_link_mech choose_mechanism(const struct ns_config *cfg, struct ns_perf_params *p,
                                          char *reason, size_t cap, int *perf_refused)
{
    *perf_refused = 0;
    if (cfg->value[NS_SET_EVENT] == NS_EVENT_NONE) {
        snprintf(reason, cap, "event=none: no sampling was asked for");
        return NS_LINK_NONE;
    }
    if (cfg->value[NS_SET_MECHANISM] == NS_MECH_SIGNAL) {
        snprintf(reason, cap, "mechanism=signal was asked for");
        return NS_LINK_SIGNAL;
    }
    /* Refused perf is the common case of an unprivileged user on stock Debian: find out
     * before starting anything. */
    if (open_events(p, reason, cap) < 0) {
        *perf_refused = 1;
        return NS_LINK_SIGNAL;
    }
    close_events();
    if (p->switches_only) {
        snprintf(reason, cap, "%s", NS_SWITCHES_REASON);
        return NS_LINK_SWITCHES;
    }
    snprintf(reason, cap,
             "perf_event_open is allowed: sampled from outside the program by "
             "nsprof's agent");
    return NS_LINK_PERF;
}

int ns_agent_spawn(const struct ns_config *cfg, const char *session, struct ns_agent_link *out,
                   int (*create_region)(const struct ns_agent_link *l, void *ctx), void *ctx,
                   char *err, size_t errlen)
{
    char agent[PATH_MAX], reason[600];
    if (find_agent(cfg->text[NS_SET_AGENT], agent, sizeof(agent), err, errlen) < 0)
        return -1;
    struct ns_perf_params p = ns_perf_params_of(cfg);
    int refused;
    memset(out, 0, sizeof(*out));
    out->mech = choose_mechanism(cfg, &p, reason, sizeof(reason), &refused);
    int sv[2] = {-1, -1};
    if (ns_agent_link_session_dir(session, out->dir, sizeof(out->dir), err, errlen) < 0 ||
        create_region(out, ctx) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
        build_command(agent, out, sv[1]) < 0) {
        if (!*err)
            snprintf(err, errlen, "cannot prepare nsprof's agent: %s", strerror(errno));
        if (sv[0] >= 0)
            close(sv[0]), close(sv[1]);
        return -1;
    }
    /* A subreaper would inherit the agent if the keeper left it (see above). */
    int subreaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
    /* exit signal 0: no SIGCHLD, and waitpid(-1) without __WALL does not see it */
    pid_t child = (pid_t)syscall(SYS_clone, 0, NULL, NULL, NULL, NULL);
    if (child == 0)
        keeper(sv[1], subreaper != 0);
    close(sv[1]);
    int r = -1;
    pid_t agent_pid = 0;
    if (child < 0) {
        snprintf(err, errlen, "cannot start nsprof's agent: %s", strerror(errno));
    } else if ((out->mech != NS_LINK_PERF && out->mech != NS_LINK_SWITCHES) ||
               open_events(&p, err, errlen) == 0) {
        /* The events now: the agent is not a child to come. A failed send leaves the agent
         * without them: it says so, or ends. */
        send_events(sv[0], out->mech, p.exclude_kernel > 0, refused, reason);
        r = wait_ready(sv[0], child, &agent_pid, err, errlen);
    }
    close_events();
    close(sv[0]);
    if (r < 0 && child > 0 && subreaper) {
        kill(child, SIGKILL); /* the keeper; its agent, if any, then has no events to read */
        int st;
        waitpid(child, &st, __WALL); /* no zombie left behind in the program */
    } else if (child > 0 && !subreaper) {
        int st; /* the keeper ended as soon as the agent was started: no zombie left */
        while (waitpid(child, &st, __WALL) < 0 && errno == EINTR)
            ;
    }
    if (r < 0)
        return -1;
    out->agent = agent_pid;
    return 0;
}
