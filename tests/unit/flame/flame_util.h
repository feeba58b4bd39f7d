/*
 * flame_util — what the flame tests share: the data document of a model parsed back with
 * jansson, the page rendered with this directory's minimal template, and the data element
 * of a page decoded back (base64 + raw inflate, or escaped JSON) the way the page does.
 */
#ifndef NS_TEST_FLAME_UTIL_H
#define NS_TEST_FLAME_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "flame_html.h"
#include "model.h"

/* A template with one CSS and one JS asset and the data marker. */
extern const struct ns_flame_assets test_assets;

/* ns_flame_data_json of m (initial event NULL) as text; fails the test on error. */
char *flame_json_text(const struct ns_model *m, const char *initial_event, size_t *len);
/* The same, parsed. */
json_t *flame_json(const struct ns_model *m);
/* The page of m with test_assets; fails the test on error. */
char *flame_page(const struct ns_model *m, size_t *len);
/* The data element of a page decoded to JSON text; *encoding gets data-encoding. */
char *decode_page_data(const char *page, char *encoding, size_t enclen, size_t *len);

/* Column `key` of object cols as a malloc'd int64 array; *n its length. */
int64_t *column(const json_t *cols, const char *key, size_t *n);
/* A view's parent per node, from its `depth` column (checked to be a pre-order). */
int64_t *parent_column(const json_t *nodes, size_t *n);
/* A time line's cell nodes, from the column delta-coded within each bucket. */
int64_t *cell_node_column(const json_t *cells, const int64_t *bucket, size_t *n);
/* The event view named name, or NULL. */
json_t *event_view(const json_t *doc, const char *name);
/* The name of frame f in doc (strings[frames.name[f]]). */
const char *frame_name(const json_t *doc, int64_t f);
/* The node of view ev reached from the root through frames named path (NULL-terminated,
 * the process first); -1 if absent. */
int64_t view_path(const json_t *doc, const json_t *ev, const char *const *path);

/* Checks every invariant of docs/FLAME_DATA.md for view ev: pre-order with contiguous
 * subtrees, siblings heaviest first, total = self + children's totals, frames in range, and
 * a time line (unless null) whose weights and cells add up to the totals. */
void check_view(const json_t *doc, const json_t *ev);

#endif
