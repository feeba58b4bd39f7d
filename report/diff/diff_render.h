/*
 * diff_render — the views of a diff (diff.h): text for people, JSON ("nsprof-diff/1",
 * docs/JSON.md) for programs and CI. Names come from profiles: the text goes through
 * ns_buf_put_term, the JSON through valid UTF-8.
 */
#ifndef NS_REPORT_DIFF_RENDER_H
#define NS_REPORT_DIFF_RENDER_H

#include <stdio.h>

#include "diff.h"

/* What the regression gate found, for the views (checked 0: no gate was asked for). */
struct ns_diff_gate_result {
    int checked;
    const struct ns_diff_gate *gate;
    int total_fails;
    const size_t *rows; /* indices into the diff's rows */
    size_t nrows;
};

struct ns_diff_render_options {
    size_t top; /* rows per table; 0: all */
    int color;
    const struct ns_diff_gate_result *gate; /* NULL: none */
};

int ns_diff_render_text(FILE *f, const struct ns_diff *d, const struct ns_diff_render_options *o);
int ns_diff_render_json(FILE *f, const struct ns_diff *d, const struct ns_diff_render_options *o);

#endif
