/*
 * model_internal — state shared by the files that build the model (model_build.c,
 * model_frames.c, model_tree.c). Not for renderers: they read model.h only.
 *
 * A build reads profiles one at a time. For the current profile it keeps:
 *  - one "key" per distinct (event, stack id) that survived the per-sample filters, with
 *    its summed count and weight: the tree is built once per key, not once per sample,
 *    which is what makes a million-sample profile cheap;
 *  - a cache of resolved (mapping, addr) -> function frames, so each address is
 *    symbolized once;
 *  - res_base: where its resources start in the model's (profile resource id i >= 1 is
 *    model resource res_base + i - 1).
 */
#ifndef NS_REPORT_MODEL_INTERNAL_H
#define NS_REPORT_MODEL_INTERNAL_H

#include <regex.h>

#include "model.h"

struct nsb_key {
    uint32_t event; /* model event */
    uint32_t stack; /* stack id in the current profile */
    uint64_t count, weight;
    uint32_t leaf;     /* leaf node once inserted; NS_NONE if --function removed it */
    uint32_t site;     /* call site (aggregate events), else NS_NONE */
    int snapshot;      /* a snapshot event: only the entries at snap_time count */
    int64_t snap_time; /* the latest time of its entries */
};

struct nsb_frame {
    uint32_t func, line;
    const char *file; /* file of this line ("" if unknown) */
};

struct nsb_addr {
    uint32_t mapping;
    uint64_t addr;
    uint32_t first, n;  /* into rframes */
    uint8_t trampoline; /* nsprof's frame at addr only passes control on (model_frames.c) */
};

struct ns_build {
    struct ns_model *m;
    const struct ns_model_options *opt;
    regex_t re;
    int has_re;
    int8_t *func_match; /* per func: -1 not tested yet, 0 / 1 */
    size_t func_match_cap;
    size_t funcs_cap, nodes_cap, lines_cap, modules_cap, samples_cap, events_cap, threads_cap;
    size_t sites_cap, resources_cap, histograms_cap, series_cap;
    struct ns_itab func_tab, child_tab, line_tab, module_tab, thread_tab, site_tab, hist_tab;
    struct ns_itab db_tab;
    size_t db_stats_cap;

    /* The profile being read. */
    const struct ns_profile *prof;
    uint32_t process;
    uint32_t res_base;
    const uint32_t *event_map;   /* profile event position -> model event (NS_NONE: excluded) */
    uint32_t *module_of_mapping; /* [nmappings] */
    struct ns_itab addr_tab;
    struct nsb_addr *addrs;
    size_t naddrs, addrs_cap;
    struct nsb_frame *rframes;
    size_t nrframes, rframes_cap;
    struct nsb_frame *path; /* the stack being inserted, leaf first */
    size_t npath, path_cap;
    struct nsb_key *keys;
    size_t nkeys, keys_cap;
    struct nsb_serving {
        const char *name; /* the resolver's string for an interposed function */
        uint32_t mapping; /* the mapping serving it without nsprof, 0 if none */
        uint64_t addr;    /* its address there */
    } serving[64];
    size_t nserving;
    uint8_t trampoline;    /* set by the last push_interposed */
    uint32_t *module_mark; /* per module: mark_gen when the current stack counted it */
    size_t module_mark_cap;
    uint32_t mark_gen;
    char errbuf[256];
};

static inline uint64_t nsb_sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* model_frames.c */
int nsb_map_modules(struct ns_build *b);
/* Fills b->path with the frames of stack `stack` of the current profile, leaf first. */
int nsb_resolve_stack(struct ns_build *b, uint32_t stack);
/* Interns a function; its strings must already be pool strings. NS_NONE on failure. */
uint32_t nsb_func(struct ns_build *b, const struct ns_func *f);
void nsb_free_profile_state(struct ns_build *b);
/* Names the Debian package of each module a debug package would name (ns_module.package). */
int nsb_find_packages(struct ns_build *b);

/* model_build.c */
/* The model thread of (current process, tid), created if new; NS_NONE if out of memory. */
uint32_t nsb_thread_index(struct ns_build *b, uint32_t tid);
/* The position of event id in the current profile's events, or NS_NONE. */
uint32_t nsb_event_position(const struct ns_profile *p, uint32_t id);
/* Seconds to ns, clamped to the int64 range (--from / --to). */
int64_t nsb_seconds_to_ns(double s);

/* model_sites.c */
/* The call site of b->path for an event of family fam (NS_NONE for an empty path). */
int nsb_site(struct ns_build *b, enum ns_event_family fam, uint32_t *site);
/* Model resources of the current profile (sets b->res_base). */
int nsb_add_resources(struct ns_build *b);
/* model_db.c: the current profile's DB_STATS, summed per (execution site, query). */
int nsb_add_db_stats(struct ns_build *b);
/* The model resource of a profile resource id (NS_NONE for 0 or an unknown id). */
uint32_t nsb_resource(const struct ns_build *b, uint32_t id);
/* The current profile's histograms and series, with the filters applied. */
int nsb_add_histograms(struct ns_build *b);
int nsb_add_series(struct ns_build *b);
void nsb_free_extras(struct ns_model *m);

/* model_tree.c */
uint32_t nsb_new_root(struct ns_build *b, uint32_t event);
/* The child of parent for func, created if absent; NS_NONE on failure. */
uint32_t nsb_child(struct ns_build *b, uint32_t parent, uint32_t func);
/* Adds b->path (leaf first) under the current process in the tree of key->event. */
int nsb_insert_path(struct ns_build *b, struct nsb_key *key, uint8_t stack_end);
/* 1 if the path has a function matching --function (always 1 without the filter). */
int nsb_path_matches(struct ns_build *b);
int nsb_sort_children(struct ns_model *m);

#endif
