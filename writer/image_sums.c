/*
 * image_sums — aggregated entries: time the agent charges piece by piece (wall and off-CPU
 * time cut from the kernel's switch records, thousands of pieces a second in a program that
 * switches often) adds up per (event, thread, stack, resource) in a direct-mapped table
 * before it becomes SITE_SAMPLES entries. A slot taken by another key writes its entry out
 * first; a flush writes them all. Bounded memory, no allocation after the first use.
 */
#include <string.h>

#include "../preload/settings.h"
#include "image_internal.h"
#include "mem.h"

#define SUM_SLOTS 4096

struct sum {
    uint64_t stack, resource, weight;
    int64_t time_us; /* the latest piece's */
    uint32_t ev;
    pid_t tid;
};

struct ns_image_sums {
    struct sum slot[SUM_SLOTS];
};

static void write_sum(struct ns_image *im, struct sum *s)
{
    if (s->weight)
        ns_image_site_entry(im, s->ev, s->tid, s->stack, s->resource, s->weight, s->time_us);
    s->weight = 0;
}

void ns_image_add(struct ns_image *im, uint32_t ev, pid_t tid, uint64_t stack, uint64_t resource,
                  uint64_t weight, uint64_t time_ns)
{
    if (im->ended || !weight || !stack || ev == 0 || ev >= NS_EVID__COUNT)
        return;
    if (!im->sums) {
        im->sums = ns_mem_alloc(sizeof(*im->sums));
        if (!im->sums) {
            ns_image_site_entry(im, ev, tid, stack, resource, weight,
                                ns_image_time_us(im, time_ns));
            return;
        }
    }
    uint64_t h = (stack * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)ev << 32 | (uint32_t)tid) ^
                 (resource * 0xc2b2ae3d27d4eb4full);
    struct sum *s = &im->sums->slot[(h ^ (h >> 29)) & (SUM_SLOTS - 1)];
    if (s->weight && (s->ev != ev || s->tid != tid || s->stack != stack || s->resource != resource))
        write_sum(im, s);
    if (!s->weight)
        *s = (struct sum){stack, resource, 0, 0, ev, tid};
    s->weight += weight;
    s->time_us = ns_image_time_us(im, time_ns);
}

void ns_image_sums_flush(struct ns_image *im)
{
    if (!im->sums)
        return;
    for (size_t i = 0; i < SUM_SLOTS; i++)
        write_sum(im, &im->sums->slot[i]);
}

void ns_image_sums_destroy(struct ns_image *im)
{
    ns_mem_free(im->sums, sizeof(*im->sums));
    im->sums = NULL;
}
