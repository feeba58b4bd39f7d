/*
 * agent — see agent.h: the loop, the session directory, and when the session is over.
 *
 * The loop: wait for a ring to fill, a process to end, or a few milliseconds; hand every
 * record older than a short margin to the process table (records of one CPU are in time
 * order, and a record that another CPU is writing right now is younger than the margin);
 * find the regions of new processes; write out the processes whose end every record has
 * caught up with; write a chunk of every profile each flush interval.
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "maps.h"
#include "perf_session.h"
#include "procs.h"
#include "regions.h"
#include "shm.h"

#define MARGIN_NS 2000000ull /* a record being written now is younger than this */

static volatile sig_atomic_t stop_requested;

void ns_agent_stop(void)
{
    stop_requested = 1;
}
#define POLL_MS     10
#define MAX_POLLFDS 4096

/* --- the profile's settings ---------------------------------------------------------- */

static const char *const *settings_kv(const struct ns_agent_config *cfg)
{
    static char extra[4][2][1024];
    static const char *kv[2 * (NS_SET__COUNT + 4) + 1];
    size_t n = 0;
    for (int i = 0; i < NS_SET__COUNT; i++, n++) {
        kv[2 * n] = ns_setting_defs[i].key;
        kv[2 * n + 1] = cfg->cfg.text[i];
    }
    const char *mech = cfg->mech == NS_AGENT_PERF     ? "perf"
                       : cfg->mech == NS_AGENT_SIGNAL ? "signal"
                                                      : "none";
    const char *pairs[][2] = {{"mechanism_used", mech},
                              {"mechanism_reason", cfg->mech_reason},
                              {"exclude_kernel", cfg->exclude_kernel ? "1" : "0"},
                              {"mode", "agent"}};
    for (size_t i = 0; i < 4; i++, n++) {
        snprintf(extra[i][0], sizeof(extra[i][0]), "%s", pairs[i][0]);
        snprintf(extra[i][1], sizeof(extra[i][1]), "%s", pairs[i][1]);
        kv[2 * n] = extra[i][0];
        kv[2 * n + 1] = extra[i][1];
    }
    kv[2 * n] = NULL;
    return kv;
}

/* --- the loop ------------------------------------------------------------------------ */

struct loop {
    const struct ns_agent_config *cfg;
    struct ns_perf_session *perf;
    struct ns_procs procs;
    struct pollfd fds[MAX_POLLFDS];
    struct ns_aproc *fd_proc[MAX_POLLFDS];
    size_t nfds;
    uint64_t next_flush_ns, next_alive_check_ns;
};

static void build_poll_set(struct loop *l)
{
    l->nfds = 0;
    for (struct ns_aproc *p = l->procs.list; p && l->nfds < MAX_POLLFDS; p = p->next) {
        /* The root stays until reaped: nsprof record must learn how it ended. */
        int reap = p->is_root && l->cfg->root_is_child && l->procs.root_status < 0;
        if (p->pidfd >= 0 && (p->state == NS_AP_ALIVE || reap)) {
            l->fd_proc[l->nfds] = p;
            l->fds[l->nfds++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
        }
    }
}

/* A process whose pidfd became readable has ended; the root, our child, is reaped here. */
static void check_ends(struct loop *l, uint64_t now)
{
    for (size_t i = 0; i < l->nfds; i++) {
        struct ns_aproc *p = l->fd_proc[i];
        if (!p || !(l->fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (p->is_root && l->cfg->root_is_child && l->procs.root_status < 0) {
            int st;
            if (waitpid(p->pid, &st, WNOHANG) == p->pid)
                l->procs.root_status = st;
        }
        ns_procs_ended(&l->procs, p, now);
    }
}

static void add_root(struct loop *l, uint64_t now)
{
    const struct ns_agent_config *cfg = l->cfg;
    struct ns_aproc *p =
        ns_procs_add(&l->procs, cfg->root, getppid(), now, cfg->root_exec_pending ? -1 : 0);
    if (!p)
        return;
    p->is_root = 1;
    if (cfg->root_exec_pending)
        return; /* everything about it comes with its exec */
    /* Started by the process itself: it waits for us, so what /proc says is what is. */
    ns_maps_from_proc(&p->maps, cfg->root);
    /* Its region is older than the agent: the image started when the process did. */
    p->image_start_ns = 0;
    if (ns_regions_attach(&l->procs, p, now, 1, 0)) {
        p->exec_index = (int64_t)p->region.hdr->exec_index;
        p->image_start_ns = p->region.hdr->start_mono_ns;
    } else {
        p->image_start_ns = now;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)cfg->root);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(p->comm, sizeof(p->comm), f))
            p->comm[strcspn(p->comm, "\n")] = '\0';
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/task", (int)cfg->root);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            ns_procs_add_thread(&l->procs, p, (pid_t)atoi(e->d_name), now);
    }
    if (d)
        closedir(d);
}

/* Without perf's FORK records a child whose parent just ended may not have made its region
 * yet: a self-sampled session ends only after a quiet moment with no process left. */
#define QUIET_NS 300000000ull

static int session_over(struct loop *l, uint64_t now)
{
    if (l->procs.nlive)
        return 0;
    if (l->cfg->root_is_child && l->procs.root_status < 0)
        return 0;
    return l->cfg->mech == NS_AGENT_PERF || now >= l->procs.last_activity_ns + QUIET_NS;
}

/* The loop lives in static memory: there is one agent per process. */
static struct loop the_loop;

int ns_agent_begin(const struct ns_agent_config *cfg, struct ns_perf_session *perf)
{
    struct loop *l = &the_loop;
    memset(l, 0, sizeof(*l));
    l->cfg = cfg;
    l->perf = perf;
    if (ns_procs_init(&l->procs, cfg, settings_kv(cfg)) < 0)
        return -1;
    ns_agent_link_claim_dir(cfg->dir);
    /* A session of many processes maps many files: the hard limit is ours to use. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t now = ns_now_ns();
    l->procs.horizon_ns = now;
    l->procs.last_activity_ns = now;
    add_root(l, now);
    return 0;
}

/* Records the capture thread had to drop (its queue full): charged like the kernel's LOST. */
static void count_queue_drops(struct loop *l)
{
    for (int i = 0; i < l->perf->nrings; i++) {
        uint64_t n = ns_perf_session_dropped(l->perf, i);
        if (n)
            ns_procs_count_on_cpu(&l->procs, l->perf->rings[i].cpu, "dropped_agent_queue", n);
    }
}

/* The thread slots of every region: the samples the threads took themselves up to
 * limit_ns (all of them when perf is not there to order them with), the threads' ends. */
static void read_regions(struct loop *l, uint64_t limit_ns)
{
    const struct ns_agent_config *cfg = l->cfg;
    int self = cfg->mech == NS_AGENT_SIGNAL || cfg->timer_samples;
    for (struct ns_aproc *p = l->procs.list; p; p = p->next) {
        if (p->region.hdr)
            ns_procs_read_threads(&l->procs, p, self, cfg->timer_samples ? limit_ns : UINT64_MAX);
    }
}

int ns_agent_run(int *root_status)
{
    struct loop *l = &the_loop;
    const struct ns_agent_config *cfg = l->cfg;
    struct ns_perf_session *perf = l->perf;
    uint64_t flush_ns = cfg->cfg.value[NS_SET_FLUSH_MS] * 1000000ull;
    uint64_t now = ns_now_ns();
    char why[256];
    if (perf && ns_perf_session_start_capture(perf, why, sizeof(why)) < 0 && cfg->stderr_fd >= 0)
        dprintf(cfg->stderr_fd, "nsprof: %s; the agent empties the rings itself\n", why);
    l->next_flush_ns = now + flush_ns;
    for (;;) {
        build_poll_set(l);
        int r = poll(l->fds, l->nfds, POLL_MS);
        now = ns_now_ns();
        if (r > 0)
            check_ends(l, now);
        uint64_t caught_up = now;
        if (perf) {
            uint64_t captured = ns_perf_session_captured(perf);
            caught_up = captured > MARGIN_NS ? captured - MARGIN_NS : 0;
            ns_perf_session_read(perf, caught_up, ns_procs_perf_record, &l->procs);
            count_queue_drops(l);
        }
        l->procs.horizon_ns = caught_up;
        if (cfg->mech != NS_AGENT_PERF)
            ns_self_discover(&l->procs, now);
        ns_procs_attach_regions(&l->procs, now);
        read_regions(l, caught_up);
        ns_procs_poll_regions(&l->procs);
        ns_procs_finalize(&l->procs, caught_up);
        if (now >= l->next_alive_check_ns) {
            ns_procs_check_alive(&l->procs, now);
            l->next_alive_check_ns = now + 100000000ull;
        }
        if (now >= l->next_flush_ns) {
            ns_procs_flush(&l->procs);
            l->next_flush_ns = now + flush_ns;
        }
        if (session_over(l, now) || stop_requested)
            break;
    }
    if (perf) { /* anything still in the rings belongs to processes that are gone */
        ns_perf_session_stop_capture(perf);
        ns_perf_session_read(perf, UINT64_MAX, ns_procs_perf_record, &l->procs);
    }
    l->procs.horizon_ns = UINT64_MAX;
    read_regions(l, UINT64_MAX);
    ns_procs_finalize(&l->procs, UINT64_MAX);
    if (root_status)
        *root_status = l->procs.root_status;
    ns_procs_destroy(&l->procs);
    return 0;
}
