/*
 * The unwinder against libunwind on live stacks of programs built without frame pointers.
 *
 * A thread runs the wl workload (wl.h) 300 frames deep and spins in a leaf that uses no stack;
 * another thread signals it. The handler unwinds the interrupted stack with ns_unwind — live,
 * from a 64 KB copy and from a 2 KB copy — and with libunwind (unw_init_local2 from the
 * signal's ucontext), and the traces are compared frame by frame after the handler returns. A
 * frame-pointer walker run through the same comparison must fail it: the comparison can fail.
 * Other modes unwind from inside the handler through glibc's __restore_rt, from a nested
 * signal, and from 300 signals landing anywhere in a running workload.
 */
#include <criterion/criterion.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uw_helpers.h"
#include "wl.h"

#define DEEP        300
#define BIG_COPY    (64 * 1024)
#define SMALL_COPY  2048
#define DEPTH_LIMIT 50

enum mode {
    FROM_UCONTEXT, /* unwind the interrupted code from the signal's registers */
    FROM_HANDLER,  /* unwind from inside the handler, through the signal trampoline */
    NESTED,        /* the handler raises a second signal, whose handler unwinds */
    SAMPLING,      /* like FROM_UCONTEXT, repeatedly, while the workload runs */
};

struct capture {
    struct ns_regs regs;
    struct uw_trace oracle, live, big, small, depth, fp;
};

static struct uw_modules g_mods;
static struct wl_ctx g_ctx;
static enum mode g_mode;
static uintptr_t g_stack_top; /* of the thread running the workload */
static struct capture g_cap;
static uint8_t g_copy[BIG_COPY];

/* SAMPLING */
#define SAMPLES 300
static atomic_int g_handled, g_done;
static int g_mismatches;
static struct uw_trace g_bad_got, g_bad_oracle; /* the first mismatching sample */

static void capture_from(ucontext_t *uc)
{
    struct capture *c = &g_cap;
    c->regs = uw_regs_of(uc);
    uw_oracle_from_ucontext(uc, &c->oracle);
    struct ns_stack_mem live = {.lo = c->regs.sp, .hi = g_stack_top, .copy = NULL};
    uw_unwind(&g_mods, &c->regs, &live, UW_MAX_FRAMES, &c->live);
    uw_unwind(&g_mods, &c->regs, &live, DEPTH_LIMIT, &c->depth);
    uw_fp_walk(&c->regs, &live, &c->fp);
    size_t len = g_stack_top - c->regs.sp < BIG_COPY ? g_stack_top - c->regs.sp : BIG_COPY;
    uw_copy_stack(g_copy, c->regs.sp, len);
    struct ns_stack_mem big = {.lo = c->regs.sp, .hi = c->regs.sp + len, .copy = g_copy};
    struct ns_stack_mem small = {
        .lo = c->regs.sp, .hi = c->regs.sp + (len < SMALL_COPY ? len : SMALL_COPY), .copy = g_copy};
    uw_unwind(&g_mods, &c->regs, &big, UW_MAX_FRAMES, &c->big);
    uw_unwind(&g_mods, &c->regs, &small, UW_MAX_FRAMES, &c->small);
}

static void check_sample(ucontext_t *uc)
{
    capture_from(uc);
    const struct uw_trace *got[] = {&g_cap.live, &g_cap.big};
    for (int i = 0; i < 2; i++) {
        if (uw_first_mismatch(got[i], &g_cap.oracle) != -1 && g_mismatches++ == 0) {
            g_bad_got = *got[i];
            g_bad_oracle = g_cap.oracle;
        }
    }
    atomic_fetch_add(&g_handled, 1);
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    if (g_mode == SAMPLING) {
        check_sample(uc);
        return;
    }
    if (g_mode == FROM_UCONTEXT)
        capture_from(uc);
    else if (g_mode == FROM_HANDLER)
        uw_capture_here(&g_mods, g_stack_top, &g_cap.live, &g_cap.oracle);
    else
        raise(SIGUSR2);
    atomic_store(&g_ctx.stop, 1);
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    capture_from(uc);
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *))
{
    struct sigaction sa = {.sa_sigaction = fn, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(sig, &sa, NULL), 0);
}

static void setup(void)
{
    memset(&g_cap, 0, sizeof g_cap);
    memset(&g_ctx, 0, sizeof g_ctx);
    uw_modules_build(&g_mods);
    install(SIGUSR1, on_usr1);
    install(SIGUSR2, on_usr2);
}

static void teardown(void)
{
    uw_modules_free(&g_mods);
}

static uintptr_t my_stack_top(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    cr_assert_eq(pthread_getattr_np(pthread_self(), &a), 0);
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    return (uintptr_t)addr + size;
}

static void *signal_when_spinning(void *target)
{
    while (!atomic_load(&g_ctx.spinning))
        sched_yield();
    pthread_kill(*(pthread_t *)target, SIGUSR1);
    return NULL;
}

/* Runs the workload on the calling thread until another thread's signal was handled. */
static void *run_deep(void *arg)
{
    (void)arg;
    pthread_t self = pthread_self(), signaller;
    g_stack_top = my_stack_top();
    cr_assert_eq(pthread_create(&signaller, NULL, signal_when_spinning, &self), 0);
    wl_run(&g_ctx, DEEP);
    pthread_join(signaller, NULL);
    return NULL;
}

static void run_deep_on_new_thread(void)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_deep, NULL), 0);
    pthread_join(t, NULL);
}

static void assert_matches(const struct uw_trace *got, const struct uw_trace *oracle,
                           const char *what)
{
    char why[2048];
    uw_describe(&g_mods, got, oracle, why, sizeof why);
    cr_assert_eq(uw_first_mismatch(got, oracle), -1, "%s: %s", what, why);
}

static void assert_oracle_sane(void)
{
    cr_assert_eq(g_cap.oracle.end, 0, "libunwind stopped with %d", g_cap.oracle.end);
    cr_assert_gt(g_cap.oracle.n, DEEP, "libunwind saw only %d frames", g_cap.oracle.n);
}

static const struct ns_cfi_row *row_of_frame(const struct uw_trace *t, int i)
{
    const struct ns_unwind_module *m = ns_unwind_find_module(&g_mods.view, t->addr[i]);
    return m ? ns_cfi_find(m->cfi, t->addr[i] - m->bias) : NULL;
}

static int count_frames_with_cfa_rule(const struct uw_trace *t, int rule)
{
    int n = 0;
    for (int i = 0; i < t->n; i++) {
        const struct ns_cfi_row *row = row_of_frame(t, i);
        n += row && row->cfa_rule == rule;
    }
    return n;
}

TestSuite(oracle, .init = setup, .fini = teardown);

Test(oracle, main_thread_from_signal_reaches_start)
{
    extern char _start[];
    pthread_t self = pthread_self(), signaller;
    g_mode = FROM_UCONTEXT;
    g_stack_top = my_stack_top();
    cr_assert_eq(pthread_create(&signaller, NULL, signal_when_spinning, &self), 0);
    wl_run(&g_ctx, DEEP);
    pthread_join(signaller, NULL);

    assert_oracle_sane();
    assert_matches(&g_cap.live, &g_cap.oracle, "live");
    cr_assert_eq(g_cap.live.end, NSP_END_ROOT);
    uint64_t last = g_cap.live.addr[g_cap.live.n - 1];
    cr_assert(last >= (uintptr_t)_start && last < (uintptr_t)_start + 64,
              "last frame %#lx is not in _start %p", (unsigned long)last, (void *)_start);
    /* The workload's frame shapes were really walked through. */
    cr_assert_gt(count_frames_with_cfa_rule(&g_cap.live, NS_CFA_DEREF_BP), 10);
    cr_assert_gt(count_frames_with_cfa_rule(&g_cap.live, NS_CFA_BP_OFF), 10);
    cr_assert_not_null(uw_object_of(&g_mods, g_cap.live.addr[0]));
}

Test(oracle, copies_of_the_stack_top)
{
    g_mode = FROM_UCONTEXT;
    run_deep_on_new_thread();
    assert_oracle_sane();
    assert_matches(&g_cap.big, &g_cap.oracle, "64 KB copy");
    cr_assert_geq(g_cap.big.n, DEEP, "a 64 KB copy holds the whole recursion");
    assert_matches(&g_cap.small, &g_cap.oracle, "2 KB copy");
    cr_assert_eq(g_cap.small.end, NSP_END_STACK_END);
    cr_assert_gt(g_cap.small.n, 5);
    cr_assert_lt(g_cap.small.n, g_cap.oracle.n);
}

Test(oracle, depth_limit)
{
    g_mode = FROM_UCONTEXT;
    run_deep_on_new_thread();
    assert_oracle_sane();
    cr_assert_eq(g_cap.depth.end, NSP_END_DEPTH);
    cr_assert_eq(g_cap.depth.n, DEPTH_LIMIT);
    assert_matches(&g_cap.depth, &g_cap.oracle, "depth-limited");
}

Test(oracle, pthread_reaches_clone3)
{
    g_mode = FROM_UCONTEXT;
    run_deep_on_new_thread();
    assert_oracle_sane();
    assert_matches(&g_cap.live, &g_cap.oracle, "live");
    cr_assert_eq(g_cap.live.end, NSP_END_ROOT);
    const struct uw_object *libc = uw_object_of(&g_mods, (uintptr_t)gnu_get_libc_version);
    cr_assert_not_null(libc);
    cr_assert_eq(uw_object_of(&g_mods, g_cap.live.addr[g_cap.live.n - 1]), libc,
                 "a thread's outermost frame is libc's clone3");
}

Test(oracle, leaf_in_shared_library)
{
    g_mode = FROM_UCONTEXT;
    g_ctx.leaf = WL_LEAF_LIB_SPIN;
    run_deep_on_new_thread();
    assert_oracle_sane();
    cr_assert_eq(uw_object_of(&g_mods, g_cap.live.addr[0]),
                 uw_object_of(&g_mods, (uintptr_t)wlib_spin));
    assert_matches(&g_cap.live, &g_cap.oracle, "live");
    assert_matches(&g_cap.big, &g_cap.oracle, "64 KB copy");
}

/* The negative control: the same comparison must reject a frame-pointer walk of code built
 * without frame pointers, or it proves nothing. */
Test(oracle, frame_pointer_walk_is_caught)
{
    g_mode = FROM_UCONTEXT;
    run_deep_on_new_thread();
    assert_oracle_sane();
    assert_matches(&g_cap.live, &g_cap.oracle, "live");
    cr_assert_neq(uw_first_mismatch(&g_cap.fp, &g_cap.oracle), -1,
                  "a frame-pointer walk of -fomit-frame-pointer code passed the comparison");
    cr_assert_lt(g_cap.fp.n, g_cap.oracle.n);
}

static uintptr_t signal_restorer(int sig)
{
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } k;
    cr_assert_eq(syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof k.mask), 0);
    return (uintptr_t)k.restorer;
}

static int index_of(const struct uw_trace *t, uint64_t addr)
{
    for (int i = 0; i < t->n; i++)
        if (t->addr[i] == addr)
            return i;
    return -1;
}

Test(oracle, from_handler_through_signal_trampoline)
{
    g_mode = FROM_HANDLER;
    run_deep_on_new_thread();
    assert_oracle_sane();
    struct uw_trace *got = &g_cap.live;
    assert_matches(got, &g_cap.oracle, "from the handler");
    cr_assert_eq(got->end, NSP_END_ROOT);
    /* The handler returns into __restore_rt; the frame after it is the interrupted pc. */
    int tramp = index_of(got, signal_restorer(SIGUSR1) - 1);
    cr_assert_geq(tramp, 1);
    const struct ns_cfi_row *row = row_of_frame(got, tramp);
    cr_assert(row && row->signal_frame && row->cfa_rule == NS_CFA_DEREF_SP);
}

Test(oracle, nested_signal)
{
    g_mode = NESTED;
    run_deep_on_new_thread();
    assert_oracle_sane();
    assert_matches(&g_cap.live, &g_cap.oracle, "live");
    assert_matches(&g_cap.big, &g_cap.oracle, "64 KB copy");
    cr_assert_eq(g_cap.live.end, NSP_END_ROOT);
    cr_assert_geq(index_of(&g_cap.live, signal_restorer(SIGUSR1) - 1), 1);
}

static void *run_bursts(void *arg)
{
    (void)arg;
    g_stack_top = my_stack_top();
    wl_run(&g_ctx, 24); /* binds the PLT entries before any sample */
    atomic_store(&g_ctx.spinning, 1);
    while (!atomic_load(&g_done))
        wl_run(&g_ctx, 24);
    return NULL;
}

/* Samples land anywhere: prologues, epilogues, PLT stubs, the library, the leaf. */
Test(oracle, asynchronous_samples_match)
{
    pthread_t t;
    g_mode = SAMPLING;
    g_ctx.leaf = WL_LEAF_COMPUTE;
    g_ctx.no_drap = 1;
    cr_assert_eq(pthread_create(&t, NULL, run_bursts, NULL), 0);
    while (!atomic_load(&g_ctx.spinning))
        sched_yield();
    for (int i = 0; i < SAMPLES; i++) {
        pthread_kill(t, SIGUSR1);
        while (atomic_load(&g_handled) <= i)
            sched_yield();
    }
    atomic_store(&g_done, 1);
    pthread_join(t, NULL);
    char why[2048] = "";
    if (g_mismatches)
        uw_describe(&g_mods, &g_bad_got, &g_bad_oracle, why, sizeof why);
    cr_assert_eq(g_mismatches, 0, "%d of %d unwinds differ; first: %s", g_mismatches, 2 * SAMPLES,
                 why);
}
