/*
 * cmd_diff — `nsprof diff [options] BEFORE AFTER` and `nsprof diff [options] --before RUN...
 * --after RUN...`: what got faster or slower between two sets of runs, with a noise verdict
 * per row (report/diff/diff.h), as text or JSON, and a regression gate for CI.
 *
 * Exit status: 0, or 1 when the gate (--max-regression) fails; 2 for a usage error or a
 * file that cannot be read — unlike the other commands' 1, so that CI tells "slower" from
 * "broken".
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"
#include "diff.h"
#include "diff_flame.h"
#include "diff_render.h"
#include "flame_html.h"
#include "options.h"
#include "resolver.h"

#ifndef NSPROF_VERSION
#define NSPROF_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: nsprof diff [options] BEFORE AFTER\n"
    "       nsprof diff [options] --before RUN... --after RUN...\n"
    "\n"
    "Compares the runs before a change with the runs after it, function by function, and\n"
    "says for each change whether it is beyond noise. A RUN is one profile file, or the\n"
    "files of one run of several processes joined with commas (a.nsp,a.123.1.nsp).\n"
    "Functions match by name and module (without its soname version; two static functions\n"
    "of one name also by their file), never by address, so a rebuilt binary compares\n"
    "function for function.\n"
    "\n"
    "Options:\n"
    "  --before RUN...       the runs before (several: repeated runs of one benchmark)\n"
    "  --after RUN...        the runs after\n"
    "  -e, --event NAME      the event to compare (default cpu)\n"
    "  --normalize HOW       runs: per run (default); duration: per second of run time;\n"
    "                        share: percent of each side's total\n"
    "  --json                JSON (schema nsprof-diff/1, docs/JSON.md) instead of text\n"
    "  --top N               rows per table (default 20; 0: all)\n"
    "  --max-regression PCT  exit 1 when the total, or a function's self or total cost,\n"
    "                        grew more than PCT percent beyond noise\n"
    "  --max-regression FUNC=PCT\n"
    "                        the same for one function (repeatable; split at the last '=')\n"
    "  --min-share PCT       functions below PCT% of a side's total cannot fail the gate on\n"
    "                        their own (default 1)\n"
    "  --run-noise PCT       a whole run's change taken as noise with one run per side\n"
    "                        (default 5; this kind of machine moves a run by several %)\n"
    "  --fdr Q               false discovery rate over functions (default 0.05)\n"
    "  -o, --output PAGE     also write the differential flame graph to PAGE (HTML: the\n"
    "                        after profile's shape, each frame coloured by its change)\n"
    "  --force               replace PAGE if it exists\n";

static const char usage_tail[] =
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0; 1 when the gate failed; 2 for a usage error or an unreadable file.\n"
    "Examples:\n"
    "  nsprof diff before.nsp after.nsp\n"
    "  nsprof diff --before b1.nsp b2.nsp b3.nsp --after a1.nsp a2.nsp a3.nsp\n"
    "  nsprof diff --max-regression 10 --max-regression 'parse=5' main.nsp branch.nsp\n"
    "  nsprof diff -o diff.html before.nsp after.nsp\n";

struct diff_cmd {
    struct ns_report_args args;
    struct ns_diff_options diff;
    int json;
    size_t top;
    struct ns_diff_limit *limits;
    size_t nlimits;
    double min_share;
    const char *page; /* -o */
    int force;
    char **before, **after; /* runs */
    size_t nbefore, nafter;
};

enum {
    OPT_NORMALIZE = 0x2100,
    OPT_JSON,
    OPT_TOP,
    OPT_MAX_REGRESSION,
    OPT_MIN_SHARE,
    OPT_RUN_NOISE,
    OPT_FDR,
    OPT_FORCE,
};

static int parse_number(const char *opt, const char *arg, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < lo || v > hi) {
        ns_cli_error("%s: '%s' is not a number from %g to %g", opt, arg, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int add_limit(struct diff_cmd *c, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    double pct;
    if (parse_number("--max-regression", eq ? eq + 1 : arg, 0, 1e9, &pct) < 0)
        return -1;
    if (eq && eq == arg) {
        ns_cli_error("--max-regression '%s': the function name before '=' is empty", arg);
        return -1;
    }
    struct ns_diff_limit *v = realloc(c->limits, (c->nlimits + 1) * sizeof(*v));
    if (!v)
        return -1;
    c->limits = v;
    v[c->nlimits].function = eq ? strndup(arg, (size_t)(eq - arg)) : NULL;
    v[c->nlimits++].pct = pct;
    return eq && !v[c->nlimits - 1].function ? -1 : 0;
}

static int handle_opt(void *cmd, int opt, const char *arg)
{
    struct diff_cmd *c = cmd;
    double v;
    switch (opt) {
    case 'e':
        c->diff.event = arg;
        return 0;
    case OPT_NORMALIZE:
        if (strcmp(arg, "runs") == 0)
            c->diff.normalize = NS_DIFF_PER_RUN;
        else if (strcmp(arg, "duration") == 0)
            c->diff.normalize = NS_DIFF_PER_SECOND;
        else if (strcmp(arg, "share") == 0)
            c->diff.normalize = NS_DIFF_SHARE;
        else {
            ns_cli_error("--normalize: '%s' is not runs, duration or share", arg);
            return -1;
        }
        return 0;
    case OPT_JSON:
        c->json = 1;
        return 0;
    case OPT_TOP:
        if (parse_number("--top", arg, 0, 1e9, &v) < 0)
            return -1;
        c->top = (size_t)v;
        return 0;
    case OPT_MAX_REGRESSION:
        return add_limit(c, arg);
    case OPT_MIN_SHARE:
        return parse_number("--min-share", arg, 0, 100, &c->min_share);
    case OPT_RUN_NOISE:
        if (parse_number("--run-noise", arg, 0, 1000, &v) < 0)
            return -1;
        c->diff.run_noise = v / 100.0;
        return 0;
    case OPT_FDR:
        return parse_number("--fdr", arg, 1e-9, 1, &c->diff.fdr);
    case 'o':
        if (strcmp(arg, "-") == 0) {
            ns_cli_error("-o -: the diff's text goes to standard output; give the page a file "
                         "name (e.g. -o diff.html)");
            return -1;
        }
        c->page = arg;
        return 0;
    case OPT_FORCE:
        c->force = 1;
        return 0;
    case 'h': {
        fputs(usage_text, stdout);
        /* The filters apply to every run; --event is diff's own (-e above). */
        const char *h = NS_REPORT_FILTER_HELP;
        for (const char *line = h, *end; *line; line = end) {
            end = strchr(line, '\n');
            end = end ? end + 1 : line + strlen(line);
            if (strncmp(line, "  --event ", 10) != 0)
                fwrite(line, 1, (size_t)(end - line), stdout);
        }
        fputs(usage_tail, stdout);
        return 1;
    }
    default:
        ns_cli_error("see 'nsprof diff --help' for the options");
        return -1;
    }
}

/* Takes the RUNs after --before / --after out of argv (getopt cannot take a list), leaving
 * the rest for getopt. Returns the new argc, or -1 after a usage error. */
static int take_run_lists(struct diff_cmd *c, int argc, char **argv)
{
    char ***list = NULL;
    size_t *count = NULL;
    int out = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--before") == 0 || strcmp(argv[i], "--after") == 0) {
            int before = argv[i][2] == 'b';
            list = before ? &c->before : &c->after;
            count = before ? &c->nbefore : &c->nafter;
            if (*count) {
                ns_cli_error("%s given twice: list all its runs after one %s", argv[i], argv[i]);
                return -1;
            }
            continue;
        }
        if (list && argv[i][0] != '-') {
            char **v = realloc(*list, (*count + 1) * sizeof(*v));
            if (!v)
                return -1;
            *list = v;
            v[(*count)++] = argv[i];
            continue;
        }
        list = NULL; /* an option ends a run list */
        argv[out++] = argv[i];
    }
    return out;
}

static int parse_args(struct diff_cmd *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"event", required_argument, NULL, 'e'}, /* before the filters' --event: ours */
        {"normalize", required_argument, NULL, OPT_NORMALIZE},
        {"json", no_argument, NULL, OPT_JSON},
        {"top", required_argument, NULL, OPT_TOP},
        {"max-regression", required_argument, NULL, OPT_MAX_REGRESSION},
        {"min-share", required_argument, NULL, OPT_MIN_SHARE},
        {"run-noise", required_argument, NULL, OPT_RUN_NOISE},
        {"fdr", required_argument, NULL, OPT_FDR},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        NS_REPORT_FILTER_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    argc = take_run_lists(c, argc, argv);
    if (argc < 0)
        return -1;
    int lists = c->nbefore || c->nafter;
    /* ns_cli_parse_args wants files after the options, which --before/--after took: the
     * same loop here, with the same filters. */
    char err[512];
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "he:o:", longopts, NULL)) != -1) {
        int handled = ns_report_filter_arg(&c->args, opt, optarg, err, sizeof(err));
        if (handled < 0) {
            ns_cli_error("%s", err);
            return -1;
        }
        int rc = handled ? 0 : handle_opt(c, opt, optarg);
        if (rc)
            return rc;
    }
    if (ns_report_args_check(&c->args, err, sizeof(err)) < 0) {
        ns_cli_error("%s", err);
        return -1;
    }
    if (lists) {
        if (optind < argc) {
            ns_cli_error("'%s': with --before and --after, every run goes after one of them",
                         argv[optind]);
            return -1;
        }
        if (!c->nbefore || !c->nafter) {
            ns_cli_error("give runs both --before and --after");
            return -1;
        }
        return 0;
    }
    if (argc - optind != 2) {
        ns_cli_error("give exactly two runs, BEFORE AFTER, or several with --before RUN... "
                     "--after RUN...");
        return -1;
    }
    c->before = malloc(sizeof(char *));
    c->after = malloc(sizeof(char *));
    if (!c->before || !c->after)
        return -1;
    c->before[0] = argv[optind];
    c->after[0] = argv[optind + 1];
    c->nbefore = c->nafter = 1;
    return 0;
}

/* One model per run; a run's files are joined with commas. NULL after saying why. */
static struct ns_model *open_run(const struct diff_cmd *c, const char *run)
{
    char *copy = strdup(run), *save = NULL;
    char *paths[256];
    size_t n = 0;
    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p && n < 256;
         p = strtok_r(NULL, ",", &save))
        paths[n++] = p;
    struct ns_model *m = n ? ns_cli_open_model(paths, n, &c->args, 1) : NULL;
    if (copy && !n)
        ns_cli_error("'%s' names no profile file", run);
    free(copy);
    return m;
}

/* The differential flame graph of the runs (report/diff/diff_flame.h) written to -o. */
static int write_page(const struct diff_cmd *c, struct ns_model **models)
{
    struct ns_buf json = {0}, page = {0};
    struct ns_flame_data_options fo = {.producer = "nsprof " NSPROF_VERSION,
                                       .initial_event = c->diff.event};
    struct ns_flame_assets assets = ns_flame_embedded_assets();
    char err[512];
    int rc = -1;
    if (ns_diff_flame_json((const struct ns_model *const *)models, c->nbefore,
                           (const struct ns_model *const *)models + c->nbefore, c->nafter, &c->diff,
                           &fo, &json, err, sizeof(err)) < 0 ||
        ns_flame_html_render(&assets, json.s, json.len, &page, err, sizeof(err)) < 0)
        ns_cli_error("%s", err);
    else
        rc = ns_cli_write_page(c->page, c->force, &page);
    ns_buf_free(&json);
    ns_buf_free(&page);
    return rc;
}

static int run_diff(struct diff_cmd *c)
{
    size_t runs = c->nbefore + c->nafter;
    struct ns_model **models = calloc(runs, sizeof(*models));
    struct ns_diff *d = NULL;
    int status = NS_EXIT_USAGE;
    /* One symbolizer for every run: the runs share most of their objects and addresses. */
    struct ns_sym_options sopt = {.debug_dirs = c->args.debug_dirs};
    struct ns_resolver resolver = {0};
    if (!models || ns_resolver_sym_init(&resolver, &sopt) < 0) {
        ns_cli_error("cannot start the symbolizer (out of memory?)");
        goto out;
    }
    c->args.shared_resolver = &resolver;
    for (size_t r = 0; r < runs; r++)
        if (!(models[r] = open_run(c, r < c->nbefore ? c->before[r] : c->after[r - c->nbefore])))
            goto out;
    char err[512];
    if (ns_diff_build((const struct ns_model *const *)models, c->nbefore,
                      (const struct ns_model *const *)models + c->nbefore, c->nafter, &c->diff, &d,
                      err, sizeof(err)) < 0) {
        ns_cli_error("%s", err);
        goto out;
    }
    if (c->page && write_page(c, models) < 0) {
        status = NS_EXIT_FAILURE;
        goto out;
    }
    struct ns_diff_gate gate = {c->limits, c->nlimits, c->min_share};
    struct ns_diff_gate_result result = {.checked = c->nlimits > 0, .gate = &gate};
    size_t *failing = NULL;
    if (result.checked &&
        ns_diff_gate_check(d, &gate, &result.total_fails, &failing, &result.nrows) < 0)
        goto out;
    result.rows = failing;
    struct ns_diff_render_options ro = {
        .top = c->top, .color = ns_cli_use_color(stdout), .gate = &result};
    int rc = c->json ? ns_diff_render_json(stdout, d, &ro) : ns_diff_render_text(stdout, d, &ro);
    free(failing);
    if (rc < 0 || fflush(stdout) != 0) {
        ns_cli_error("cannot write the diff: %s", strerror(errno));
        status = NS_EXIT_FAILURE;
        goto out;
    }
    status = result.checked && (result.total_fails || result.nrows) ? NS_EXIT_FAILURE : NS_EXIT_OK;
out:
    for (size_t r = 0; models && r < runs; r++)
        ns_model_free(models[r]);
    free(models);
    ns_diff_free(d);
    if (resolver.ctx)
        ns_resolver_sym_destroy(&resolver);
    return status;
}

int ns_cmd_diff(int argc, char **argv)
{
    struct diff_cmd c = {.top = 20, .min_share = 1.0};
    int rc = parse_args(&c, argc, argv);
    if (rc == 0 && c.page && !ns_cli_have_page())
        rc = -2;
    int status = rc > 0     ? NS_EXIT_OK
                 : rc == -2 ? NS_EXIT_FAILURE
                 : rc < 0   ? NS_EXIT_USAGE
                            : run_diff(&c);
    for (size_t i = 0; i < c.nlimits; i++)
        free((char *)c.limits[i].function);
    free(c.limits);
    free(c.before);
    free(c.after);
    ns_report_args_free(&c.args);
    return status;
}
