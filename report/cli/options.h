/*
 * Folder report/cli/: what the report, export and flame commands share — loading profile
 * files (load.h), their options (options.h) and creating output files safely (outfile.h).
 *
 * options — the command-line options `nsprof report` and `nsprof export` share (filters,
 * inline expansion, debug directories), their help text, and the message that explains
 * an empty result by naming the filter that removed the samples.
 *
 * Contract: no output of its own; errors are returned as messages for the caller to print.
 */
#ifndef NS_REPORT_OPTIONS_H
#define NS_REPORT_OPTIONS_H

#include <getopt.h>
#include <stddef.h>

#include "model.h"

enum {
    NS_OPT_THREAD = 0x1000,
    NS_OPT_FUNCTION,
    NS_OPT_REGEX,
    NS_OPT_FROM,
    NS_OPT_TO,
    NS_OPT_EVENT,
    NS_OPT_PID,
    NS_OPT_NO_INLINE,
    NS_OPT_DEBUG_DIR,
};

/* Entries for a struct option table (getopt_long). */
/* clang-format off */
#define NS_REPORT_FILTER_LONGOPTS                                \
    {"thread", required_argument, NULL, NS_OPT_THREAD},          \
    {"function", required_argument, NULL, NS_OPT_FUNCTION},      \
    {"regex", no_argument, NULL, NS_OPT_REGEX},                  \
    {"from", required_argument, NULL, NS_OPT_FROM},              \
    {"to", required_argument, NULL, NS_OPT_TO},                  \
    {"event", required_argument, NULL, NS_OPT_EVENT},            \
    {"pid", required_argument, NULL, NS_OPT_PID},                \
    {"no-inline", no_argument, NULL, NS_OPT_NO_INLINE},          \
    {"debug-dir", required_argument, NULL, NS_OPT_DEBUG_DIR}

#define NS_REPORT_FILTER_HELP                                                               \
    "  --event NAME       only this event (cpu, wall, alloc_bytes, io_time, ...)\n"       \
    "  --thread NAME|TID  only threads whose name contains NAME, or the thread TID\n"       \
    "  --function TEXT    only samples whose stack has a function containing TEXT\n"       \
    "  --regex            --function TEXT is a POSIX extended regular expression\n"        \
    "  --from SECONDS     only samples taken at least SECONDS after the process started\n" \
    "  --to SECONDS       only samples taken before SECONDS after the process started\n"   \
    "  --pid PID          only the file of process PID (when several files are given)\n"   \
    "  --no-inline        show inlined functions as part of their caller, not as frames\n" \
    "  --debug-dir DIR    look for separate debug files in DIR too (repeatable;\n"         \
    "                     default /usr/lib/debug)\n"
/* clang-format on */

struct ns_report_args {
    struct ns_model_options model;
    const char **debug_dirs; /* NULL-terminated, or NULL for the symbolizer's default */
    size_t ndebug_dirs;
    /* A symbolizer shared by several ns_report_open calls (nsprof diff's runs: each object
     * is opened and each address named once); NULL: one per call. Not owned. */
    const struct ns_resolver *shared_resolver;
};

/* Handles one option of NS_REPORT_FILTER_LONGOPTS: 1 handled, 0 not one of them, -1 bad
 * value (err says which and why). */
int ns_report_filter_arg(struct ns_report_args *a, int opt, const char *arg, char *err,
                         size_t errlen);
/* Checks the combination (e.g. --from before --to, --regex needs --function); 0 / -1. */
int ns_report_args_check(const struct ns_report_args *a, char *err, size_t errlen);
void ns_report_args_free(struct ns_report_args *a);

/* 1 if the model has no samples left, with a message naming the filter that removed them
 * and what the files offered; 0 if it has samples. */
int ns_report_explain_empty(const struct ns_model *m, char *msg, size_t len);

#endif
