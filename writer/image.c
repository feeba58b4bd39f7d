/*
 * image — see image.h: the file's header, interning (strings, mappings, stacks), samples,
 * threads, notes and counters. What comes from the process's region is image_region.c.
 *
 * File ids are dense and in definition order (docs/FORMAT.md), so the image keeps its own
 * numbering rather than reusing the process's ids.
 */
#include "image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../preload/settings.h"
#include "capture.h"
#include "image_internal.h"
#include "mem.h"
#include "nsp_format.h"

#define MAX_STACKS          (1u << 18)
#define MAX_STACK_KEY_BYTES (32u << 20)
#define MAX_STRINGS         (1u << 14)
#define MAX_STRING_BYTES    (2u << 20)
#define BATCH               65536
#define CHUNK_BYTES         (1u << 20)

/* What the image knows of every thread it ever saw. */
struct tid_stats {
    pid_t tid;      /* 0 = empty slot */
    uint32_t flags; /* NSP_THREAD_* */
    uint64_t samples, cpu_ns;
    uint64_t name_id;
    int dirty;     /* THREAD_STATS to write */
    int has_times; /* off-CPU times measured (the agent's switch records) */
    struct ns_pw_off_cpu off;
};

struct ns_image_threads {
    struct tid_stats *t;
    size_t slots, n;
};

/* --- counters and notes ------------------------------------------------------------- */

void ns_image_count(struct ns_image *im, const char *name, uint64_t n)
{
    struct ns_image_counters *c = &im->counters;
    if (n == 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], name) == 0) {
            c->value[i] += n;
            return;
        }
    }
    if (c->n < sizeof(c->value) / sizeof(c->value[0])) {
        snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
        c->value[c->n++] = n;
    }
}

void ns_image_note(struct ns_image *im, unsigned level, const char *code, const char *fmt, ...)
{
    if (im->nnotes == NS_IMAGE_NOTES)
        return;
    struct ns_image_note *n = &im->notes[im->nnotes++];
    n->level = level;
    snprintf(n->code, sizeof(n->code), "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof(n->text), fmt, ap);
    va_end(ap);
}

void ns_image_write_notes(struct ns_image *im)
{
    for (size_t i = 0; i < im->nnotes; i++)
        ns_pw_note(&im->pw, im->notes[i].level, im->notes[i].code, im->notes[i].text);
    im->nnotes = 0;
}

/* --- strings, mappings, stacks ------------------------------------------------------ */

uint64_t ns_image_string(struct ns_image *im, const char *text)
{
    size_t len = strlen(text);
    uint64_t id = ns_intern_get(&im->strings, text, len);
    if (id)
        return id;
    if (ns_intern_put(&im->strings, text, len, im->next_string_id) < 0) {
        ns_intern_clear(&im->strings); /* full: start over, definitions repeat */
        if (ns_intern_put(&im->strings, text, len, im->next_string_id) < 0)
            return 0;
    }
    id = im->next_string_id++;
    ns_pw_string(&im->pw, id, text, len);
    return id;
}

static uint64_t *map_slot(uint64_t **table, size_t *bytes, uint32_t id)
{
    size_t need = ((size_t)id + 1) * sizeof(uint64_t);
    if (need > *bytes) {
        size_t nb = *bytes ? *bytes : 4096;
        while (nb < need)
            nb *= 2;
        uint64_t *p = ns_mem_grow(*table, *bytes, nb);
        if (!p)
            return NULL;
        *table = p;
        *bytes = nb;
    }
    return &(*table)[id];
}

/* File id of a mapping, writing its MAPPING record the first time (or again when the
 * process recycled the id for another object: its generation changed). */
static uint64_t synthetic_mapping(struct ns_image *im)
{
    if (im->synthetic_map)
        return im->synthetic_map;
    struct ns_pw_mapping m = {
        .id = im->next_mapping_id,
        .path_id = ns_image_string(im, "[off-cpu]"),
        .flags = NSP_MAP_PSEUDO | NSP_MAP_NAMED,
    };
    if (!m.path_id || ns_pw_mapping(&im->pw, &m) < 0)
        return 0;
    im->synthetic_map = im->next_mapping_id++;
    return im->synthetic_map;
}

struct ns_frame ns_image_synthetic(struct ns_image *im, const char *name)
{
    uint64_t id = ns_image_string(im, name);
    return (struct ns_frame){id ? NS_MAP_SYNTHETIC : 0, id};
}

static uint64_t mapping_file_id(struct ns_image *im, uint32_t id)
{
    if (id == NS_MAP_SYNTHETIC)
        return synthetic_mapping(im);
    if (id == 0 || id == NS_MAP_AGENT)
        return 0;
    int agent = (id & NS_MAP_AGENT) != 0;
    uint32_t internal = id & ~NS_MAP_AGENT;
    uint64_t *cached = agent ? map_slot(&im->agent_maps, &im->agent_maps_bytes, internal)
                             : map_slot(&im->region_maps, &im->region_maps_bytes, internal);
    if (!cached)
        return 0;
    /* Agent ids are never reused; a registry id is when the process recycles it for
     * another object, which its generation tells. */
    if (*cached && (agent || (*cached >> 32) == ns_image_region_mapping_gen(im, internal) + 1))
        return *cached & 0xffffffffu;
    struct ns_mapping_info info;
    int known =
        agent ? (im->agent.describe && im->agent.describe(im->agent.ctx, internal, &info) == 0)
              : ns_image_region_mapping(im, internal, &info) == 0;
    if (!known)
        return 0;
    uint64_t *slot = cached;
    uint64_t tag = ((uint64_t)info.gen + 1) << 32;
    uint64_t path_id = ns_image_string(im, info.path ? info.path : "");
    struct ns_pw_mapping m = {
        .id = im->next_mapping_id,
        .lo = info.lo,
        .hi = info.hi,
        .bias = info.bias,
        .path_id = path_id,
        .flags = info.flags,
        .build_id = info.build_id,
        .build_id_len = info.build_id_len,
    };
    if (ns_pw_mapping(&im->pw, &m) < 0)
        return 0;
    *slot = tag | im->next_mapping_id++;
    return *slot & 0xffffffffu;
}

uint64_t ns_image_stack(struct ns_image *im, unsigned end, const struct ns_frame *frames,
                        int nframes)
{
    uint64_t *key = im->key_buf;
    size_t k = 0;
    if (nframes > NSP_MAX_FRAMES)
        nframes = NSP_MAX_FRAMES;
    uint32_t named = ns_image_region_named(im);
    key[k++] = end;
    k++; /* the frame count, once known */
    for (int i = 0; i < nframes; i++) {
        /* nsprof's own frames are kept: the analyzer shows each run of them as the function
         * the program called (report/model/model_frames.c), which needs the whole run. */
        key[k++] = mapping_file_id(im, frames[i].mapping_id);
        /* A named pseudo frame's address is the id of the STRING that names it. */
        if (named && frames[i].mapping_id == named) {
            char name[64];
            key[k++] = ns_image_region_name(im, (uint32_t)frames[i].addr, name, sizeof(name))
                           ? ns_image_string(im, name)
                           : 0;
        } else {
            key[k++] = frames[i].addr;
        }
    }
    nframes = (int)(k - 2) / 2;
    key[1] = (uint64_t)nframes;
    size_t len = k * sizeof(uint64_t);
    uint64_t id = ns_intern_get(&im->stacks, key, len);
    if (id)
        return id;
    if (ns_intern_put(&im->stacks, key, len, im->next_stack_id) < 0) {
        ns_intern_clear(&im->stacks);
        if (ns_intern_put(&im->stacks, key, len, im->next_stack_id) < 0)
            return 0;
    }
    struct ns_pw_frame pf[NSP_MAX_FRAMES];
    for (int i = 0; i < nframes; i++)
        pf[i] = (struct ns_pw_frame){key[2 + 2 * i], key[3 + 2 * i]};
    id = im->next_stack_id++;
    ns_pw_stack(&im->pw, id, end, pf, (size_t)nframes);
    return id;
}

/* --- threads ------------------------------------------------------------------------ */

static struct tid_stats *probe(struct tid_stats *t, size_t slots, pid_t tid)
{
    size_t mask = slots - 1, i = ((size_t)tid * 2654435761u) & mask;
    while (t[i].tid != 0 && t[i].tid != tid)
        i = (i + 1) & mask;
    return &t[i];
}

static struct tid_stats *tid_entry(struct ns_image *im, pid_t tid)
{
    struct ns_image_threads *th = im->threads;
    if ((th->n + 1) * 2 > th->slots) {
        size_t slots = th->slots * 2;
        struct tid_stats *t = ns_mem_alloc(slots * sizeof(*t));
        if (!t)
            return NULL;
        for (size_t i = 0; i < th->slots; i++) {
            if (th->t[i].tid)
                *probe(t, slots, th->t[i].tid) = th->t[i];
        }
        ns_mem_free(th->t, th->slots * sizeof(*th->t));
        th->t = t;
        th->slots = slots;
    }
    struct tid_stats *e = probe(th->t, th->slots, tid);
    if (e->tid == 0) {
        e->tid = tid;
        th->n++;
    }
    return e;
}

void ns_image_thread_name(struct ns_image *im, pid_t tid, const char *name, uint64_t start_ns)
{
    struct tid_stats *e = tid_entry(im, tid);
    if (!e || !name || !*name)
        return;
    uint64_t id = ns_image_string(im, name);
    if (id && id != e->name_id) {
        e->name_id = id;
        ns_pw_thread(&im->pw, (uint64_t)tid, id, start_ns);
    }
}

void ns_image_thread_cpu(struct ns_image *im, pid_t tid, uint64_t cpu_ns)
{
    struct tid_stats *e = tid_entry(im, tid);
    if (e && cpu_ns > e->cpu_ns) {
        e->cpu_ns = cpu_ns;
        e->dirty = 1;
    }
}

void ns_image_thread_off_cpu(struct ns_image *im, pid_t tid, const struct ns_pw_off_cpu *off)
{
    struct tid_stats *e = tid_entry(im, tid);
    if (e && (!e->has_times || memcmp(&e->off, off, sizeof(*off)) != 0)) {
        e->off = *off;
        e->has_times = 1;
        e->dirty = 1;
    }
}

void ns_image_thread_exited(struct ns_image *im, pid_t tid)
{
    struct tid_stats *e = tid_entry(im, tid);
    if (e && !(e->flags & NSP_THREAD_EXITED)) {
        e->flags |= NSP_THREAD_EXITED;
        e->dirty = 1;
    }
}

uint64_t ns_image_thread_samples(struct ns_image *im, pid_t tid)
{
    struct tid_stats *e = tid_entry(im, tid);
    return e ? e->samples : 0;
}

static void write_thread_stats(struct ns_image *im)
{
    struct ns_image_threads *th = im->threads;
    for (size_t i = 0; i < th->slots; i++) {
        struct tid_stats *e = &th->t[i];
        if (e->tid && e->dirty) {
            if (e->has_times)
                ns_pw_thread_times(&im->pw, (uint64_t)e->tid, e->cpu_ns, e->samples, e->flags,
                                   &e->off);
            else
                ns_pw_thread_stats(&im->pw, (uint64_t)e->tid, e->cpu_ns, e->samples, e->flags);
            e->dirty = 0;
        }
    }
}

/* --- samples ------------------------------------------------------------------------ */

static void write_samples(struct ns_image *im)
{
    if (im->nbatch) {
        ns_pw_samples(&im->pw, im->event_id, im->batch, im->nbatch);
        im->nbatch = 0;
    }
}

int64_t ns_image_time_us(const struct ns_image *im, uint64_t mono_ns)
{
    return mono_ns > im->start_mono_ns ? (int64_t)((mono_ns - im->start_mono_ns) / 1000) : 0;
}

uint64_t ns_image_sample(struct ns_image *im, pid_t tid, uint64_t time_ns, uint64_t weight,
                         unsigned end, const struct ns_frame *frames, int nframes)
{
    if (im->ended)
        return 0;
    uint64_t stack = ns_image_stack(im, end, frames, nframes);
    if (!stack) {
        im->dropped_intern++;
        return 0;
    }
    if (im->wall == NS_WALL_INTERPOSED)
        ns_image_add(im, NS_EVID_WALL, tid, stack, 0, weight, time_ns);
    if (im->nbatch == im->batch_cap)
        write_samples(im);
    im->batch[im->nbatch++] =
        (struct ns_pw_sample){ns_image_time_us(im, time_ns), (uint64_t)tid, stack, weight};
    struct tid_stats *e = tid_entry(im, tid);
    if (e) {
        e->samples++;
        e->dirty = 1;
    }
    im->samples++;
    return stack;
}

/* --- counters ----------------------------------------------------------------------- */

static void write_counters(struct ns_image *im, const char *const *extra_names,
                           const uint64_t *extra_values, size_t nextra)
{
    enum { MAX = 48 + NS_IMAGE_REGION_COUNTERS + 64 };
    const char *names[MAX];
    uint64_t values[MAX];
    size_t n = 0;
    ns_image_count(im, "samples", im->samples);
    ns_image_count(im, "dropped_intern", im->dropped_intern);
    im->samples = im->dropped_intern = 0;
    for (size_t i = 0; i < im->counters.n; i++, n++) {
        names[n] = im->counters.name[i];
        values[n] = im->counters.value[i];
    }
    n += ns_image_region_counters(im, names + n, values + n, NS_IMAGE_REGION_COUNTERS);
    for (size_t i = 0; i < nextra && n < MAX; i++, n++) {
        names[n] = extra_names[i];
        values[n] = extra_values[i];
    }
    if (n)
        ns_pw_counters(&im->pw, names, values, n);
}

/* --- the file ----------------------------------------------------------------------- */

static void write_header(struct ns_image *im, const struct ns_image_setup *s)
{
    struct ns_pw_process p = {
        .pid = (uint64_t)s->pid,
        .ppid = (uint64_t)s->ppid,
        .exec_index = s->exec_index,
        .start_realtime_ns = s->start_realtime_ns,
        .start_mono_ns = s->start_mono_ns,
        .session = s->session ? s->session : "",
        .exe = s->exe ? s->exe : "",
        .hostname = s->hostname ? s->hostname : "",
        .kernel = s->kernel ? s->kernel : "",
        .producer = s->producer ? s->producer : "nsprof",
        .cmdline = s->cmdline ? s->cmdline : "",
        .cmdline_len = s->cmdline ? s->cmdline_len : 0,
    };
    ns_pw_process(&im->pw, &p);
    for (const char *const *kv = s->settings; kv && kv[0]; kv += 2)
        ns_pw_setting(&im->pw, kv[0], kv[1]);
    /* How off-CPU time was measured: the report says it, and what that cannot see. */
    if (s->wall)
        ns_pw_setting(&im->pw, "off_cpu_measured_by",
                      s->wall == NS_WALL_KERNEL ? "kernel" : "interposers");
    if (s->event_id)
        ns_pw_event(&im->pw, s->event_id, ns_event_defs[s->event_id].name, "ns", s->period_ns);
    uint32_t extra = s->extra_events;
    if (s->wall)
        extra |= 1u << NS_EVID_WALL | 1u << NS_EVID_OFF_CPU;
    if (s->event_id)
        im->declared_events |= 1u << s->event_id;
    for (uint32_t ev = 1; ev < NS_EVID__COUNT; ev++) {
        if (extra & (1u << ev))
            ns_image_declare_event(im, ev);
    }
    ns_pw_flush(&im->pw);
}

void ns_image_declare_event(struct ns_image *im, uint32_t ev)
{
    if (ev == 0 || ev >= NS_EVID__COUNT || (im->declared_events & (1u << ev)))
        return;
    if (ns_pw_event_flags(&im->pw, ev, ns_event_defs[ev].name, ns_event_defs[ev].unit, 1,
                          ns_event_defs[ev].flags) == 0)
        im->declared_events |= 1u << ev;
}

int ns_image_open(struct ns_image *im, const struct ns_image_setup *s, char *err, size_t errlen)
{
    memset(im, 0, sizeof(*im));
    im->fd = s->fd;
    im->pid = s->pid;
    im->start_mono_ns = s->start_mono_ns;
    im->event_id = s->event_id;
    im->wall = s->wall;
    im->next_stack_id = im->next_string_id = im->next_mapping_id = 1;
    im->batch_cap = BATCH;
    im->batch = ns_mem_alloc(im->batch_cap * sizeof(*im->batch));
    im->key_buf = ns_mem_alloc((2 + 2 * NSP_MAX_FRAMES) * sizeof(uint64_t));
    im->threads = ns_mem_alloc(sizeof(*im->threads));
    if (im->threads) {
        im->threads->slots = 64;
        im->threads->t = ns_mem_alloc(im->threads->slots * sizeof(struct tid_stats));
    }
    int r = -ENOMEM;
    if (im->batch && im->key_buf && im->threads && im->threads->t &&
        ns_intern_init(&im->stacks, MAX_STACKS, MAX_STACK_KEY_BYTES) == 0 &&
        ns_intern_init(&im->strings, MAX_STRINGS, MAX_STRING_BYTES) == 0 &&
        ns_image_region_init(im) == 0)
        r = ns_pw_init(&im->pw, s->fd, CHUNK_BYTES);
    if (r < 0) {
        snprintf(err, errlen, "cannot set the profile writer up: %s", strerror(-r));
        ns_image_close(im);
        return r;
    }
    write_header(im, s);
    return 0;
}

void ns_image_close(struct ns_image *im)
{
    ns_pw_destroy(&im->pw);
    ns_intern_destroy(&im->stacks);
    ns_intern_destroy(&im->strings);
    ns_image_sums_destroy(im);
    ns_image_locks_destroy(im);
    ns_mem_free(im->batch, im->batch_cap * sizeof(*im->batch));
    ns_mem_free(im->key_buf, (2 + 2 * NSP_MAX_FRAMES) * sizeof(uint64_t));
    ns_mem_free(im->region_maps, im->region_maps_bytes);
    ns_mem_free(im->agent_maps, im->agent_maps_bytes);
    if (im->threads) {
        ns_mem_free(im->threads->t, im->threads->slots * sizeof(struct tid_stats));
        ns_mem_free(im->threads, sizeof(*im->threads));
    }
    ns_image_region_destroy(im);
    memset(im, 0, sizeof(*im));
    im->fd = -1;
}

void ns_image_set_agent_maps(struct ns_image *im, const struct ns_image_agent_maps *maps)
{
    im->agent = *maps;
}

void ns_image_flush(struct ns_image *im, const char *const *names, const uint64_t *values, size_t n)
{
    if (im->ended)
        return;
    ns_image_region_emit(im, 0);
    ns_image_sums_flush(im);
    ns_image_site_batches_flush(im);
    write_samples(im);
    ns_image_region_notes(im);
    ns_image_write_notes(im);
    write_thread_stats(im);
    write_counters(im, names, values, n);
    ns_pw_flush(&im->pw);
}

void ns_image_end(struct ns_image *im, unsigned reason, uint64_t status, uint64_t end_mono_ns,
                  const char *const *names, const uint64_t *values, size_t n)
{
    if (im->ended)
        return;
    im->end_mono_ns = end_mono_ns;
    ns_image_region_emit(im, 1);
    ns_image_sums_flush(im);
    ns_image_site_batches_flush(im);
    write_samples(im);
    ns_image_region_notes(im);
    ns_image_write_notes(im);
    write_thread_stats(im);
    write_counters(im, names, values, n);
    uint64_t end_ns = end_mono_ns > im->start_mono_ns ? end_mono_ns - im->start_mono_ns : 0;
    ns_pw_end(&im->pw, reason, status, end_ns);
    ns_pw_flush(&im->pw); /* END is the last record: nothing may follow it */
    im->ended = 1;
}

void ns_image_resume(struct ns_image *im)
{
    im->ended = 0;
}
