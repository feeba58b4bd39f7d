/*
 * perf_records — what the agent does with each record of its perf rings (procs.h): a
 * process's life (FORK, EXIT, COMM at exec), its threads' names and time lines (SWITCH), its
 * mapped files (MMAP2), its samples, and the kernel's losses (LOST, THROTTLE). The records
 * arrive in time order across CPUs (perf_session.h), so a process's MMAP2 records come
 * before the samples taken in what they mapped, a FORK before the child's first sample, a
 * COMM(exec) between the old program's samples and the new one's.
 */
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "perf_session.h"
#include "procs.h"

static struct ns_aproc *proc_of(struct ns_procs *t, pid_t pid, uint64_t time_ns)
{
    struct ns_aproc *p = ns_procs_find(t, pid);
    if (!p) /* its FORK record was lost (or it is older than the events): adopt it */
        p = ns_procs_add(t, pid, 0, time_ns, 0);
    return p;
}

static void on_sample(struct ns_procs *t, int cpu, const uint8_t *rec, size_t len)
{
    struct ns_perf_sample s;
    if (ns_perf_parse_sample(rec, len, &s) < 0)
        return;
    struct ns_aproc *p = proc_of(t, (pid_t)s.pid, s.time);
    if (!p)
        return;
    if (cpu >= 0 && cpu < 1024)
        t->cpu_pid[cpu] = p->pid;
    if (s.abi == PERF_SAMPLE_REGS_ABI_NONE) {
        if (ns_procs_open_image(t, p))
            ns_image_count(&p->image, "dropped_no_user_regs", 1);
        return;
    }
    struct ns_athread *th = ns_procs_thread(t, (pid_t)s.tid);
    if (!th || th->proc != p) {
        th = ns_procs_add_thread(t, p, (pid_t)s.tid, s.time);
        if (th && p->image_state > 0)
            ns_procs_name_thread(t, th, NULL);
    }
    if (th)
        ns_tl_sample(&th->tl, s.time, ns_procs_add_piece, th);
    ns_procs_take_sample(t, p, (pid_t)s.tid, s.time, t->period_ns, s.ip, s.regs, s.stack,
                         s.dyn_size);
}

/* MMAP2: pid, tid, addr, len, pgoff, then maj/min/ino/ino_generation or a build-id, prot,
 * flags, filename, then sample_id. */
static void on_mmap2(struct ns_procs *t, const uint8_t *rec, size_t len, uint16_t misc,
                     uint64_t time_ns)
{
    struct {
        uint32_t pid, tid;
        uint64_t addr, len, pgoff;
        union {
            struct {
                uint32_t maj, min;
                uint64_t ino, ino_generation;
            } file;
            struct {
                uint8_t size, reserved1;
                uint16_t reserved2;
                uint8_t build_id[20];
            } bid;
        } u;
        uint32_t prot, flags;
    } m;
    size_t fixed = sizeof(struct perf_event_header) + sizeof(m);
    if (len < fixed + 1 + 16)
        return;
    memcpy(&m, rec + sizeof(struct perf_event_header), sizeof(m));
    if (!(m.prot & PROT_EXEC))
        return;
    char name[4096];
    size_t name_max = len - fixed - 16; /* the name ends before the sample_id */
    size_t nlen =
        strnlen((const char *)rec + fixed, name_max < sizeof(name) ? name_max : sizeof(name) - 1);
    memcpy(name, rec + fixed, nlen);
    name[nlen] = '\0';
    struct ns_aproc *p = proc_of(t, (pid_t)m.pid, time_ns);
    if (!p)
        return;
    struct ns_elf_file *file;
    uint32_t flags = 0;
    if (strcmp(name, "[vdso]") == 0) {
        file = ns_elf_vdso();
        flags = NSP_MAP_VDSO;
    } else if (name[0] == '/') {
        struct ns_elf_identity id = {name, NULL, 0, 0, 0};
        if (misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
            id.build_id = m.u.bid.build_id;
            id.build_id_len = m.u.bid.size <= 20 ? m.u.bid.size : 20;
        } else {
            id.dev = (uint64_t)makedev(m.u.file.maj, m.u.file.min);
            id.ino = m.u.file.ino;
        }
        file = ns_elf_file_get(p->state == NS_AP_ALIVE ? p->pid : 0, &id);
        if (!p->maps.saw_main) {
            flags = NSP_MAP_MAIN; /* the kernel maps the program before its interpreter */
            p->maps.saw_main = 1;
            snprintf(p->exe, sizeof(p->exe), "%s", name);
        }
    } else {
        return; /* anonymous code (a JIT): nothing to name or unwind with */
    }
    if (!file)
        return;
    ns_maps_add(&p->maps, m.addr, m.len, m.pgoff, file, flags);
}

static void on_comm(struct ns_procs *t, const uint8_t *rec, size_t len, uint16_t misc,
                    uint64_t time_ns)
{
    uint32_t ids[2];
    char comm[16] = "";
    size_t hdr = sizeof(struct perf_event_header);
    if (len < hdr + 8 + 16)
        return;
    memcpy(ids, rec + hdr, 8);
    size_t n = strnlen((const char *)rec + hdr + 8, len - hdr - 8 - 16);
    memcpy(comm, rec + hdr + 8, n < 15 ? n : 15);
    struct ns_aproc *p = proc_of(t, (pid_t)ids[0], time_ns);
    if (!p)
        return;
    if (misc & PERF_RECORD_MISC_COMM_EXEC) {
        ns_procs_next_image(t, p, time_ns, p->exec_index + 1);
        memcpy(p->comm, comm, sizeof(p->comm));
        /* exec leaves one thread, whose tid becomes the pid */
        struct ns_athread *th = ns_procs_thread(t, (pid_t)ids[1]);
        if (th && th->proc == p && ids[1] != ids[0])
            ns_procs_rekey_thread(t, th, (pid_t)ids[0]);
        if (!th) {
            th = ns_procs_add_thread(t, p, (pid_t)ids[0], time_ns);
            if (th)
                th->on_cpu_since = time_ns; /* it is running: it is exec'ing */
        }
    }
    struct ns_athread *th = ns_procs_thread(t, (pid_t)ids[1]);
    if (!th)
        th = ns_procs_thread(t, (pid_t)ids[0]);
    if (th && th->proc == p) {
        memcpy(th->comm, comm, sizeof(th->comm));
        if (p->image_state > 0)
            ns_image_thread_name(&p->image, th->tid, comm, th->start_ns);
    }
    if (ids[0] == ids[1] || (misc & PERF_RECORD_MISC_COMM_EXEC))
        memcpy(p->comm, comm, sizeof(p->comm));
}

static void on_fork(struct ns_procs *t, const uint8_t *rec, size_t len)
{
    uint32_t f[4]; /* pid, ppid, tid, ptid */
    uint64_t time_ns;
    if (len < sizeof(struct perf_event_header) + 24)
        return;
    memcpy(f, rec + sizeof(struct perf_event_header), 16);
    memcpy(&time_ns, rec + sizeof(struct perf_event_header) + 16, 8);
    struct ns_aproc *parent = ns_procs_find(t, (pid_t)f[1]);
    struct ns_athread *pth = ns_procs_thread(t, (pid_t)f[3]);
    if (f[0] == f[1]) { /* a new thread */
        struct ns_aproc *p = proc_of(t, (pid_t)f[0], time_ns);
        struct ns_athread *th = p ? ns_procs_add_thread(t, p, (pid_t)f[2], time_ns) : NULL;
        if (th)
            ns_tl_start(&th->tl, time_ns, 1);
        if (th && pth)
            memcpy(th->comm, pth->comm, sizeof(th->comm));
        /* A thread keeps its creator's name until it sets its own (a COMM record then). */
        if (th && p->image_state > 0)
            ns_procs_name_thread(t, th, NULL);
        return;
    }
    struct ns_aproc *old = ns_procs_find(t, (pid_t)f[0]);
    if (old) /* a pid reused before we saw the end of its last holder */
        ns_procs_ended(t, old, time_ns);
    struct ns_aproc *p = ns_procs_add(t, (pid_t)f[0], (pid_t)f[1], time_ns, 0);
    if (!p)
        return;
    if (parent) {
        ns_maps_copy(&p->maps, &parent->maps);
        memcpy(p->exe, parent->exe, sizeof(p->exe));
        memcpy(p->comm, parent->comm, sizeof(p->comm));
    }
    struct ns_athread *th = ns_procs_add_thread(t, p, (pid_t)f[2], time_ns);
    if (th)
        ns_tl_start(&th->tl, time_ns, 1);
    if (th && pth)
        memcpy(th->comm, pth->comm, sizeof(th->comm));
}

static void on_task_exit(struct ns_procs *t, const uint8_t *rec, size_t len)
{
    uint32_t f[4];
    uint64_t time_ns;
    if (len < sizeof(struct perf_event_header) + 24)
        return;
    memcpy(f, rec + sizeof(struct perf_event_header), 16);
    memcpy(&time_ns, rec + sizeof(struct perf_event_header) + 16, 8);
    struct ns_athread *th = ns_procs_thread(t, (pid_t)f[2]);
    if (!th || th->exited)
        return;
    struct ns_aproc *p = th->proc;
    ns_procs_self_drain(t, th, UINT64_MAX); /* its last samples: all taken before it ended */
    if (th->on_cpu_since && time_ns > th->on_cpu_since)
        th->cpu_ns += time_ns - th->on_cpu_since;
    th->on_cpu_since = 0;
    th->exited = 1;
    ns_tl_end(&th->tl, time_ns, ns_procs_add_piece, th);
    if (p->image_state > 0) {
        ns_image_thread_cpu(&p->image, th->tid, th->cpu_ns);
        ns_image_thread_off_cpu(&p->image, th->tid, &th->off);
        ns_image_thread_exited(&p->image, th->tid);
    }
    if (p->live_threads && --p->live_threads == 0)
        ns_procs_ended(t, p, time_ns);
}

static void on_switch(struct ns_procs *t, const uint8_t *rec, size_t len, uint16_t misc, int cpu)
{
    uint32_t pid, tid;
    uint64_t time_ns;
    if (ns_perf_record_ids(rec, len, &pid, &tid, &time_ns) < 0)
        return;
    struct ns_athread *th = ns_procs_thread(t, (pid_t)tid);
    if (!th || th->exited)
        return;
    ns_procs_self_drain(t, th, time_ns); /* the samples it took before this switch */
    if (misc & PERF_RECORD_MISC_SWITCH_OUT) {
        /* A thread first seen leaving the CPU was on it since we started watching it. */
        uint64_t since = th->on_cpu_since ? th->on_cpu_since : (th->cpu_ns ? 0 : th->start_ns);
        if (since && time_ns > since)
            th->cpu_ns += time_ns - since;
        th->on_cpu_since = 0;
        ns_tl_switch_out(&th->tl, time_ns, (misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0,
                         ns_procs_add_piece, th);
    } else {
        th->on_cpu_since = time_ns;
        ns_tl_switch_in(&th->tl, time_ns, ns_procs_add_piece, th);
        if (cpu >= 0 && cpu < 1024)
            t->cpu_pid[cpu] = th->proc->pid;
    }
}

/* LOST and THROTTLE are the CPU's: charged to the process that ran there last. */
void ns_procs_count_on_cpu(struct ns_procs *t, int cpu, const char *what, uint64_t n)
{
    struct ns_aproc *p = cpu >= 0 && cpu < 1024 ? ns_procs_find(t, t->cpu_pid[cpu]) : NULL;
    if (!p)
        p = ns_procs_find(t, t->cfg->root);
    if (p && ns_procs_open_image(t, p))
        ns_image_count(&p->image, what, n);
}

void ns_procs_perf_record(void *ctx, int cpu, const uint8_t *rec, size_t len, uint64_t time_ns)
{
    struct ns_procs *t = ctx;
    if (time_ns > t->horizon_ns)
        t->horizon_ns = time_ns;
    const struct perf_event_header *h = (const void *)rec;
    switch (h->type) {
    case PERF_RECORD_SAMPLE:
        on_sample(t, cpu, rec, len);
        break;
    case PERF_RECORD_MMAP2:
        on_mmap2(t, rec, len, h->misc, time_ns);
        break;
    case PERF_RECORD_COMM:
        on_comm(t, rec, len, h->misc, time_ns);
        break;
    case PERF_RECORD_FORK:
        on_fork(t, rec, len);
        break;
    case PERF_RECORD_EXIT:
        on_task_exit(t, rec, len);
        break;
    case PERF_RECORD_SWITCH:
        on_switch(t, rec, len, h->misc, cpu);
        break;
    case PERF_RECORD_LOST:
        if (len >= sizeof(*h) + 16) {
            uint64_t lost;
            memcpy(&lost, rec + sizeof(*h) + 8, 8);
            ns_procs_count_on_cpu(t, cpu, "dropped_perf_lost", lost);
            /* The lost records may be any thread's switches: no interval is paired across. */
            for (size_t i = 0; i < t->tid_slots; i++)
                for (struct ns_athread *th = t->tids[i]; th; th = th->hash_next)
                    ns_tl_lost(&th->tl);
        }
        break;
    case PERF_RECORD_THROTTLE:
        ns_procs_count_on_cpu(t, cpu, "throttled", 1);
        break;
    default:
        break;
    }
}
