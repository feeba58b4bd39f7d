/*
 * hooks_lock — lock contention and condition-variable waits, interposed (setting locks).
 *
 * What is measured: only the time a thread WAITS. Every acquiring call first tries the lock
 * (trylock costs what the uncontended lock costs), and only when that fails is the real,
 * blocking call timed; the wait is charged to the waiter's stack (family NS_SITE_LOCK, event
 * lock_wait) and to the lock, named by where it was created. The uncontended path records
 * nothing and touches no shared state. pthread_cond_*wait and cnd_*wait are a thread
 * waiting for work, not contention: their whole time is family NS_SITE_COND (cond_wait).
 *
 * Exactness of results: a trylock answer other than EBUSY (success, a recursive mutex's
 * count, EOWNERDEAD of a robust mutex, EDEADLK of a robust error-checking one, EAGAIN,
 * EINVAL, ENOTRECOVERABLE) is what the lock call itself would answer, so it is returned as
 * is. EBUSY can also mean "I own it" (an error-checking mutex): the real lock then gives the
 * right answer (EDEADLK), and a call that did not wait for the lock records nothing. Timed
 * calls whose clock or timeout glibc rejects up front are passed straight through.
 *
 * Blind spots (not seen here): sem_wait, raw futex users, glibc's internal locks (stdio's
 * FILE locks, malloc's arenas, the loader's) which never go through the PLT, and waits for
 * the mutex that pthread_cond_wait re-takes inside glibc (part of cond_wait). C11 mtx_lock,
 * mtx_timedlock, mtx_init, cnd_wait and cnd_timedwait call glibc's internal
 * __pthread_mutex_lock/__pthread_cond_wait directly (glibc 2.36, not through the PLT), so they
 * are interposed here themselves.
 *
 * Symbol versions: the hooks are unversioned, so they also bind references to the
 * GLIBC_2.2.5 pthread_cond_* of binaries linked before 2002; dlsym(RTLD_NEXT) gives the
 * default GLIBC_2.3.2 functions, which every current binary uses.
 *
 * nsprof's own mutexes reach these hooks too: they pass through because nsprof takes them
 * inside a hook (th->in_hook) or on its own threads (unknown to ns_hook_enter).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <time.h>

#include "../sampler/interposed/blocking.h"
#include "../sampler/interposed/capture.h"
#include "../sampler/clock.h"
#include "../sampler/interposed/hooks.h"
#include "../sampler/interposed/lock_counts.h"
#include "../sampler/unwind/modules.h"
#include "../sampler/format/nsp_format.h"
#include "../sampler/interposed/resources.h"
#include "../sampler/interposed/sites.h"
#include "preload.h"

/* C11 <threads.h> is shadowed by sampler/sources/threads.h on the include path; what the hooks need
 * of it is glibc's ABI: opaque mtx_t and cnd_t handed through, and the thrd_* results. */
typedef union ns_c11_mtx mtx_t;
typedef union ns_c11_cnd cnd_t;
enum { thrd_success = 0, thrd_busy = 1, thrd_timedout = 4 };
int mtx_lock(mtx_t *);
int mtx_trylock(mtx_t *);
int mtx_timedlock(mtx_t *restrict, const struct timespec *restrict);
int mtx_init(mtx_t *, int);
void mtx_destroy(mtx_t *);
int cnd_wait(cnd_t *, mtx_t *);
int cnd_timedwait(cnd_t *restrict, mtx_t *restrict, const struct timespec *restrict);

#define NS_EXPORT_AS(name) __attribute__((visibility("default"), alias(#name)))
#define LIKELY(x)          __builtin_expect(!!(x), 1)
#define CALLER(r)                                                                                  \
    struct ns_regs r;                                                                              \
    NS_CALLER_REGS(r)
/* The hook's return address, read on entry: gcc's partial inlining may move the rest of a
 * hook into a separate function (hook.part.0), where __builtin_return_address would name the
 * hook instead of its caller. The empty asm pins the read here. */
#define CREATOR_IP(v)                                                                              \
    uintptr_t v = (uintptr_t)__builtin_return_address(0);                                          \
    __asm__ volatile("" : "+r"(v))

/* ---- libc's functions, resolved on first use ---- */

/* A hook may run before libnsprof's constructor (from another library's constructor), so
 * each function is looked up the first time it is needed. Racing threads store the same
 * pointer, so no lock is needed. */
#define REAL_FUNCTIONS(X)                                                                          \
    X(pthread_mutex_lock)                                                                          \
    X(pthread_mutex_trylock)                                                                       \
    X(pthread_mutex_timedlock)                                                                     \
    X(pthread_mutex_clocklock)                                                                     \
    X(pthread_mutex_init)                                                                          \
    X(pthread_mutex_destroy)                                                                       \
    X(pthread_rwlock_rdlock)                                                                       \
    X(pthread_rwlock_wrlock)                                                                       \
    X(pthread_rwlock_tryrdlock)                                                                    \
    X(pthread_rwlock_trywrlock)                                                                    \
    X(pthread_rwlock_timedrdlock)                                                                  \
    X(pthread_rwlock_timedwrlock)                                                                  \
    X(pthread_rwlock_clockrdlock)                                                                  \
    X(pthread_rwlock_clockwrlock)                                                                  \
    X(pthread_rwlock_init)                                                                         \
    X(pthread_rwlock_destroy)                                                                      \
    X(pthread_spin_lock)                                                                           \
    X(pthread_spin_trylock)                                                                        \
    X(pthread_spin_init)                                                                           \
    X(pthread_spin_destroy)                                                                        \
    X(pthread_cond_wait)                                                                           \
    X(pthread_cond_timedwait)                                                                      \
    X(pthread_cond_clockwait)                                                                      \
    X(mtx_lock)                                                                                    \
    X(mtx_trylock)                                                                                 \
    X(mtx_timedlock)                                                                               \
    X(mtx_init)                                                                                    \
    X(mtx_destroy)                                                                                 \
    X(cnd_wait)                                                                                    \
    X(cnd_timedwait)

#define DECLARE_REAL(name) static void *real_##name;
REAL_FUNCTIONS(DECLARE_REAL)

static void *real_fn(void **slot, const char *name)
{
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (LIKELY(p != NULL))
        return p;
    p = dlsym(RTLD_NEXT, name);
    __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    return p;
}

#define REAL(name) ((__typeof__(&name))real_fn(&real_##name, #name))

static int locks_on(void)
{
    return ns_hooks_enabled() & NS_HOOK_LOCKS;
}

/* Lock waits are recorded (--locks), or published as blocking calls (wall time), or both. */
static int waits_watched(void)
{
    return ns_hooks_enabled() & (NS_HOOK_LOCKS | NS_HOOK_BLOCK);
}

/* libnsprof.so's own image, from its ELF header to the end of its bss (symbols the linker
 * defines for every object). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

/* nsprof's own locks (its static mutexes: the stack table's, the names', the resources'...)
 * pass straight through, even when nsprof takes one outside a hook (at fork, at start):
 * counting or charging a call needs those very locks, which the caller may hold. */
static int own_lock(const void *lock)
{
    return (const char *)lock >= __ehdr_start && (const char *)lock < _end;
}

/* ---- pseudo frames: the called function, as the leaf of a stack ---- */

struct pseudo {
    const char *name; /* a literal: ns_pseudo_name keeps it */
    uint32_t id;      /* 0 until looked up */
};

static uint32_t pseudo_id(struct pseudo *p)
{
    uint32_t id = __atomic_load_n(&p->id, __ATOMIC_RELAXED);
    if (!id) {
        id = ns_pseudo_name(p->name);
        __atomic_store_n(&p->id, id, __ATOMIC_RELAXED);
    }
    return id;
}

#define PSEUDO(var, fn) static struct pseudo var = {#fn, 0}

/* ---- where each lock was created ---- */

/*
 * Creating a lock must stay cheap: a program may create millions of mutexes (one per
 * object) and contend on a handful. Capturing the creating stack at every init would cost
 * an unwind, a stack-table entry and a resource taken under the registry's mutex, and fill
 * those bounded tables with locks that never wait. So an init only remembers its return
 * address — the creating call site — in a direct-mapped table, one relaxed store (measured:
 * a mutex init+destroy pair goes from ~11 to ~25 ns with --locks on, 10M pairs, medians of
 * 9 runs); the lock's resource and stack are made at its
 * first contention, from that address. The table is lossy on purpose (bounded memory, no
 * lock): when another lock's init took the slot, the lock is named by the stack of its
 * first waiter instead, as statically initialised locks are. An entry packs the address
 * (below 2^47 in user space) with a tag from the lock's address hash, so that one 64-bit
 * store publishes both.
 */
#define CREATOR_BITS 17
#define TAG_BITS     17
#define NAMED_BITS   20

static uint64_t creators[1u << CREATOR_BITS];
/* Locks that were given a resource (a Bloom-like bitmap, never cleared): destroying any
 * other lock does not need the registry's mutex. */
static uint64_t named[(1u << NAMED_BITS) / 64];
/* Bumped when a named lock is forgotten: threads' cached resource ids are then stale. */
static uint32_t forget_gen;

static uint64_t lock_hash(const void *lock)
{
    return (uint64_t)(uintptr_t)lock * 0x9e3779b97f4a7c15ull;
}

static uint64_t *creator_slot(const void *lock)
{
    return &creators[lock_hash(lock) >> (64 - CREATOR_BITS)];
}

static uint64_t creator_tag(const void *lock)
{
    return (lock_hash(lock) >> 20) & ((1u << TAG_BITS) - 1);
}

static void creator_remember(const void *lock, uintptr_t ip)
{
    __atomic_store_n(creator_slot(lock), (uint64_t)ip << TAG_BITS | creator_tag(lock),
                     __ATOMIC_RELAXED);
}

static uintptr_t creator_of(const void *lock)
{
    uint64_t e = __atomic_load_n(creator_slot(lock), __ATOMIC_RELAXED);
    return (e & ((1u << TAG_BITS) - 1)) == creator_tag(lock) ? (uintptr_t)(e >> TAG_BITS) : 0;
}

static void creator_clear(const void *lock)
{
    uint64_t *slot = creator_slot(lock);
    uint64_t e = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if ((e & ((1u << TAG_BITS) - 1)) == creator_tag(lock))
        __atomic_compare_exchange_n(slot, &e, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static uint64_t *named_word(const void *lock, uint64_t *bit)
{
    uint64_t i = lock_hash(lock) >> (64 - NAMED_BITS);
    *bit = 1ull << (i % 64);
    return &named[i / 64];
}

static void named_set(const void *lock)
{
    uint64_t bit, *w = named_word(lock, &bit);
    if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}

static int named_test(const void *lock)
{
    uint64_t bit, *w = named_word(lock, &bit);
    return (__atomic_load_n(w, __ATOMIC_RELAXED) & bit) != 0;
}

enum lock_kind { LOCK_MUTEX, LOCK_RWLOCK, LOCK_SPIN, LOCK_MTX };

PSEUDO(p_mutex_init, pthread_mutex_init);
PSEUDO(p_rwlock_init, pthread_rwlock_init);
PSEUDO(p_spin_init, pthread_spin_init);
PSEUDO(p_mtx_init, mtx_init);

static const struct {
    const char *name; /* the resource's name */
    struct pseudo *init;
} kinds[] = {
    [LOCK_MUTEX] = {"mutex", &p_mutex_init},
    [LOCK_RWLOCK] = {"rwlock", &p_rwlock_init},
    [LOCK_SPIN] = {"spinlock", &p_spin_init},
    [LOCK_MTX] = {"mutex", &p_mtx_init},
};

/* An init: remember the call site; a lock that was named in an earlier life at this address
 * (freed without destroy) is forgotten. Skipped for nsprof's own calls. */
static void lock_created(const void *lock, uintptr_t ip);
/* A destroy: the address may hold another lock next. */
static void lock_destroyed(const void *lock);

static void lock_forget_named(const void *lock)
{
    if (!named_test(lock))
        return;
    ns_lock_forget(lock);
    __atomic_fetch_add(&forget_gen, 1, __ATOMIC_RELEASE);
}

/* Init and destroy do their bookkeeping on unknown threads too (a lock outlives the thread
 * that made it), but never inside nsprof: ns_lock_forget takes the registry's mutex. */
static struct ns_thread *bookkeeping_enter(int *ok)
{
    struct ns_thread *th = ns_threads_current();
    *ok = !th || !th->in_hook;
    if (th && *ok)
        th->in_hook = 1;
    return th;
}

static void lock_created(const void *lock, uintptr_t ip)
{
    int ok;
    struct ns_thread *th = bookkeeping_enter(&ok);
    if (!ok)
        return;
    lock_forget_named(lock);
    creator_remember(lock, ip);
    if (th)
        ns_hook_leave(th);
}

static void lock_destroyed(const void *lock)
{
    int ok;
    struct ns_thread *th = bookkeeping_enter(&ok);
    if (!ok)
        return;
    creator_clear(lock);
    lock_forget_named(lock);
    if (th)
        ns_hook_leave(th);
}

/* [init function, creating call site]: the creator's stack is gone by the time the lock is
 * contended, so its call site is the one frame known. */
static struct ns_stack_entry *creator_stack(struct ns_thread *th, uint32_t init_id, uintptr_t ip)
{
    return ns_capture_call_site(th, ip, init_id);
}

struct namer {
    struct ns_thread *th;
    uintptr_t creator;
    uint32_t init_id;
    struct ns_stack_entry *waiter;
};

static struct ns_stack_entry *name_lock(void *ctx)
{
    struct namer *n = ctx;
    return n->creator ? creator_stack(n->th, n->init_id, n->creator) : n->waiter;
}

/* The last locks this thread waited for: repeated waits on the same lock do not take the
 * registry's mutex, which the waiters of one hot lock would otherwise contend on too. */
#define WAITED_CACHE 8

struct waited_lock {
    const void *lock;
    uint32_t id, gen;
};

static __thread struct waited_lock waited_cache[WAITED_CACHE]
    __attribute__((tls_model("initial-exec")));

static uint32_t lock_resource(struct ns_thread *th, const void *lock, enum lock_kind kind,
                              struct ns_stack_entry *waiter)
{
    uint32_t gen = __atomic_load_n(&forget_gen, __ATOMIC_ACQUIRE);
    struct waited_lock *c = &waited_cache[lock_hash(lock) >> (64 - 3)];
    if (c->lock == lock && c->gen == gen && c->id)
        return c->id;
    struct namer n = {th, creator_of(lock), 0, waiter};
    if (n.creator)
        n.init_id = pseudo_id(kinds[kind].init);
    uint32_t id = ns_lock_resource(lock, kinds[kind].name, name_lock, &n);
    named_set(lock);
    *c = (struct waited_lock){lock, id, gen};
    return id;
}

/* ---- charging a wait ---- */

/* An acquiring call of lock from the call site `ip` whose try found it free (--locks): one
 * more call there, no shared write (lock_counts.h). */
static void count_call(const void *lock, uintptr_t ip, struct pseudo *fn)
{
    if (!locks_on())
        return;
    struct ns_thread *th = ns_threads_current();
    if (th && !th->in_hook)
        ns_lock_count(th, lock, ip, fn->name, &fn->id, 0, 0);
}

/* lock == NULL: a condition-variable wait (no resource). ip: the call site (contended
 * acquisitions are counted there too). */
static void charge(const struct ns_regs *caller, struct pseudo *fn, const void *lock,
                   enum lock_kind kind, uint64_t t0)
{
    uint64_t waited = ns_now_ns() - t0;
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_LOCKS);
    if (th) {
        struct ns_stack_entry *stack = ns_capture(th, caller, pseudo_id(fn));
        uint32_t resource = lock ? lock_resource(th, lock, kind, stack) : 0;
        if (lock)
            ns_lock_count(th, lock, (uintptr_t)caller->ip, fn->name, &fn->id, 1, resource);
        struct ns_site *s = ns_site_get(th, lock ? NS_SITE_LOCK : NS_SITE_COND, stack, resource);
        /* The wait is also the histogram's value: the report's distribution of waits, and
         * their count. */
        if (s)
            ns_site_add(s, waited, waited, 1);
        ns_hook_leave(th);
    }
    errno = saved;
}

/* Whether the blocking call waited for the lock: it got it (EOWNERDEAD: got it from a dead
 * owner) or gave up at its timeout. EDEADLK and the other errors return without waiting. */
static int waited_for_lock(int r)
{
    return r == 0 || r == EOWNERDEAD || r == ETIMEDOUT;
}

static int clock_accepted(clockid_t clock)
{
    return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

static int timeout_accepted(const struct timespec *t)
{
    return t && t->tv_nsec >= 0 && t->tv_nsec < 1000000000;
}

/*
 * The body of every pthread acquiring hook. `try` is the non-blocking attempt; `block` the
 * real blocking call, timed only when the attempt found the lock busy. Expanded in the hook
 * itself, so that NS_CALLER_REGS reads the hook's own frame.
 */
#define ACQUIRE(lock, kind, fn, try, block)                                                        \
    do {                                                                                           \
        PSEUDO(p_, fn);                                                                            \
        if (!waits_watched() || own_lock((const void *)(uintptr_t)(lock)))                         \
            return block;                                                                          \
        CREATOR_IP(ip_);                                                                           \
        int r_ = try;                                                                              \
        if (LIKELY(r_ != EBUSY)) {                                                                 \
            if (r_ == 0)                                                                           \
                count_call((const void *)(uintptr_t)(lock), ip_, &p_);                             \
            return r_;                                                                             \
        }                                                                                          \
        CALLER(c_);                                                                                \
        struct ns_block_token b_ = ns_block_begin(&c_, p_.name, &p_.id, NS_BLOCK_LOCK);            \
        uint64_t t0_ = ns_now_ns();                                                                \
        r_ = block;                                                                                \
        ns_block_end(b_, 0);                                                                       \
        if (waited_for_lock(r_))                                                                   \
            charge(&c_, &p_, (const void *)(uintptr_t)(lock), (kind), t0_);                        \
        return r_;                                                                                 \
    } while (0)

/* ---- mutexes ---- */

/* glibc's flag in a mutex's kind (nptl/pthreadP.h): shared between processes. */
#define GLIBC_MUTEX_PSHARED_BIT 128

/* A process that never had a second thread cannot wait for a private mutex: it gets it, or
 * it deadlocks against itself (the real call says which). Passing such calls straight on
 * keeps glibc's single-thread fast path (no atomic instruction), which a trylock would not:
 * --locks then costs a single-threaded program a flag test, not twice its lock time. */
static int cannot_wait(const pthread_mutex_t *m)
{
    return __libc_single_threaded && !(m->__data.__kind & GLIBC_MUTEX_PSHARED_BIT);
}

int ns_hook_pthread_mutex_lock(pthread_mutex_t *m)
{
    if (cannot_wait(m))
        return REAL(pthread_mutex_lock)(m);
    ACQUIRE(m, LOCK_MUTEX, pthread_mutex_lock, REAL(pthread_mutex_trylock)(m),
            REAL(pthread_mutex_lock)(m));
}

int ns_hook_pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
    if (!timeout_accepted(t))
        return REAL(pthread_mutex_timedlock)(m, t);
    ACQUIRE(m, LOCK_MUTEX, pthread_mutex_timedlock, REAL(pthread_mutex_trylock)(m),
            REAL(pthread_mutex_timedlock)(m, t));
}

int ns_hook_pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *t)
{
    if (!clock_accepted(clock) || !timeout_accepted(t))
        return REAL(pthread_mutex_clocklock)(m, clock, t);
    ACQUIRE(m, LOCK_MUTEX, pthread_mutex_clocklock, REAL(pthread_mutex_trylock)(m),
            REAL(pthread_mutex_clocklock)(m, clock, t));
}

int ns_hook_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    CREATOR_IP(ip);
    int r = REAL(pthread_mutex_init)(m, attr);
    if (r == 0 && locks_on())
        lock_created(m, ip);
    return r;
}

int ns_hook_pthread_mutex_destroy(pthread_mutex_t *m)
{
    int r = REAL(pthread_mutex_destroy)(m);
    if (r == 0 && locks_on())
        lock_destroyed(m);
    return r;
}

/* ---- read-write locks ---- */

int ns_hook_pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    ACQUIRE(l, LOCK_RWLOCK, pthread_rwlock_rdlock, REAL(pthread_rwlock_tryrdlock)(l),
            REAL(pthread_rwlock_rdlock)(l));
}

int ns_hook_pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    ACQUIRE(l, LOCK_RWLOCK, pthread_rwlock_wrlock, REAL(pthread_rwlock_trywrlock)(l),
            REAL(pthread_rwlock_wrlock)(l));
}

int ns_hook_pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *t)
{
    if (!timeout_accepted(t))
        return REAL(pthread_rwlock_timedrdlock)(l, t);
    ACQUIRE(l, LOCK_RWLOCK, pthread_rwlock_timedrdlock, REAL(pthread_rwlock_tryrdlock)(l),
            REAL(pthread_rwlock_timedrdlock)(l, t));
}

int ns_hook_pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *t)
{
    if (!timeout_accepted(t))
        return REAL(pthread_rwlock_timedwrlock)(l, t);
    ACQUIRE(l, LOCK_RWLOCK, pthread_rwlock_timedwrlock, REAL(pthread_rwlock_trywrlock)(l),
            REAL(pthread_rwlock_timedwrlock)(l, t));
}

int ns_hook_pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock,
                                       const struct timespec *t)
{
    if (!clock_accepted(clock) || !timeout_accepted(t))
        return REAL(pthread_rwlock_clockrdlock)(l, clock, t);
    ACQUIRE(l, LOCK_RWLOCK, pthread_rwlock_clockrdlock, REAL(pthread_rwlock_tryrdlock)(l),
            REAL(pthread_rwlock_clockrdlock)(l, clock, t));
}

int ns_hook_pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock,
                                       const struct timespec *t)
{
    if (!clock_accepted(clock) || !timeout_accepted(t))
        return REAL(pthread_rwlock_clockwrlock)(l, clock, t);
    ACQUIRE(l, LOCK_RWLOCK, pthread_rwlock_clockwrlock, REAL(pthread_rwlock_trywrlock)(l),
            REAL(pthread_rwlock_clockwrlock)(l, clock, t));
}

int ns_hook_pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
    CREATOR_IP(ip);
    int r = REAL(pthread_rwlock_init)(l, attr);
    if (r == 0 && locks_on())
        lock_created(l, ip);
    return r;
}

int ns_hook_pthread_rwlock_destroy(pthread_rwlock_t *l)
{
    int r = REAL(pthread_rwlock_destroy)(l);
    if (r == 0 && locks_on())
        lock_destroyed(l);
    return r;
}

/* ---- spinlocks ---- */

int ns_hook_pthread_spin_lock(pthread_spinlock_t *l)
{
    ACQUIRE(l, LOCK_SPIN, pthread_spin_lock, REAL(pthread_spin_trylock)(l),
            REAL(pthread_spin_lock)(l));
}

int ns_hook_pthread_spin_init(pthread_spinlock_t *l, int pshared)
{
    CREATOR_IP(ip);
    int r = REAL(pthread_spin_init)(l, pshared);
    if (r == 0 && locks_on())
        lock_created((const void *)(uintptr_t)l, ip);
    return r;
}

int ns_hook_pthread_spin_destroy(pthread_spinlock_t *l)
{
    int r = REAL(pthread_spin_destroy)(l);
    if (r == 0 && locks_on())
        lock_destroyed((const void *)(uintptr_t)l);
    return r;
}

/* ---- C11 mutexes: thrd_* results, not errno values ---- */

static int mtx_waited(int r)
{
    return r == thrd_success || r == thrd_timedout;
}

#define MTX_ACQUIRE(m, fn, block)                                                                  \
    do {                                                                                           \
        PSEUDO(p_, fn);                                                                            \
        if (!waits_watched() || own_lock(m))                                                       \
            return block;                                                                          \
        CREATOR_IP(ip_);                                                                           \
        int r_ = REAL(mtx_trylock)(m);                                                             \
        if (LIKELY(r_ != thrd_busy)) {                                                             \
            if (r_ == thrd_success)                                                                \
                count_call((m), ip_, &p_);                                                         \
            return r_;                                                                             \
        }                                                                                          \
        CALLER(c_);                                                                                \
        struct ns_block_token b_ = ns_block_begin(&c_, p_.name, &p_.id, NS_BLOCK_LOCK);            \
        uint64_t t0_ = ns_now_ns();                                                                \
        r_ = block;                                                                                \
        ns_block_end(b_, 0);                                                                       \
        if (mtx_waited(r_))                                                                        \
            charge(&c_, &p_, (m), LOCK_MTX, t0_);                                                  \
        return r_;                                                                                 \
    } while (0)

int ns_hook_mtx_lock(mtx_t *m)
{
    MTX_ACQUIRE(m, mtx_lock, REAL(mtx_lock)(m));
}

int ns_hook_mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict t)
{
    if (!timeout_accepted(t))
        return REAL(mtx_timedlock)(m, t);
    MTX_ACQUIRE(m, mtx_timedlock, REAL(mtx_timedlock)(m, t));
}

int ns_hook_mtx_init(mtx_t *m, int type)
{
    CREATOR_IP(ip);
    int r = REAL(mtx_init)(m, type);
    if (r == thrd_success && locks_on())
        lock_created(m, ip);
    return r;
}

void ns_hook_mtx_destroy(mtx_t *m)
{
    REAL(mtx_destroy)(m);
    if (locks_on())
        lock_destroyed(m);
    NS_KEEP_FRAME();
}

/* ---- condition variables: idle time, all of it ---- */

/*
 * The real wait runs outside ns_hook_enter: it is a cancellation point, and a thread
 * cancelled inside it unwinds through this frame with nothing of nsprof's to undo (its
 * blocking entry stays open; the agent ends it at the thread's next call, blocking.h).
 */
#define COND_WAIT(fn, call)                                                                        \
    do {                                                                                           \
        PSEUDO(p_, fn);                                                                            \
        if (!waits_watched())                                                                      \
            return call;                                                                           \
        CALLER(c_);                                                                                \
        struct ns_block_token b_ = ns_block_begin(&c_, p_.name, &p_.id, NS_BLOCK_COND);            \
        uint64_t t0_ = ns_now_ns();                                                                \
        int r_ = call;                                                                             \
        ns_block_end(b_, 0);                                                                       \
        charge(&c_, &p_, NULL, LOCK_MUTEX, t0_);                                                   \
        return r_;                                                                                 \
    } while (0)

int ns_hook_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    COND_WAIT(pthread_cond_wait, REAL(pthread_cond_wait)(c, m));
}

int ns_hook_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    COND_WAIT(pthread_cond_timedwait, REAL(pthread_cond_timedwait)(c, m, t));
}

int ns_hook_pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                   const struct timespec *t)
{
    COND_WAIT(pthread_cond_clockwait, REAL(pthread_cond_clockwait)(c, m, clock, t));
}

int ns_hook_cnd_wait(cnd_t *c, mtx_t *m)
{
    COND_WAIT(cnd_wait, REAL(cnd_wait)(c, m));
}

int ns_hook_cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict t)
{
    COND_WAIT(cnd_timedwait, REAL(cnd_timedwait)(c, m, t));
}

/* ---- exported under libc's names ---- */

int pthread_mutex_lock(pthread_mutex_t *) NS_EXPORT_AS(ns_hook_pthread_mutex_lock);
int pthread_mutex_timedlock(pthread_mutex_t *, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_mutex_timedlock);
int pthread_mutex_clocklock(pthread_mutex_t *, clockid_t, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_mutex_clocklock);
int pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *)
    NS_EXPORT_AS(ns_hook_pthread_mutex_init);
int pthread_mutex_destroy(pthread_mutex_t *) NS_EXPORT_AS(ns_hook_pthread_mutex_destroy);
int pthread_rwlock_rdlock(pthread_rwlock_t *) NS_EXPORT_AS(ns_hook_pthread_rwlock_rdlock);
int pthread_rwlock_wrlock(pthread_rwlock_t *) NS_EXPORT_AS(ns_hook_pthread_rwlock_wrlock);
int pthread_rwlock_timedrdlock(pthread_rwlock_t *, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_rwlock_timedrdlock);
int pthread_rwlock_timedwrlock(pthread_rwlock_t *, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_rwlock_timedwrlock);
int pthread_rwlock_clockrdlock(pthread_rwlock_t *, clockid_t, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_rwlock_clockrdlock);
int pthread_rwlock_clockwrlock(pthread_rwlock_t *, clockid_t, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_rwlock_clockwrlock);
int pthread_rwlock_init(pthread_rwlock_t *, const pthread_rwlockattr_t *)
    NS_EXPORT_AS(ns_hook_pthread_rwlock_init);
int pthread_rwlock_destroy(pthread_rwlock_t *) NS_EXPORT_AS(ns_hook_pthread_rwlock_destroy);
int pthread_spin_lock(pthread_spinlock_t *) NS_EXPORT_AS(ns_hook_pthread_spin_lock);
int pthread_spin_init(pthread_spinlock_t *, int) NS_EXPORT_AS(ns_hook_pthread_spin_init);
int pthread_spin_destroy(pthread_spinlock_t *) NS_EXPORT_AS(ns_hook_pthread_spin_destroy);
int mtx_lock(mtx_t *) NS_EXPORT_AS(ns_hook_mtx_lock);
int mtx_timedlock(mtx_t *restrict, const struct timespec *restrict)
    NS_EXPORT_AS(ns_hook_mtx_timedlock);
int mtx_init(mtx_t *, int) NS_EXPORT_AS(ns_hook_mtx_init);
void mtx_destroy(mtx_t *) NS_EXPORT_AS(ns_hook_mtx_destroy);
int pthread_cond_wait(pthread_cond_t *, pthread_mutex_t *) NS_EXPORT_AS(ns_hook_pthread_cond_wait);
int pthread_cond_timedwait(pthread_cond_t *, pthread_mutex_t *, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_cond_timedwait);
int pthread_cond_clockwait(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *)
    NS_EXPORT_AS(ns_hook_pthread_cond_clockwait);
int cnd_wait(cnd_t *, mtx_t *) NS_EXPORT_AS(ns_hook_cnd_wait);
int cnd_timedwait(cnd_t *restrict, mtx_t *restrict, const struct timespec *restrict)
    NS_EXPORT_AS(ns_hook_cnd_timedwait);
