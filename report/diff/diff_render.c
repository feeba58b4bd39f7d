/*
 * diff_render — see diff_render.h. Rows are ordered by the size of their change in the
 * event's unit, biggest first; functions found on one side only are listed apart.
 */
#include "diff_render.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "textfmt.h"

static void fmt_value(char *buf, size_t len, double v, const struct ns_diff *d, const char *unit)
{
    if (strcmp(unit, "%") == 0) {
        snprintf(buf, len, "%.2f%%", v);
        return;
    }
    ns_fmt_weight(buf, len, v > 0 ? (uint64_t)llround(v) : 0, unit);
    if (d->normalize == NS_DIFF_PER_SECOND)
        strncat(buf, "/s", len - strlen(buf) - 1);
}

static void fmt_delta(char *buf, size_t len, double before, double after, const struct ns_diff *d,
                      const char *unit)
{
    char v[48];
    fmt_value(v, sizeof(v), fabs(after - before), d, unit);
    snprintf(buf, len, "%s%s", after >= before ? "+" : "-", v);
}

static void fmt_pct(char *buf, size_t len, double pct)
{
    if (isnan(pct))
        snprintf(buf, len, "new");
    else
        snprintf(buf, len, "%+.1f%%", pct);
}

static const char *verdict(const struct ns_diff_value *v)
{
    if (v->noise || v->after == v->before)
        return "noise";
    return v->after < v->before ? "improved" : "regressed";
}

struct order {
    const struct ns_diff *d;
    int total; /* sort by the total's change, else self's */
};

static int by_change(const void *a, const void *b, void *ctx)
{
    const struct order *o = ctx;
    const struct ns_diff_row *x = &o->d->rows[*(const size_t *)a];
    const struct ns_diff_row *y = &o->d->rows[*(const size_t *)b];
    const struct ns_diff_value *vx = o->total ? &x->total : &x->self;
    const struct ns_diff_value *vy = o->total ? &y->total : &y->self;
    double cx = fabs(vx->after - vx->before), cy = fabs(vy->after - vy->before);
    if (cx != cy)
        return cx > cy ? -1 : 1;
    int k = strcmp(x->function, y->function);
    return k ? k : strcmp(x->module, y->module);
}

/* Indices of the rows with presence p (and a change in self, or total), ordered; p < 0:
 * every row. */
static size_t *select_rows(const struct ns_diff *d, int p, int total, size_t *n)
{
    size_t *v = malloc((d->nrows ? d->nrows : 1) * sizeof(*v));
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < d->nrows; i++) {
        const struct ns_diff_value *x = total ? &d->rows[i].total : &d->rows[i].self;
        /* Rows of a table have something in it: a change, or cost on the side they are on. */
        if (p < 0 || ((int)d->rows[i].presence == p && x->after != x->before))
            v[(*n)++] = i;
    }
    struct order o = {d, total};
    qsort_r(v, *n, sizeof(*v), by_change, &o);
    return v;
}

static void put_function(struct ns_table *t, const struct ns_diff_row *r)
{
    char name[4200];
    /* Two static functions of one name: which file each is. */
    snprintf(name, sizeof(name), "%s%s%s%s%s", r->function, r->inlined ? " [inlined]" : "",
             r->declared_in[0] ? " (" : "", r->declared_in, r->declared_in[0] ? ")" : "");
    ns_table_cell_text(t, name, 60);
    ns_table_cell_text(t, r->module, 32);
}

static void put_rows(struct ns_buf *b, const struct ns_diff *d, const size_t *idx, size_t n,
                     int total, const struct ns_diff_render_options *o)
{
    static const char *const spec[] = {"rbefore",  "rafter",    "rdelta", "rdelta%",
                                       "lverdict", "lfunction", "lmodule"};
    struct ns_table t;
    ns_table_init(&t, 7, spec);
    size_t shown = o->top && o->top < n ? o->top : n;
    for (size_t i = 0; i < shown; i++) {
        const struct ns_diff_row *r = &d->rows[idx[i]];
        const struct ns_diff_value *v = total ? &r->total : &r->self;
        char before[48], after[48], delta[56], pct[24];
        fmt_value(before, sizeof(before), v->before, d, d->unit);
        fmt_value(after, sizeof(after), v->after, d, d->unit);
        fmt_delta(delta, sizeof(delta), v->before, v->after, d, d->unit);
        fmt_pct(pct, sizeof(pct), v->delta_pct);
        ns_table_cell(&t, before);
        ns_table_cell(&t, after);
        ns_table_cell(&t, delta);
        ns_table_cell(&t, pct);
        ns_table_cell(&t, verdict(v));
        put_function(&t, r);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
}

static void heading(struct ns_buf *b, int color, const char *text, const struct ns_diff *d,
                    size_t shown, size_t n)
{
    ns_buf_printf(b, "\n%s%s (%s", color ? "\033[1m" : "", text, d->event);
    if (shown < n)
        ns_buf_printf(b, "; top %zu of %zu", shown, n);
    ns_buf_printf(b, ")%s\n", color ? "\033[0m" : "");
}

static void put_section(struct ns_buf *b, const struct ns_diff *d, enum ns_diff_presence p,
                        int total, const char *title, const struct ns_diff_render_options *o)
{
    size_t n;
    size_t *idx = select_rows(d, p, total, &n);
    if (!idx) {
        b->oom = 1;
        return;
    }
    if (n) {
        heading(b, o->color, title, d, o->top && o->top < n ? o->top : n, n);
        put_rows(b, d, idx, n, total, o);
    }
    free(idx);
}

static void put_summary(struct ns_buf *b, const struct ns_diff *d, int color)
{
    static const char *const spec[] = {"levent", "rbefore", "rafter", "rdelta%", "lverdict"};
    struct ns_table t;
    ns_table_init(&t, 5, spec);
    for (size_t i = 0; i < d->nsummary; i++) {
        const struct ns_diff_event_total *e = &d->summary[i];
        char before[48], after[48], pct[24];
        fmt_value(before, sizeof(before), e->v.before, d, e->unit);
        fmt_value(after, sizeof(after), e->v.after, d, e->unit);
        fmt_pct(pct, sizeof(pct), e->v.delta_pct);
        ns_table_cell_text(&t, e->event, 24);
        ns_table_cell(&t, before);
        ns_table_cell(&t, after);
        ns_table_cell(&t, pct);
        ns_table_cell(&t, verdict(&e->v));
    }
    char before[48], after[48], pct[24];
    snprintf(before, sizeof(before), "%.3f s", d->duration.before);
    snprintf(after, sizeof(after), "%.3f s", d->duration.after);
    fmt_pct(pct, sizeof(pct), d->duration.delta_pct);
    ns_table_cell(&t, "duration");
    ns_table_cell(&t, before);
    ns_table_cell(&t, after);
    ns_table_cell(&t, pct);
    ns_table_cell(&t, verdict(&d->duration));
    ns_table_render(&t, b, 2, color);
    ns_table_free(&t);
}

static void put_gate(struct ns_buf *b, const struct ns_diff *d, const struct ns_diff_gate_result *g,
                     int color)
{
    int failed = g->total_fails || g->nrows;
    ns_buf_printf(b, "\n%sGate%s: ", color ? "\033[1m" : "", color ? "\033[0m" : "");
    for (size_t i = 0; i < g->gate->nlimits; i++) {
        ns_buf_puts(b, i ? ", " : "");
        if (g->gate->limits[i].function) {
            ns_buf_put_term(b, g->gate->limits[i].function, 60);
            ns_buf_puts(b, "=");
        }
        ns_buf_printf(b, "%g%%", g->gate->limits[i].pct);
    }
    ns_buf_printf(b, " (functions below %g%% of the total do not count): ", g->gate->min_share);
    if (!failed) {
        ns_buf_puts(b, "passed, nothing grew beyond its limit and beyond noise\n");
        return;
    }
    ns_buf_printf(b, "%sFAILED%s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "");
    if (g->total_fails)
        ns_buf_printf(b, "  the total %s grew %+.1f%%\n", d->event, d->total.delta_pct);
    for (size_t i = 0; i < g->nrows; i++) {
        const struct ns_diff_row *r = &d->rows[g->rows[i]];
        ns_buf_puts(b, "  ");
        ns_buf_put_term(b, r->function, 80);
        ns_buf_puts(b, " (");
        ns_buf_put_term(b, r->module, 40);
        char self[24], total[24];
        fmt_pct(self, sizeof(self), r->self.delta_pct);
        fmt_pct(total, sizeof(total), r->total.delta_pct);
        ns_buf_printf(b, "): self %s (%s), total %s (%s)\n", self, verdict(&r->self), total,
                      verdict(&r->total));
    }
}

int ns_diff_render_text(FILE *f, const struct ns_diff *d, const struct ns_diff_render_options *o)
{
    struct ns_buf b = {0};
    ns_buf_printf(&b, "%snsprof diff: %s, %zu run%s before, %zu run%s after, normalized %s%s\n",
                  o->color ? "\033[1m" : "", d->event, d->runs_before,
                  d->runs_before == 1 ? "" : "s", d->runs_after, d->runs_after == 1 ? "" : "s",
                  d->normalize == NS_DIFF_PER_SECOND ? "per second of run time"
                  : d->normalize == NS_DIFF_SHARE    ? "as shares of each side's total"
                                                     : "per run",
                  o->color ? "\033[0m" : "");
    ns_buf_printf(&b, "  noise: %s (%s event; false discovery rate %g, run-to-run noise %g%%)\n",
                  d->method, ns_diff_kind_name(d->kind), d->fdr, 100.0 * d->run_noise);
    if (d->unmatched_before > 0.05 || d->unmatched_after > 0.05)
        ns_buf_printf(&b,
                      "  unmatched: %.1f%% of before and %.1f%% of after are unnamed frames "
                      "(module+0xADDR) found on one side only: an unnamed frame matches only "
                      "its own address, in another build never; symbols for those modules "
                      "(their -dbgsym packages, --debug-dir) name them\n",
                      d->unmatched_before, d->unmatched_after);
    ns_buf_puts(&b, "\n");
    put_summary(&b, d, o->color);
    put_section(&b, d, NS_DIFF_BOTH, 0, "Functions by self change", o);
    put_section(&b, d, NS_DIFF_APPEARED, 0, "Functions that appeared (after only, self)", o);
    put_section(&b, d, NS_DIFF_VANISHED, 0, "Functions that vanished (before only, self)", o);
    put_section(&b, d, NS_DIFF_BOTH, 1, "Functions by total change", o);
    if (o->gate && o->gate->checked)
        put_gate(&b, d, o->gate, o->color);
    int rc = b.oom ? -1 : 0;
    if (!rc && b.len && fwrite(b.s, 1, b.len, f) != b.len)
        rc = -1;
    ns_buf_free(&b);
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
    char *v = ns_utf8_valid(s ? s : "");
    json_t *j = v ? json_string(v) : NULL;
    free(v);
    return j ? j : json_null();
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jvalue(const struct ns_diff_value *v)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:b}", "before", jnum(v->before), "after",
                     jnum(v->after), "delta_pct", jnum(v->delta_pct), "p", jnum(v->p), "noise",
                     v->noise);
}

static const char *presence_name(enum ns_diff_presence p)
{
    return p == NS_DIFF_APPEARED ? "appeared" : p == NS_DIFF_VANISHED ? "vanished" : "both";
}

static json_t *jrow(const struct ns_diff_row *r)
{
    return json_pack(
        "{s:o, s:o, s:o, s:b, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:b, s:I, s:I, s:o, "
        "s:o, s:o}",
        "function", jstr(r->function), "module", jstr(r->module), "file", jstr(r->file),
        "symbolized", r->symbolized, "inlined", r->inlined, "presence", presence_name(r->presence),
        "before", jnum(r->self.before), "after", jnum(r->self.after), "before_total",
        jnum(r->total.before), "after_total", jnum(r->total.after), "delta_pct",
        jnum(r->self.delta_pct), "noise", r->self.noise, "total_delta_pct",
        jnum(r->total.delta_pct), "total_noise", r->total.noise, "before_samples",
        (json_int_t)r->before_count, "after_samples", (json_int_t)r->after_count, "share",
        jnum(r->share), "total_share", jnum(r->total_share), "declared_in",
        r->declared_in[0] ? jstr(r->declared_in) : json_null());
}

int ns_diff_render_json(FILE *f, const struct ns_diff *d, const struct ns_diff_render_options *o)
{
    json_t *root = json_object(), *summary = json_array(), *rows = json_array();
    for (size_t i = 0; i < d->nsummary; i++) {
        const struct ns_diff_event_total *e = &d->summary[i];
        json_t *v = jvalue(&e->v);
        json_object_set_new(v, "event", jstr(e->event));
        json_object_set_new(v, "unit", jstr(e->unit));
        json_object_set_new(v, "kind", json_string(ns_diff_kind_name(e->kind)));
        json_array_append_new(summary, v);
    }
    /* Every row (each says whether it is in both sides), biggest self change first. */
    size_t n;
    size_t *idx = select_rows(d, -1, 0, &n);
    for (size_t i = 0; idx && i < n && (!o->top || i < o->top); i++)
        json_array_append_new(rows, jrow(&d->rows[idx[i]]));
    json_object_set_new(root, "schema", json_string("nsprof-diff/1"));
    json_object_set_new(root, "event", jstr(d->event));
    json_object_set_new(root, "unit", jstr(d->unit));
    json_object_set_new(root, "kind", json_string(ns_diff_kind_name(d->kind)));
    json_object_set_new(root, "normalize", json_string(ns_diff_normalize_name(d->normalize)));
    json_object_set_new(root, "runs",
                        json_pack("{s:I, s:I}", "before", (json_int_t)d->runs_before, "after",
                                  (json_int_t)d->runs_after));
    json_object_set_new(root, "method", json_string(d->method));
    json_object_set_new(root, "fdr", json_real(d->fdr));
    json_object_set_new(root, "run_noise", json_real(d->run_noise));
    json_object_set_new(root, "total", jvalue(&d->total));
    json_object_set_new(root, "duration", jvalue(&d->duration));
    json_object_set_new(root, "summary", summary);
    json_object_set_new(root, "unmatched",
                        json_pack("{s:o, s:o}", "before_pct", jnum(d->unmatched_before),
                                  "after_pct", jnum(d->unmatched_after)));
    json_object_set_new(root, "functions", rows);
    if (o->gate && o->gate->checked) {
        json_t *failing = json_array();
        for (size_t i = 0; i < o->gate->nrows; i++)
            json_array_append_new(failing, jstr(d->rows[o->gate->rows[i]].function));
        json_object_set_new(root, "gate",
                            json_pack("{s:b, s:b, s:o}", "passed",
                                      !o->gate->total_fails && !o->gate->nrows, "total_fails",
                                      o->gate->total_fails, "functions", failing));
    }
    free(idx);
    int rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0 && !ferror(f) ? 0 : -1;
    if (!rc)
        fputc('\n', f);
    json_decref(root);
    return rc;
}
