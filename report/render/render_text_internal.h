/*
 * render_text_internal — pieces of the text report shared by render_text.c (rankings),
 * render_text_facts.c (header and sampling facts), render_text_sites.c (cells of call
 * sites, resources, distributions and sparklines), render_text_memory.c (Memory) and
 * render_text_io.c (I/O and Locks).
 */
#ifndef NS_REPORT_RENDER_TEXT_INTERNAL_H
#define NS_REPORT_RENDER_TEXT_INTERNAL_H

#include "rank_sites.h"
#include "render.h"
#include "textfmt.h"

/* Column budget for untrusted names in tables; longer names end in "...". */
#define NSR_NAME_COLS 60
#define NSR_PATH_COLS 48

static inline void nsr_style(struct ns_buf *b, int color, const char *sgr)
{
    if (color)
        ns_buf_printf(b, "\033[%sm", sgr);
}

static inline void nsr_unstyle(struct ns_buf *b, int color)
{
    if (color)
        ns_buf_puts(b, "\033[0m");
}

/* "Title" in bold, on a line of its own after a blank line. */
void nsr_heading(struct ns_buf *b, int color, const char *title);
/* A section's heading (Memory, I/O, Database...): bold and underlined on a terminal. */
void nsr_section_heading(struct ns_buf *b, int color, const char *name);
/* "  label      " (fixed width), the start of a label/value line. */
void nsr_label(struct ns_buf *b, const char *label);
/* "pid 4242 (app)" with the name made safe. */
void nsr_process_name(struct ns_buf *b, const struct ns_process *p);

void nsr_text_header(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o);
void nsr_text_sampling(struct ns_buf *b, const struct ns_model *m,
                       const struct ns_render_options *o);
void nsr_text_memory(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o);
void nsr_text_io(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o);
void nsr_text_locks(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o);
void nsr_text_database(struct ns_buf *b, const struct ns_model *m,
                       const struct ns_render_options *o);

/* Basename of a path (the path itself when it ends in '/'). */
const char *nsr_basename(const char *path);
/* Rows a ranking of n shows with --top. */
size_t nsr_shown(size_t n, const struct ns_render_options *o);
/* A heading "What (name; top R of T)"; name may be NULL. */
void nsr_section_title(struct ns_buf *b, const struct ns_render_options *o, const char *what,
                       const char *name, size_t rows, size_t total);

struct ns_table;
/* "12.3%" of whole and the weight in unit: two cells. */
void nsr_share_cells(struct ns_table *t, uint64_t part, uint64_t whole, const char *unit);
/* Cells function, location (file:line), [via: the interposed function,] module of a site
 * (NS_NONE: "[no stack]"). */
void nsr_site_cells(struct ns_table *t, const struct ns_model *m, uint32_t site, int with_via);
/* Cells [type and] name of a resource (NS_NONE: "-" and "[none]"). */
void nsr_resource_cells(struct ns_table *t, const struct ns_model *m, uint32_t resource,
                        int with_type);
/* The callers of a stack's call site, innermost first: "parse < load < main < ...". */
#define NSR_CALLERS 3
void nsr_callers_cell(struct ns_table *t, const struct ns_model *m, uint32_t leaf, uint32_t site);
/* "p50 64 B, p90 4.0 KiB, p99 64 KiB" of a histogram, values in unit; "" if empty. */
void nsr_put_quantiles(struct ns_buf *b, const struct ns_hist *h, const char *unit);
/* A sparkline of the series in ncols columns of block characters (U+2581..U+2588). */
void nsr_put_sparkline(struct ns_buf *b, const struct ns_series *s, size_t ncols);

#endif
