/*
 * record — what `nsprof record` knows of its run, shared by cmd_record.c (options and the
 * program's launch) and record_summary.c (what was written, afterwards).
 */
#ifndef NS_RECORD_H
#define NS_RECORD_H

#include <stddef.h>

#include "settings.h"

struct ns_record {
    struct ns_config cfg;
    int given[NS_SET__COUNT]; /* set on the command line */
    const char *lib;
    int quiet;
    char **argv;
    char session[32];
    char session_dir[4096]; /* where the processes share their tables with the agent */
};

/* The file execvp would run for cmd (PATH search); 0 if none. */
int ns_record_resolve_command(const char *cmd, char *out, size_t cap);
/* Validates the output setting before anything runs. */
int ns_record_check_output(const struct ns_record *rec);
/* Lists the session's profiles with their sample counts and what to run next. */
void ns_record_summarize(const struct ns_record *rec);

#endif
