/*
 * resolver_sym — struct ns_resolver over ns_sym (see resolver.h). A thin adapter: caching
 * per build-id and per address is the symbolizer's job.
 */
#include "resolver.h"

#include <string.h>

static void sym_lookup(void *ctx, const struct ns_sym_object *obj, uint64_t addr,
                       const struct ns_sym_frame **frames, size_t *nframes)
{
    ns_sym_lookup(ctx, obj, addr, frames, nframes);
}

static enum ns_sym_status sym_status(void *ctx, const struct ns_sym_object *obj,
                                     const char **detail)
{
    return ns_sym_module_status(ctx, obj, detail);
}

int ns_resolver_sym_init(struct ns_resolver *r, const struct ns_sym_options *opt)
{
    memset(r, 0, sizeof(*r));
    r->ctx = ns_sym_new(opt);
    if (!r->ctx)
        return -1;
    r->lookup = sym_lookup;
    r->module_status = sym_status;
    return 0;
}

void ns_resolver_sym_destroy(struct ns_resolver *r)
{
    if (r->ctx)
        ns_sym_free(r->ctx);
    memset(r, 0, sizeof(*r));
}
