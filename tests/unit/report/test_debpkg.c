/*
 * debpkg: the Debian package of a file from a dpkg info directory built here, including
 * the merged-/usr spelling (the kernel says /usr/lib/..., dpkg recorded /lib/...).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debpkg.h"

static char dir[] = "/tmp/ns_debpkg_XXXXXX";

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    put("liblzma5:amd64.list", "/.\n/lib\n/lib/x86_64-linux-gnu\n"
                               "/lib/x86_64-linux-gnu/liblzma.so.5.4.1\n"
                               "/lib/x86_64-linux-gnu/liblzma.so.5\n");
    /* Same path in another file type dpkg keeps: not a .list, ignored. */
    put("decoy:amd64.md5sums", "/usr/bin/xz\n");
    put("xz-utils.list", "/usr/bin/xz\n/usr/bin/unxz");
    put("libfoo1:amd64.list", "/usr/lib/x86_64-linux-gnu/libfoo.so.1\n");
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(debpkg, .init = setup, .fini = teardown);

Test(debpkg, finds_packages_in_both_spellings_of_merged_usr)
{
    char *paths[] = {
        "/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1", /* recorded as /lib/... */
        "/usr/bin/xz",                                /* last line, no newline */
        "/lib/x86_64-linux-gnu/libfoo.so.1",          /* recorded as /usr/lib/... */
        "/usr/bin/unknown",
        NULL,
        "/lib", /* a directory dpkg lists is still a path it lists */
    };
    char *pkgs[6];
    cr_assert_eq(ns_debian_packages(dir, paths, 6, pkgs), 0);
    cr_assert_str_eq(pkgs[0], "liblzma5");
    cr_assert_str_eq(pkgs[1], "xz-utils");
    cr_assert_str_eq(pkgs[2], "libfoo1");
    cr_assert_null(pkgs[3]);
    cr_assert_null(pkgs[4]);
    cr_assert_str_eq(pkgs[5], "liblzma5");
    for (int i = 0; i < 6; i++)
        free(pkgs[i]);
}

Test(debpkg, no_database_means_no_package_not_an_error)
{
    char *paths[] = {"/usr/bin/xz"};
    char *pkgs[1];
    cr_assert_eq(ns_debian_packages("/nonexistent/dpkg/info", paths, 1, pkgs), 0);
    cr_assert_null(pkgs[0]);
}
