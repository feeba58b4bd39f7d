/*
 * render_text_internal — pieces of the text report shared by render_text.c (rankings) and
 * render_text_facts.c (header and sampling facts).
 */
#ifndef NS_REPORT_RENDER_TEXT_INTERNAL_H
#define NS_REPORT_RENDER_TEXT_INTERNAL_H

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
/* "  label      " (fixed width), the start of a label/value line. */
void nsr_label(struct ns_buf *b, const char *label);
/* "pid 4242 (app)" with the name made safe. */
void nsr_process_name(struct ns_buf *b, const struct ns_process *p);

void nsr_text_header(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o);
void nsr_text_sampling(struct ns_buf *b, const struct ns_model *m,
                       const struct ns_render_options *o);

#endif
