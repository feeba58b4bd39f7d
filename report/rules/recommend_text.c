/*
 * recommend_text — the "Recommendations" section of the text report (see recommend.h).
 * Function names, files, evidence and suggestions may hold bytes from the profile: all of
 * it goes through ns_buf_put_term, so no name can move the cursor or change colours.
 */
#include "recommend.h"

#include "render_text_internal.h"

static void put_location(struct ns_buf *b, const struct ns_model *m, const struct ns_finding *f)
{
    if (f->func < m->nfuncs)
        ns_buf_put_term(b, m->funcs[f->func].name, 80);
    else
        ns_buf_puts(b, "(whole program)");
    if (f->file && *f->file) {
        ns_buf_puts(b, " (");
        ns_buf_put_term(b, nsr_basename(f->file), 60);
        if (f->line)
            ns_buf_printf(b, ":%u", f->line);
        ns_buf_puts(b, ")");
    }
}

void ns_findings_text(struct ns_buf *b, const struct ns_model *m, const struct ns_findings *f,
                      int color)
{
    nsr_heading(b, color, "Recommendations");
    if (!f->n) {
        ns_buf_puts(b, "  none: no rule found a problem in this profile\n");
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct ns_finding *x = &f->v[i];
        ns_buf_printf(b, "  %zu. ", i + 1);
        nsr_style(b, color, x->severity >= NS_SEV_HIGH ? "1;31" : "1");
        ns_buf_printf(b, "[%s] %s", ns_severity_name(x->severity), x->rule);
        nsr_unstyle(b, color);
        ns_buf_puts(b, " at ");
        put_location(b, m, x);
        ns_buf_puts(b, "\n     ");
        ns_buf_put_term(b, x->evidence, 0);
        ns_buf_puts(b, "\n     -> ");
        ns_buf_put_term(b, x->suggestion, 0);
        ns_buf_puts(b, "\n");
    }
}
