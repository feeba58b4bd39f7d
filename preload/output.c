/*
 * output — names and creates the profile file.
 *
 * Safety: a profile reveals paths, command lines and code layout, so it is created 0600
 * at its final name with O_CREAT|O_EXCL|O_NOFOLLOW — a symlink planted at the name is an
 * error and is never written through — before the first sample, so a killed run still
 * leaves it. An existing file is moved aside to NAME.~N~ (if_exists=backup) or the run is
 * not profiled (if_exists=refuse); data is never overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sampler/fdutil.h"
#include "preload.h"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Appends text to out[*len], failing if it would not fit. */
static int put(char *out, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n >= cap)
        return -1;
    memcpy(out + *len, text, n + 1);
    *len += n;
    return 0;
}

static int expand_pattern(const char *pattern, const struct ns_identity *id, char *out, size_t cap)
{
    size_t len = 0;
    char num[32], ch[2] = {0, 0};
    out[0] = '\0';
    for (const char *p = pattern; *p; p++) {
        const char *piece = ch;
        if (*p != '%' || !p[1]) {
            ch[0] = *p;
        } else {
            p++;
            if (*p == 'p')
                snprintf(num, sizeof(num), "%d", (int)id->pid), piece = num;
            else if (*p == 'e')
                snprintf(num, sizeof(num), "%llu", (unsigned long long)id->exec_index), piece = num;
            else if (*p == 's')
                piece = id->session;
            else if (*p == 'n')
                piece = base_name(id->exe);
            else if (*p == '%')
                ch[0] = '%';
            else
                return -1;
        }
        if (put(out, cap, &len, piece) < 0)
            return -1;
    }
    return 0;
}

int ns_output_name(const char *pattern, const struct ns_identity *id, int first_of_session,
                   char *out, size_t cap)
{
    if (strchr(pattern, '%'))
        return expand_pattern(pattern, id, out, cap);
    if (first_of_session) {
        if (strlen(pattern) >= cap)
            return -1;
        strcpy(out, pattern);
        return 0;
    }
    /* A plain name: later processes of the session insert .PID.EXEC before the extension. */
    const char *base = base_name(pattern);
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - pattern) : strlen(pattern);
    int n = snprintf(out, cap, "%.*s.%d.%llu%s", (int)stem, pattern, (int)id->pid,
                     (unsigned long long)id->exec_index, pattern + stem);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Renames an existing regular file to NAME.~N~ with the first free N. */
static int move_aside(const char *path, char *err, size_t errlen)
{
    char backup[PATH_MAX];
    for (int n = 1; n < 10000; n++) {
        if (snprintf(backup, sizeof(backup), "%s.~%d~", path, n) >= (int)sizeof(backup))
            break;
        if (renameat2(AT_FDCWD, path, AT_FDCWD, backup, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno != EEXIST) {
            snprintf(err, errlen, "cannot move the existing '%s' aside to '%s': %s", path, backup,
                     strerror(errno));
            return -1;
        }
    }
    snprintf(err, errlen, "cannot move the existing '%s' aside: too many backups", path);
    return -1;
}

int ns_output_create(const char *path, int if_exists, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return ns_fd_move_high(fd);
        if (errno != EEXIST) {
            snprintf(err, errlen, "cannot create the profile '%s': %s", path, strerror(errno));
            return -1;
        }
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
            snprintf(err, errlen,
                     "refusing to write the profile: '%s' is a symbolic link (remove it or "
                     "choose another output name)",
                     path);
            return -1;
        }
        if (if_exists == NS_IF_EXISTS_REFUSE) {
            snprintf(err, errlen,
                     "the profile '%s' already exists and if_exists=refuse (remove it, or use "
                     "if_exists=backup)",
                     path);
            return -1;
        }
        if (move_aside(path, err, errlen) < 0)
            return -1;
    }
    snprintf(err, errlen, "cannot create the profile '%s': it keeps reappearing", path);
    return -1;
}
