/*
 * rules_off_cpu — what the wall event's off-CPU time says (wall mode): a thread that spends
 * most of its life waiting at one call site. The off_cpu event's stacks end in a frame
 * naming why the thread was off its CPU ("[off-CPU: sleep]"...); the site under it is the
 * line that made the blocking call.
 *
 * Reasons that are a thread waiting for others to do the work — a condition wait (an idle
 * pool), a join or waitpid, a signal wait — are how programs are built, not a finding; nor
 * is waiting for a CPU (waiting_for_cpu covers it). The rest are: sleep, io, lock, poll,
 * other (a wait no interposer saw). A site waiting on I/O is io_bound, on a lock
 * lock_contention — unless --io or --locks recorded their own events, whose rules already
 * judge those sites by the calls' own times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recommend_internal.h"
#include "textfmt.h"

/* A thread waiting at one site for half its wall time or more, and 100 ms at least. */
#define OFF_LOW    0.50
#define OFF_MEDIUM 0.70
#define OFF_HIGH   0.90
#define OFF_MIN_NS 100000000ull

struct wait {
    uint32_t thread, site;
    uint64_t weight;
    const char *reason; /* the reason frame's name, a model string */
};

static int by_thread_site(const void *a, const void *b)
{
    const struct wait *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->site < y->site ? -1 : x->site > y->site;
}

/* "sleep" from "[off-CPU: sleep]"; NULL for a leaf that is not a reason frame or a reason
 * that is no finding. */
static const char *finding_reason(const char *leaf)
{
    static const char *const kept[] = {"sleep", "io", "lock", "poll", "other"};
    const char *prefix = "[off-CPU: ";
    if (strncmp(leaf, prefix, strlen(prefix)) != 0)
        return NULL;
    const char *r = leaf + strlen(prefix);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        size_t n = strlen(kept[i]);
        if (strncmp(r, kept[i], n) == 0 && r[n] == ']')
            return kept[i];
    }
    return NULL;
}

static int add(const struct ns_model *m, uint32_t off_cpu, const struct wait *w, uint64_t wall,
               struct ns_findings *out)
{
    double share = (double)w->weight / (double)wall;
    int sev = ns_severity_of(share > 1 ? 1 : share, OFF_LOW, OFF_MEDIUM, OFF_HIGH);
    const char *rule = strcmp(w->reason, "io") == 0     ? "io_bound"
                       : strcmp(w->reason, "lock") == 0 ? "lock_contention"
                                                        : "off_cpu";
    /* --io and --locks judge these sites by their own events. */
    if ((strcmp(rule, "io_bound") == 0 && ns_model_event_index(m, "io_time") != NS_NONE) ||
        (strcmp(rule, "lock_contention") == 0 && ns_model_event_index(m, "lock_wait") != NS_NONE))
        return 0;
    const struct ns_thread *t = &m->threads[w->thread];
    const struct ns_site *s = &m->sites[w->site];
    char waited[32], life[32], evidence[512];
    ns_fmt_duration(waited, sizeof(waited), w->weight);
    ns_fmt_duration(life, sizeof(life), wall);
    snprintf(evidence, sizeof(evidence),
             "Thread %.64s (tid %u) waited here %s off its CPU (%s), %.0f%% of its %s of wall "
             "time.",
             t->name[0] ? t->name : "(unnamed)", t->tid, waited, w->reason, share * 100, life);
    const char *why =
        strcmp(w->reason, "sleep") == 0
            ? "The thread sleeps most of its life here: if it sleeps to wait for something "
              "(polling a flag, a file, a retry delay), wait for that thing instead (a "
              "condition variable, poll on a descriptor, inotify) so that it wakes when the "
              "work is ready, not on a timer; if the sleep is a rate limit, check it is meant."
        : strcmp(w->reason, "poll") == 0
            ? "The thread spends most of its life waiting for events here: if it is an event "
              "loop that is idle, nothing is wrong; if it waits for one slow peer or device, "
              "that is what to look at (or serve other work meanwhile)."
        : strcmp(w->reason, "io") == 0
            ? "The thread waits on I/O here most of its life: overlap it with computation (a "
              "reader or writer thread, asynchronous I/O), move more bytes per call, or look "
              "at the device, peer or pipe's other end that is slow."
        : strcmp(w->reason, "lock") == 0
            ? "The thread waits for a lock here most of its life: hold it for less time, split "
              "it or the data it guards, or use atomics or a reader-writer lock."
            : "The thread waits here most of its life in a call nsprof does not interpose (a "
              "raw system call, libc's internal waits, page faults reading a file): the stack "
              "is where the thread last ran; run with --io on or look at the system calls "
              "(strace -f -T) to see what it waits for.";
    (void)s;
    struct ns_finding f = {
        .rule = rule,
        .severity = (enum ns_severity)sev,
        .event = off_cpu,
        .node = ns_site_heaviest_node(m, off_cpu, w->site),
        .func = m->sites[w->site].func,
        .file = m->sites[w->site].file[0] ? m->sites[w->site].file
                                          : (m->funcs[m->sites[w->site].func].file[0]
                                                 ? m->funcs[m->sites[w->site].func].file
                                                 : NULL),
        .line = m->sites[w->site].line,
        .share = share > 1 ? 1 : share,
    };
    return ns_finding_add(out, &f, evidence, why);
}

int ns_rule_off_cpu(const struct ns_model *m, struct ns_findings *out)
{
    uint32_t off = ns_model_event_index(m, "off_cpu"), wall = ns_model_event_index(m, "wall");
    if (off == NS_NONE || wall == NS_NONE || !m->nsamples)
        return 0;
    struct wait *w = malloc(m->nsamples * sizeof(*w));
    if (!w)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        const struct ns_node *leaf = &m->nodes[s->node];
        if (leaf->event != off || s->site == NS_NONE || s->thread == NS_NONE ||
            leaf->func == NS_NONE)
            continue;
        const char *reason = finding_reason(m->funcs[leaf->func].name);
        if (reason)
            w[n++] = (struct wait){s->thread, s->site, s->weight, reason};
    }
    qsort(w, n, sizeof(*w), by_thread_site);
    int rc = 0;
    /* Per thread, its heaviest site (sites of one thread are adjacent after the sort). */
    for (size_t i = 0; i < n && rc == 0;) {
        struct wait best = {0}, cur = w[i];
        uint32_t thread = w[i].thread;
        cur.weight = 0;
        for (; i < n && w[i].thread == thread; i++) {
            if (w[i].site != cur.site) {
                if (cur.weight > best.weight)
                    best = cur;
                cur = w[i];
                cur.weight = 0;
            }
            cur.weight += w[i].weight;
        }
        if (cur.weight > best.weight)
            best = cur;
        uint64_t life = m->thread_events[(size_t)thread * m->nevents + wall].weight;
        if (best.weight >= OFF_MIN_NS && life && m->threads[thread].matched)
            rc = add(m, off, &best, life, out);
    }
    free(w);
    return rc;
}
