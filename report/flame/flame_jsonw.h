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

#include "textfmt.h"

void ns_jw_u64(struct ns_buf *b, uint64_t v);
void ns_jw_i64(struct ns_buf *b, int64_t v);
/* s as a JSON string literal, quotes included (NULL is written as ""). */
void ns_jw_str(struct ns_buf *b, const char *s);
/* `"key":` */
void ns_jw_key(struct ns_buf *b, const char *key);
/* A `,` before every element but the first: *first is set to 0 once used. */
void ns_jw_sep(struct ns_buf *b, int *first);

#endif
