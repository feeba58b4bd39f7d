/*
 * cmd_export — `nsprof export --format FORMAT [-o OUT] [options] FILE...`: writes the
 * profile in a format other tools read. Formats: folded (report/render/folded.h), the input of
 * flamegraph.pl, inferno and speedscope; any event can be exported, aggregate ones (of
 * interposed calls) with weights as counts.
 *
 * -o creates the file safely (report/cli/outfile.h): never over an existing file or through a
 * symlink; --force replaces it atomically by a rename.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"
#include "folded.h"
#include "load.h"
#include "options.h"
#include "outfile.h"
#include "textfmt.h"

/* --help prints usage_text, the shared filter options (NS_REPORT_FILTER_HELP), usage_tail. */
static const char usage_text[] =
    "usage: nsprof export --format folded [-o OUT] [options] FILE...\n"
    "\n"
    "Writes the profile in a format other tools read.\n"
    "  folded   one line per stack, 'app;main;f;g COUNT' (COUNT = samples), for\n"
    "           flamegraph.pl, inferno or speedscope; ';' in names becomes ':' and\n"
    "           control characters become '?'; inlined frames end in _[i].\n"
    "           For events of interposed calls (alloc_bytes, alloc_count, leak_bytes,\n"
    "           peak_bytes, io_*, stdio_*, lock_wait, cond_wait) each stack's entry is a\n"
    "           total of many calls, so COUNT is its WEIGHT in the event's unit (bytes,\n"
    "           nanoseconds, calls), and the leaf frame is the function called (malloc,\n"
    "           write, pthread_mutex_lock)\n"
    "\n"
    "Options:\n"
    "  --format FORMAT    the output format (folded)\n"
    "  -o, --output OUT   write to OUT instead of standard output; OUT must not exist\n"
    "  --force            replace OUT if it exists\n";

static const char usage_tail[] =
    "  -h, --help         show this help\n"
    "\n"
    "With several events and no --event, cpu is exported.\n"
    "Examples:\n"
    "  nsprof export --format folded app.nsp | flamegraph.pl > app.svg\n"
    "  nsprof export --format folded --event wall -o app.folded nsprof.*.nsp\n"
    "  nsprof export --format folded --event alloc_bytes app.nsp | flamegraph.pl \\\n"
    "      --countname bytes > alloc.svg\n";

struct export_cmd {
    struct ns_report_args args;
    const char *format, *output;
    int force;
};

enum { OPT_FORMAT = 0x2000, OPT_FORCE };

static int handle_opt(void *cmd, int opt, const char *arg)
{
    struct export_cmd *c = cmd;
    switch (opt) {
    case OPT_FORMAT:
        c->format = arg;
        return 0;
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
        ns_cli_error("see 'nsprof export --help' for the options");
        return -1;
    }
}

static int parse_args(struct export_cmd *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        NS_REPORT_FILTER_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int rc = ns_cli_parse_args(argc, argv, "ho:", longopts, &c->args, handle_opt, c,
                               "no profile given: nsprof export --format folded FILE...");
    if (rc)
        return rc;
    if (!c->format) {
        ns_cli_error("choose an output format: --format folded");
        return -1;
    }
    if (strcmp(c->format, "folded") != 0) {
        ns_cli_error("unknown format '%s'; supported: folded", c->format);
        return -1;
    }
    return 0;
}

/* The event to export: --event, else cpu, else the only event with samples. */
static uint32_t choose_event(const struct ns_model *m)
{
    uint32_t cpu = ns_model_event_index(m, "cpu");
    if (cpu != NS_NONE && m->events[cpu].count)
        return cpu;
    uint32_t found = NS_NONE;
    size_t with_samples = 0;
    for (uint32_t e = 0; e < m->nevents; e++)
        if (m->events[e].count) {
            found = e;
            with_samples++;
        }
    if (with_samples == 1)
        return found;
    struct ns_buf names = {0};
    for (uint32_t e = 0; e < m->nevents; e++)
        if (m->events[e].count) {
            ns_buf_puts(&names, names.len ? ", " : "");
            ns_buf_put_term(&names, m->events[e].name, 40);
        }
    ns_cli_error("the files have several events (%s); choose one with --event",
                 names.s && !names.oom ? names.s : "?");
    ns_buf_free(&names);
    return NS_NONE;
}

static int export_model(const struct export_cmd *c, const struct ns_model *m)
{
    uint32_t event = choose_event(m);
    if (event == NS_NONE)
        return -1;
    /* The output carries no sampling facts: the ones that change its meaning go to stderr. */
    ns_cli_warn_incomplete(m);
    struct ns_outfile out;
    char err[512];
    if (ns_outfile_open(&out, c->output, c->force, err, sizeof(err)) < 0) {
        ns_cli_error("%s", err);
        return -1;
    }
    int ok = ns_folded_write(out.f, m, event) == 0;
    int write_errno = errno;
    if (ns_outfile_close(&out, ok, err, sizeof(err)) == 0)
        return 0;
    if (ok)
        ns_cli_error("%s", err);
    else
        ns_cli_error("cannot write %s: %s",
                     c->output && strcmp(c->output, "-") ? c->output : "standard output",
                     strerror(write_errno));
    return -1;
}

int ns_cmd_export(int argc, char **argv)
{
    struct export_cmd c = {0};
    int rc = parse_args(&c, argc, argv);
    if (rc != 0) {
        ns_report_args_free(&c.args);
        return rc > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    }
    int status = NS_EXIT_FAILURE;
    struct ns_model *m = ns_cli_open_model(argv + optind, (size_t)(argc - optind), &c.args, 1);
    if (m && export_model(&c, m) == 0)
        status = NS_EXIT_OK;
    ns_model_free(m);
    ns_report_args_free(&c.args);
    return status;
}
