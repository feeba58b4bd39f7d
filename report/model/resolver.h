/*
 * resolver — the model's symbol source (struct ns_resolver, model.h) backed by the real
 * symbolizer (ns_sym: ELF files, separate debug files, libdw). Tests use their own
 * resolvers instead.
 */
#ifndef NS_REPORT_RESOLVER_H
#define NS_REPORT_RESOLVER_H

#include "model.h"

/* Fills r with a resolver over a new ns_sym; 0, or -1 if the symbolizer cannot start. */
int ns_resolver_sym_init(struct ns_resolver *r, const struct ns_sym_options *opt);
void ns_resolver_sym_destroy(struct ns_resolver *r);

#endif
