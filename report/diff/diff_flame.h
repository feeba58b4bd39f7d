/*
 * diff_flame — the data of the differential flame graph (`nsprof diff -o page.html`): the
 * flame page's document (docs/FLAME_DATA.md) in its diff form, which the same page
 * (report/flame/) draws in its diff mode.
 *
 * Each event's tree is the union of every run's tree, before and after: stacks matched
 * frame by frame on the identities of diff.h (name, module without soname version,
 * inlined; the program's executable and a run's first process match whatever they are
 * called). Its `self`/`total` columns are the after side's weights, normalized as the text
 * diff normalizes (a node only the before side has weighs 0 there); its `diff` object holds
 * each run's own self weights and counts per node and per source line with the run's
 * normalisation factor, from which the page computes the before side, every derived tree
 * (before shape, inverted, sandwich) and the noise verdicts by the method of diff.h.
 * Events are those every run holds; time lines, series and findings are not part of a diff.
 *
 * Contract: reads the models only; deterministic (equal runs give identical bytes); every
 * string escaped by flame_jsonw.
 */
#ifndef NS_REPORT_DIFF_FLAME_H
#define NS_REPORT_DIFF_FLAME_H

#include <stddef.h>

#include "diff.h"
#include "flame_data.h"
#include "model.h"
#include "textfmt.h"

/* Appends the document of runs before[0..nb) and after[0..na) to out. 0, or -1 with err
 * set (no event every run holds, out of memory). */
int ns_diff_flame_json(const struct ns_model *const *before, size_t nb,
                       const struct ns_model *const *after, size_t na,
                       const struct ns_diff_options *o, const struct ns_flame_data_options *fo,
                       struct ns_buf *out, char *err, size_t errlen);

#endif
