/*
 * helpers — profiles built in memory and a fake symbol resolver, so the report module is
 * tested without .nsp files or ELF binaries.
 *
 * A test profile is a struct ns_profile whose arrays the helpers grow one element at a time
 * (ids are array indices, entry 0 being the "none" entry, as the reader leaves them).
 */
#ifndef NS_TEST_REPORT_HELPERS_H
#define NS_TEST_REPORT_HELPERS_H

#include <stdint.h>

#include "model.h"
#include "profile.h"

struct ns_profile *tp_new(const char *path, uint64_t pid, const char *exe);
void tp_free(struct ns_profile *p);

uint32_t tp_string(struct ns_profile *p, const char *s);
uint32_t tp_mapping(struct ns_profile *p, const char *path, uint32_t flags);
void tp_event(struct ns_profile *p, uint32_t id, const char *name, const char *unit,
              uint64_t period);
void tp_event_flags(struct ns_profile *p, uint32_t id, const char *name, const char *unit,
                    uint64_t period, uint32_t flags);
/* Frames leaf first, as (mapping, addr) pairs: tp_stack(p, end, 2, (uint64_t[]){m,a, m,a}). */
uint32_t tp_stack(struct ns_profile *p, uint8_t end, size_t nframes, const uint64_t *pairs);
void tp_thread(struct ns_profile *p, uint32_t tid, const char *name);
void tp_thread_stats(struct ns_profile *p, uint32_t tid, uint64_t cpu_ns, uint64_t samples);
void tp_sample(struct ns_profile *p, uint32_t event, int64_t time_ns, uint32_t tid, uint32_t stack,
               uint64_t weight);
/* A SITE_SAMPLES entry: a sample about a resource (0 = none). */
void tp_site_sample(struct ns_profile *p, uint32_t event, int64_t time_ns, uint32_t tid,
                    uint32_t stack, uint64_t weight, uint32_t resource);
/* A RESOURCE; returns its id. */
uint32_t tp_resource(struct ns_profile *p, uint32_t kind, const char *name, uint32_t stack);
/* A HISTOGRAM entry (not folded: the model must add entries of one key up). */
void tp_histogram(struct ns_profile *p, uint32_t event, uint32_t tid, uint32_t stack,
                  uint32_t resource, size_t nbuckets, const uint64_t *buckets);
/* A SERIES of n points given as (time_ns, value) pairs. */
void tp_series(struct ns_profile *p, const char *name, const char *unit, size_t n,
               const int64_t *pairs);
/* n samples at times 0, 1 ms, 2 ms, ... with the same thread, stack and weight. */
void tp_samples(struct ns_profile *p, size_t n, uint32_t event, uint32_t tid, uint32_t stack,
                uint64_t weight);
void tp_setting(struct ns_profile *p, const char *key, const char *value);
void tp_counter(struct ns_profile *p, const char *name, uint64_t value);
void tp_note(struct ns_profile *p, uint32_t level, const char *code, const char *text);
void tp_end(struct ns_profile *p, uint32_t reason, uint64_t status, uint64_t end_ns);

/* Fake symbols: (module path, addr) -> up to 4 frames, innermost first. */
struct fake_sym {
    const char *path;
    uint64_t addr;
    size_t n;
    struct ns_sym_frame frames[4];
};

struct fake_status {
    const char *path;
    enum ns_sym_status status;
    const char *detail;
};

struct fake_resolver {
    const struct fake_sym *syms;
    size_t nsyms;
    const struct fake_status *statuses;
    size_t nstatuses;
    size_t lookups;        /* calls to lookup */
    size_t status_queries; /* calls to module_status */
    struct ns_sym_frame unknown;
};

/* A resolver over f (f must outlive it). */
struct ns_resolver fake_resolver(struct fake_resolver *f);

/*
 * The standard fixture: /usr/bin/app (mapping 1) and /lib/libc.so.6 (mapping 2).
 *   S1 main>run>compute@30 x5 (tid 10 "app", 1 ms each)     end root
 *   S2 main>run>compute@31 x3 (tid 11 "worker", 2 ms each)  end root
 *   S3 main>compute>helper[i]>memcpy x2 (tid 12 "worker")   end depth
 *   S4 main>app+0x999 x1 (tid 10)                           end no_cfi
 *   S5 main>compute>helper[i]@util.h:5 x4 (tid 12)          end root
 * cpu event (id 1, ns, period 1 ms); thread stats 10: 8 ms/6, 11: 4 ms/3, 12: 12 ms/6.
 */
struct ns_profile *std_profile(const char *path, uint64_t pid);
extern struct fake_resolver std_fake;
/* A resolver over the fixture's symbols (counters reset). */
struct ns_resolver std_resolver(void);

/*
 * The interposed-calls fixture (format 1.1): event=none, alloc=ALLOC_MODE ("full" or
 * "sample"), io=on, locks=on. Mappings: /usr/bin/app (1), libc.so.6 (2), libstdc++.so.6 (3),
 * [nsprof] (4, named frames). Call sites (function, file:line, callee):
 *   load   load.c:22   malloc  alloc 3000 B / 3 calls at t=1 ms, 5000 B / 5 at 2 ms
 *   parse  parse.c:31  malloc  via libc strdup: 800 B / 40
 *   fill   fill.cc:12  malloc  via std::vector<int>::_M_realloc_insert [inlined] and
 *                              operator new (libstdc++): 1600 B / 2
 *   leaks: load 100 B at 5 ms then 300 B at 9 ms (a later snapshot); parse 40 B at 9 ms
 *   peak:  load 5000 B, fill 1600 B at 3 ms
 *   save   save.c:41   fwrite  stdio 100 calls 6400 B 1 ms; kernel 2 calls 8192 B 3 ms,
 *                              on /var/log/app.log; io_bytes histogram 2 x 4 KiB
 *   flush  log.c:51    write   kernel 10 calls 640 B 20 ms on "tcp 10.0.0.5:5432",
 *                              histogram 10 x [32,64) (two records adding up)
 *   read_cfg cfg.c:7   read    kernel 1 call 100 B 1 ms on a path with control bytes
 *   worker worker.c:61 pthread_mutex_lock  lock_wait 30 ms on lock 3 ("mutex", created at
 *                              init_locks init.c:5)
 *   wait_job job.cc:9  pthread_cond_wait via std::condition_variable::wait (libstdc++):
 *                              cond_wait 500 ms
 *   heap_live_bytes series: 0 at 0 ms, 4096 at 1 ms, 6600 at 3 ms, 2000 at 8 ms.
 */
struct ns_profile *ip_profile(const char *path, uint64_t pid, const char *alloc_mode);
/* A resolver over the interposed fixture's symbols. */
struct ns_resolver ip_resolver(void);

/* Builds a model of one or more profiles; fails the test on error. */
struct ns_model *build1(const struct ns_profile *p, const struct ns_model_options *o);
struct ns_model *buildn(const struct ns_profile *const *p, size_t n,
                        const struct ns_model_options *o);

/* The node of event `event` reached from its root through the process node and then the
 * functions named in path (root first, NULL-terminated); NS_NONE if absent. */
uint32_t find_path(const struct ns_model *m, uint32_t event, const char *const *path);
/* The func index named name (first match); NS_NONE if absent. */
uint32_t find_func(const struct ns_model *m, const char *name);
/* Number of children of a node. */
size_t child_count(const struct ns_model *m, uint32_t node);

#endif
