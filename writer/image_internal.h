/*
 * image_internal — what image.c (the file, interning, samples, threads) and image_region.c
 * (what the process's shared region holds) share. Internal to writer/.
 */
#ifndef NS_IMAGE_INTERNAL_H
#define NS_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* image.c */
int64_t ns_image_time_us(const struct ns_image *im, uint64_t mono_ns);
void ns_image_write_notes(struct ns_image *im);

/* image_sums.c: writes every aggregated entry (before the site batches are flushed). */
void ns_image_sums_flush(struct ns_image *im);
void ns_image_sums_destroy(struct ns_image *im);

/* image_region.c */
/* One SITE_SAMPLES entry, batched per event. */
void ns_image_site_entry(struct ns_image *im, uint32_t ev, pid_t tid, uint64_t stack,
                         uint64_t resource, uint64_t weight, int64_t time_us);
void ns_image_site_batches_flush(struct ns_image *im);
/* File id of a resource of the process (resources.h id), written the first time. */
uint64_t ns_image_resource_file_id(struct ns_image *im, uint32_t id);
/* The now_us of the current visit of the region. */
int64_t ns_image_region_now_us(const struct ns_image *im);

/* image_locks.c: the increases of one thread's lock counts (lock_counts.h; th: its slot as
 * the view maps it); all: also the
 * counts of locks never contended anywhere yet (the thread or the process ends). */
struct ns_thread;
void ns_image_emit_lock_counts(struct ns_image *im, const struct ns_thread *th, int all);
void ns_image_locks_destroy(struct ns_image *im);
#define NS_IMAGE_REGION_COUNTERS 24
int ns_image_region_init(struct ns_image *im);
void ns_image_region_destroy(struct ns_image *im);
/* A registry mapping id's description from the region's table; -1 if it has none. The
 * path stays valid until the next call. */
int ns_image_region_mapping(struct ns_image *im, uint32_t id, struct ns_mapping_info *out);
/* The generation of a registry id (0 when unknown): cheap, for cached descriptions. */
uint32_t ns_image_region_mapping_gen(struct ns_image *im, uint32_t id);
/* The registry id of the named pseudo mapping (0 when unknown). */
uint32_t ns_image_region_named(struct ns_image *im);
/* The name of a named frame (an interposed function); 0 if unknown. */
int ns_image_region_name(struct ns_image *im, uint32_t id, char *out, size_t cap);
/* The region's counters (and the allocation totals) as name/value pairs; how many. */
size_t ns_image_region_counters(struct ns_image *im, const char **names, uint64_t *values,
                                size_t max);
/* Site samples and histograms of every thread since the last call, the series; final: also
 * what every stack still holds (leaks) and held at the peak. */
void ns_image_region_emit(struct ns_image *im, int final);
/* The notes the process added since the last call. */
void ns_image_region_notes(struct ns_image *im);

#endif
