/*
 * lock_truth — lock waits whose answer is known by construction (issue 3, --locks).
 *
 *   lock_truth waits     (a) a mutex made by make_contended_lock (pthread_mutex_init) that
 *                        wait_contended blocks on exactly ROUNDS times; (b) a mutex that
 *                        uncontended_work locks UNCONTENDED times with no other user;
 *                        (c) a pool of POOL threads idling in pthread_cond_wait in pool_worker,
 *                        fed ITEMS items each without any lock contention; (d) an rwlock made
 *                        by make_rwlock that READERS threads wait for in read_blocked, ROUNDS
 *                        times; (e) a static mutex first waited for in wait_static, once;
 *                        (f) a C11 mtx made by make_c11_lock waited for in wait_c11, once.
 *   lock_truth pshared   (g) a single-threaded process waits once, in wait_pshared, for a
 *                        process-shared mutex its child holds; then locks a private mutex
 *                        UNCONTENDED times (no wait possible: it is the only thread).
 *   lock_truth types     what recursive, error-checking, robust mutexes and rwlocks answer
 *                        (printed: the output must not change under nsprof).
 *   lock_truth bench N   N uncontended lock/unlock pairs: ns per pair.
 *   lock_truth inits N   N mutex init/destroy pairs: ns per pair.
 *
 * "Contended by construction": the holder keeps the lock until the waiter is verifiably
 * blocked on it — /proc/self/task/TID/syscall shows it in futex() on an address inside the
 * lock — and only then releases it. No sleeps.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS      5
#define READERS     2
#define POOL        2
#define ITEMS       20
#define UNCONTENDED 100000

#define NOINLINE __attribute__((noinline))

static void die(const char *what)
{
    fprintf(stderr, "lock_truth: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void check(int rc, const char *what)
{
    if (rc != 0) {
        errno = rc;
        die(what);
    }
}

/* ---- knowing that a thread is blocked on an object ---- */

/* Thread tid of process pid (a process's main thread: tid = pid). */
static int blocked_in(pid_t pid, pid_t tid, const void *obj, size_t size)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    long nr;
    unsigned long uaddr;
    if (sscanf(buf, "%ld 0x%lx", &nr, &uaddr) != 2)
        return 0; /* "running" */
    uintptr_t lo = (uintptr_t)obj;
    return nr == SYS_futex && uaddr >= lo && uaddr < lo + size;
}

static void wait_until_blocked(pid_t tid, const void *obj, size_t size)
{
    while (!blocked_in(getpid(), tid, obj, size))
        sched_yield();
}

static void send_tid(int fd)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (write(fd, &tid, sizeof(tid)) != sizeof(tid))
        die("write");
}

static pid_t receive_tid(int fd)
{
    pid_t tid;
    if (read(fd, &tid, sizeof(tid)) != sizeof(tid))
        die("read");
    return tid;
}

static void make_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        die("pipe");
}

/* ---- (a) a contended mutex ---- */

struct contended {
    pthread_mutex_t *lock;
    int ready[2], go[2], done[2];
};

NOINLINE static pthread_mutex_t *make_contended_lock(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    if (!m)
        die("malloc");
    check(pthread_mutex_init(m, NULL), "pthread_mutex_init");
    return m;
}

NOINLINE static void wait_contended(struct contended *c)
{
    check(pthread_mutex_lock(c->lock), "pthread_mutex_lock");
    check(pthread_mutex_unlock(c->lock), "pthread_mutex_unlock");
}

/* Each round starts when the holder has the lock ("go"), so every lock here waits. */
static void *contended_waiter(void *p)
{
    struct contended *c = p;
    send_tid(c->ready[1]);
    for (int i = 0; i < ROUNDS; i++) {
        receive_tid(c->go[0]);
        wait_contended(c);
        send_tid(c->done[1]);
    }
    return NULL;
}

NOINLINE static void hold_until_blocked(struct contended *c)
{
    pid_t waiter = receive_tid(c->ready[0]);
    for (int i = 0; i < ROUNDS; i++) {
        check(pthread_mutex_lock(c->lock), "pthread_mutex_lock"); /* free: the waiter is done */
        send_tid(c->go[1]);
        wait_until_blocked(waiter, c->lock, sizeof(*c->lock));
        check(pthread_mutex_unlock(c->lock), "pthread_mutex_unlock");
        receive_tid(c->done[0]);
    }
}

static void contended_mutex(void)
{
    struct contended c = {make_contended_lock(), {0}, {0}, {0}};
    make_pipe(c.ready);
    make_pipe(c.go);
    make_pipe(c.done);
    pthread_t t;
    check(pthread_create(&t, NULL, contended_waiter, &c), "pthread_create");
    hold_until_blocked(&c);
    check(pthread_join(t, NULL), "pthread_join");
    check(pthread_mutex_destroy(c.lock), "pthread_mutex_destroy");
    free(c.lock);
    printf("contended waits %d\n", ROUNDS);
}

/* ---- (b) a mutex nobody else uses ---- */

NOINLINE static unsigned long uncontended_work(void)
{
    static pthread_mutex_t m;
    check(pthread_mutex_init(&m, NULL), "pthread_mutex_init");
    volatile unsigned long counter = 0;
    for (int i = 0; i < UNCONTENDED; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
    }
    pthread_mutex_destroy(&m);
    return counter;
}

/* ---- (c) a pool of threads waiting for work ---- */

struct worker {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int items, quit;
    long done;
    pid_t tid;
    int ready[2];
};

static void *pool_worker(void *p)
{
    struct worker *w = p;
    pthread_mutex_lock(&w->lock);
    send_tid(w->ready[1]);
    for (;;) {
        while (!w->items && !w->quit)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->items)
            break;
        w->items--;
        w->done++;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/*
 * Posts once the worker has taken the previous item and is back inside pthread_cond_wait:
 * then every item costs exactly one wait. A worker still seen in futex may only have been
 * woken, not yet run; holding its mutex with nothing left to take proves it is waiting
 * again (pthread_cond_wait released the mutex). trylock, never lock: the poster must not
 * wait for the mutex either, so the pool shows idle time only.
 */
NOINLINE static void post_work(struct worker *w, int quit)
{
    for (;;) {
        wait_until_blocked(w->tid, &w->wake, sizeof(w->wake));
        if (pthread_mutex_trylock(&w->lock) == 0) {
            if (!w->items)
                break;
            pthread_mutex_unlock(&w->lock);
        }
        sched_yield();
    }
    if (quit)
        w->quit = 1;
    else
        w->items++;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

static void idle_pool(void)
{
    struct worker w[POOL];
    pthread_t t[POOL];
    for (int i = 0; i < POOL; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        check(pthread_mutex_init(&w[i].lock, NULL), "pthread_mutex_init");
        check(pthread_cond_init(&w[i].wake, NULL), "pthread_cond_init");
        make_pipe(w[i].ready);
        check(pthread_create(&t[i], NULL, pool_worker, &w[i]), "pthread_create");
        w[i].tid = receive_tid(w[i].ready[0]);
    }
    for (int n = 0; n < ITEMS; n++) {
        for (int i = 0; i < POOL; i++) {
            post_work(&w[i], 0);
        }
    }
    long done = 0;
    for (int i = 0; i < POOL; i++) {
        post_work(&w[i], 1);
        check(pthread_join(t[i], NULL), "pthread_join");
        done += w[i].done;
    }
    printf("pool items %ld\n", done);
}

/* ---- (d) readers blocked by a writer ---- */

struct rw {
    pthread_rwlock_t *lock;
    int ready[2], go[2], done[2];
};

NOINLINE static pthread_rwlock_t *make_rwlock(void)
{
    pthread_rwlock_t *l = malloc(sizeof(*l));
    if (!l)
        die("malloc");
    check(pthread_rwlock_init(l, NULL), "pthread_rwlock_init");
    return l;
}

NOINLINE static void read_blocked(struct rw *r)
{
    check(pthread_rwlock_rdlock(r->lock), "pthread_rwlock_rdlock");
    check(pthread_rwlock_unlock(r->lock), "pthread_rwlock_unlock");
}

static void *rw_reader(void *p)
{
    struct rw *r = p;
    send_tid(r->ready[1]);
    for (int i = 0; i < ROUNDS; i++) {
        receive_tid(r->go[0]);
        read_blocked(r);
        send_tid(r->done[1]);
    }
    return NULL;
}

NOINLINE static void write_while_readers_wait(struct rw *r)
{
    pid_t readers[READERS];
    for (int k = 0; k < READERS; k++)
        readers[k] = receive_tid(r->ready[0]);
    for (int i = 0; i < ROUNDS; i++) {
        check(pthread_rwlock_wrlock(r->lock), "pthread_rwlock_wrlock");
        for (int k = 0; k < READERS; k++)
            send_tid(r->go[1]);
        for (int k = 0; k < READERS; k++)
            wait_until_blocked(readers[k], r->lock, sizeof(*r->lock));
        check(pthread_rwlock_unlock(r->lock), "pthread_rwlock_unlock");
        for (int k = 0; k < READERS; k++)
            receive_tid(r->done[0]);
    }
}

static void rwlock_readers(void)
{
    struct rw r = {make_rwlock(), {0}, {0}, {0}};
    make_pipe(r.ready);
    make_pipe(r.go);
    make_pipe(r.done);
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        check(pthread_create(&t[i], NULL, rw_reader, &r), "pthread_create");
    write_while_readers_wait(&r);
    for (int i = 0; i < READERS; i++)
        check(pthread_join(t[i], NULL), "pthread_join");
    check(pthread_rwlock_destroy(r.lock), "pthread_rwlock_destroy");
    free(r.lock);
    printf("rwlock waits %d\n", ROUNDS * READERS);
}

/* ---- (e) a statically initialised mutex, (f) a C11 mutex ---- */

static pthread_mutex_t static_lock = PTHREAD_MUTEX_INITIALIZER;
static mtx_t c11_lock;

struct once {
    int ready[2];
};

NOINLINE static void wait_static(void)
{
    pthread_mutex_lock(&static_lock);
    pthread_mutex_unlock(&static_lock);
}

NOINLINE static void wait_c11(void)
{
    if (mtx_lock(&c11_lock) != thrd_success)
        die("mtx_lock");
    mtx_unlock(&c11_lock);
}

static void *once_waiter(void *p)
{
    struct once *o = p;
    send_tid(o->ready[1]);
    wait_static();
    send_tid(o->ready[1]);
    wait_c11();
    return NULL;
}

NOINLINE static void make_c11_lock(void)
{
    if (mtx_init(&c11_lock, mtx_plain) != thrd_success)
        die("mtx_init");
}

static void static_and_c11(void)
{
    make_c11_lock();
    struct once o;
    make_pipe(o.ready);
    pthread_t t;
    pthread_mutex_lock(&static_lock);
    mtx_lock(&c11_lock);
    check(pthread_create(&t, NULL, once_waiter, &o), "pthread_create");
    wait_until_blocked(receive_tid(o.ready[0]), &static_lock, sizeof(static_lock));
    pthread_mutex_unlock(&static_lock);
    wait_until_blocked(receive_tid(o.ready[0]), &c11_lock, sizeof(c11_lock));
    mtx_unlock(&c11_lock);
    check(pthread_join(t, NULL), "pthread_join");
    mtx_destroy(&c11_lock);
    printf("static and c11 waits 1 1\n");
}

/* ---- what mutex types answer ---- */

static void mutex_of_type(pthread_mutex_t *m, int type, int robust)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    if (robust)
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    check(pthread_mutex_init(m, &a), "pthread_mutex_init");
    pthread_mutexattr_destroy(&a);
}

static void *die_holding(void *p)
{
    pthread_mutex_lock(p);
    return NULL; /* the owner dies: the next lock answers EOWNERDEAD */
}

static void types(void)
{
    pthread_mutex_t rec, ec, robust;
    mutex_of_type(&rec, PTHREAD_MUTEX_RECURSIVE, 0);
    int a = pthread_mutex_lock(&rec), b = pthread_mutex_lock(&rec);
    int c = pthread_mutex_unlock(&rec), d = pthread_mutex_unlock(&rec);
    printf("recursive lock %d lock %d unlock %d unlock %d unlock %d\n", a, b, c, d,
           pthread_mutex_unlock(&rec));

    mutex_of_type(&ec, PTHREAD_MUTEX_ERRORCHECK, 0);
    a = pthread_mutex_lock(&ec);
    b = pthread_mutex_lock(&ec);
    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    c = pthread_mutex_timedlock(&ec, &soon);
    d = pthread_mutex_unlock(&ec);
    printf("errorcheck lock %d lock %d timedlock %d unlock %d unlock %d\n", a, b, c, d,
           pthread_mutex_unlock(&ec));

    mutex_of_type(&robust, PTHREAD_MUTEX_ERRORCHECK, 1);
    pthread_t t;
    check(pthread_create(&t, NULL, die_holding, &robust), "pthread_create");
    check(pthread_join(t, NULL), "pthread_join");
    a = pthread_mutex_lock(&robust);
    b = pthread_mutex_consistent(&robust);
    c = pthread_mutex_lock(&robust);
    printf("robust lock %d consistent %d lock %d unlock %d\n", a, b, c,
           pthread_mutex_unlock(&robust));

    pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
    struct timespec bad = {0, 2000000000L};
    printf("timedlock bad timeout %d clocklock bad clock %d\n",
           pthread_mutex_timedlock(&plain, &bad),
           pthread_mutex_clocklock(&plain, CLOCK_PROCESS_CPUTIME_ID, &soon));

    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    a = pthread_rwlock_wrlock(&rw);
    b = pthread_rwlock_rdlock(&rw);
    c = pthread_rwlock_wrlock(&rw);
    d = pthread_rwlock_timedrdlock(&rw, &bad);
    printf("rwlock wrlock %d rdlock %d wrlock %d timedrdlock %d unlock %d\n", a, b, c, d,
           pthread_rwlock_unlock(&rw));
}

/* ---- (g) single-threaded processes sharing a mutex ---- */

/* The process waits for a process-shared mutex that its child holds until the process is
 * verifiably blocked on it: a wait that a single-threaded process can have. */
NOINLINE static void wait_pshared(pthread_mutex_t *m)
{
    check(pthread_mutex_lock(m), "pthread_mutex_lock (pshared)");
    check(pthread_mutex_unlock(m), "pthread_mutex_unlock (pshared)");
}

static void pshared(void)
{
    pthread_mutex_t *m =
        mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("mmap");
    pthread_mutexattr_t a;
    check(pthread_mutexattr_init(&a), "pthread_mutexattr_init");
    check(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), "setpshared");
    check(pthread_mutex_init(m, &a), "pthread_mutex_init (pshared)");
    int held[2];
    make_pipe(held);
    pid_t parent = getpid(), child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        check(pthread_mutex_lock(m), "child: pthread_mutex_lock");
        send_tid(held[1]);
        while (!blocked_in(parent, parent, m, sizeof(*m)))
            sched_yield();
        check(pthread_mutex_unlock(m), "child: pthread_mutex_unlock");
        _exit(0);
    }
    receive_tid(held[0]);
    wait_pshared(m);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
        die("child");
    /* A private mutex of a single-threaded process: never a wait. */
    static pthread_mutex_t private_lock = PTHREAD_MUTEX_INITIALIZER;
    for (int i = 0; i < UNCONTENDED; i++) {
        check(pthread_mutex_lock(&private_lock), "pthread_mutex_lock (private)");
        check(pthread_mutex_unlock(&private_lock), "pthread_mutex_unlock (private)");
    }
    printf("pshared waits 1 single_threaded %d\n", (int)__libc_single_threaded);
}

/* ---- costs ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench(long n)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    printf("lock/unlock %.2f ns per pair\n", (now_s() - t0) * 1e9 / (double)n);
}

static void inits(long n)
{
    pthread_mutex_t *m = malloc(1024 * sizeof(*m));
    if (!m)
        die("malloc");
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        pthread_mutex_init(&m[i % 1024], NULL);
        pthread_mutex_destroy(&m[i % 1024]);
    }
    printf("init/destroy %.2f ns per pair\n", (now_s() - t0) * 1e9 / (double)n);
    free(m);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "waits";
    if (strcmp(mode, "types") == 0) {
        types();
    } else if (strcmp(mode, "bench") == 0 || strcmp(mode, "inits") == 0) {
        long n = argc > 2 ? atol(argv[2]) : 10000000;
        (mode[0] == 'b' ? bench : inits)(n);
    } else if (strcmp(mode, "pshared") == 0) {
        pshared();
    } else if (strcmp(mode, "waits") == 0) {
        contended_mutex();
        printf("uncontended %lu\n", uncontended_work());
        idle_pool();
        rwlock_readers();
        static_and_c11();
    } else {
        fprintf(stderr, "usage: lock_truth [waits|types|pshared|bench N|inits N]\n");
        return 2;
    }
    return 0;
}
