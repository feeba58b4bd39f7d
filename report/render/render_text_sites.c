/*
 * render_text_sites — the cells and small graphics the Memory, I/O and Locks sections of
 * the text report share: a call site (function, file:line, the interposed function it
 * called, module), a resource (type and name), a distribution as a few quantiles, and a
 * series as a sparkline.
 *
 * Every name comes from the profile and goes through ns_table_cell_text / ns_buf_put_term:
 * a path with control characters or invalid UTF-8 shows as \xNN text, never raw.
 */
#include "render_text_internal.h"
#include "table.h"

#include <stdio.h>
#include <string.h>

void nsr_share_cells(struct ns_table *t, uint64_t part, uint64_t whole, const char *unit)
{
    char pct[16], w[32];
    ns_fmt_pct(pct, sizeof(pct), part, whole);
    ns_fmt_weight(w, sizeof(w), part, unit);
    ns_table_cell(t, pct);
    ns_table_cell(t, w);
}

void nsr_site_cells(struct ns_table *t, const struct ns_model *m, uint32_t site, int with_via)
{
    if (site >= m->nsites) {
        ns_table_cell(t, "[no stack]");
        for (int i = with_via ? 3 : 2; i > 0; i--)
            ns_table_cell(t, "");
        return;
    }
    const struct ns_site *s = &m->sites[site];
    const struct ns_func *f = &m->funcs[s->func];
    struct ns_buf name = {0};
    ns_buf_put_term(&name, f->name, NSR_NAME_COLS);
    if (f->inlined)
        ns_buf_puts(&name, " [inlined]");
    ns_table_cell(t, name.s ? name.s : "");
    ns_buf_free(&name);
    struct ns_buf loc = {0};
    const char *file = s->line && s->file[0] ? s->file : f->file;
    if (file[0])
        ns_buf_put_term(&loc, nsr_basename(file), 40);
    if (s->line && s->file[0])
        ns_buf_printf(&loc, ":%u", s->line);
    ns_table_cell(t, loc.s ? loc.s : "");
    ns_buf_free(&loc);
    if (with_via)
        ns_table_cell_text(t, s->callee != NS_NONE ? m->funcs[s->callee].name : "", 32);
    ns_table_cell_text(t, f->module, 32);
}

void nsr_resource_cells(struct ns_table *t, const struct ns_model *m, uint32_t resource,
                        int with_type)
{
    if (resource >= m->nresources) {
        if (with_type)
            ns_table_cell(t, "-");
        ns_table_cell(t, "[none]");
        return;
    }
    const struct ns_resource *r = &m->resources[resource];
    if (with_type)
        ns_table_cell(t, ns_resource_kind_name(r->kind));
    struct ns_buf name = {0};
    ns_buf_put_term(&name, r->name[0] ? r->name : "[unnamed]", NSR_PATH_COLS);
    if (m->nprocesses > 1)
        ns_buf_printf(&name, " (pid %llu)", (unsigned long long)m->processes[r->process].pid);
    ns_table_cell(t, name.s ? name.s : "");
    ns_buf_free(&name);
}

void nsr_put_quantiles(struct ns_buf *b, const struct ns_hist *h, const char *unit)
{
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        int bucket = ns_hist_quantile(h, qs[i].q);
        if (bucket < 0)
            return;
        char v[32];
        ns_fmt_weight(v, sizeof(v), ns_hist_lo((unsigned)bucket), unit);
        ns_buf_printf(b, "%s%s %s", i ? ", " : "", qs[i].name, v);
    }
    int top = (int)h->nbuckets - 1;
    if (top >= 0) {
        char v[32];
        ns_fmt_weight(v, sizeof(v), ns_hist_lo((unsigned)top), unit);
        ns_buf_printf(b, ", max %s", v);
    }
}

void nsr_put_sparkline(struct ns_buf *b, const struct ns_series *s, size_t ncols)
{
    uint64_t cols[128];
    if (ncols > sizeof(cols) / sizeof(cols[0]))
        ncols = sizeof(cols) / sizeof(cols[0]);
    ns_series_columns(s, cols, ncols);
    uint64_t max = 0;
    for (size_t j = 0; j < ncols; j++)
        max = cols[j] > max ? cols[j] : max;
    for (size_t j = 0; j < ncols && s->n; j++) {
        /* Eight levels, U+2581 (lowest) to U+2588 (full block). */
        unsigned level = max ? (unsigned)((double)cols[j] / (double)max * 7.0 + 0.5) : 0;
        char glyph[4] = {(char)0xe2, (char)0x96, (char)(0x81 + level), 0};
        ns_buf_puts(b, glyph);
    }
}

void nsr_callers_cell(struct ns_table *t, const struct ns_model *m, uint32_t leaf, uint32_t site)
{
    struct ns_buf b = {0};
    uint32_t n = m->nodes[ns_site_node(m, leaf, site)].parent;
    size_t shown = 0;
    /* Depth 1 is the process node: its callers end there. */
    for (; n != NS_NONE && m->nodes[n].depth >= 2 && shown < NSR_CALLERS; n = m->nodes[n].parent) {
        ns_buf_puts(&b, shown++ ? " < " : "");
        ns_buf_put_term(&b, m->funcs[m->nodes[n].func].name, 40);
    }
    if (n != NS_NONE && m->nodes[n].depth >= 2)
        ns_buf_puts(&b, " < ...");
    ns_table_cell(t, b.s ? b.s : "");
    ns_buf_free(&b);
}
