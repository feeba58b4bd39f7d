/*
 * nsprof — the command line: dispatches to the subcommands in tools/cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef NSPROF_VERSION
#define NSPROF_VERSION "unknown"
#endif

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"record", ns_cmd_record, "run a program under the profiler and write its profile"},
    {"report", ns_cmd_report, "rank where the time went in one or more profiles"},
    {"export", ns_cmd_export, "write a profile in another format (folded stacks)"},
    {"flame", ns_cmd_flame, "write an interactive flame graph (one HTML file)"},
    {"diff", ns_cmd_diff, "compare runs before and after a change, with noise verdicts"},
    {"agent", ns_cmd_agent, "(started by libnsprof.so) profile a preloaded program from outside"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: nsprof <command> [options] [args]\n\n"
                 "A sampling profiler for native Linux programs.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'nsprof <command> --help' describes a command.\n\n"
                 "example:\n"
                 "  nsprof record -o app.nsp -- ./app --its-args\n"
                 "  nsprof report app.nsp\n"
                 "  nsprof export --format folded app.nsp > app.folded\n"
                 "  nsprof flame -o app.html app.nsp\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            char help[] = "--help";
            char *sub[] = {argv[2], help, NULL};
            for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[2], commands[i].name) == 0)
                    return commands[i].run(2, sub);
            }
        }
        usage(stdout);
        return NS_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("nsprof %s\n", NSPROF_VERSION);
        return NS_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    ns_cli_error("unknown command '%s' (try 'nsprof --help')", name);
    return NS_EXIT_USAGE;
}
