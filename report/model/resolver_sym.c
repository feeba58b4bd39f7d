/*
 * resolver_sym — struct ns_resolver over ns_sym (see resolver.h). A thin adapter: caching
 * per build-id and per address is the symbolizer's job.
 */
#include "resolver.h"

#include <stdlib.h>
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

static const char *sym_exported_at(void *ctx, const struct ns_sym_object *obj, uint64_t addr)
{
    return ns_sym_exported_at(ctx, obj, addr);
}

static int sym_export_addr(void *ctx, const struct ns_sym_object *obj, const char *name,
                           uint64_t *addr)
{
    return ns_sym_export_addr(ctx, obj, name, addr);
}

static char *sym_canonical_path(void *ctx, const char *path)
{
    (void)ctx;
    return realpath(path, NULL);
}

int ns_resolver_sym_init(struct ns_resolver *r, const struct ns_sym_options *opt)
{
    memset(r, 0, sizeof(*r));
    r->ctx = ns_sym_new(opt);
    if (!r->ctx)
        return -1;
    r->lookup = sym_lookup;
    r->module_status = sym_status;
    r->exported_at = sym_exported_at;
    r->export_addr = sym_export_addr;
    r->canonical_path = sym_canonical_path;
    return 0;
}

void ns_resolver_sym_destroy(struct ns_resolver *r)
{
    if (r->ctx)
        ns_sym_free(r->ctx);
    memset(r, 0, sizeof(*r));
}
