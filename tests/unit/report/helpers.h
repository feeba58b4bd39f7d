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
/* Frames leaf first, as (mapping, addr) pairs: tp_stack(p, end, 2, (uint64_t[]){m,a, m,a}). */
uint32_t tp_stack(struct ns_profile *p, uint8_t end, size_t nframes, const uint64_t *pairs);
void tp_thread(struct ns_profile *p, uint32_t tid, const char *name);
void tp_thread_stats(struct ns_profile *p, uint32_t tid, uint64_t cpu_ns, uint64_t samples);
void tp_sample(struct ns_profile *p, uint32_t event, int64_t time_ns, uint32_t tid, uint32_t stack,
               uint64_t weight);
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
