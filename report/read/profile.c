/*
 * profile.c — the in-memory profile: its storage, the "last one wins" folding of records
 * that repeat, and the lookups.
 *
 * Strings are copied into a list of blocks that the profile owns, so a profile is freed in
 * a handful of calls however many strings it holds, and a string dropped by a fold needs
 * no free of its own.
 *
 * Folding sorts with a stable merge sort and keeps the first entry of each run of equal
 * keys, overwriting it with the fields of the later ones. Sorting (not hashing) keeps the
 * worst case at O(n log n) whatever keys a hostile file chooses.
 *
 * Settings, counters and events are a handful of entries, so their lookups scan linearly,
 * which also keeps them right for profiles that tests assemble by hand in any order.
 * Threads can number in the thousands and are documented as sorted by tid: binary search.
 */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "profile_reader.h"

#define POOL_BLOCK (64u << 10)

struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    char data[];
};

static char *pool_alloc(struct ns_profile *p, size_t n)
{
    struct pool_block *b = p->storage;
    if (b && b->cap - b->used >= n) {
        b->used += n;
        return b->data + b->used - n;
    }
    size_t cap = n > POOL_BLOCK ? n : POOL_BLOCK;
    struct pool_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    nb->used = n;
    nb->cap = cap;
    /* A big one-off block goes behind the current one, which keeps filling. */
    if (b && cap > POOL_BLOCK) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        p->storage = nb;
    }
    return nb->data;
}

int ns_profile_str(struct ns_profile *p, const void *bytes, size_t len, struct ns_str *out)
{
    if (len > UINT32_MAX - 1)
        return -1;
    char *s = pool_alloc(p, len + 1);
    if (!s)
        return -1;
    if (len)
        memcpy(s, bytes, len);
    s[len] = '\0';
    out->s = s;
    out->len = (uint32_t)len;
    return 0;
}

struct ns_profile *ns_profile_new(const char *path)
{
    struct ns_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->path = strdup(path ? path : "");
    p->strings = calloc(1, sizeof *p->strings);
    p->mappings = calloc(1, sizeof *p->mappings);
    p->stacks = calloc(1, sizeof *p->stacks);
    p->resources = calloc(1, sizeof *p->resources);
    if (!p->path || !p->strings || !p->mappings || !p->stacks || !p->resources ||
        ns_profile_str(p, "", 0, &p->strings[0]) < 0) {
        ns_profile_free(p);
        return NULL;
    }
    p->nstrings = p->nmappings = p->nstacks = p->nresources = 1;
    return p;
}

/* The pointer at arr_slot is a `struct T *`, not a `void *`: it is accessed with memcpy. */
int ns_profile_grow(void *arr_slot, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *old, *n;
    memcpy(&old, arr_slot, sizeof old);
    if (!(n = realloc(old, ncap * elem)))
        return -1;
    memcpy(arr_slot, &n, sizeof n);
    *cap = ncap;
    return 0;
}

int ns_profile_reserve_samples(struct ns_profile *p, size_t need)
{
    struct ns_prof_samples *s = &p->samples;
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < need)
        cap *= 2;
    /* Each array grows from its own copy of the old capacity; a failure part way leaves
     * some arrays bigger than s->cap, which is harmless. */
    size_t c1 = s->cap, c2 = s->cap, c3 = s->cap, c4 = s->cap, c5 = s->cap, c6 = s->cap;
    if (ns_profile_grow(&s->event, &c1, cap, sizeof *s->event) < 0 ||
        ns_profile_grow(&s->time_ns, &c2, cap, sizeof *s->time_ns) < 0 ||
        ns_profile_grow(&s->tid, &c3, cap, sizeof *s->tid) < 0 ||
        ns_profile_grow(&s->stack, &c4, cap, sizeof *s->stack) < 0 ||
        ns_profile_grow(&s->weight, &c5, cap, sizeof *s->weight) < 0 ||
        ns_profile_grow(&s->resource, &c6, cap, sizeof *s->resource) < 0)
        return -1;
    s->cap = cap;
    return 0;
}

void ns_profile_free(struct ns_profile *p)
{
    if (!p)
        return;
    for (struct pool_block *b = p->storage, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(p->path);
    free(p->settings);
    free(p->events);
    free(p->strings);
    free(p->mappings);
    free(p->stacks);
    free(p->frames);
    free(p->threads);
    free(p->samples.event);
    free(p->samples.time_ns);
    free(p->samples.tid);
    free(p->samples.stack);
    free(p->samples.weight);
    free(p->samples.resource);
    free(p->counters);
    free(p->notes);
    free(p->resources);
    free(p->histograms);
    free(p->db_stats);
    free(p->db_buckets);
    free(p->hist_buckets);
    free(p->series);
    free(p->points);
    free(p);
}

/* ---- folding ---- */

typedef int (*key_cmp_fn)(const void *a, const void *b);
typedef void (*merge_fn)(void *older, const void *newer);

static void merge_runs(const uint8_t *src, uint8_t *dst, size_t lo, size_t mid, size_t hi,
                       size_t size, key_cmp_fn cmp)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) {
        /* <= takes from the left run on ties: that is what makes the sort stable. */
        if (cmp(src + i * size, src + j * size) <= 0)
            memcpy(dst + k++ * size, src + i++ * size, size);
        else
            memcpy(dst + k++ * size, src + j++ * size, size);
    }
    memcpy(dst + k * size, src + i * size, (mid - i) * size);
    k += mid - i;
    memcpy(dst + k * size, src + j * size, (hi - j) * size);
}

/* Bottom-up merge sort, ping-ponging between base and one scratch array. */
static int stable_sort(void *base, size_t n, size_t size, key_cmp_fn cmp)
{
    if (n < 2)
        return 0;
    uint8_t *tmp = malloc(n * size), *src = base, *dst = tmp;
    if (!tmp)
        return -1;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            merge_runs(src, dst, lo, mid, hi, size, cmp);
        }
        uint8_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != base)
        memcpy(base, src, n * size);
    free(tmp);
    return 0;
}

static int fold(void *base, size_t *n, size_t size, key_cmp_fn cmp, merge_fn merge)
{
    if (stable_sort(base, *n, size, cmp) < 0)
        return -1;
    uint8_t *items = base;
    size_t out = 0;
    for (size_t i = 1; i < *n; i++) {
        if (cmp(items + out * size, items + i * size) == 0) {
            merge(items + out * size, items + i * size);
        } else if (++out != i) {
            memcpy(items + out * size, items + i * size, size);
        }
    }
    if (*n)
        *n = out + 1;
    return 0;
}

static int str_cmp(const struct ns_str *a, const struct ns_str *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int u32_cmp(uint32_t a, uint32_t b)
{
    return a < b ? -1 : a > b;
}

static int kv_cmp(const void *a, const void *b)
{
    return str_cmp(&((const struct ns_prof_kv *)a)->key, &((const struct ns_prof_kv *)b)->key);
}

static void kv_merge(void *older, const void *newer)
{
    ((struct ns_prof_kv *)older)->value = ((const struct ns_prof_kv *)newer)->value;
}

static int event_cmp(const void *a, const void *b)
{
    return u32_cmp(((const struct ns_prof_event *)a)->id, ((const struct ns_prof_event *)b)->id);
}

static void event_merge(void *older, const void *newer)
{
    *(struct ns_prof_event *)older = *(const struct ns_prof_event *)newer;
}

static int counter_cmp(const void *a, const void *b)
{
    return str_cmp(&((const struct ns_prof_counter *)a)->name,
                   &((const struct ns_prof_counter *)b)->name);
}

static void counter_merge(void *older, const void *newer)
{
    ((struct ns_prof_counter *)older)->value = ((const struct ns_prof_counter *)newer)->value;
}

static int thread_cmp(const void *a, const void *b)
{
    return u32_cmp(((const struct ns_prof_thread *)a)->tid,
                   ((const struct ns_prof_thread *)b)->tid);
}

static void thread_merge(void *older, const void *newer)
{
    struct ns_prof_thread *o = older;
    const struct ns_prof_thread *n = newer;
    if (n->has_stats) {
        o->has_stats = 1;
        o->cpu_ns = n->cpu_ns;
        o->samples = n->samples;
        o->flags = n->flags;
        o->blocked_ns = n->blocked_ns;
        o->runnable_ns = n->runnable_ns;
        o->off_unknown_ns = n->off_unknown_ns;
    } else {
        o->name = n->name;
        o->start_mono_ns = n->start_mono_ns;
    }
}

int ns_profile_fold_settings(struct ns_profile *p)
{
    return fold(p->settings, &p->nsettings, sizeof *p->settings, kv_cmp, kv_merge);
}

int ns_profile_fold_events(struct ns_profile *p)
{
    return fold(p->events, &p->nevents, sizeof *p->events, event_cmp, event_merge);
}

int ns_profile_fold_counters(struct ns_profile *p)
{
    return fold(p->counters, &p->ncounters, sizeof *p->counters, counter_cmp, counter_merge);
}

int ns_profile_fold_threads(struct ns_profile *p)
{
    return fold(p->threads, &p->nthreads, sizeof *p->threads, thread_cmp, thread_merge);
}

/* ---- histograms and series: folds that add up ---- */

static int histogram_cmp(const void *a, const void *b)
{
    const struct ns_prof_histogram *x = a, *y = b;
    if (x->event != y->event)
        return u32_cmp(x->event, y->event);
    if (x->tid != y->tid)
        return u32_cmp(x->tid, y->tid);
    if (x->stack != y->stack)
        return u32_cmp(x->stack, y->stack);
    return u32_cmp(x->resource, y->resource);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* Sums the run items[lo..hi) (equal keys) into out, which has room for the longest. */
static uint32_t sum_run(const struct ns_profile *p, const struct ns_prof_histogram *items,
                        size_t lo, size_t hi, uint64_t *out)
{
    uint32_t n = 0;
    for (size_t i = lo; i < hi; i++)
        n = items[i].nbuckets > n ? items[i].nbuckets : n;
    memset(out, 0, n * sizeof *out);
    for (size_t i = lo; i < hi; i++)
        for (uint32_t k = 0; k < items[i].nbuckets; k++)
            out[k] = sat_add(out[k], p->hist_buckets[items[i].first + k]);
    return n;
}

int ns_profile_fold_histograms(struct ns_profile *p)
{
    struct ns_prof_histogram *h = p->histograms;
    if (p->nhistograms == 0 || stable_sort(h, p->nhistograms, sizeof *h, histogram_cmp) < 0)
        return p->nhistograms == 0 ? 0 : -1;
    /* Summed buckets go to a scratch array first: the runs are in key order, not in the
     * order of their buckets, so summing in place could overwrite buckets still unread. */
    uint64_t *out = malloc((p->nhist_buckets ? p->nhist_buckets : 1) * sizeof *out);
    if (!out)
        return -1;
    size_t n = 0, used = 0;
    for (size_t lo = 0, hi; lo < p->nhistograms; lo = hi) {
        hi = lo + 1;
        while (hi < p->nhistograms && histogram_cmp(&h[lo], &h[hi]) == 0)
            hi++;
        uint32_t nb = sum_run(p, h, lo, hi, out + used);
        h[n] = h[lo];
        h[n].first = (uint32_t)used;
        h[n++].nbuckets = nb;
        used += nb;
    }
    if (used)
        memcpy(p->hist_buckets, out, used * sizeof *out);
    free(out);
    p->nhistograms = n;
    p->nhist_buckets = used;
    return 0;
}

static int series_cmp(const void *a, const void *b)
{
    return str_cmp(&((const struct ns_prof_series *)a)->name,
                   &((const struct ns_prof_series *)b)->name);
}

int ns_profile_fold_series(struct ns_profile *p)
{
    struct ns_prof_series *s = p->series;
    /* Stable: the records of one name stay in file order, and so do their points. */
    if (p->nseries == 0 || stable_sort(s, p->nseries, sizeof *s, series_cmp) < 0)
        return p->nseries == 0 ? 0 : -1;
    struct ns_prof_point *out = malloc((p->npoints ? p->npoints : 1) * sizeof *out);
    if (!out)
        return -1;
    size_t n = 0, used = 0;
    for (size_t lo = 0, hi; lo < p->nseries; lo = hi) {
        size_t first = used;
        for (hi = lo; hi < p->nseries && series_cmp(&s[lo], &s[hi]) == 0; hi++) {
            if (s[hi].n)
                memcpy(out + used, p->points + s[hi].first, s[hi].n * sizeof *out);
            used += s[hi].n;
        }
        s[n] = s[lo];
        s[n].unit = s[hi - 1].unit;
        s[n].first = first;
        s[n++].n = used - first;
    }
    if (used)
        memcpy(p->points, out, used * sizeof *out);
    free(out);
    p->nseries = n;
    p->npoints = used;
    return 0;
}

/* ---- lookups ---- */

static int str_is(const struct ns_str *s, const char *text)
{
    size_t n = strlen(text);
    return s->len == n && memcmp(s->s, text, n) == 0;
}

const char *ns_profile_setting(const struct ns_profile *p, const char *key)
{
    for (size_t i = p->nsettings; i-- > 0;)
        if (str_is(&p->settings[i].key, key))
            return p->settings[i].value.s;
    return NULL;
}

uint64_t ns_profile_counter(const struct ns_profile *p, const char *name)
{
    for (size_t i = p->ncounters; i-- > 0;)
        if (str_is(&p->counters[i].name, name))
            return p->counters[i].value;
    return 0;
}

const struct ns_prof_thread *ns_profile_thread(const struct ns_profile *p, uint32_t tid)
{
    size_t lo = 0, hi = p->nthreads;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->threads[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nthreads && p->threads[lo].tid == tid ? &p->threads[lo] : NULL;
}

const struct ns_prof_series *ns_profile_series(const struct ns_profile *p, const char *name)
{
    for (size_t i = p->nseries; i-- > 0;)
        if (str_is(&p->series[i].name, name))
            return &p->series[i];
    return NULL;
}

const struct ns_prof_event *ns_profile_event(const struct ns_profile *p, uint32_t id)
{
    for (size_t i = p->nevents; i-- > 0;)
        if (p->events[i].id == id)
            return &p->events[i];
    return NULL;
}
