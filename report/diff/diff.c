/*
 * diff — see diff.h. Each run's functions come from ns_rank_functions (self and total, a
 * recursive function's total counted once per sample); rows are keyed by the matching
 * identity of diff.h and hold each run's value, normalized, then each side's mean.
 */
#include "diff.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_stats.h"
#include "facts.h"
#include "rank.h"

/* A row while the runs are read: its identity and each run's numbers. */
struct acc {
    char *key; /* the matching identity */
    const char *function, *module, *file;
    const char *declared_in; /* see ns_diff_row */
    int symbolized, inlined;
    double *self, *total; /* [nb + na]: per run, normalized */
    uint64_t *count;      /* [nb + na]: self samples */
    uint64_t *tcount;     /* [nb + na]: samples with it on the stack */
};

struct builder {
    const struct ns_model *const *runs; /* before runs, then after runs */
    size_t nb, na;
    const struct ns_diff_options *o;
    char ***keys; /* ns_diff_func_keys of the runs */
    struct acc *acc;
    size_t nacc, cap;
    uint32_t *slots; /* open addressing over acc, 0 = empty, else index + 1 */
    size_t nslots;
    char *err;
    size_t errlen;
};

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* libfoo.so.1.2.3 -> libfoo.so: a soname's version does not make another library. */
static size_t module_key_len(const char *base)
{
    const char *so = strstr(base, ".so.");
    return so ? (size_t)(so - base) + 3 : strlen(base);
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* 1 if module is the executable of one of the run's processes: the program is one module
 * whatever its file is called (app-v1 before, app-v2 after). */
static int is_executable(const struct ns_model *m, const char *module)
{
    for (size_t i = 0; i < m->nprocesses; i++)
        if (m->processes[i].exe[0] && strcmp(basename_of(m->processes[i].exe), module) == 0)
            return 1;
    return 0;
}

/* The key without the source file. A process root is keyed by its role: a run's first
 * process is the program whatever it is called (app-v1, app-v2). */
static char *base_key(const struct ns_model *m, const struct ns_func *f)
{
    if (f->kind == NS_FUNC_PROCESS) {
        int first = m->nprocesses && f->process == 0;
        size_t len = strlen(f->name) + 4;
        char *k = malloc(len);
        if (k)
            snprintf(k, len, "\x02%s", first ? "\x01" : f->name);
        return k;
    }
    const char *module = is_executable(m, f->module) ? "\x01" : f->module;
    size_t mlen = module_key_len(module);
    size_t len = strlen(f->name) + mlen + 8;
    char *k = malloc(len);
    if (k)
        snprintf(k, len, "%s\x1f%.*s\x1f%d", f->name, (int)mlen, module, f->inlined);
    return k;
}

/* A function of one of the runs, while the keys are decided. */
struct keyed {
    char *key;
    const char *decl; /* declaring file's base name, "" when unknown */
    uint32_t run, func;
};

static int by_key_and_file(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    if (!c)
        c = strcmp(a->decl, b->decl);
    if (!c)
        c = (a->run > b->run) - (a->run < b->run);
    return c ? c : (a->func > b->func) - (a->func < b->func);
}

/* A declaring file's name without its directories (a rebuild may move the tree), "" when
 * unknown. */
static const char *decl_base(const struct ns_func *f)
{
    return f->decl_file ? basename_of(f->decl_file) : "";
}

char ***ns_diff_func_keys(const struct ns_model *const *runs, size_t nruns)
{
    size_t n = 0;
    for (size_t r = 0; r < nruns; r++)
        n += runs[r]->nfuncs;
    char ***keys = calloc(nruns ? nruns : 1, sizeof(*keys));
    struct keyed *v = malloc((n ? n : 1) * sizeof(*v));
    if (!keys || !v)
        goto fail;
    size_t k = 0;
    for (size_t r = 0; r < nruns; r++) {
        const struct ns_model *m = runs[r];
        if (!(keys[r] = calloc(m->nfuncs ? m->nfuncs : 1, sizeof(char *))))
            goto fail;
        for (uint32_t f = 0; f < m->nfuncs; f++) {
            v[k] =
                (struct keyed){base_key(m, &m->funcs[f]), decl_base(&m->funcs[f]), (uint32_t)r, f};
            if (!v[k++].key)
                goto fail_v;
        }
    }
    qsort(v, n, sizeof(*v), by_key_and_file);
    /* Functions of one name and module that one run holds declared in different files (two
     * static functions of one name) are told apart by the file, in every run; the others keep
     * the plain key, so that a build without DWARF still matches one with it, and a function
     * whose file changed between builds (or two programs' mains) still match. */
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && strcmp(v[j].key, v[i].key) == 0; j++)
            ;
        int split = 0;
        for (size_t x = i; x < j && !split; x++)
            for (size_t y = x + 1; y < j && !split; y++)
                split = v[x].run == v[y].run && v[x].decl[0] && v[y].decl[0] &&
                        strcmp(v[x].decl, v[y].decl) != 0;
        for (size_t t = i; t < j; t++) {
            char *key = v[t].key;
            if (split) {
                size_t len = strlen(key) + strlen(v[t].decl) + 2;
                if (!(key = malloc(len)))
                    goto fail_v;
                snprintf(key, len, "%s\x1f%s", v[t].key, v[t].decl);
                free(v[t].key);
            }
            v[t].key = NULL;
            keys[v[t].run][v[t].func] = key;
        }
    }
    free(v);
    return keys;
fail_v:
    for (size_t t = 0; t < k; t++)
        free(v[t].key);
fail:
    free(v);
    ns_diff_keys_free(keys, runs, nruns);
    return NULL;
}

void ns_diff_keys_free(char ***keys, const struct ns_model *const *runs, size_t nruns)
{
    for (size_t r = 0; keys && r < nruns; r++) {
        for (size_t f = 0; keys[r] && f < runs[r]->nfuncs; f++)
            free(keys[r][f]);
        free(keys[r]);
    }
    free(keys);
}

static int grow_slots(struct builder *b)
{
    size_t n = b->nslots ? b->nslots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof(*s));
    if (!s)
        return -1;
    for (size_t i = 0; i < b->nacc; i++) {
        size_t j = hash_str(b->acc[i].key) & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(b->slots);
    b->slots = s;
    b->nslots = n;
    return 0;
}

/* The row of f, created on first sight; NULL when memory runs out. */
static struct acc *row_of(struct builder *b, const char *row_key, const struct ns_func *f)
{
    char *key = strdup(row_key);
    if (!key || ((b->nacc + 1) * 2 > b->nslots && grow_slots(b) < 0)) {
        free(key);
        return NULL;
    }
    size_t j = hash_str(key) & (b->nslots - 1);
    for (; b->slots[j]; j = (j + 1) & (b->nslots - 1))
        if (strcmp(b->acc[b->slots[j] - 1].key, key) == 0) {
            free(key);
            return &b->acc[b->slots[j] - 1];
        }
    if (b->nacc == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        struct acc *v = realloc(b->acc, cap * sizeof(*v));
        if (!v) {
            free(key);
            return NULL;
        }
        b->acc = v;
        b->cap = cap;
    }
    size_t runs = b->nb + b->na;
    struct acc *a = &b->acc[b->nacc];
    *a = (struct acc){.key = key,
                      .function = f->name,
                      .module = f->module,
                      .file = f->file,
                      .declared_in = "",
                      .symbolized = f->symbolized,
                      .inlined = f->inlined};
    a->self = calloc(runs, sizeof(double));
    a->total = calloc(runs, sizeof(double));
    a->count = calloc(runs, sizeof(uint64_t));
    a->tcount = calloc(runs, sizeof(uint64_t));
    /* A key told apart by its file (ns_diff_func_keys) has a fourth field. */
    size_t fields = 0;
    for (const char *c = key; *c; c++)
        fields += *c == '\x1f';
    if (fields == 3)
        a->declared_in = decl_base(f);
    if (!a->self || !a->total || !a->count || !a->tcount) {
        free(a->self), free(a->total), free(a->count), free(a->tcount), free(key);
        return NULL;
    }
    b->slots[j] = (uint32_t)b->nacc + 1;
    b->nacc++;
    return a;
}

double ns_diff_run_seconds(const struct ns_model *m)
{
    uint64_t ns = 0;
    for (size_t i = 0; i < m->nprocesses; i++) {
        uint64_t d = ns_facts_duration_ns(&m->processes[i]);
        ns = d > ns ? d : ns;
    }
    return (double)ns / 1e9;
}

/* The run's value of a weight under the normalisation. */
static double normalize(const struct builder *b, const struct ns_model *m, double w,
                        double run_total)
{
    switch (b->o->normalize) {
    case NS_DIFF_PER_SECOND: {
        double s = ns_diff_run_seconds(m);
        return s > 0 ? w / s : 0.0;
    }
    case NS_DIFF_SHARE:
        return run_total > 0 ? 100.0 * w / run_total : 0.0;
    case NS_DIFF_PER_RUN:
    default:
        return w;
    }
}

static int read_run(struct builder *b, size_t r)
{
    const struct ns_model *m = b->runs[r];
    uint32_t e = ns_model_event_index(m, b->o->event);
    if (e == NS_NONE) {
        snprintf(b->err, b->errlen, "the %s run %zu has no %s event",
                 r < b->nb ? "before" : "after", (r < b->nb ? r : r - b->nb) + 1, b->o->event);
        return -1;
    }
    double run_total = (double)m->events[e].weight;
    struct ns_func_stat *st;
    size_t n;
    char **keys = b->keys[r];
    if (ns_rank_functions(m, e, &st, &n) < 0)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        struct acc *a = row_of(b, keys[st[i].func], &m->funcs[st[i].func]);
        if (!a) {
            free(st);
            goto oom;
        }
        a->self[r] += normalize(b, m, (double)st[i].self_weight, run_total);
        a->total[r] += normalize(b, m, (double)st[i].total_weight, run_total);
        a->count[r] += st[i].self_count;
        a->tcount[r] += st[i].total_count;
        if (r >= b->nb) { /* the after side names a row when it has it */
            a->function = m->funcs[st[i].func].name;
            a->module = m->funcs[st[i].func].module;
            a->file = m->funcs[st[i].func].file;
        }
    }
    free(st);
    return 0;
oom:
    snprintf(b->err, b->errlen, "out of memory");
    return -1;
}

static double mean(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double)n : 0.0;
}

static double delta_pct(double before, double after)
{
    return before > 0 ? 100.0 * (after - before) / before : NAN;
}

enum ns_diff_kind ns_diff_event_kind(const struct ns_model *m, uint32_t e)
{
    const struct ns_event *ev = &m->events[e];
    if (!ns_event_is_aggregate(ev))
        return NS_DIFF_SAMPLED;
    if (strcmp(ev->unit, "ns") == 0)
        return NS_DIFF_MEASURED;
    /* Allocations sampled (alloc=sample) are estimates: their spread is unknown in one run. */
    if (ns_model_event_family(ev->name) == NS_FAMILY_ALLOC)
        for (size_t p = 0; p < m->nprocesses; p++)
            for (size_t i = 0; i < m->processes[p].nsettings; i++)
                if (strcmp(m->processes[p].settings[i].key, "alloc") == 0 &&
                    strcmp(m->processes[p].settings[i].value, "sample") == 0)
                    return NS_DIFF_MEASURED;
    return NS_DIFF_EXACT;
}

/* The size of a change in percent; infinite for something from nothing. */
static double change_pct(const struct ns_diff_value *v)
{
    return isnan(v->delta_pct) ? (v->after > 0 ? INFINITY : 0.0) : fabs(v->delta_pct);
}

/* With one run on a side, the largest change (%) of an event of this kind that is noise:
 * the run-to-run noise (a sampled total is the run's time in sample periods, within a
 * sample: what moves it is the run); 3 times that for a measured time, whose spread one
 * run cannot show; none for an exact count but what per-second normalisation brings. */
static double single_run_limit(const struct builder *b, enum ns_diff_kind kind)
{
    double limit = 100.0 * b->o->run_noise;
    if (kind == NS_DIFF_MEASURED)
        return 3.0 * limit;
    if (kind == NS_DIFF_EXACT && b->o->normalize != NS_DIFF_PER_SECOND)
        return 0.0;
    return limit;
}

/* A side-level quantity (a total, the duration) from its runs' values: means, and a verdict
 * by Welch's t with runs to spare, else by threshold. */
static struct ns_diff_value judge_total(const struct builder *b, const double *v,
                                        enum ns_diff_kind kind)
{
    struct ns_diff_value r = {.before = mean(v, b->nb), .after = mean(v + b->nb, b->na)};
    r.delta_pct = delta_pct(r.before, r.after);
    if (b->nb >= 2 && b->na >= 2) {
        r.p = ns_stat_welch_p(v, b->nb, v + b->nb, b->na);
        r.noise = r.p >= 0.05;
        return r;
    }
    r.p = NAN;
    r.noise = change_pct(&r) <= single_run_limit(b, kind);
    return r;
}

/* Every function's self and total verdicts. */
static int judge_rows(const struct builder *b, struct ns_diff *d, enum ns_diff_kind kind,
                      const uint64_t *count_before, const uint64_t *count_after)
{
    size_t n = d->nrows, runs = b->nb + b->na;
    double *p_self = calloc(n ? n : 1, sizeof(double)),
           *p_total = calloc(n ? n : 1, sizeof(double));
    int *sig_self = calloc(n ? n : 1, sizeof(int)), *sig_total = calloc(n ? n : 1, sizeof(int));
    int rc = -1;
    if (!p_self || !p_total || !sig_self || !sig_total)
        goto out;
    int by_test = (b->nb >= 2 && b->na >= 2) || kind == NS_DIFF_SAMPLED;
    uint64_t exposure[2] = {b->nb, b->na};
    if (b->o->normalize == NS_DIFF_SHARE) {
        exposure[0] = *count_before, exposure[1] = *count_after;
    } else if (b->o->normalize == NS_DIFF_PER_SECOND) {
        exposure[0] = exposure[1] = 0;
        for (size_t r = 0; r < runs; r++) /* microseconds of run time */
            exposure[r >= b->nb] += (uint64_t)llround(ns_diff_run_seconds(b->runs[r]) * 1e6);
    }
    /* With one run on a side a change is real only beyond the run-to-run noise too: the
     * machine moves every function of a run by several percent. */
    double single_limit = b->nb >= 2 && b->na >= 2 ? 0.0 : 100.0 * b->o->run_noise;
    for (size_t i = 0; i < n; i++) {
        const struct acc *a = &b->acc[i];
        if (b->nb >= 2 && b->na >= 2) {
            p_self[i] = ns_stat_welch_p(a->self, b->nb, a->self + b->nb, b->na);
            p_total[i] = ns_stat_welch_p(a->total, b->nb, a->total + b->nb, b->na);
        } else if (kind == NS_DIFF_SAMPLED) {
            /* A function's samples are Poisson: given c1 + c2, c2 is binomial with the after
             * side's part of the exposure (its runs, its seconds, or its samples for shares). */
            uint64_t c1 = 0, c2 = 0, k1 = 0, k2 = 0;
            for (size_t r = 0; r < runs; r++) {
                *(r < b->nb ? &c1 : &c2) += a->count[r];
                *(r < b->nb ? &k1 : &k2) += a->tcount[r];
            }
            p_self[i] = ns_stat_share_p(c1, exposure[0], c2, exposure[1]);
            p_total[i] = ns_stat_share_p(k1, exposure[0], k2, exposure[1]);
        }
    }
    if (by_test && (ns_stat_benjamini_hochberg(p_self, n, b->o->fdr, sig_self) < 0 ||
                    ns_stat_benjamini_hochberg(p_total, n, b->o->fdr, sig_total) < 0))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct ns_diff_row *row = &d->rows[i];
        if (by_test) {
            row->self.p = p_self[i], row->total.p = p_total[i];
            row->self.noise = !sig_self[i] || change_pct(&row->self) <= single_limit;
            row->total.noise = !sig_total[i] || change_pct(&row->total) <= single_limit;
            continue;
        }
        row->self.p = row->total.p = NAN;
        double limit = single_run_limit(b, kind);
        row->self.noise = change_pct(&row->self) <= limit;
        row->total.noise = change_pct(&row->total) <= limit;
    }
    rc = 0;
out:
    free(p_self), free(p_total), free(sig_self), free(sig_total);
    return rc;
}

const char *ns_diff_method_sentence(size_t nb, size_t na, enum ns_diff_kind kind)
{
    if (nb >= 2 && na >= 2)
        return "Welch's t over the runs' values, Benjamini-Hochberg over the functions";
    switch (kind) {
    case NS_DIFF_SAMPLED:
        return "one run on a side: a function changed when its samples moved beyond sampling "
               "noise (Poisson: conditional binomial, Benjamini-Hochberg over the functions) "
               "and beyond the run-to-run noise, the total beyond the run-to-run noise; more "
               "runs per side give a firmer verdict";
    case NS_DIFF_EXACT:
        return "one run on a side: exact counts have no sampling noise, any change is real; "
               "more runs per side would show whether the program itself varies";
    case NS_DIFF_MEASURED:
    default:
        return "one run on a side: a measured time's spread is unknown, so only a change "
               "beyond 3 times the run-to-run noise counts; more runs per side give a verdict "
               "by test";
    }
}

static int summarize(const struct builder *b, struct ns_diff *d, double *v)
{
    const struct ns_model *first = b->runs[0];
    size_t runs = b->nb + b->na;
    d->summary = calloc(first->nevents ? first->nevents : 1, sizeof(*d->summary));
    if (!d->summary)
        return -1;
    for (uint32_t e = 0; e < first->nevents; e++) {
        const char *name = first->events[e].name;
        size_t r = 0;
        for (; r < runs; r++) {
            const struct ns_model *m = b->runs[r];
            uint32_t k = ns_model_event_index(m, name);
            if (k == NS_NONE)
                break;
            v[r] = b->o->normalize == NS_DIFF_SHARE
                       ? 100.0
                       : normalize(b, m, (double)m->events[k].weight, 0.0);
        }
        if (r < runs)
            continue; /* not on every run */
        struct ns_diff_event_total *t = &d->summary[d->nsummary];
        t->kind = ns_diff_event_kind(first, e);
        t->v = judge_total(b, v, t->kind);
        t->event = strdup(name);
        t->unit = strdup(b->o->normalize == NS_DIFF_SHARE ? "%" : first->events[e].unit);
        if (!t->event || !t->unit)
            return -1;
        d->nsummary++;
    }
    for (size_t r = 0; r < runs; r++)
        v[r] = ns_diff_run_seconds(b->runs[r]);
    d->duration = judge_total(b, v, NS_DIFF_MEASURED);
    return 0;
}

static int finish_rows(struct builder *b, struct ns_diff *d)
{
    d->rows = calloc(b->nacc ? b->nacc : 1, sizeof(*d->rows));
    if (!d->rows)
        return -1;
    for (size_t i = 0; i < b->nacc; i++) {
        const struct acc *a = &b->acc[i];
        struct ns_diff_row *row = &d->rows[d->nrows++];
        row->function = dup_or_empty(a->function);
        row->module = dup_or_empty(a->module);
        row->file = dup_or_empty(a->file);
        row->declared_in = dup_or_empty(a->declared_in);
        if (!row->function || !row->module || !row->file || !row->declared_in)
            return -1;
        row->symbolized = a->symbolized, row->inlined = a->inlined;
        row->self.before = mean(a->self, b->nb), row->self.after = mean(a->self + b->nb, b->na);
        row->total.before = mean(a->total, b->nb);
        row->total.after = mean(a->total + b->nb, b->na);
        row->self.delta_pct = delta_pct(row->self.before, row->self.after);
        row->total.delta_pct = delta_pct(row->total.before, row->total.after);
        for (size_t r = 0; r < b->nb + b->na; r++)
            *(r < b->nb ? &row->before_count : &row->after_count) += a->count[r];
        row->presence =
            !row->before_count && !row->self.before && !row->total.before ? NS_DIFF_APPEARED
            : !row->after_count && !row->self.after && !row->total.after  ? NS_DIFF_VANISHED
                                                                          : NS_DIFF_BOTH;
        double s1 = d->total.before > 0 ? 100.0 * row->self.before / d->total.before : 0.0;
        double s2 = d->total.after > 0 ? 100.0 * row->self.after / d->total.after : 0.0;
        row->share = s1 > s2 ? s1 : s2;
        double t1 = d->total.before > 0 ? 100.0 * row->total.before / d->total.before : 0.0;
        double t2 = d->total.after > 0 ? 100.0 * row->total.after / d->total.after : 0.0;
        row->total_share = t1 > t2 ? t1 : t2;
        if (!row->symbolized && row->presence == NS_DIFF_VANISHED)
            d->unmatched_before += s1;
        if (!row->symbolized && row->presence == NS_DIFF_APPEARED)
            d->unmatched_after += s2;
    }
    return 0;
}

int ns_diff_build(const struct ns_model *const *before, size_t nb,
                  const struct ns_model *const *after, size_t na, const struct ns_diff_options *o,
                  struct ns_diff **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!nb || !na) {
        snprintf(err, errlen, "a diff needs at least one run on each side");
        return -1;
    }
    struct ns_diff_options opt = *o;
    opt.event = opt.event ? opt.event : "cpu";
    opt.fdr = opt.fdr > 0 ? opt.fdr : 0.05;
    opt.run_noise = opt.run_noise > 0 ? opt.run_noise : 0.05;
    size_t runs = nb + na;
    const struct ns_model **all = malloc(runs * sizeof(*all));
    double *v = calloc(runs, sizeof(double));
    struct ns_diff *d = calloc(1, sizeof(*d));
    struct builder b = {.runs = all, .nb = nb, .na = na, .o = &opt, .err = err, .errlen = errlen};
    int rc = -1;
    if (!all || !v || !d)
        goto oom;
    memcpy(all, before, nb * sizeof(*all));
    memcpy(all + nb, after, na * sizeof(*all));
    if (!(b.keys = ns_diff_func_keys(all, runs)))
        goto oom;
    for (size_t r = 0; r < runs; r++)
        if (read_run(&b, r) < 0)
            goto out;
    uint64_t count_before = 0, count_after = 0;
    for (size_t r = 0; r < runs; r++) {
        uint32_t e = ns_model_event_index(all[r], opt.event);
        double w = (double)all[r]->events[e].weight;
        v[r] = opt.normalize == NS_DIFF_SHARE ? 100.0 : normalize(&b, all[r], w, w);
        *(r < nb ? &count_before : &count_after) += all[r]->events[e].count;
    }
    uint32_t e0 = ns_model_event_index(all[0], opt.event);
    d->event = strdup(opt.event);
    d->unit = strdup(opt.normalize == NS_DIFF_SHARE ? "%" : all[0]->events[e0].unit);
    if (!d->event || !d->unit)
        goto oom;
    d->kind = ns_diff_event_kind(all[0], e0);
    d->normalize = opt.normalize;
    d->runs_before = nb, d->runs_after = na;
    d->fdr = opt.fdr, d->run_noise = opt.run_noise;
    d->method = ns_diff_method_sentence(nb, na, d->kind);
    d->total = judge_total(&b, v, d->kind);
    if (finish_rows(&b, d) < 0 || judge_rows(&b, d, d->kind, &count_before, &count_after) < 0 ||
        summarize(&b, d, v) < 0)
        goto oom;
    *out = d;
    d = NULL;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    for (size_t i = 0; i < b.nacc; i++) {
        free(b.acc[i].key), free(b.acc[i].self), free(b.acc[i].total), free(b.acc[i].count);
        free(b.acc[i].tcount);
    }
    free(b.acc);
    free(b.slots);
    ns_diff_keys_free(b.keys, all, runs);
    free(all);
    free(v);
    ns_diff_free(d);
    return rc;
}

void ns_diff_free(struct ns_diff *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nrows; i++)
        free(d->rows[i].function), free(d->rows[i].module), free(d->rows[i].file),
            free(d->rows[i].declared_in);
    for (size_t i = 0; i < d->nsummary; i++)
        free(d->summary[i].event), free(d->summary[i].unit);
    free(d->rows);
    free(d->summary);
    free(d->event);
    free(d->unit);
    free(d);
}

/* The limit that applies to a function (its own, else the general one), or -1 for none. */
static double limit_for(const struct ns_diff_gate *g, const char *function)
{
    double general = -1;
    for (size_t i = 0; i < g->nlimits; i++) {
        if (g->limits[i].function && function && strcmp(g->limits[i].function, function) == 0)
            return g->limits[i].pct;
        if (!g->limits[i].function)
            general = g->limits[i].pct;
    }
    return general;
}

static int grew_beyond(const struct ns_diff_value *v, double pct)
{
    if (v->noise || pct < 0 || v->after <= v->before)
        return 0;
    return isnan(v->delta_pct) || v->delta_pct > pct;
}

int ns_diff_gate_check(const struct ns_diff *d, const struct ns_diff_gate *g, int *total_fails,
                       size_t **rows, size_t *nrows)
{
    *rows = NULL;
    *nrows = 0;
    *total_fails = grew_beyond(&d->total, limit_for(g, NULL));
    size_t *v = malloc((d->nrows ? d->nrows : 1) * sizeof(*v));
    if (!v)
        return -1;
    for (size_t i = 0; i < d->nrows; i++) {
        const struct ns_diff_row *r = &d->rows[i];
        double pct = limit_for(g, r->function);
        int own = 0;
        for (size_t k = 0; k < g->nlimits; k++)
            own |= g->limits[k].function && strcmp(g->limits[k].function, r->function) == 0;
        /* Too small a part of the whole to fail on its own: --min-share. */
        int self_counts = own || r->share >= g->min_share;
        int total_counts = own || r->total_share >= g->min_share;
        if ((self_counts && grew_beyond(&r->self, pct)) ||
            (total_counts && grew_beyond(&r->total, pct)))
            v[(*nrows)++] = i;
    }
    *rows = v;
    return 0;
}

const char *ns_diff_normalize_name(enum ns_diff_normalize n)
{
    return n == NS_DIFF_PER_SECOND ? "duration" : n == NS_DIFF_SHARE ? "share" : "runs";
}

const char *ns_diff_kind_name(enum ns_diff_kind k)
{
    return k == NS_DIFF_EXACT ? "exact" : k == NS_DIFF_MEASURED ? "measured" : "sampled";
}
