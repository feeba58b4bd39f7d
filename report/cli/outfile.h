/*
 * outfile — creating an output file safely for `nsprof export -o` (and later outputs):
 *  - without force: open(O_CREAT|O_EXCL|O_NOFOLLOW, 0600): an existing file, or a symlink
 *    planted at the name, is refused, never overwritten or followed;
 *  - with force: a temporary file (0600, O_EXCL) beside the target, renamed over it when
 *    complete: readers never see half a file, and a symlink at the name is replaced, not
 *    followed.
 * On failure the partial file is removed. Path NULL or "-" means standard output.
 */
#ifndef NS_REPORT_OUTFILE_H
#define NS_REPORT_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

struct ns_outfile {
    FILE *f;
    const char *path; /* NULL: standard output */
    char *tmp;        /* force: the file renamed over path by ns_outfile_close */
};

/* 0 with o->f ready; -1 with a message in err (EEXIST says to use --force). */
int ns_outfile_open(struct ns_outfile *o, const char *path, int force, char *err, size_t errlen);
/* ok: the content is complete; publishes it. !ok: discards it. 0, or -1 with err set when a
 * write, flush or rename failed (the partial file is removed). */
int ns_outfile_close(struct ns_outfile *o, int ok, char *err, size_t errlen);

#endif
