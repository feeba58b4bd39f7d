/*
 * cli_model — opening profiles for the subcommands (see cli_model.h).
 */
#include "cli_model.h"

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "facts.h"
#include "flame_html.h"
#include "outfile.h"

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

int ns_cli_write_page(const char *path, int force, const struct ns_buf *page)
{
    struct ns_outfile out;
    char err[512];
    if (ns_outfile_open(&out, path, force, err, sizeof(err)) < 0) {
        ns_cli_error("%s", err);
        return -1;
    }
    int ok = fwrite(page->s, 1, page->len, out.f) == page->len;
    int write_errno = errno;
    if (ns_outfile_close(&out, ok, err, sizeof(err)) < 0) {
        if (ok)
            ns_cli_error("%s", err);
        else
            ns_cli_error("cannot write %s: %s", strcmp(path, "-") ? path : "standard output",
                         strerror(write_errno));
        return -1;
    }
    if (strcmp(path, "-") != 0) {
        char size[32];
        ns_fmt_weight(size, sizeof(size), page->len, "bytes");
        ns_cli_note("wrote %s (%s); open it in a web browser", path, size);
    }
    return 0;
}

int ns_cli_have_page(void)
{
    struct ns_flame_assets a = ns_flame_embedded_assets();
    for (size_t i = 0; i < a.n; i++)
        if (strcmp(a.v[i].name, "page.html") == 0)
            return 1;
    ns_cli_error("this nsprof was built without the flame-graph page (report/flame/page.html "
                 "was missing at build time); rebuild it with the page in place");
    return 0;
}
