/*
 * load — opens the profile files given to `nsprof report` / `nsprof export`, with the
 * checks that let an error say what to do: missing file, directory, the same file twice,
 * an empty file, a file that is not a profile at all, or one the reader finds damaged
 * (with the offset).
 *
 * Contract: all files load or none (on failure nothing is left allocated). Progress covers
 * the bytes of all files together.
 */
#ifndef NS_REPORT_LOAD_H
#define NS_REPORT_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "options.h"
#include "profile_reader.h"

typedef void (*ns_load_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* 0 and *out (n profiles) on success; -1 with one message in err otherwise. */
int ns_report_load(char *const *paths, size_t n, struct ns_profile ***out, char *err, size_t errlen,
                   ns_load_progress_fn progress, void *progress_ctx);
void ns_report_unload(struct ns_profile **profiles, size_t n);

/* Progress of ns_report_open, by phase ("reading", then "symbolizing"). */
typedef void (*ns_phase_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

/* What both subcommands do: loads the files, symbolizes with ns_sym (a->debug_dirs) and
 * builds the model with a's filters. The profiles are freed before returning. 0 and *out,
 * or -1 with a message in err. */
int ns_report_open(char *const *paths, size_t n, const struct ns_report_args *a,
                   ns_phase_progress_fn progress, void *progress_ctx, struct ns_model **out,
                   char *err, size_t errlen);

#endif
