/*
 * cmd_flame — `nsprof flame [-o OUT] [options] FILE...`: writes the interactive flame-graph
 * page, one self-contained HTML file (report/flame/flame_html.h) holding every event of the
 * profile (report/flame/flame_data.h) that opens from file:// with no network access.
 *
 * The filters are those of report and export, except --event: the page holds every event
 * and --event only chooses the one it opens on. Without -o the page is named after the
 * first file (app.nsp -> app.html in the current directory). The file is created safely
 * (report/cli/outfile.h): never over an existing file or through a symlink; --force replaces
 * it atomically.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"
#include "flame_data.h"
#include "flame_html.h"
#include "load.h"
#include "options.h"
#include "outfile.h"
#include "textfmt.h"

#ifndef NSPROF_VERSION
#define NSPROF_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: nsprof flame [-o OUT] [options] FILE...\n"
    "\n"
    "Writes an interactive flame graph of the profile: one HTML file that opens in a\n"
    "browser from disk and makes no network request. It holds every event (cpu, wall,\n"
    "alloc_bytes, io_time, lock_wait, ...) with a time line to select a range, and the\n"
    "recommendations of 'nsprof report'.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT   write to OUT ('-': standard output); default: the first FILE's\n"
    "                     name with .html instead of .nsp, in the current directory;\n"
    "                     OUT must not exist\n"
    "  --force            replace OUT if it exists\n";

static const char usage_tail[] =
    "  -h, --help         show this help\n"
    "\n"
    "--event does not drop the other events here: it picks the one the page opens on\n"
    "(default: cpu).\n"
    "Examples:\n"
    "  nsprof flame app.nsp                      # writes app.html\n"
    "  nsprof flame --event alloc_bytes -o alloc.html app.nsp\n"
    "  nsprof flame --thread worker --from 2 --to 5 -o slice.html nsprof.*.nsp\n";

struct flame_cmd {
    struct ns_report_args args;
    const char *output, *initial_event;
    char *default_output; /* owned: the name derived from the first file */
    int force;
};

enum { OPT_FORCE = 0x2000 };

static int handle_opt(void *cmd, int opt, const char *arg)
{
    struct flame_cmd *c = cmd;
    switch (opt) {
    case 'o':
        c->output = arg;
        return 0;
    case OPT_FORCE:
        c->force = 1;
        return 0;
    case 'h':
        fputs(usage_text, stdout);
        fputs(NS_REPORT_FILTER_HELP, stdout);
        fputs(usage_tail, stdout);
        return 1;
    default:
        ns_cli_error("see 'nsprof flame --help' for the options");
        return -1;
    }
}

static int parse_args(struct flame_cmd *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        NS_REPORT_FILTER_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int rc = ns_cli_parse_args(argc, argv, "ho:", longopts, &c->args, handle_opt, c,
                               "no profile given: nsprof flame [-o OUT] FILE...");
    if (rc)
        return rc;
    /* The page shows every event; --event is the one it opens on, not a filter. */
    c->initial_event = c->args.model.event;
    c->args.model.event = NULL;
    return 0;
}

/* app.nsp -> app.html (basename, in the current directory); other names get .html added. */
static char *default_output(const char *input)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".nsp") == 0)
        len -= 4;
    char *out = malloc(len + 6);
    if (out)
        snprintf(out, len + 6, "%.*s.html", (int)len, base);
    return out;
}

/* --event must name an event of the files; the message lists the ones they have. */
static int check_initial_event(const struct flame_cmd *c, const struct ns_model *m)
{
    if (!c->initial_event || ns_model_event_index(m, c->initial_event) != NS_NONE)
        return 0;
    struct ns_buf names = {0};
    for (uint32_t e = 0; e < m->nevents; e++) {
        ns_buf_puts(&names, names.len ? ", " : "");
        ns_buf_put_term(&names, m->events[e].name, 40);
    }
    struct ns_buf wanted = {0};
    ns_buf_put_term(&wanted, c->initial_event, 40);
    ns_cli_error("no event '%s' in the files; choose one of: %s",
                 wanted.s && !wanted.oom ? wanted.s : "?", names.s && !names.oom ? names.s : "?");
    ns_buf_free(&names);
    ns_buf_free(&wanted);
    return -1;
}

/* The page of m in page; 0 or -1 (error printed). */
static int render_page(const struct flame_cmd *c, const struct ns_model *m, struct ns_buf *page)
{
    struct ns_buf json = {0};
    struct ns_flame_data_options o = {
        .producer = "nsprof " NSPROF_VERSION,
        .initial_event = c->initial_event,
    };
    struct ns_flame_assets assets = ns_flame_embedded_assets();
    char err[512];
    int rc = -1;
    if (ns_flame_data_json(m, &o, &json) < 0)
        ns_cli_error("out of memory while building the flame-graph data");
    else if (ns_flame_html_render(&assets, json.s, json.len, page, err, sizeof(err)) < 0)
        ns_cli_error("%s", err);
    else
        rc = 0;
    ns_buf_free(&json);
    return rc;
}

static int flame_model(const struct flame_cmd *c, const struct ns_model *m)
{
    if (check_initial_event(c, m) < 0)
        return -1;
    /* The output carries no sampling facts: the ones that change its meaning go to stderr. */
    ns_cli_warn_incomplete(m);
    struct ns_buf page = {0};
    int rc = render_page(c, m, &page);
    if (rc == 0)
        rc = ns_cli_write_page(c->output ? c->output : c->default_output, c->force, &page);
    ns_buf_free(&page);
    return rc;
}

int ns_cmd_flame(int argc, char **argv)
{
    struct flame_cmd c = {0};
    int rc = parse_args(&c, argc, argv);
    if (rc == 0 && !c.output && !(c.default_output = default_output(argv[optind]))) {
        ns_cli_error("out of memory");
        rc = -1;
    }
    if (rc != 0) {
        ns_report_args_free(&c.args);
        return rc > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    }
    if (!ns_cli_have_page()) {
        ns_report_args_free(&c.args);
        free(c.default_output);
        return NS_EXIT_FAILURE;
    }
    int status = NS_EXIT_FAILURE;
    struct ns_model *m = ns_cli_open_model(argv + optind, (size_t)(argc - optind), &c.args, 1);
    if (m && flame_model(&c, m) == 0)
        status = NS_EXIT_OK;
    ns_model_free(m);
    ns_report_args_free(&c.args);
    free(c.default_output);
    return status;
}
