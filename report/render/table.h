/*
 * table — aligned text columns for the terminal report. Cells are added left to right, row
 * after row; widths are measured when the table is rendered, so every column is as wide as
 * its widest cell (or header). Untrusted text goes through ns_table_cell_text, which makes
 * it terminal-safe and cuts it to a maximum width.
 */
#ifndef NS_REPORT_TABLE_H
#define NS_REPORT_TABLE_H

#include <stddef.h>

#include "textfmt.h"

#define NS_TABLE_MAX_COLS 12

struct ns_table {
    size_t ncols;
    const char *headers[NS_TABLE_MAX_COLS];
    char align[NS_TABLE_MAX_COLS]; /* 'l' or 'r' */
    char **cells;
    size_t ncells, cap;
    int oom;
};

/* spec: one "l"/"r" per column followed by its header, e.g. {"rself%", "lfunction"}. */
void ns_table_init(struct ns_table *t, size_t ncols, const char *const *spec);
/* A cell of trusted text (numbers, fixed words). */
void ns_table_cell(struct ns_table *t, const char *text);
/* A cell of untrusted text, terminal-safe, at most max_cols columns (0: no limit). */
void ns_table_cell_text(struct ns_table *t, const char *text, size_t max_cols);
size_t ns_table_rows(const struct ns_table *t);
/* Appends the table, each line indented; headers bold when color. */
void ns_table_render(const struct ns_table *t, struct ns_buf *out, size_t indent, int color);
void ns_table_free(struct ns_table *t);

#endif
