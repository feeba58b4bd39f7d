/*
 * rules_threads.c — what the scheduler's view of the threads says: waiting_for_cpu. It reads
 * the threads' off-CPU times, which the agent measures from the kernel's context switches
 * (format 1.3, THREAD_STATS flag 2); without them (signal mechanism, in-process mode) it
 * has nothing to say.
 */
#include <stdio.h>

#include "facts.h"
#include "recommend_internal.h"

/* waiting_for_cpu: time the threads could have run but waited for a CPU (preempted, or
 * created and not yet run) is >= 20% of their watched time and >= 100 ms. Below a fifth, a
 * busy machine's ordinary preemption; 100 ms keeps a short run's start-up out. */
#define WAITING_LOW    0.20
#define WAITING_MEDIUM 0.35
#define WAITING_HIGH   0.50
#define WAITING_MIN_NS 100000000ull

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

int ns_rule_waiting_for_cpu(const struct ns_model *m, struct ns_findings *out)
{
    uint64_t cpu = 0, runnable = 0, watched = 0;
    const struct ns_thread *most = NULL;
    for (size_t i = 0; i < m->nthreads; i++) {
        const struct ns_thread *t = &m->threads[i];
        if (!t->matched || !t->has_times)
            continue;
        cpu = sat_add(cpu, t->cpu_ns);
        runnable = sat_add(runnable, t->runnable_ns);
        watched = sat_add(watched, sat_add(sat_add(t->cpu_ns, t->blocked_ns),
                                           sat_add(t->runnable_ns, t->off_unknown_ns)));
        if (!most || t->runnable_ns > most->runnable_ns)
            most = t;
    }
    if (!watched || runnable < WAITING_MIN_NS)
        return 0;
    double share = (double)runnable / (double)watched;
    int sev = ns_severity_of(share, WAITING_LOW, WAITING_MEDIUM, WAITING_HIGH);
    if (sev < 0)
        return 0;
    char waited[32], total[32], used[32], worst[32], average[160] = "";
    ns_fmt_duration(waited, sizeof(waited), runnable);
    ns_fmt_duration(total, sizeof(total), watched);
    ns_fmt_duration(used, sizeof(used), cpu);
    ns_fmt_duration(worst, sizeof(worst), most->runnable_ns);
    /* With one process, its duration turns the totals into how many threads wanted a CPU
     * at once, and how many had one: the shortage in CPUs. */
    uint64_t span = m->nprocesses == 1 ? ns_facts_duration_ns(&m->processes[0]) : 0;
    if (span)
        snprintf(average, sizeof(average),
                 "; on average %.1f threads were ready to run and %.1f had a CPU",
                 (double)sat_add(cpu, runnable) / (double)span, (double)cpu / (double)span);
    char evidence[512];
    snprintf(evidence, sizeof(evidence),
             "Threads waited %s for a CPU while ready to run: %.0f%% of their %s (they ran "
             "%s)%s; most of all thread %.40s (tid %u), %s.",
             waited, share * 100.0, total, used, average, most->name[0] ? most->name : "(unnamed)",
             most->tid, worst);
    struct ns_finding f = {
        .rule = "waiting_for_cpu",
        .severity = (enum ns_severity)sev,
        .event = ns_model_event_index(m, "cpu"),
        .node = NS_NONE,
        .func = NS_NONE,
        .share = share,
    };
    return ns_finding_add(
        out, &f, evidence,
        "More threads were ready to run than there were CPUs for them: the program (or other "
        "load on the machine, or a CPU quota such as a cgroup's cpu.max) is short of CPUs. "
        "Size thread pools to the CPUs actually available (sched_getaffinity or the cgroup "
        "quota, not a fixed count), make idle threads block instead of spinning or polling, "
        "and check the machine's other load: more threads do not make CPU-bound work faster.");
}
