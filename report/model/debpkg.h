/*
 * debpkg — the Debian package that installed a file, read from dpkg's database, so that a
 * report can say which -dbgsym package carries a stripped library's debug symbols.
 *
 * Contract: reads only; runs no program. A file no package lists, or a machine without
 * dpkg's database, gives no package (NULL), never an error.
 */
#ifndef NS_REPORT_DEBPKG_H
#define NS_REPORT_DEBPKG_H

#include <stddef.h>

/* For each of the n absolute paths (NULL entries are skipped), sets pkgs[i] to a malloc'd
 * package name ("liblzma5", without the architecture) or NULL. info_dir: dpkg's info
 * directory, NULL for /var/lib/dpkg/info. One pass over it for all paths. 0, or -1 when
 * memory runs out (pkgs then holds what was found). */
int ns_debian_packages(const char *info_dir, char *const *paths, size_t n, char **pkgs);

#endif
