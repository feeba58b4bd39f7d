/*
 * writer_intern — turns what the unwinder produced (process-internal mapping ids and
 * addresses) into the profile's interned ids, writing each definition record the first
 * time an id is used. File ids are dense and in definition order (docs/FORMAT.md), so the
 * writer keeps its own numbering rather than reusing the module registry's ids.
 */
#include <string.h>

#include "mem.h"
#include "capture.h"
#include "modules.h"
#include "nsp_format.h"
#include "writer_state.h"

#define MAX_STACKS          (1u << 18)
#define MAX_STACK_KEY_BYTES (32u << 20)
#define MAX_STRINGS         (1u << 14)
#define MAX_STRING_BYTES    (2u << 20)

void ns_counters_add(struct ns_counters *c, const char *name, uint64_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], name) == 0) {
            c->value[i] += n;
            return;
        }
    }
    if (c->n < NS_MAX_COUNTERS) {
        strncpy(c->name[c->n], name, sizeof(c->name[0]) - 1);
        c->value[c->n++] = n;
    }
}

int ns_stacks_init(void)
{
    W.next_stack_id = W.next_string_id = W.next_mapping_id = 1;
    W.key_buf = ns_mem_alloc((2 + 2 * NSP_MAX_FRAMES) * sizeof(uint64_t));
    if (!W.key_buf || ns_intern_init(&W.stacks, MAX_STACKS, MAX_STACK_KEY_BYTES) < 0 ||
        ns_intern_init(&W.strings, MAX_STRINGS, MAX_STRING_BYTES) < 0)
        return -1;
    return 0;
}

void ns_stacks_destroy(void)
{
    ns_intern_destroy(&W.stacks);
    ns_intern_destroy(&W.strings);
    ns_mem_free(W.key_buf, (2 + 2 * NSP_MAX_FRAMES) * sizeof(uint64_t));
    ns_mem_free(W.mapping_file_id, W.mapping_ids_bytes);
    W.key_buf = NULL;
    W.mapping_file_id = NULL;
    W.mapping_ids_bytes = 0;
}

uint64_t ns_strings_intern(const char *text)
{
    size_t len = strlen(text);
    uint64_t id = ns_intern_get(&W.strings, text, len);
    if (id)
        return id;
    if (ns_intern_put(&W.strings, text, len, W.next_string_id) < 0) {
        ns_intern_clear(&W.strings); /* full: start over, definitions repeat */
        if (ns_intern_put(&W.strings, text, len, W.next_string_id) < 0)
            return 0;
    }
    id = W.next_string_id++;
    ns_pw_string(&W.pw, id, text, len);
    return id;
}

static uint64_t *mapping_slot(uint32_t internal_id)
{
    size_t need = ((size_t)internal_id + 1) * sizeof(uint64_t);
    if (need > W.mapping_ids_bytes) {
        size_t bytes = W.mapping_ids_bytes ? W.mapping_ids_bytes : 4096;
        while (bytes < need)
            bytes *= 2;
        uint64_t *p = ns_mem_grow(W.mapping_file_id, W.mapping_ids_bytes, bytes);
        if (!p)
            return NULL;
        W.mapping_file_id = p;
        W.mapping_ids_bytes = bytes;
    }
    return &W.mapping_file_id[internal_id];
}

/* A slot holds (generation + 1) << 32 | file id; 0 = not described yet. */
static uint64_t slot_value(uint32_t gen, uint64_t file_id)
{
    return ((uint64_t)gen + 1) << 32 | file_id;
}

/* After the registry recycled ids, forget the file ids of those that now name another
 * object, so that the next frame in them writes a fresh MAPPING record. */
static void forget_recycled_mappings(void)
{
    static uint32_t gens[1 << 16];
    uint64_t recycled = ns_modules_recycled();
    if (recycled == W.mappings_recycled_seen)
        return;
    W.mappings_recycled_seen = recycled;
    size_t n = W.mapping_ids_bytes / sizeof(uint64_t);
    for (size_t base = 1; base < n; base += sizeof(gens) / sizeof(gens[0])) {
        size_t len =
            n - base < sizeof(gens) / sizeof(gens[0]) ? n - base : sizeof(gens) / sizeof(gens[0]);
        ns_modules_generations((uint32_t)base, gens, len);
        for (size_t i = 0; i < len; i++) {
            uint64_t v = W.mapping_file_id[base + i];
            if (v && (v >> 32) != (uint64_t)gens[i] + 1)
                W.mapping_file_id[base + i] = 0;
        }
    }
}

/* File id of a registry mapping, writing its MAPPING record the first time. */
static uint64_t mapping_file_id(uint32_t internal_id)
{
    if (internal_id == 0)
        return 0;
    uint64_t *slot = mapping_slot(internal_id);
    if (!slot)
        return 0;
    if (*slot)
        return *slot & 0xffffffffu;
    struct ns_mapping_info info;
    if (ns_modules_mapping(internal_id, &info) < 0)
        return 0;
    uint64_t path_id = ns_strings_intern(info.path);
    struct ns_pw_mapping m = {
        .id = W.next_mapping_id,
        .lo = info.lo,
        .hi = info.hi,
        .bias = info.bias,
        .path_id = path_id,
        .flags = info.flags,
        .build_id = info.build_id,
        .build_id_len = info.build_id_len,
    };
    if (ns_pw_mapping(&W.pw, &m) < 0)
        return 0;
    *slot = slot_value(info.gen, W.next_mapping_id++);
    return *slot & 0xffffffffu;
}

void ns_mappings_check_recycled(void)
{
    forget_recycled_mappings();
}

uint64_t ns_stacks_intern(unsigned end, const struct ns_frame *frames, int nframes)
{
    uint64_t *key = W.key_buf;
    size_t k = 0;
    if (nframes > NSP_MAX_FRAMES)
        nframes = NSP_MAX_FRAMES;
    uint32_t self = ns_modules_self_mapping();
    key[k++] = end;
    k++; /* the frame count, once known */
    uint32_t named = ns_modules_named_mapping();
    for (int i = 0; i < nframes; i++) {
        /* nsprof's own interposers only pass through (main's wrapper, a thread's start):
         * hide them between the program's frames. A leaf there is real cost: keep it. */
        if (i > 0 && frames[i].mapping_id == self && self)
            continue;
        key[k++] = mapping_file_id(frames[i].mapping_id);
        /* A named pseudo frame's address is the id of the STRING that names it. */
        const char *name = named && frames[i].mapping_id == named
                               ? ns_pseudo_name_of((uint32_t)frames[i].addr)
                               : NULL;
        key[k++] = name ? ns_strings_intern(name) : frames[i].addr;
    }
    nframes = (int)(k - 2) / 2;
    key[1] = (uint64_t)nframes;
    size_t len = k * sizeof(uint64_t);
    uint64_t id = ns_intern_get(&W.stacks, key, len);
    if (id)
        return id;
    if (ns_intern_put(&W.stacks, key, len, W.next_stack_id) < 0) {
        ns_intern_clear(&W.stacks);
        if (ns_intern_put(&W.stacks, key, len, W.next_stack_id) < 0)
            return 0;
    }
    struct ns_pw_frame pf[NSP_MAX_FRAMES];
    for (int i = 0; i < nframes; i++)
        pf[i] = (struct ns_pw_frame){key[2 + 2 * i], key[3 + 2 * i]};
    id = W.next_stack_id++;
    ns_pw_stack(&W.pw, id, end, pf, (size_t)nframes);
    return id;
}
