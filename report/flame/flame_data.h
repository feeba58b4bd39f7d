/*
 * flame_data — the data of the flame-graph page (`nsprof flame`): the model turned into
 * the JSON document of docs/FLAME_DATA.md, the contract with the page's JavaScript.
 *
 * Shape (see the doc for every field): interned strings; one frame per model function with
 * its kind (user, library, kernel, inlined, pseudo); one call tree per model event as
 * integer columns in depth-first pre-order (children heaviest first, so a subtree is a
 * contiguous id range); per event a time line of at most 400 buckets with the self weight
 * of each node per bucket (for range selection); the model's series; the findings of the
 * recommendations engine with the node of their event's tree to zoom to.
 *
 * Times of several processes are put on one axis: each process is shifted by how much
 * later than the first one it started (start_mono_ns).
 *
 * Contract: reads only the model (and ns_recommend); deterministic: equal models give
 * identical bytes. Every string is escaped by flame_jsonw (no raw <, >, &).
 */
#ifndef NS_REPORT_FLAME_DATA_H
#define NS_REPORT_FLAME_DATA_H

#include "model.h"
#include "textfmt.h"

#define NS_FLAME_MAX_BUCKETS 400

/* docs/FLAME_DATA.md `frames.kind`. */
enum ns_flame_kind {
    NS_FLAME_USER = 0,
    NS_FLAME_LIBRARY = 1,
    NS_FLAME_KERNEL = 2,
    NS_FLAME_INLINED = 3,
    NS_FLAME_PSEUDO = 4,
};

struct ns_flame_data_options {
    const char *producer;      /* "nsprof 0.1.0" */
    const char *initial_event; /* the view the page opens on; NULL: cpu, else the first
                                  event with samples */
};

/* The kind of model function f. */
enum ns_flame_kind ns_flame_func_kind(const struct ns_model *m, uint32_t f);

/* The first process's command line as a JSON string (the document's `command`). */
void ns_flame_write_command(struct ns_buf *b, const struct ns_model *m);

/* Appends the document to out; 0, or -1 when out of memory. */
int ns_flame_data_json(const struct ns_model *m, const struct ns_flame_data_options *o,
                       struct ns_buf *out);

#endif
