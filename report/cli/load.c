/*
 * load — profile files for the report and export subcommands (see load.h).
 *
 * The reader already names any defect by offset; the checks here come first because
 * their causes are more common and have plainer fixes (a typo in the path, a directory, a
 * file that is some other format) than "bad magic at offset 0".
 */
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nsp_format.h"
#include "resolver.h"

static int open_error(const char *path, int err, char *msg, size_t len)
{
    if (err == ENOENT)
        snprintf(msg, len,
                 "%s: no such file. Check the path: nsprof writes "
                 "nsprof.<session>.<pid>.<exec>.nsp into the profiled program's working "
                 "directory unless NSPROF_OUTPUT names another place",
                 path);
    else if (err == EACCES)
        snprintf(msg, len,
                 "%s: permission denied. Read it as the user who recorded it, or "
                 "make it readable",
                 path);
    else
        snprintf(msg, len, "%s: cannot open: %s", path, strerror(err));
    return -1;
}

/* Checks what a reader error would state less plainly. */
static int precheck(const char *path, struct stat *st, char *msg, size_t len)
{
    if (stat(path, st) < 0)
        return open_error(path, errno, msg, len);
    if (S_ISDIR(st->st_mode)) {
        snprintf(msg, len, "%s is a directory. Pass the profile files in it, e.g. %s/*.nsp", path,
                 path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return open_error(path, errno, msg, len);
    unsigned char head[NSP_MAGIC_LEN];
    ssize_t got = read(fd, head, sizeof(head));
    int read_errno = errno;
    close(fd);
    if (got < 0) {
        snprintf(msg, len, "%s: cannot read: %s", path, strerror(read_errno));
        return -1;
    }
    if (got == 0) {
        snprintf(msg, len,
                 "%s is empty: the profiled process wrote nothing (it may have "
                 "been killed before nsprof started). Record it again",
                 path);
        return -1;
    }
    if (memcmp(head, NSP_MAGIC, (size_t)got) != 0) {
        snprintf(msg, len,
                 "%s is not an nsprof profile (it does not start with the .nsp "
                 "signature). Pass a file written by `nsprof record` or libnsprof.so",
                 path);
        return -1;
    }
    return 0;
}

struct load_progress {
    ns_load_progress_fn fn;
    void *ctx;
    uint64_t base, total;
};

static void file_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct load_progress *lp = ctx;
    (void)total;
    lp->fn(lp->ctx, lp->base + done, lp->total);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int check_all(char *const *paths, size_t n, struct stat *st, uint64_t *total, char *err,
                     size_t errlen)
{
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (precheck(paths[i], &st[i], err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (same_file(&st[i], &st[j])) {
                snprintf(err, errlen, "%s and %s are the same file. Pass each profile once",
                         paths[j], paths[i]);
                return -1;
            }
        *total += (uint64_t)st[i].st_size;
    }
    return 0;
}

int ns_report_load(char *const *paths, size_t n, struct ns_profile ***out, char *err, size_t errlen,
                   ns_load_progress_fn progress, void *progress_ctx)
{
    struct stat *st = calloc(n ? n : 1, sizeof(*st));
    struct ns_profile **profiles = calloc(n ? n : 1, sizeof(*profiles));
    struct load_progress lp = {.fn = progress, .ctx = progress_ctx};
    if (!st || !profiles) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (check_all(paths, n, st, &lp.total, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct ns_read_error re = {0};
        if (ns_profile_read_file(paths[i], &profiles[i], &re, progress ? file_progress : NULL,
                                 &lp) < 0) {
            /* The reader's message names the file and the offset; say so only if not. */
            char where[64] = "";
            if (!strstr(re.msg, "offset"))
                snprintf(where, sizeof(where), " at byte offset %llu",
                         (unsigned long long)re.offset);
            snprintf(err, errlen,
                     "%s%s. nsprof cannot read this file; if it was copied, copy it again, "
                     "otherwise record the profile again",
                     re.msg[0] ? re.msg : paths[i], where);
            goto fail;
        }
        lp.base += (uint64_t)st[i].st_size;
    }
    if (progress)
        progress(progress_ctx, lp.total, lp.total);
    free(st);
    *out = profiles;
    return 0;
fail:
    ns_report_unload(profiles, n);
    free(st);
    return -1;
}

void ns_report_unload(struct ns_profile **profiles, size_t n)
{
    if (!profiles)
        return;
    for (size_t i = 0; i < n; i++)
        if (profiles[i])
            ns_profile_free(profiles[i]);
    free(profiles);
}

struct phase {
    ns_phase_progress_fn fn;
    void *ctx;
    const char *name;
};

static void phase_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct phase *p = ctx;
    p->fn(p->ctx, p->name, done, total);
}

int ns_report_open(char *const *paths, size_t n, const struct ns_report_args *a,
                   ns_phase_progress_fn progress, void *progress_ctx, struct ns_model **out,
                   char *err, size_t errlen)
{
    struct phase ph = {progress, progress_ctx, "reading"};
    struct ns_profile **profiles;
    if (ns_report_load(paths, n, &profiles, err, errlen, progress ? phase_progress : NULL, &ph) < 0)
        return -1;
    struct ns_sym_options sopt = {.debug_dirs = a->debug_dirs};
    struct ns_resolver resolver = {0};
    if (!a->shared_resolver && ns_resolver_sym_init(&resolver, &sopt) < 0) {
        snprintf(err, errlen, "cannot start the symbolizer (out of memory?)");
        ns_report_unload(profiles, n);
        return -1;
    }
    struct ns_model_options mopt = a->model;
    mopt.resolver = a->shared_resolver ? a->shared_resolver : &resolver;
    mopt.progress = progress ? phase_progress : NULL;
    mopt.progress_ctx = &ph;
    ph.name = "symbolizing";
    int rc = ns_model_build((const struct ns_profile *const *)profiles, n, &mopt, out, err, errlen);
    if (!a->shared_resolver)
        ns_resolver_sym_destroy(&resolver);
    ns_report_unload(profiles, n);
    return rc;
}
