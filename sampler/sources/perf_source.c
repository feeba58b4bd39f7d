/*
 * perf_source — CPU sampling through per-thread perf_events (software cpu-clock).
 *
 * Each thread gets its own event (pid = tid, cpu = -1, no inherit: an inherited event
 * cannot be mmap'd) whose overflow makes the kernel write a sample — user registers and
 * a copy of the top `stack_copy` bytes of the user stack — into the thread's mmap'd ring.
 * The program is never interrupted by a signal; the writer thread drains the rings and
 * unwinds the copies with the CFI snapshot valid at each sample's time.
 *
 * Costs and limits: one fd and one ring per thread (RLIMIT_NOFILE; the ring counts against
 * the perf mlock allowance when not root — on EPERM the ring is halved until it fits);
 * with exclude_kernel (required when unprivileged) ticks that land in the kernel are not
 * sampled at all, which the report states.
 */
#include "source.h"

#include <asm/perf_regs.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sysmem.h"
#include "../fdutil.h"
#include "../../agent/perf_session.h"
#include "../unwind/modules.h"

#define REGS_MASK                                                                                  \
    ((1ull << PERF_REG_X86_BP) | (1ull << PERF_REG_X86_SP) | (1ull << PERF_REG_X86_IP))
#define MAX_RING_DATA (1u << 20)
#define MIN_RING_DATA (16u << 10)

struct ns_source_params ns_source_params;

void ns_source_configure(const struct ns_source_params *params)
{
    ns_source_params = *params;
}

static void fill_attr(struct perf_event_attr *a, int exclude_kernel, size_t ring_data)
{
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    a->type = PERF_TYPE_SOFTWARE;
    a->config = PERF_COUNT_SW_CPU_CLOCK;
    a->sample_period = ns_source_params.period_ns;
    a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_REGS_USER |
                     PERF_SAMPLE_STACK_USER;
    a->sample_regs_user = REGS_MASK;
    a->sample_stack_user = ns_source_params.stack_copy;
    a->exclude_kernel = (unsigned)exclude_kernel;
    a->exclude_hv = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->watermark = 1;
    a->wakeup_watermark = (uint32_t)(ring_data / 2);
}

static int perf_open(pid_t tid, int exclude_kernel, size_t ring_data)
{
    struct perf_event_attr a;
    fill_attr(&a, exclude_kernel, ring_data);
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/*
 * Ring memory is locked memory. Root has no limit (we still keep all rings under 64 MiB);
 * other users get kernel.perf_event_mlock_kb per CPU plus RLIMIT_MEMLOCK, a few MiB in all.
 * Each new ring takes at most a sixteenth of what is left of that budget, so a program with
 * many threads gets rings that shrink geometrically instead of a few big ones and then
 * none; a ring never holds fewer than 2 samples (the writer is woken at each one then).
 */
#define ROOT_RING_BUDGET (64ull << 20)
static uint64_t ring_bytes_in_use;
static uint64_t ring_budget;

static uint64_t read_ring_budget(void)
{
    if (geteuid() == 0)
        return ROOT_RING_BUDGET;
    uint64_t budget = 0;
    unsigned long kb = 0;
    FILE *f = fopen("/proc/sys/kernel/perf_event_mlock_kb", "re");
    if (f) {
        if (fscanf(f, "%lu", &kb) != 1)
            kb = 0;
        fclose(f);
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    budget += (uint64_t)kb * 1024 * (uint64_t)(cpus > 0 ? cpus : 1);
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
        budget += rl.rlim_cur == RLIM_INFINITY ? ROOT_RING_BUDGET : (uint64_t)rl.rlim_cur;
    return budget < ROOT_RING_BUDGET ? budget : ROOT_RING_BUDGET;
}

int ns_perf_probe(struct ns_source_params *params, char *why, size_t whylen)
{
    int want = params->exclude_kernel; /* -1 auto, 0 include kernel, 1 exclude */
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int fd = -1;
    ns_source_configure(params);
    if (want <= 0) {
        fd = perf_open(tid, 0, MIN_RING_DATA);
        if (fd >= 0)
            params->exclude_kernel = 0;
    }
    if (fd < 0 && want != 0) {
        fd = perf_open(tid, 1, MIN_RING_DATA);
        if (fd >= 0)
            params->exclude_kernel = 1;
    }
    if (fd < 0) {
        int e = errno;
        int paranoid = -9;
        FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
        if (f) {
            if (fscanf(f, "%d", &paranoid) != 1)
                paranoid = -9;
            fclose(f);
        }
        if (e == EACCES || e == EPERM)
            snprintf(why, whylen,
                     "perf_event_open refused (%s; kernel.perf_event_paranoid=%d): enable it "
                     "with 'sysctl kernel.perf_event_paranoid=%d' or give the program "
                     "CAP_PERFMON",
                     strerror(e), paranoid, want == 0 ? 1 : 2);
        else if (e == ENOSYS || e == ENOENT || e == EOPNOTSUPP)
            snprintf(why, whylen, "perf_event_open is not available here (%s)", strerror(e));
        else
            snprintf(why, whylen, "perf_event_open failed (%s)", strerror(e));
        return -e;
    }
    close(fd);
    ns_source_configure(params);
    ring_budget = read_ring_budget();
    return 0;
}

static size_t min_ring_data(void)
{
    size_t size = MIN_RING_DATA;
    while (size < 2 * (size_t)ns_source_params.stack_copy + 4096)
        size <<= 1;
    return size;
}

static size_t ring_data_size(void)
{
    /* Room for ~32 samples: the writer is woken at half, so it has 16 samples (16 ms at
     * 1 kHz) to get scheduled on a busy machine before the kernel drops any. */
    uint64_t want = (uint64_t)ns_source_params.stack_copy * 32;
    uint64_t used = __atomic_load_n(&ring_bytes_in_use, __ATOMIC_RELAXED);
    uint64_t left = ring_budget > used ? ring_budget - used : 0;
    if (want > left / 16)
        want = left / 16;
    size_t size = min_ring_data();
    while (size * 2 <= want && size < MAX_RING_DATA)
        size <<= 1;
    return size;
}

static int perf_thread_start(struct ns_thread *th)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t data = ring_data_size(); data >= min_ring_data(); data >>= 1) {
        int fd = perf_open(th->tid, ns_source_params.exclude_kernel, data);
        if (fd < 0)
            return -errno;
        void *map = ns_sys_mmap(NULL, page + data, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            th->perf_fd = ns_fd_move_high(fd);
            th->perf_map = map;
            th->perf_map_len = page + data;
            __atomic_add_fetch(&ring_bytes_in_use, page + data, __ATOMIC_RELAXED);
            return 0;
        }
        int e = errno;
        close(fd);
        if (e != EPERM && e != ENOMEM)
            return -e;
        /* Over the locked-memory allowance: try a smaller ring. */
    }
    return -EPERM;
}

static void perf_thread_stop(struct ns_thread *th)
{
    if (th->perf_fd >= 0)
        ioctl(th->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
}

static int perf_thread_resume(struct ns_thread *th)
{
    if (th->perf_fd < 0 || ioctl(th->perf_fd, PERF_EVENT_IOC_ENABLE, 0) != 0)
        return -errno;
    return 0;
}

static void perf_thread_release(struct ns_thread *th)
{
    if (th->perf_map) {
        ns_sys_munmap(th->perf_map, th->perf_map_len);
        __atomic_sub_fetch(&ring_bytes_in_use, th->perf_map_len, __ATOMIC_RELAXED);
    }
    if (th->perf_fd >= 0)
        close(th->perf_fd);
    th->perf_map = NULL;
    th->perf_fd = -1;
}

void ns_perf_after_fork(void)
{
    /* The parent's rings were not copied into the child: none of the budget is in use. */
    __atomic_store_n(&ring_bytes_in_use, 0, __ATOMIC_RELAXED);
}

int ns_perf_fd(const struct ns_thread *th)
{
    return th->perf_fd;
}

static int is_kernel_address(uint64_t ip)
{
    return ip >= 0xffff800000000000ull;
}

static void handle_sample(const uint8_t *rec, size_t len, const struct ns_sample_sink *sink,
                          struct ns_frame *frames)
{
    struct ns_perf_sample s;
    if (ns_perf_parse_sample(rec, len, &s) < 0 || s.abi == PERF_SAMPLE_REGS_ABI_NONE) {
        sink->lost(sink->ctx, "dropped_no_user_regs", 1);
        return;
    }
    int max = (int)ns_source_params.max_depth, n = 0;
    unsigned end = NSP_END_ROOT;
    if (is_kernel_address(s.ip)) {
        /* A tick in a syscall or fault: say so as a leaf above the user stack. */
        frames[n].mapping_id = ns_modules_kernel_mapping();
        frames[n].addr = 0;
        n++;
    }
    struct ns_regs regs = {.ip = s.regs[2], .sp = s.regs[1], .bp = s.regs[0]};
    struct ns_stack_mem mem = {.lo = regs.sp, .hi = regs.sp + s.dyn_size, .copy = s.stack};
    const struct ns_snapshot *snap = ns_modules_at(s.time);
    struct ns_unwind_modules none = {NULL, 0};
    int base = n;
    /* A module whose table was never needed before has none yet: build it, unwind again.
     * Each retry builds one more table, so this ends within the number of modules. */
    for (int attempt = 0; attempt < 64; attempt++) {
        n = base +
            ns_unwind(snap ? &snap->mods : &none, &regs, &mem, frames + base, max - base, &end);
        if (end != NSP_END_NO_CFI || ns_modules_build_cfi(frames[n - 1].mapping_id) != NS_CFI_READY)
            break;
    }
    if (end == NSP_END_STACK_END)
        sink->lost(sink->ctx, "stack_copy_truncated", 1);
    sink->sample(sink->ctx, (pid_t)s.tid, s.time, ns_source_params.period_ns, end, frames, n);
}

static size_t perf_drain(struct ns_thread *th, const struct ns_sample_sink *sink)
{
    static uint8_t scratch[65536]; /* a record's size is 16 bits */
    static struct ns_frame frames[NSP_MAX_FRAMES];
    struct perf_event_mmap_page *meta = th->perf_map;
    if (!meta)
        return 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const uint8_t *data = (const uint8_t *)meta + page;
    uint64_t size = th->perf_map_len - page;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    size_t samples = 0;
    while (tail + sizeof(struct perf_event_header) <= head) {
        struct perf_event_header h;
        size_t off = (size_t)(tail % size);
        for (size_t i = 0; i < sizeof(h); i++)
            ((uint8_t *)&h)[i] = data[(off + i) % size];
        if (h.size < sizeof(h) || tail + h.size > head)
            break; /* cannot happen with a sane kernel; never loop on it */
        const uint8_t *rec = data + off;
        if (off + h.size > size) {
            size_t first = (size_t)(size - off);
            memcpy(scratch, data + off, first);
            memcpy(scratch + first, data, h.size - first);
            rec = scratch;
        }
        if (h.type == PERF_RECORD_SAMPLE) {
            handle_sample(rec, h.size, sink, frames);
            samples++;
        } else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
            uint64_t lost;
            memcpy(&lost, rec + sizeof(h) + 8, sizeof(lost));
            sink->lost(sink->ctx, "dropped_perf_lost", lost);
        } else if (h.type == PERF_RECORD_THROTTLE) {
            sink->lost(sink->ctx, "throttled", 1);
        }
        tail += h.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
    return samples;
}

/* Perf needs no process-wide set-up or tear-down: each thread's event is its own. */
static int perf_start(void)
{
    return 0;
}

static void perf_stop(void)
{
}

const struct ns_source ns_perf_source = {
    .name = "perf",
    .thread_start = perf_thread_start,
    .thread_stop = perf_thread_stop,
    .thread_resume = perf_thread_resume,
    .thread_release = perf_thread_release,
    .drain = perf_drain,
    .start = perf_start,
    .stop = perf_stop,
};
