/*
 * flame_data_internal — what flame_data.c and flame_tree.c share while writing one
 * document: the renumbering of every model node to its id in its event's pre-order, and
 * the common time axis.
 */
#ifndef NS_REPORT_FLAME_DATA_INTERNAL_H
#define NS_REPORT_FLAME_DATA_INTERNAL_H

#include <stdint.h>

#include "model.h"
#include "textfmt.h"

struct fd_ctx {
    const struct ns_model *m;
    struct ns_buf *out;
    uint32_t *flame_id; /* per model node: its id in its event's tree (pre-order) */
    uint32_t *order;    /* every model node, event by event, each event in pre-order */
    uint32_t *first;    /* per event: where its nodes start in order[]; [nevents] = nnodes */
    uint32_t *process;  /* per model node: its process (NS_NONE for a root) */
    int64_t *offset_ns; /* per process: its start after the first process's start */
    uint64_t duration_ns;
    uint64_t bucket_ns;
    uint32_t nbuckets;
    uint32_t *line_file; /* per model line: its file in the `strings` table */
};

/* flame_tree.c */
/* Fills flame_id, order, first and process. 0 or -1 (out of memory). */
int fd_number_nodes(struct fd_ctx *c);
/* Sets offset_ns, duration_ns, bucket_ns and nbuckets. 0 or -1. */
int fd_time_axis(struct fd_ctx *c);
/* Writes `"nodes":{...},"lines":{...},"timeline":...` of event e. 0 or -1. */
int fd_write_tree(struct fd_ctx *c, uint32_t e);

#endif
