/*
 * Output files: never over an existing file or through a symlink; --force replaces by
 * rename (a symlink at the name is replaced, its target untouched); mode 0600; a failed
 * output leaves nothing behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

static char dir[] = "/tmp/ns_outfile_XXXXXX";
static char path[256], target[256], link_path[256];

static void setup(void)
{
    strcpy(dir, "/tmp/ns_outfile_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/out.folded", dir);
    snprintf(target, sizeof(target), "%s/precious", dir);
    snprintf(link_path, sizeof(link_path), "%s/link.folded", dir);
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

TestSuite(outfile, .init = setup, .fini = teardown);

static void write_file(const char *p, const char *content)
{
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(content, f);
    fclose(f);
}

static char *read_file(const char *p)
{
    static char buf[256];
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t dir_entries(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

Test(outfile, creates_a_new_file_0600)
{
    struct ns_outfile o;
    char err[512];
    umask(022);
    cr_assert_eq(ns_outfile_open(&o, path, 0, err, sizeof(err)), 0, "%s", err);
    fputs("a;b 1\n", o.f);
    cr_assert_eq(ns_outfile_close(&o, 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(read_file(path), "a;b 1\n");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(outfile, refuses_an_existing_file)
{
    write_file(path, "old");
    struct ns_outfile o;
    char err[512];
    cr_assert_eq(ns_outfile_open(&o, path, 0, err, sizeof(err)), -1);
    cr_assert(strstr(err, "already exists") && strstr(err, "--force"), "%s", err);
    cr_assert_str_eq(read_file(path), "old");
}

Test(outfile, never_follows_a_symlink)
{
    write_file(target, "precious");
    cr_assert_eq(symlink(target, link_path), 0);
    struct ns_outfile o;
    char err[512];
    cr_assert_eq(ns_outfile_open(&o, link_path, 0, err, sizeof(err)), -1);
    cr_assert_str_eq(read_file(target), "precious");
    /* A dangling symlink is refused too: O_EXCL never creates through it. */
    unlink(target);
    cr_assert_eq(ns_outfile_open(&o, link_path, 0, err, sizeof(err)), -1);
    cr_assert_eq(access(target, F_OK), -1);
}

Test(outfile, force_replaces_by_rename)
{
    write_file(path, "old content");
    struct ns_outfile o;
    char err[512];
    cr_assert_eq(ns_outfile_open(&o, path, 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(read_file(path), "old content", "untouched until complete");
    fputs("new", o.f);
    cr_assert_eq(ns_outfile_close(&o, 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(read_file(path), "new");
    cr_assert_eq(dir_entries(), 1, "no temporary file left");
}

Test(outfile, force_replaces_a_symlink_not_its_target)
{
    write_file(target, "precious");
    cr_assert_eq(symlink(target, link_path), 0);
    struct ns_outfile o;
    char err[512];
    cr_assert_eq(ns_outfile_open(&o, link_path, 1, err, sizeof(err)), 0, "%s", err);
    fputs("new", o.f);
    cr_assert_eq(ns_outfile_close(&o, 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(read_file(target), "precious");
    struct stat st;
    cr_assert_eq(lstat(link_path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(outfile, failure_leaves_nothing)
{
    struct ns_outfile o;
    char err[512];
    cr_assert_eq(ns_outfile_open(&o, path, 0, err, sizeof(err)), 0);
    fputs("partial", o.f);
    cr_assert_eq(ns_outfile_close(&o, 0, err, sizeof(err)), -1);
    cr_assert_eq(dir_entries(), 0);
    cr_assert_eq(ns_outfile_open(&o, path, 1, err, sizeof(err)), 0);
    cr_assert_eq(ns_outfile_close(&o, 0, err, sizeof(err)), -1);
    cr_assert_eq(dir_entries(), 0);
}

Test(outfile, force_onto_a_directory_fails_cleanly)
{
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    struct ns_outfile o;
    char err[512];
    cr_assert_eq(ns_outfile_open(&o, sub, 1, err, sizeof(err)), 0);
    fputs("x", o.f);
    cr_assert_eq(ns_outfile_close(&o, 1, err, sizeof(err)), -1);
    cr_assert(strstr(err, "cannot write"), "%s", err);
    cr_assert_eq(dir_entries(), 1, "only the directory");
    rmdir(sub);
}
