/*
 * debpkg — which Debian package installed a file, from dpkg's own database (the
 * info/<package>[:<arch>].list files dpkg -S reads), without running dpkg.
 *
 * With merged /usr (Debian 12), the kernel reports /usr/lib/x86_64-linux-gnu/liblzma.so.5
 * while dpkg recorded /lib/x86_64-linux-gnu/liblzma.so.5: both spellings are tried.
 */
#include "debpkg.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The other spelling of path under merged /usr, or NULL. */
static char *usrmerge_alias(const char *path)
{
    static const char *const merged[] = {"/bin/",   "/sbin/",  "/lib/",
                                         "/lib32/", "/lib64/", "/libx32/"};
    for (size_t i = 0; i < sizeof(merged) / sizeof(merged[0]); i++) {
        size_t n = strlen(merged[i]);
        char *alias = NULL;
        if (strncmp(path, "/usr", 4) == 0 && strncmp(path + 4, merged[i], n) == 0)
            alias = strdup(path + 4);
        else if (strncmp(path, merged[i], n) == 0 && asprintf(&alias, "/usr%s", path) < 0)
            alias = NULL;
        if (alias)
            return alias;
    }
    return NULL;
}

/* The package of a .list file's name: "liblzma5:amd64.list" -> "liblzma5". */
static char *package_of_list(const char *name)
{
    size_t len = strlen(name);
    if (len <= 5 || strcmp(name + len - 5, ".list") != 0)
        return NULL;
    len -= 5;
    const char *colon = memchr(name, ':', len);
    if (colon)
        len = (size_t)(colon - name);
    return len ? strndup(name, len) : NULL;
}

static int wanted(const char *line, char *const *paths, char *const *aliases, size_t n, char **pkgs,
                  size_t *index)
{
    for (size_t i = 0; i < n; i++) {
        if (pkgs[i] || !paths[i])
            continue;
        if (strcmp(line, paths[i]) == 0 || (aliases[i] && strcmp(line, aliases[i]) == 0)) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

int ns_debian_packages(const char *info_dir, char *const *paths, size_t n, char **pkgs)
{
    for (size_t i = 0; i < n; i++)
        pkgs[i] = NULL;
    if (!n)
        return 0;
    DIR *d = opendir(info_dir ? info_dir : "/var/lib/dpkg/info");
    if (!d)
        return 0; /* not a Debian system, or not readable: no package names */
    char **aliases = calloc(n, sizeof(*aliases));
    if (!aliases) {
        closedir(d);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        aliases[i] = paths[i] && paths[i][0] == '/' ? usrmerge_alias(paths[i]) : NULL;
    size_t left = n;
    char *line = NULL;
    size_t cap = 0;
    struct dirent *e;
    while (left && (e = readdir(d)) != NULL) {
        char *pkg = package_of_list(e->d_name);
        int fd = pkg ? openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (!f && fd >= 0)
            close(fd);
        ssize_t len;
        while (f && left && (len = getline(&line, &cap, f)) > 0) {
            if (line[len - 1] == '\n')
                line[len - 1] = '\0';
            size_t i;
            if (wanted(line, paths, aliases, n, pkgs, &i) && (pkgs[i] = strdup(pkg)) != NULL)
                left--;
        }
        if (f)
            fclose(f);
        free(pkg);
    }
    free(line);
    for (size_t i = 0; i < n; i++)
        free(aliases[i]);
    free(aliases);
    closedir(d);
    return 0;
}
