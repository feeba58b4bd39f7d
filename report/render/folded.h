/*
 * folded — Brendan Gregg's folded-stack format of one event of the model, the input of
 * flamegraph.pl, inferno, speedscope and most flame-graph tools:
 *
 *     app;main;run;compute 1234
 *
 * One line per distinct stack, frames from the root to the leaf separated by ';', then a
 * space and the number of SAMPLES (not weights) — except for aggregate events (allocations,
 * I/O, lock waits: format 1.1), whose entries are totals of many calls and whose count is
 * therefore their WEIGHT in the event's unit (bytes, ns, calls); the leaf of such a stack
 * is the interposed function (malloc, write). The first frame is the process name (the
 * basename of its executable). Inlined frames are frames of their own, marked with the
 * `_[i]` suffix that flamegraph.pl colours as inlined. Lines are sorted bytewise (as
 * `LC_ALL=C sort`), so equal models give identical files.
 *
 * Escaping, so that no name can break the format: ';' becomes ':' (as stackcollapse-perf
 * does), and every control byte (0x00-0x1f, 0x7f, which includes newlines and tabs) becomes
 * '?'. Other bytes pass unchanged; spaces are allowed because readers split the count off at
 * the last space. Two stacks that become equal after escaping are merged into one line.
 */
#ifndef NS_REPORT_FOLDED_H
#define NS_REPORT_FOLDED_H

#include <stdio.h>

#include "model.h"
#include "textfmt.h"

/* Appends the folded lines of event to out; 0, or -1 when out of memory. */
int ns_folded_render(const struct ns_model *m, uint32_t event, struct ns_buf *out);
/* Writes them to f; 0, or -1 on a write error or out of memory (errno set). */
int ns_folded_write(FILE *f, const struct ns_model *m, uint32_t event);
/* Appends name escaped as described above. */
void ns_folded_escape(struct ns_buf *b, const char *name);

#endif
