/*
 * cmd_report — `nsprof report [options] FILE...`: loads the profile files of a session,
 * builds the analysis model (report/model/model.h) and prints the report as text (terminal) or
 * as one JSON document (--json, docs/JSON.md).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"
#include "db_explain.h"
#include "load.h"
#include "options.h"
#include "render.h"

/* --help prints usage_text, the shared filter options (NS_REPORT_FILTER_HELP), usage_tail. */
static const char usage_text[] =
    "usage: nsprof report [options] FILE...\n"
    "\n"
    "Shows where a profiled program spent its time: the hottest functions (by self and by\n"
    "total time), source lines and threads, and how good the profile is (sampling\n"
    "mechanism and rate, stack quality, drops, completeness, symbol problems).\n"
    "Profiles recorded with --alloc, --io or --locks add sections: Memory (allocation\n"
    "sites by bytes and count, peak, live heap over time, leaks), I/O (by call site and\n"
    "by file or peer, kernel calls apart from buffered stdio, call sizes) and Locks\n"
    "(contended waits by call site and by lock; condition-variable waits kept apart).\n"
    "Database calls (sqlite3, recorded by default) have their own section: queries by time\n"
    "with normalized SQL, call site, executions, p50/p95, rows, loops over other queries'\n"
    "results, prepares and connections.\n"
    "Several files of one session (one per process) are merged.\n"
    "\n"
    "Options:\n"
    "  --top N            rows per table (default 20; 0 shows all)\n"
    "  --json             print one JSON document (schema nsprof-report/1)\n"
    "  --db-explain FILE  plan the profile's sqlite queries against the database FILE\n"
    "                     (EXPLAIN QUERY PLAN, read-only, never in the profiled program):\n"
    "                     the Database section shows each plan and names full table scans\n";

static const char usage_tail[] = "  -h, --help         show this help\n"
                                 "\n"
                                 "Examples:\n"
                                 "  nsprof report nsprof.*.nsp\n"
                                 "  nsprof report --thread worker --top 10 app.nsp\n"
                                 "  nsprof report --json app.nsp > report.json\n"
                                 "  nsprof report --db-explain app.db app.nsp\n";

struct report_cmd {
    struct ns_report_args args;
    struct ns_render_options render;
    int json;
    const char *db_explain;
};

enum { OPT_TOP = 0x2000, OPT_JSON, OPT_DB_EXPLAIN };

static int handle_opt(void *cmd, int opt, const char *arg)
{
    struct report_cmd *c = cmd;
    switch (opt) {
    case OPT_TOP: {
        uint64_t top;
        if (ns_cli_parse_u64(arg, "--top", 0, &top) < 0)
            return -1;
        c->render.top = top > SIZE_MAX ? SIZE_MAX : (size_t)top;
        return 0;
    }
    case OPT_JSON:
        c->json = 1;
        return 0;
    case OPT_DB_EXPLAIN:
        c->db_explain = arg;
        return 0;
    case 'h':
        fputs(usage_text, stdout);
        fputs(NS_REPORT_FILTER_HELP, stdout);
        fputs(usage_tail, stdout);
        return 1;
    default:
        ns_cli_error("see 'nsprof report --help' for the options");
        return -1;
    }
}

/* 0 to go on, 1 after --help, -1 on a usage error (already reported). */
static int parse_args(struct report_cmd *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"top", required_argument, NULL, OPT_TOP},
        {"json", no_argument, NULL, OPT_JSON},
        {"db-explain", required_argument, NULL, OPT_DB_EXPLAIN},
        {"help", no_argument, NULL, 'h'},
        NS_REPORT_FILTER_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    return ns_cli_parse_args(
        argc, argv, "h", longopts, &c->args, handle_opt, c,
        "no profile given: nsprof report FILE... (see 'nsprof report --help')");
}

int ns_cmd_report(int argc, char **argv)
{
    struct report_cmd c = {.render = {.top = 20}};
    int status = NS_EXIT_FAILURE;
    int rc = parse_args(&c, argc, argv);
    if (rc != 0) {
        ns_report_args_free(&c.args);
        return rc > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    }
    struct ns_model *m = ns_cli_open_model(argv + optind, (size_t)(argc - optind), &c.args, 0);
    if (!m)
        goto out;
    char why[1024];
    if (ns_report_explain_empty(m, why, sizeof(why))) {
        /* A document for tools is still useful (how the process ended, its settings);
         * a person gets the reason instead of empty tables. */
        if (!c.json) {
            ns_cli_error("%s", why);
            goto out;
        }
        ns_cli_warn("%s", why);
    }
    if (c.db_explain) {
        size_t failed;
        if (ns_db_explain(m, c.db_explain, &failed, why, sizeof(why)) < 0) {
            ns_cli_error("%s", why);
            goto out;
        }
        if (failed)
            ns_cli_warn("--db-explain %s: %zu quer%s could not be planned there (a table or "
                        "column that database does not have: is it the one the program used?)",
                        c.db_explain, failed, failed == 1 ? "y" : "ies");
    }
    c.render.color = !c.json && ns_cli_use_color(stdout);
    rc = c.json ? ns_render_json(stdout, m, &c.render) : ns_render_text(stdout, m, &c.render);
    if (rc < 0) {
        ns_cli_error("cannot write the report to standard output (disk full or closed pipe?)");
        goto out;
    }
    status = NS_EXIT_OK;
out:
    ns_model_free(m);
    ns_report_args_free(&c.args);
    return status;
}
