/*
 * Folder report/render/: the views of a model for `nsprof report` and `export` — text,
 * JSON (render.h), folded stacks (folded.h) — and the text helpers every view shares
 * (textfmt.h, table.h).
 *
 * render — the `nsprof report` views of a model: a text report for people and a JSON
 * document (schema "nsprof-report/1", docs/JSON.md) for programs. Both show the same
 * content: the profile's header, the sampling facts (facts.h) and, per event, functions by
 * self and by total, hottest lines, threads grouped by name and, with several files,
 * processes.
 *
 * Contract: renderers read the model only. Every string from a profile is made safe for its
 * destination (terminal escapes neutralized in text; valid UTF-8, escaped by jansson, in
 * JSON). Output is deterministic for a given model and options.
 */
#ifndef NS_REPORT_RENDER_H
#define NS_REPORT_RENDER_H

#include <jansson.h>
#include <stdio.h>

#include "model.h"

struct ns_render_options {
    size_t top; /* rows per ranking; 0 = all */
    int color;  /* ANSI colours in text */
};

/* 0 on success, -1 on a write error or out of memory. */
int ns_render_text(FILE *out, const struct ns_model *m, const struct ns_render_options *o);
int ns_render_json(FILE *out, const struct ns_model *m, const struct ns_render_options *o);
/* The JSON document itself (new reference), or NULL if out of memory. */
json_t *ns_report_json(const struct ns_model *m, const struct ns_render_options *o);

#endif
