/*
 * cli_model — how the subcommands that read profiles (report, export, flame) open them
 * and tell people what the model lacks: a progress line per phase on a terminal, errors
 * that name the file and what to do.
 */
#ifndef NS_CLI_MODEL_H
#define NS_CLI_MODEL_H

#include <getopt.h>
#include <stddef.h>

#include "load.h"
#include "options.h"
#include "textfmt.h"

/* A subcommand's handling of one of its own options (not a report filter): 0 to go on, 1
 * to stop with success (after --help), -1 on a usage error (already reported). */
typedef int (*ns_cli_opt_fn)(void *cmd, int opt, const char *arg);

/* Parses argv for a subcommand that reads profiles: the report filters into args (longopts
 * must include NS_REPORT_FILTER_LONGOPTS), every other option through handle. Then
 * requires at least one FILE (no_file: the error said otherwise) and checks the filters.
 * 0 with optind at the first FILE, 1 after --help, -1 on a usage error (reported). */
int ns_cli_parse_args(int argc, char **argv, const char *shortopts, const struct option *longopts,
                      struct ns_report_args *args, ns_cli_opt_fn handle, void *cmd,
                      const char *no_file);

/* The model of paths[0..n) under args, or NULL after printing why (unreadable, damaged).
 * When require_samples, a model with nothing in it is refused too, with the reason. */
struct ns_model *ns_cli_open_model(char **paths, size_t n, const struct ns_report_args *args,
                                   int require_samples);

/* A warning per process whose profile is incomplete (killed, truncated), for outputs that
 * carry no sampling facts of their own. */
void ns_cli_warn_incomplete(const struct ns_model *m);

/* Writes a flame-graph page to path ("-": standard output) safely (outfile.h; force
 * replaces an existing file) and says where it went. 0, or -1 after printing why. */
int ns_cli_write_page(const char *path, int force, const struct ns_buf *page);
/* 1 when this build embeds the flame-graph page; else 0 after saying how to get it. Checked
 * before the profiles are read, which can take a while. */
int ns_cli_have_page(void);

#endif
