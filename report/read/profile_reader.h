/*
 * profile_reader — loads a .nsp file (docs/FORMAT.md) into a struct ns_profile.
 *
 * Contract: the input is hostile. Every length, count and id is checked before use;
 * allocations are bounded by what the file really contains and by the format's ceilings.
 * A file cut at any byte loads every complete chunk and sets truncated/truncated_at.
 * Any other defect fails with an error message naming the file and the byte offset of the
 * chunk (and of the record inside the inflated chunk). Never crashes, never hangs.
 */
#ifndef NS_PROFILE_READER_H
#define NS_PROFILE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct ns_read_error {
    char msg[512];   /* "app.nsp: chunk at offset 1234: CRC mismatch" */
    uint64_t offset; /* file offset of the defect */
};

/* Optional progress callback: called now and then with bytes consumed and total. */
typedef void (*ns_read_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* 0 on success (*out set), -1 on failure (err filled; *out untouched). */
int ns_profile_read_file(const char *path, struct ns_profile **out, struct ns_read_error *err,
                         ns_read_progress_fn progress, void *progress_ctx);
/* The same for a buffer (fuzzing, tests); name is used in messages and as path. */
int ns_profile_read_mem(const uint8_t *data, size_t len, const char *name, struct ns_profile **out,
                        struct ns_read_error *err);
void ns_profile_free(struct ns_profile *p);

#endif
