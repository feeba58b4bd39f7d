/*
 * cli — what the nsprof subcommands share: their entry points (tools/nsprof.c dispatches)
 * and the conventions of talking to people: errors say what to do, colour and progress
 * only on a terminal.
 */
#ifndef NS_CLI_H
#define NS_CLI_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* Subcommands: argv[0] is the subcommand name. Return the process exit status. */
int ns_cmd_record(int argc, char **argv);
int ns_cmd_report(int argc, char **argv);
int ns_cmd_export(int argc, char **argv);
int ns_cmd_flame(int argc, char **argv);
int ns_cmd_diff(int argc, char **argv);
int ns_cmd_agent(int argc, char **argv);

/* Exit statuses shared by the subcommands. */
enum { NS_EXIT_OK = 0, NS_EXIT_FAILURE = 1, NS_EXIT_USAGE = 2 };

/* "nsprof: error: ..." on stderr (red on a terminal). */
void ns_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "nsprof: warning: ..." on stderr (yellow on a terminal). */
void ns_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "nsprof: ..." on stderr. */
void ns_cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Colour is used only when the stream is a terminal and NO_COLOR is unset, TERM != dumb. */
int ns_cli_use_color(FILE *stream);

/* Progress on stderr, only when stderr is a terminal: "label  45%". done == total ends it. */
struct ns_progress {
    const char *label;
    int enabled;
    int last_pct;
};
void ns_progress_init(struct ns_progress *p, const char *label);
void ns_progress_update(struct ns_progress *p, uint64_t done, uint64_t total);
void ns_progress_end(struct ns_progress *p);

/* A progress line per phase ("reading", "symbolizing"), for ns_report_open's callback. */
struct ns_phase_progress {
    struct ns_progress bar;
    const char *phase;
};
void ns_phase_progress_update(void *ctx, const char *phase, uint64_t done, uint64_t total);
void ns_phase_progress_end(struct ns_phase_progress *p);

/* Parses a decimal number with an optional k/M/G suffix (powers of 1024 when bytes != 0,
 * of 1000 otherwise); 0 on success, -1 with a message naming `what` on failure. */
int ns_cli_parse_u64(const char *text, const char *what, int bytes, uint64_t *out);

#endif
