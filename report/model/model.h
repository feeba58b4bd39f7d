/*
 * Folder report/model/: the analysis model (this header is its contract), built from
 * profiles with a resolver (resolver.h: symbols; intern.h: pools and tables; debpkg.h:
 * packages of modules). Everything after it reads only this header.
 *
 * model — the analysis model of one profiling session: every output (text and JSON reports,
 * folded stacks, and later flame graphs, diffs and pprof) is a view of it and reads nothing
 * else. It is built from one or more loaded profiles (one file per process of a session)
 * and is self-contained: once built, the profiles and the symbolizer may be freed.
 *
 * Shape:
 *  - processes[]: one per file, with the facts the file recorded (settings, counters,
 *    notes, end, truncation) copied in.
 *  - funcs[]: "function nodes", the interned identity of a frame: function name, module
 *    basename, inline flag and the file DWARF declares the function in (when known), with
 *    the function's source file. Unknown addresses are
 *    named `module+0xADDR`
 *    (`[unknown]+0xADDR` outside every mapping). Each process also has a pseudo function
 *    (kind NS_FUNC_PROCESS, named after the executable's basename).
 *  - events[]: one call tree per event (cpu, wall, ...), merged across processes by event
 *    name. Each tree is event root -> process node -> outermost frame -> ... -> leaf.
 *    Frames inlined by the compiler are nodes of their own (their func is `inlined`).
 *  - nodes[]: the trees; parent / first_child / next_sibling links, self and total sample
 *    counts and weights (weight is in the event's unit). A child always has a larger
 *    index than its parent; siblings are ordered by total weight, heaviest first.
 *  - samples[]: every sample kept, with its time, thread and leaf node, for views that
 *    slice by time or thread.
 *  - lines[]: self weight per (event, leaf function, source file and line).
 *  - Format 1.1 (interposed calls): sites[] (where a call was made: the calling function and
 *    line, and the interposed function it called), resources[] (files, sockets, locks), a
 *    site and a resource per sample, histograms[] per (event, site, resource), and series[]
 *    (a quantity over time, per process).
 *
 * Events of interposed calls are *aggregate* (flags & NSP_EVENT_AGGREGATE): an entry is the
 * total of many calls, so counts are entries, not samples; only weights mean something.
 * *Snapshot* events (leak_bytes, peak_bytes) describe a state at one moment: for each
 * process and stack only the entries at its latest time are kept (several entries at that
 * time, e.g. from different threads, add up), so two snapshots are never added.
 *
 * Why the source file is not part of a function's identity: the symbolizer names the file
 * of each address's *line*, which for code #included into a function (glibc builds
 * vfprintf from several .c files) differs from line to line; keying functions by it would
 * split one function into several rows. A function's file is the file of the first line
 * seen for it; lines[] keep each line's own file. The declaring file (DW_AT_decl_file) is
 * one per function, so it is part of the identity: two static functions of one name in one
 * module are two functions, and vfprintf stays one.
 *
 * Filters are applied while building; filter_stats says how many samples each one kept, so
 * that "no samples" can name the filter that removed them.
 *
 * Symbolization goes through struct ns_resolver, a table of function pointers: the real
 * one wraps ns_sym (resolver.h), tests inject fake symbols. Each distinct (mapping, addr) of
 * a profile is resolved once.
 */
#ifndef NS_REPORT_MODEL_H
#define NS_REPORT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "nsp_format.h"
#include "profile.h"
#include "symbolizer.h"

/* libnsprof.so exports its trampolines (code that only passes control on to the program:
 * a thread's start routine, main) under names with this prefix, so the model can tell them
 * from nsprof's own work without debug information. */
#define NS_TRAMPOLINE_PREFIX "__nsprof_trampoline_"
/* ... and the code the loader runs for it (constructor, destructor) under this one: that is
 * nsprof's own work, never the program's. */
#define NS_OWN_WORK_PREFIX "__nsprof_own_"

/* How the model names addresses; see resolver.h for the one backed by ns_sym. */
struct ns_resolver {
    void *ctx;
    /* Frames for ELF vaddr addr of obj, innermost first (inlined callees first, the
     * containing function last), as ns_sym_lookup. Strings need only live until the next
     * call: the model copies them. */
    void (*lookup)(void *ctx, const struct ns_sym_object *obj, uint64_t addr,
                   const struct ns_sym_frame **frames, size_t *nframes);
    /* Optional: how well obj can be symbolized (ns_sym_module_status). */
    enum ns_sym_status (*module_status)(void *ctx, const struct ns_sym_object *obj,
                                        const char **detail);
    /* Optional: the name obj exports for the function holding addr (ns_sym_exported_at), and
     * where obj exports a function name (ns_sym_export_addr). They show a sample inside
     * nsprof's own interposer as the function the program called, in the object that
     * serves it. Without them such frames are elided, their time charged to the caller. */
    const char *(*exported_at)(void *ctx, const struct ns_sym_object *obj, uint64_t addr);
    int (*export_addr)(void *ctx, const struct ns_sym_object *obj, const char *name,
                       uint64_t *addr);
    /* Optional: the file an absolute recorded path names here, symlinks resolved (malloc'd),
     * or NULL; a module is shown under it. */
    char *(*canonical_path)(void *ctx, const char *path);
};

struct ns_model_options {
    const char *thread;   /* keep threads whose name contains this, or this tid; NULL: all */
    const char *function; /* keep samples whose stack has a function matching this */
    int function_regex;   /* function is a POSIX extended regex instead of a substring */
    int has_from, has_to; /* time range in seconds since each process's start: [from, to) */
    double from_s, to_s;
    const char *event; /* keep only this event (by name); NULL: all */
    int has_pid;
    uint64_t pid;  /* keep only files of this pid */
    int no_inline; /* do not expand inlined frames: keep only the containing function */
    const struct ns_resolver *resolver; /* NULL: no symbols, every frame is module+0xADDR */
    /* Called now and then while stacks are symbolized. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* dpkg's info directory, to name the package of a module without debug symbols (its
     * -dbgsym package is the fix); NULL: /var/lib/dpkg/info; "": do not look. */
    const char *dpkg_info_dir;
};

enum ns_func_kind {
    NS_FUNC_FRAME = 0,
    NS_FUNC_PROCESS = 1,
};

struct ns_func {
    const char *name;      /* function, or module+0xADDR when unknown */
    const char *module;    /* basename of the mapping's path; "" outside every mapping */
    const char *file;      /* its source file (of the first line seen); "" when unknown */
    const char *decl_file; /* where DWARF declares it, NULL when unknown: part of the key, so
                              two static functions of one name in one module are two */
    uint32_t module_index; /* into modules[], or NS_NONE */
    uint32_t process;      /* NS_FUNC_PROCESS: into processes[]; else NS_NONE */
    uint8_t kind;          /* enum ns_func_kind */
    uint8_t inlined;       /* this frame was inlined into its caller */
    uint8_t symbolized;    /* the name came from symbols (not module+0xADDR) */
    uint8_t named;         /* a named frame (mapping flag 8): the function an interposed call
                              called, e.g. malloc or write; its name is the file's string */
};

struct ns_node {
    uint32_t parent; /* NS_NONE for an event root */
    uint32_t first_child, next_sibling;
    uint32_t func; /* NS_NONE for an event root */
    uint32_t event;
    uint32_t depth;                     /* 0 root, 1 process, 2 outermost frame, ... */
    uint64_t self_count, self_weight;   /* samples whose leaf is this node */
    uint64_t total_count, total_weight; /* samples in this subtree */
};

/* Counts of samples per STACK.end value (FORMAT.md), plus one bucket for values that the
 * format does not define (a newer producer). */
#define NS_END_BUCKETS (NSP_END__COUNT + 1)

struct ns_event {
    const char *name, *unit; /* unit: "ns", "bytes" or "count" */
    uint64_t period;         /* nominal weight of one sample (of the first file defining it) */
    uint32_t flags;          /* NSP_EVENT_* of the files defining it, or'ed */
    uint32_t root;           /* node index */
    uint64_t count, weight;  /* kept samples (== the root's totals); entries if aggregate */
    uint64_t end_count[NS_END_BUCKETS];
    uint64_t end_weight[NS_END_BUCKETS];
    uint64_t no_line_count; /* samples whose leaf frame has no source line */
    uint64_t no_line_weight;
    /* Samples whose leaf frame / any frame is unnamed (module+0xADDR, [unknown]+0xADDR;
     * pseudo frames such as [kernel] are not). */
    uint64_t unnamed_leaf_count, unnamed_leaf_weight;
    uint64_t unnamed_any_count, unnamed_any_weight;
};

/* Which interposed calls an event measures; decides how its call sites are found. */
enum ns_event_family {
    NS_FAMILY_NONE = 0, /* sampled (cpu, wall) or unknown */
    NS_FAMILY_ALLOC,    /* alloc_bytes, alloc_count, leak_bytes, peak_bytes */
    NS_FAMILY_IO,       /* io_*, stdio_* */
    NS_FAMILY_LOCK,     /* lock_wait, cond_wait */
    NS_FAMILY_DB,       /* db_* (database client calls) */
};

struct ns_kv {
    const char *key, *value;
};

struct ns_counter {
    const char *name;
    uint64_t value;
};

struct ns_note {
    uint32_t level; /* enum nsp_note_level */
    const char *code, *text;
};

struct ns_process {
    const char *path; /* the file */
    uint64_t pid, ppid, exec_index, start_realtime_ns, start_mono_ns;
    /* name: its main thread's name (comm), as ps and perf show it; else the basename of
     * exe; else "[unknown]". */
    const char *exe, *name;
    const char *session, *hostname, *kernel, *producer;
    const char **argv; /* cmdline split at NUL bytes */
    size_t argc;
    struct ns_kv *settings;
    size_t nsettings;
    struct ns_counter *counters;
    size_t ncounters;
    struct ns_note *notes;
    size_t nnotes;
    int has_end;
    uint32_t end_reason; /* enum nsp_end_reason */
    uint64_t end_status, end_mono_ns;
    int truncated;
    uint64_t truncated_at, file_bytes;
    int has_cpu_event;      /* the file defines an event named "cpu" */
    int has_sampled_event;  /* the file defines an event that is not aggregate (cpu, wall) */
    int64_t last_sample_ns; /* time of its last sample in the file (any filter) */
    uint32_t func;          /* its NS_FUNC_PROCESS function */
};

struct ns_thread {
    uint32_t process; /* into processes[] */
    uint32_t tid;
    const char *name; /* last name seen; "" if none was recorded */
    int matched;      /* passes --thread */
    int has_stats, exited;
    uint64_t cpu_ns, stat_samples; /* THREAD_STATS */
    int has_times;                 /* off-CPU times (NSP_THREAD_TIMES) */
    uint64_t blocked_ns, runnable_ns, off_unknown_ns;
};

/* Kept samples and weight of one thread in one event: thread_events[t * nevents + e]. */
struct ns_thread_event {
    uint64_t count, weight;
};

struct ns_module {
    const char *path, *base; /* path: symlinks resolved where it exists here */
    const char *recorded_path;
    const char *build_id; /* lowercase hex, "" if none */
    uint32_t flags;       /* enum nsp_mapping_flags */
    int status_known;
    enum ns_sym_status status;
    const char *detail;            /* the symbolizer's sentence, "" if none */
    uint64_t leaf_samples;         /* kept samples (any event) whose leaf frame is in it */
    uint64_t unnamed_leaf_samples; /* ... whose leaf frame is an unnamed frame of it */
    uint64_t unnamed_samples;      /* ... with at least one unnamed frame of it */
    const char *package;           /* the Debian package holding path, "" if not known */
    uint8_t own; /* libnsprof.so itself: its frames never appear (model_frames.c) */
};

struct ns_line {
    const char *file; /* the line's own file (may differ from its function's) */
    uint32_t event, func, line;
    uint64_t count, weight;
};

struct ns_sample {
    int64_t time_ns; /* since its process's start */
    uint64_t weight;
    uint32_t node;     /* leaf node; its event and process follow from the tree */
    uint32_t thread;   /* into threads[] */
    uint32_t site;     /* into sites[] for aggregate events with a stack; else NS_NONE */
    uint32_t resource; /* into resources[], or NS_NONE */
};

/*
 * A call site of an interposed function: the first frame above it (from the leaf) that is
 * not part of the C/C++ runtime (libc, libstdc++, std:: templates inlined into the program)
 * nor, for allocations, an allocator wrapper (operator new, strdup, asprintf, ...), at the
 * line of the call. When every frame is runtime, the first frame above the call.
 */
struct ns_site {
    uint32_t func;    /* the calling function */
    uint32_t line;    /* line of the call; 0 if unknown */
    const char *file; /* that line's file; "" if unknown */
    uint32_t callee;  /* the named frame it called (malloc, fwrite, ...), or NS_NONE */
};

struct ns_resource {
    uint32_t process;
    uint32_t kind;    /* enum nsp_resource_kind */
    const char *name; /* path, peer, "mutex", "fd 7", "sqlite /a.db", normalized SQL... */
    uint32_t site;    /* where it was created or first used (locks), or NS_NONE */
    /* a query (NSP_RES_QUERY): its database resource (NS_NONE: unknown), verb and flags
     * (nsp_format.h) and its raw text (db_sql=full), else NULL */
    uint32_t database;
    uint16_t verb, flags;
    const char *example;
};

struct ns_db_plan {
    char *text;    /* EXPLAIN QUERY PLAN's detail lines, '\n'-separated */
    int full_scan; /* a table is read whole (a SCAN without an index) */
};

/* DB_STATS records of one (execution site, query) summed; the site's executions, rows
 * and their time. */
struct ns_db_stats {
    uint32_t site, query; /* into sites[], resources[] */
    uint32_t outer;       /* the query of the loop it ran in (the latest seen), or NS_NONE */
    uint64_t executions, rows, time_ns, in_loop, autocommit, errors;
    int has_distinct;
    uint8_t distinct[NSP_DB_DISTINCT_REGS]; /* HyperLogLog registers, merged by max */
    uint64_t *hist;                         /* NSP_DB_HIST_BUCKETS (loglin_hist.h) */
};

/* Summed HISTOGRAM records of one (event, site, resource). */
struct ns_histogram {
    uint32_t event, site, resource; /* site, resource: NS_NONE when none */
    uint32_t nbuckets;              /* <= NSP_MAX_HISTOGRAM_BUCKETS */
    uint64_t *buckets;              /* bucket 0: value 0; i >= 1: [2^(i-1), 2^i) */
};

struct ns_point {
    int64_t time_ns; /* since its process's start */
    uint64_t value;
};

/* A SERIES of one process (heap_live_bytes, ...), points sorted by time, --from/--to
 * applied. */
struct ns_series {
    uint32_t process;
    const char *name, *unit;
    struct ns_point *points;
    size_t n;
};

/* The filters the model was built with, and the samples left after each, in the order
 * they are applied. */
struct ns_filter_stats {
    const char *thread, *function, *event; /* NULL when not given */
    int function_regex, has_from, has_to, has_pid;
    double from_s, to_s;
    uint64_t pid;
    uint64_t in_files, after_pid, after_event, after_thread, after_time, after_function;
    /* What the files offered, for messages when a filter kept nothing. */
    const char **event_names;
    size_t nevent_names;
    uint64_t *pids;
    size_t npids;
};

struct ns_model {
    struct ns_pool pool;
    struct ns_process *processes;
    size_t nprocesses;
    struct ns_func *funcs;
    size_t nfuncs;
    struct ns_node *nodes;
    size_t nnodes;
    struct ns_event *events;
    size_t nevents;
    struct ns_thread *threads;
    size_t nthreads;
    struct ns_thread_event *thread_events; /* nthreads * nevents */
    struct ns_module *modules;
    size_t nmodules;
    struct ns_line *lines;
    size_t nlines;
    struct ns_sample *samples;
    size_t nsamples;
    struct ns_site *sites;
    size_t nsites;
    struct ns_resource *resources;
    size_t nresources;
    struct ns_histogram *histograms;
    size_t nhistograms;
    struct ns_series *series;
    size_t nseries;
    struct ns_db_stats *db_stats;
    size_t ndb_stats;
    /* `nsprof report --db-explain`: per resource, the plan of a query (NULL: none asked or
     * none found), see db_explain.h */
    struct ns_db_plan **db_plans;
    struct ns_filter_stats filter;
    int no_inline;
};

/* Builds the model of profiles[0..n). 0 on success; -1 with a message in err (an invalid
 * regex, out of memory). A model with no samples is a success: see filter. */
int ns_model_build(const struct ns_profile *const *profiles, size_t n,
                   const struct ns_model_options *opt, struct ns_model **out, char *err,
                   size_t errlen);
void ns_model_free(struct ns_model *m);

/* Lookups. */
uint32_t ns_model_event_index(const struct ns_model *m, const char *name); /* or NS_NONE */
/* The node after n in the pre-order walk of root's tree (children in sibling order, heaviest
 * first), without a stack; NS_NONE after the last. Start with n = root. */
uint32_t ns_model_next_preorder(const struct ns_model *m, uint32_t root, uint32_t n);
const char *ns_model_setting(const struct ns_process *p, const char *key); /* or NULL */
uint64_t ns_model_counter(const struct ns_process *p, const char *name);   /* 0 if absent */

/* The process a node belongs to (NS_NONE for an event root). */
uint32_t ns_model_node_process(const struct ns_model *m, uint32_t node);

/* The family of an event by its name. */
enum ns_event_family ns_model_event_family(const char *event_name);
/* 1 if the event is aggregate: its entries are totals, not samples. */
int ns_event_is_aggregate(const struct ns_event *ev);
/* 1 if the event's samples get call sites: aggregate events and events of a family. */
int ns_event_has_sites(const struct ns_event *ev);
/* "file", "socket", "pipe", "lock", "other", "unknown", "database", "query" for RESOURCE
 * kinds 1..8; "?" else. */
const char *ns_resource_kind_name(uint32_t kind);

#endif
