/*
 * cmd_agent — `nsprof agent`: the session's agent when a program was preloaded without
 * nsprof record (agent/agent.h). libnsprof.so starts it, detached, with the perf events it
 * opened on the program's threads; it takes the session's settings from the program's
 * region (what the program's environment said), maps the rings, enables the events, says
 * "ok" on the pipe the program waits on, and profiles the session until its last process
 * has ended. Not meant to be run by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "perf_session.h"
#include "settings.h"
#include "shm.h"

#define MAX_FDS 4096

struct agent_args {
    pid_t root;
    const char *dir;
    int sock;
    int exclude_kernel;
    enum ns_agent_mech mech;
    int timer_samples; /* "switches": perf follows switches, the threads sample themselves */
    int perf_refused;
    char reason[640];
    int fds[MAX_FDS], cpus[MAX_FDS];
    size_t nfds;
};

static void print_help(void)
{
    printf("usage: nsprof agent --root=PID --dir=DIR --socket=FD\n\n"
           "The agent that profiles a session from outside its processes. libnsprof.so starts\n"
           "it when a program is preloaded without 'nsprof record' (which is its own agent);\n"
           "it is not meant to be run by hand.\n\n"
           "  --root=PID   the session's first process\n"
           "  --dir=DIR    the session's directory (the processes' shared regions)\n"
           "  --socket=FD  where the process hands over its perf events, and where the agent\n"
           "               says \"ok\" once they are enabled\n");
}

/* How the session samples, as agent_spawn.c says it: "MECH EXCLUDE_KERNEL COUNT REFUSED\n
 * REASON", then (perf) messages of descriptors (SCM_RIGHTS) whose text lists their CPUs. */
static int receive_events(struct agent_args *a, char *err, size_t errlen)
{
    char text[4096], mech[16];
    ssize_t n = recv(a->sock, text, sizeof(text) - 1, 0);
    size_t count;
    if (n <= 0 ||
        (text[n] = '\0',
         sscanf(text, "%15s %d %zu %d", mech, &a->exclude_kernel, &count, &a->perf_refused)) != 4 ||
        count > MAX_FDS) {
        snprintf(err, errlen, "the process did not say how the session samples");
        return -1;
    }
    const char *reason = strchr(text, '\n');
    snprintf(a->reason, sizeof(a->reason), "%s", reason ? reason + 1 : "");
    a->timer_samples = strcmp(mech, "switches") == 0;
    a->mech = strcmp(mech, "perf") == 0 || a->timer_samples ? NS_AGENT_PERF
              : strcmp(mech, "signal") == 0                 ? NS_AGENT_SIGNAL
                                                            : NS_AGENT_NONE;
    if (a->mech != NS_AGENT_PERF)
        return 0;
    if (count == 0) {
        snprintf(err, errlen, "the process did not hand its perf events over");
        return -1;
    }
    while (a->nfds < count) {
        union {
            char buf[CMSG_SPACE(256 * sizeof(int))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {text, sizeof(text) - 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        n = recvmsg(a->sock, &msg, MSG_CMSG_CLOEXEC);
        struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            snprintf(err, errlen, "the process's perf events did not arrive (%zu of %zu)", a->nfds,
                     count);
            return -1;
        }
        text[n] = '\0';
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const char *p = text;
        for (size_t i = 0; i < k && a->nfds < MAX_FDS; i++) {
            memcpy(&a->fds[a->nfds], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            char *end;
            a->cpus[a->nfds++] = (int)strtol(p, &end, 10);
            p = *end == ',' ? end + 1 : end;
        }
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct agent_args *a)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    a->sock = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a->root = (pid_t)atoi(optarg);
            break;
        case 'd':
            a->dir = optarg;
            break;
        case 's':
            a->sock = atoi(optarg);
            break;
        case 'h':
            print_help();
            exit(NS_EXIT_OK);
        default:
            return -1;
        }
    }
    if (a->root <= 0 || !a->dir || a->sock < 0) {
        ns_cli_error("nsprof agent is started by libnsprof.so (see 'nsprof agent --help')");
        return -1;
    }
    return 0;
}

/* The session's settings and id, from the root's region (its environment's settings). */
static int read_session(const struct agent_args *a, struct ns_agent_config *ac, char *err,
                        size_t errlen)
{
    char path[4200];
    int fd = -1;
    for (int exec = 0; exec < 64 && fd < 0; exec++) {
        snprintf(path, sizeof(path), "%s/%d.%d", a->dir, (int)a->root, exec);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
        (size_t)st.st_size < sizeof(struct ns_shm_header)) {
        snprintf(err, errlen, "no region of process %d in %.900s", (int)a->root, a->dir);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %.900s: %s", path, strerror(errno));
        return -1;
    }
    const struct ns_shm_header *h = (const void *)map;
    ns_config_defaults(&ac->cfg);
    if (h->magic != NS_SHM_MAGIC || h->pid != a->root) {
        snprintf(err, errlen, "%.900s is not process %d's region", path, (int)a->root);
        munmap((void *)map, len);
        return -1;
    }
    snprintf(ac->session, sizeof(ac->session), "%.*s", (int)sizeof(h->session) - 1, h->session);
    /* "key\0value\0...\0": every pair bounds-checked against the mapping. */
    uint64_t base = h->base, off = (uint64_t)(uintptr_t)h->settings - base;
    if (h->settings && off < len && h->settings_len <= len - off) {
        const char *p = (const char *)map + off, *end = p + h->settings_len;
        while (p < end && *p) {
            const char *key = p, *value = key + strnlen(key, (size_t)(end - key)) + 1;
            if (value >= end)
                break;
            p = value + strnlen(value, (size_t)(end - value)) + 1;
            int id = ns_setting_find(key);
            char why[256];
            if (id >= 0 && p <= end)
                ns_config_set(&ac->cfg, (enum ns_setting)id, value, why, sizeof(why));
        }
    }
    munmap((void *)map, len);
    ns_config_resolve(&ac->cfg);
    return 0;
}

static void stop(int sig)
{
    (void)sig;
    ns_agent_stop();
}

static void say(int fd, const char *text)
{
    if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0) {
        /* the process gave up waiting: nothing to tell */
    }
}

int ns_cmd_agent(int argc, char **argv)
{
    static struct agent_args a;
    static struct ns_agent_config ac;
    static struct ns_perf_session perf;
    char err[1024], line[1100];
    if (parse_args(argc, argv, &a) < 0)
        return NS_EXIT_USAGE;
    /* Its keeper ignores the job-control signals and so, from it, did we: the agent ends by
     * SIGTERM like any program (the profiles it writes say they were stopped). */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGHUP, stop);
    if (read_session(&a, &ac, err, sizeof(err)) < 0 || receive_events(&a, err, sizeof(err)) < 0) {
        snprintf(line, sizeof(line), "%s\n", err);
        say(a.sock, line);
        return NS_EXIT_FAILURE;
    }
    struct ns_perf_params p = ns_perf_params_of(&ac.cfg);
    p.exclude_kernel = a.exclude_kernel;
    p.switches_only = a.timer_samples;
    if (a.mech == NS_AGENT_PERF &&
        ns_perf_session_adopt(&perf, a.fds, a.cpus, a.nfds, &p, err, sizeof(err)) < 0) {
        snprintf(line, sizeof(line), "%s\n", err);
        say(a.sock, line);
        return NS_EXIT_FAILURE;
    }
    snprintf(ac.dir, sizeof(ac.dir), "%s", a.dir);
    ac.root = a.root;
    ac.mech = a.mech;
    ac.perf_refused = a.perf_refused;
    snprintf(ac.mech_reason, sizeof(ac.mech_reason), "%s", a.reason);
    ac.timer_samples = a.timer_samples;
    ac.exclude_kernel = a.mech == NS_AGENT_PERF && !a.timer_samples && a.exclude_kernel;
    ac.stderr_fd = STDERR_FILENO;
    ac.producer = "nsprof " NSPROF_VERSION " agent";
    /* The process waits for our "ok": what it has mapped and its threads are read now. */
    if (ns_agent_begin(&ac, a.mech == NS_AGENT_PERF ? &perf : NULL) < 0) {
        say(a.sock, "out of memory\n");
        return NS_EXIT_FAILURE;
    }
    if (a.mech == NS_AGENT_PERF)
        ns_perf_session_enable(&perf);
    snprintf(line, sizeof(line), "ok %d\n", (int)getpid());
    say(a.sock, line);
    close(a.sock);
    ns_agent_run(NULL);
    if (a.mech == NS_AGENT_PERF)
        ns_perf_session_close(&perf);
    ns_agent_link_remove_dir(a.dir);
    return NS_EXIT_OK;
}
