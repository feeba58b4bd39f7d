/*
 * outfile — safe creation of output files (see outfile.h).
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "dir/.name.XXXXXX" beside path, for mkostemp. */
static char *temp_name(const char *path)
{
    char *copy = strdup(path);
    char *tmp = NULL;
    const char *slash = strrchr(path, '/');
    if (copy && asprintf(&tmp, "%s/.%s.XXXXXX", dirname(copy), slash ? slash + 1 : path) < 0)
        tmp = NULL;
    free(copy);
    return tmp;
}

int ns_outfile_open(struct ns_outfile *o, const char *path, int force, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    if (!path || strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    o->path = path;
    int fd;
    if (!force) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
            snprintf(err, errlen, "%s already exists; pass --force to replace it", path);
            return -1;
        }
    } else {
        if (!(o->tmp = temp_name(path))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        fd = mkostemp(o->tmp, O_CLOEXEC);
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", o->tmp ? o->tmp : path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    if (!(o->f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp ? o->tmp : path);
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    return 0;
}

int ns_outfile_close(struct ns_outfile *o, int ok, char *err, size_t errlen)
{
    if (!o->path) {
        if (fflush(stdout) != 0) {
            snprintf(err, errlen, "cannot write to standard output: %s", strerror(errno));
            return -1;
        }
        return ok ? 0 : -1;
    }
    const char *written = o->tmp ? o->tmp : o->path;
    int e = 0;
    if (ok && (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0))
        e = errno;
    if (fclose(o->f) != 0 && !e)
        e = errno;
    o->f = NULL;
    if (ok && !e && o->tmp && rename(o->tmp, o->path) != 0)
        e = errno;
    if (!ok || e)
        unlink(written);
    if (e)
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(e));
    free(o->tmp);
    o->tmp = NULL;
    return ok && !e ? 0 : -1;
}
