/*
 * cli_model — how the subcommands that read profiles (report, export, flame) open them
 * and tell people what the model lacks: a progress line per phase on a terminal, errors
 * that name the file and what to do.
 */
#ifndef NS_CLI_MODEL_H
#define NS_CLI_MODEL_H

#include <stddef.h>

#include "load.h"
#include "options.h"

/* The model of paths[0..n) under args, or NULL after printing why (unreadable, damaged).
 * When require_samples, a model with nothing in it is refused too, with the reason. */
struct ns_model *ns_cli_open_model(char **paths, size_t n, const struct ns_report_args *args,
                                   int require_samples);

/* A warning per process whose profile is incomplete (killed, truncated), for outputs that
 * carry no sampling facts of their own. */
void ns_cli_warn_incomplete(const struct ns_model *m);

#endif
