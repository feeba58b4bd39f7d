/*
 * render_json_internal — the jansson helpers of the JSON report, shared by render_json.c
 * (header, sampling facts, per-event rankings) and render_json_sections.c (memory, io,
 * locks). Every helper marks the document failed on an allocation failure, and the
 * setters take ownership of the value, as jansson's *_new functions do, even on failure.
 */
#ifndef NS_REPORT_RENDER_JSON_INTERNAL_H
#define NS_REPORT_RENDER_JSON_INTERNAL_H

#include <jansson.h>

#include "render.h"

struct jctx {
    const struct ns_model *m;
    const struct ns_render_options *o;
    int failed;
};

/* A string from the profile, made valid UTF-8; null for NULL. */
json_t *nsj_str(struct jctx *c, const char *s);
/* An integer, clamped to 2^63-1. */
json_t *nsj_u64(uint64_t v);
/* 100 * part / whole (0 when whole is 0). */
json_t *nsj_pct(uint64_t part, uint64_t whole);
void nsj_set(struct jctx *c, json_t *obj, const char *key, json_t *value);
void nsj_append(struct jctx *c, json_t *arr, json_t *value);
/* Entries a ranking of n shows with --top. */
size_t nsj_shown(const struct jctx *c, size_t n);

/* The fields of a call site (docs/JSON.md: function, module, file, line, via, inlined) set
 * on o; every one null when site is not a site. */
void nsj_site_fields(struct jctx *c, json_t *o, uint32_t site);

/* The sections of interposed calls; null when the profile holds none of their events. */
json_t *nsj_memory(struct jctx *c);
json_t *nsj_io(struct jctx *c);
json_t *nsj_locks(struct jctx *c);
json_t *nsj_database(struct jctx *c);

#endif
