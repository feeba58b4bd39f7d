/*
 * table — aligned text columns (see table.h).
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>

void ns_table_init(struct ns_table *t, size_t ncols, const char *const *spec)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols < NS_TABLE_MAX_COLS ? ncols : NS_TABLE_MAX_COLS;
    for (size_t i = 0; i < t->ncols; i++) {
        t->align[i] = spec[i][0];
        t->headers[i] = spec[i] + 1;
    }
}

static void add_owned(struct ns_table *t, char *cell)
{
    if (!cell || t->oom) {
        free(cell);
        t->oom = 1;
        return;
    }
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * sizeof(*c));
        if (!c) {
            free(cell);
            t->oom = 1;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    t->cells[t->ncells++] = cell;
}

void ns_table_cell(struct ns_table *t, const char *text)
{
    add_owned(t, strdup(text));
}

void ns_table_cell_text(struct ns_table *t, const char *text, size_t max_cols)
{
    struct ns_buf b = {0};
    ns_buf_put_term(&b, text, max_cols);
    if (b.oom) {
        ns_buf_free(&b);
        t->oom = 1;
        return;
    }
    add_owned(t, b.s ? b.s : strdup(""));
}

size_t ns_table_rows(const struct ns_table *t)
{
    return t->ncols ? t->ncells / t->ncols : 0;
}

static void put_cell(struct ns_buf *out, const char *text, size_t width, char align, int last)
{
    size_t w = ns_text_width(text);
    size_t pad = width > w ? width - w : 0;
    if (align == 'r')
        ns_buf_pad(out, pad);
    ns_buf_puts(out, text);
    if (align != 'r' && !last)
        ns_buf_pad(out, pad);
}

void ns_table_render(const struct ns_table *t, struct ns_buf *out, size_t indent, int color)
{
    size_t width[NS_TABLE_MAX_COLS] = {0};
    size_t rows = ns_table_rows(t);
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = ns_text_width(t->headers[c]);
        for (size_t r = 0; r < rows; r++) {
            size_t w = ns_text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    ns_buf_pad(out, indent);
    if (color)
        ns_buf_puts(out, "\033[1m");
    for (size_t c = 0; c < t->ncols; c++) {
        put_cell(out, t->headers[c], width[c], t->align[c], c + 1 == t->ncols);
        if (c + 1 < t->ncols)
            ns_buf_puts(out, "  ");
    }
    if (color)
        ns_buf_puts(out, "\033[0m");
    ns_buf_puts(out, "\n");
    for (size_t r = 0; r < rows; r++) {
        ns_buf_pad(out, indent);
        for (size_t c = 0; c < t->ncols; c++) {
            put_cell(out, t->cells[r * t->ncols + c], width[c], t->align[c], c + 1 == t->ncols);
            if (c + 1 < t->ncols)
                ns_buf_puts(out, "  ");
        }
        ns_buf_puts(out, "\n");
    }
}

void ns_table_free(struct ns_table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
