/*
 * flame_jsonw — the compact JSON writer of the flame-graph data (flame_data.h): numbers
 * and strings appended to an ns_buf without building a document first. A profile of
 * 100,000 stacks has columns of hundreds of thousands of integers; writing them straight
 * into one buffer is several times faster and smaller in memory than a jansson tree.
 *
 * Strings are hostile input (names from a profile): bytes that are not valid UTF-8 become
 * U+FFFD, control characters are escaped, and so are `<`, `>` and `&` (as \u003c, \u003e,
 * \u0026), so that no name can close the <script> element the JSON is put into.
 *
 * Contract: like ns_buf, a failed allocation sets out->oom and later writes do nothing.
 */
#ifndef NS_REPORT_FLAME_JSONW_H
#define NS_REPORT_FLAME_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "textfmt.h"

void ns_jw_u64(struct ns_buf *b, uint64_t v);
void ns_jw_i64(struct ns_buf *b, int64_t v);
/* s as a JSON string literal, quotes included (NULL is written as ""). */
void ns_jw_str(struct ns_buf *b, const char *s);
/* `"key":` */
void ns_jw_key(struct ns_buf *b, const char *key);
/* A `,` before every element but the first: *first is set to 0 once used. */
void ns_jw_sep(struct ns_buf *b, int *first);

/* A finite number: an integer as such, else 9 significant digits (the page's weights after
 * normalisation, e.g. a mean of runs). Not finite: 0. */
void ns_jw_double(struct ns_buf *b, double v);
/* `"key":[v0,v1,...]` */
void ns_jw_column_u32(struct ns_buf *b, const char *key, const uint32_t *v, size_t n);

/* The `strings` table of a document: each distinct string once, "" first once asked for.
 * The strings are not copied: they must outlive the table. */
struct ns_jw_strtab {
    struct ns_itab tab;
    const char **v;
    size_t n, cap;
};
/* The index of s (NULL: ""), added if new; NS_NONE when out of memory. */
uint32_t ns_jw_str_id(struct ns_jw_strtab *t, const char *s);
/* `"strings":[...]` */
void ns_jw_strtab_write(struct ns_buf *b, const struct ns_jw_strtab *t);
void ns_jw_strtab_free(struct ns_jw_strtab *t);

#endif
