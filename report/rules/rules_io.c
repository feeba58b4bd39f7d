/*
 * rules_io — rules over the interposed I/O and lock events by call site: many small calls
 * reaching the kernel (small_io), the run waiting on I/O (io_bound) and threads queueing
 * for a lock (lock_contention).
 *
 * Only io_* events count: a stdio call served from its FILE's buffer (stdio_*) costs no
 * system call, so buffered small writes are the fix, not the problem. cond_wait is idle
 * waiting for work and never counts as contention.
 */
#include "recommend_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rank_sites.h"
#include "textfmt.h"

/* small_io: at least SMALL_MIN_CALLS calls that moved data reached the kernel at one site,
 * with at most SMALL_MAX_AVG bytes per call on average. Each system call costs around a
 * microsecond whatever its size; below 512 bytes that overhead dominates the copy. Calls
 * moving no data (open, close, a read at end of file) are not counted. Severity by calls:
 * 10k low, 100k medium, 1M high. */
#define SMALL_MIN_CALLS    10000ull
#define SMALL_MEDIUM_CALLS 100000ull
#define SMALL_HIGH_CALLS   1000000ull
#define SMALL_MAX_AVG      512

/* io_bound and lock_contention: the waits at one site as a share of the run's thread time
 * (ns_run_thread_time). A third of the run waiting on one site is worth attention;
 * most of it is the bottleneck. */
#define WAIT_LOW    0.30
#define WAIT_MEDIUM 0.50
#define WAIT_HIGH   0.70
/* ...and at least this much waiting in all (100 ms): a short program that only opens and
 * reads a file is "I/O-bound" by share, but there is nothing worth gaining. */
#define WAIT_MIN_NS 100000000ull

/* Calls at a site that moved at least one byte: the io_bytes histogram counts every call
 * by its size, bucket 0 holding the calls that moved none. Falls back on io_calls. */
static uint64_t data_calls(const struct ns_model *m, uint32_t bytes_event, uint32_t site,
                           uint64_t calls)
{
    struct ns_hist h;
    ns_rank_histogram(m, bytes_event, 0, site, &h);
    return h.total ? h.total - h.buckets[0] : calls;
}

static int add_small(const struct ns_model *m, const struct ns_io_events *e, uint32_t site,
                     uint64_t calls, uint64_t bytes, struct ns_findings *out)
{
    int sev = calls >= SMALL_HIGH_CALLS     ? NS_SEV_HIGH
              : calls >= SMALL_MEDIUM_CALLS ? NS_SEV_MEDIUM
                                            : NS_SEV_LOW;
    char ncalls[32], avg[32], total[32];
    ns_fmt_count(ncalls, sizeof(ncalls), calls);
    ns_fmt_weight(avg, sizeof(avg), bytes / calls, "bytes");
    ns_fmt_weight(total, sizeof(total), bytes, "bytes");
    char evidence[256];
    snprintf(evidence, sizeof(evidence),
             "%s system calls here moved %s in all, %s per call on average.", ncalls, total, avg);
    uint64_t all = m->events[e->calls[0]].weight;
    struct ns_finding f =
        ns_site_finding(m, "small_io", sev, e->bytes[0], site, all ? (double)calls / all : 0);
    return ns_finding_add(
        out, &f, evidence,
        "Batch these calls: collect the data in a buffer of 64 KiB or more and write or read "
        "it in one call (a stdio FILE with setvbuf, writev for scattered pieces, or one large "
        "read that is then parsed from memory).");
}

int ns_rule_small_io(const struct ns_model *m, struct ns_findings *out)
{
    struct ns_io_events e;
    ns_sections_events(m, NULL, &e, NULL);
    if (e.calls[0] == NS_NONE || e.bytes[0] == NS_NONE)
        return 0;
    uint32_t events[2] = {e.calls[0], e.bytes[0]};
    struct ns_site_row *rows;
    size_t n;
    if (ns_rank_site_rows(m, events, 2, 0, &rows, &n) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (rows[i].w[0] < SMALL_MIN_CALLS)
            break; /* sorted by calls; data calls are fewer still */
        if (rows[i].key == NS_NONE)
            continue;
        uint64_t calls = data_calls(m, e.bytes[0], rows[i].key, rows[i].w[0]);
        if (calls >= SMALL_MIN_CALLS && rows[i].w[1] / calls <= SMALL_MAX_AVG)
            rc = add_small(m, &e, rows[i].key, calls, rows[i].w[1], out);
    }
    free(rows);
    return rc;
}

/* The sites of event whose weight reaches WAIT_LOW of the run's thread time, passed to add.
 * The share is capped at 1: without a wall event the run's time is per process, and several
 * threads can wait at once. */
static int waits_by_site(const struct ns_model *m, uint32_t event,
                         int (*add)(const struct ns_model *, uint32_t, uint32_t, uint64_t, double,
                                    int, struct ns_findings *),
                         struct ns_findings *out)
{
    uint64_t run = ns_run_thread_time(m);
    if (event == NS_NONE || !run)
        return 0;
    struct ns_site_row *rows;
    size_t n;
    if (ns_rank_site_rows(m, &event, 1, 0, &rows, &n) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        double share = (double)rows[i].w[0] / (double)run;
        share = share > 1 ? 1 : share;
        int sev = ns_severity_of(share, WAIT_LOW, WAIT_MEDIUM, WAIT_HIGH);
        if (sev < 0 || rows[i].w[0] < WAIT_MIN_NS)
            break; /* sorted by weight */
        if (rows[i].key != NS_NONE)
            rc = add(m, event, rows[i].key, rows[i].w[0], share, sev, out);
    }
    free(rows);
    return rc;
}

static void wait_evidence(char *buf, size_t len, const char *what, uint64_t waited, double share,
                          uint64_t calls, const char *calls_name)
{
    char t[32], ncalls[32];
    ns_fmt_duration(t, sizeof(t), waited);
    ns_fmt_count(ncalls, sizeof(ncalls), calls);
    snprintf(buf, len, "%s here took %s in all over %s %s, %.1f%% of the run's thread time.", what,
             t, ncalls, calls_name, share * 100);
}

/* Calls a site made to event: the histogram of the event's values counts each call. */
static uint64_t site_calls(const struct ns_model *m, uint32_t event, uint32_t site)
{
    struct ns_hist h;
    ns_rank_histogram(m, event, 0, site, &h);
    return h.total;
}

static int add_io_bound(const struct ns_model *m, uint32_t event, uint32_t site, uint64_t waited,
                        double share, int sev, struct ns_findings *out)
{
    struct ns_io_events e;
    ns_sections_events(m, NULL, &e, NULL);
    uint64_t calls = ns_site_weight(m, e.calls[0], site);
    char evidence[256];
    wait_evidence(evidence, sizeof(evidence), "I/O calls reaching the kernel", waited, share, calls,
                  "calls");
    struct ns_finding f = ns_site_finding(m, "io_bound", sev, event, site, share);
    return ns_finding_add(
        out, &f, evidence,
        "The run waits on I/O here: overlap it with computation (a reader or writer thread, "
        "asynchronous I/O), move more bytes per call, avoid reading the same data twice "
        "(cache it), or check whether the device, the network peer or the pipe's other end "
        "is what is slow.");
}

int ns_rule_io_bound(const struct ns_model *m, struct ns_findings *out)
{
    return waits_by_site(m, ns_model_event_index(m, "io_time"), add_io_bound, out);
}

/*
 * lock_contention by rate: a contended acquisition costs at least the lock's cache line
 * moving between cores (~100 ns) and, when the waiter sleeps, a futex wait and wake (two
 * system calls, 1-5 us of CPU on these machines) — whatever the time spent blocked, which
 * stays small when the holder releases quickly. 10,000 a second is then 1-5% of a CPU spent
 * on the lock itself, 100,000 a tenth to half of one, 1,000,000 more than a CPU: low, medium,
 * high. Only when at least RATE_MIN_SHARE of the site's calls found the lock taken (a lock
 * taken a billion times with rare collisions is not contended) and RATE_MIN_COUNT in all (a
 * short run's few collisions are no rate).
 */
#define RATE_LOW       10000.0
#define RATE_MEDIUM    100000.0
#define RATE_HIGH      1000000.0
#define RATE_MIN_SHARE 0.01
#define RATE_MIN_COUNT 1000ull

static int add_lock(const struct ns_model *m, const struct ns_lock_events *e,
                    const struct ns_site_row *r, uint64_t run, uint64_t duration,
                    struct ns_findings *out)
{
    double share = run ? (double)r->w[0] / (double)run : 0;
    share = share > 1 ? 1 : share;
    int sev_wait =
        r->w[0] >= WAIT_MIN_NS ? ns_severity_of(share, WAIT_LOW, WAIT_MEDIUM, WAIT_HIGH) : -1;
    double rate = duration ? (double)r->w[1] * 1e9 / (double)duration : 0;
    double collided = r->w[2] ? (double)r->w[1] / (double)r->w[2] : 0;
    int sev_rate = r->w[1] >= RATE_MIN_COUNT && collided >= RATE_MIN_SHARE
                       ? ns_severity_of(rate, RATE_LOW, RATE_MEDIUM, RATE_HIGH)
                       : -1;
    int sev = sev_wait > sev_rate ? sev_wait : sev_rate;
    if (sev < 0)
        return 0;
    char evidence[512] = "", part[256];
    if (sev_wait >= 0)
        wait_evidence(evidence, sizeof(evidence), "Waiting for a busy lock", r->w[0], share,
                      site_calls(m, e->wait, r->key), "waits");
    if (r->w[1] && r->w[2]) {
        char k[32], c[32], rt[32];
        ns_fmt_count(k, sizeof(k), r->w[1]);
        ns_fmt_count(c, sizeof(c), r->w[2]);
        ns_fmt_count(rt, sizeof(rt), (uint64_t)(rate + 0.5));
        snprintf(part, sizeof(part),
                 "%s%s of %s lock calls here (%.1f%%) found the lock taken: %s a second.",
                 evidence[0] ? " " : "", k, c, collided * 100, rt);
        strncat(evidence, part, sizeof(evidence) - strlen(evidence) - 1);
    }
    uint32_t event = sev_wait >= 0 ? e->wait : e->contended;
    struct ns_finding f =
        ns_site_finding(m, "lock_contention", sev, event, r->key, sev_wait >= 0 ? share : collided);
    return ns_finding_add(
        out, &f, evidence,
        "Threads queue for this lock: hold it for less time (compute outside the critical "
        "section, lock only to publish the result), split it or the data it guards "
        "(per-thread or sharded state merged at the end), or use atomics or a reader-writer "
        "lock when most accesses only read; a lock taken this often costs its cache line "
        "and futex calls even when nobody waits long.");
}

int ns_rule_lock_contention(const struct ns_model *m, struct ns_findings *out)
{
    struct ns_lock_events e;
    ns_sections_events(m, NULL, NULL, &e);
    if (e.wait == NS_NONE && e.contended == NS_NONE)
        return 0;
    struct ns_site_row *rows;
    size_t n;
    if (ns_lock_rows(m, &e, 0, &rows, &n) < 0)
        return -1;
    uint64_t run = ns_run_thread_time(m), duration = ns_run_duration_ns(m);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (rows[i].key != NS_NONE)
            rc = add_lock(m, &e, &rows[i], run, duration, out);
    }
    free(rows);
    return rc;
}
