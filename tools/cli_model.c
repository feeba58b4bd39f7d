/*
 * cli_model — opening profiles for the subcommands (see cli_model.h).
 */
#include "cli_model.h"

#include "cli.h"
#include "facts.h"

int ns_cli_parse_args(int argc, char **argv, const char *shortopts, const struct option *longopts,
                      struct ns_report_args *args, ns_cli_opt_fn handle, void *cmd,
                      const char *no_file)
{
    char err[512];
    int opt;
    optind = 0; /* the dispatcher or an earlier parse may have used getopt */
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int handled = ns_report_filter_arg(args, opt, optarg, err, sizeof(err));
        if (handled < 0) {
            ns_cli_error("%s", err);
            return -1;
        }
        int rc = handled ? 0 : handle(cmd, opt, optarg);
        if (rc)
            return rc;
    }
    if (optind >= argc) {
        ns_cli_error("%s", no_file);
        return -1;
    }
    if (ns_report_args_check(args, err, sizeof(err)) < 0) {
        ns_cli_error("%s", err);
        return -1;
    }
    return 0;
}

struct ns_model *ns_cli_open_model(char **paths, size_t n, const struct ns_report_args *args,
                                   int require_samples)
{
    char err[1024];
    struct ns_phase_progress progress = {0};
    struct ns_model *m = NULL;
    int rc =
        ns_report_open(paths, n, args, ns_phase_progress_update, &progress, &m, err, sizeof(err));
    ns_phase_progress_end(&progress);
    if (rc < 0) {
        ns_cli_error("%s", err);
        return NULL;
    }
    if (require_samples && ns_report_explain_empty(m, err, sizeof(err))) {
        ns_cli_error("%s", err);
        ns_model_free(m);
        return NULL;
    }
    return m;
}

void ns_cli_warn_incomplete(const struct ns_model *m)
{
    for (size_t i = 0; i < m->nprocesses; i++) {
        const struct ns_process *p = &m->processes[i];
        if (ns_facts_complete(p))
            continue;
        char sentence[512];
        ns_facts_end_sentence(p, sentence, sizeof(sentence));
        ns_cli_warn("%s: %s", p->path, sentence);
    }
}
