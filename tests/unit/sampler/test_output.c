/* The profile's file name and its safe creation: 0600, O_EXCL|O_NOFOLLOW, backups. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload.h"

static struct ns_identity id = {
    .pid = 4242, .exec_index = 3, .session = "c0ffee01", .exe = "/usr/bin/myapp"};
static char name[4096], err[1024];

Test(output, pattern_tokens)
{
    cr_assert_eq(ns_output_name("nsprof.%s.%p.%e.nsp", &id, 1, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "nsprof.c0ffee01.4242.3.nsp");
    cr_assert_eq(ns_output_name("/tmp/%n-%p%%.nsp", &id, 0, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "/tmp/myapp-4242%.nsp");
    cr_assert_eq(ns_output_name("bad-%q.nsp", &id, 1, name, sizeof(name)), -1);
    cr_assert_eq(ns_output_name("%n%n%n", &id, 1, name, 10), -1, "too long for the buffer");
}

Test(output, plain_name_is_the_first_process_s)
{
    cr_assert_eq(ns_output_name("out/app.nsp", &id, 1, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "out/app.nsp");
    cr_assert_eq(ns_output_name("out/app.nsp", &id, 0, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "out/app.4242.3.nsp", "other processes insert pid and exec index");
    cr_assert_eq(ns_output_name("dir.d/profile", &id, 0, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "dir.d/profile.4242.3", "no extension: appended");
    cr_assert_eq(ns_output_name(".hidden", &id, 0, name, sizeof(name)), 0);
    cr_assert_str_eq(name, ".hidden.4242.3");
}

static char dir[] = "/tmp/nsprof-output-XXXXXX";

static void in_dir(const char *leaf)
{
    snprintf(name, sizeof(name), "%s/%s", dir, leaf);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(output, created_private_and_exclusive, .init = setup, .fini = teardown)
{
    in_dir("p.nsp");
    int fd = ns_output_create(name, NS_IF_EXISTS_REFUSE, err, sizeof(err));
    cr_assert_geq(fd, 0, "%s", err);
    cr_assert_geq(fd, 200, "nsprof's descriptors live high");
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    cr_assert_eq(stat(name, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    close(fd);
    cr_assert_eq(ns_output_create(name, NS_IF_EXISTS_REFUSE, err, sizeof(err)), -1);
    cr_assert(strstr(err, "already exists"), "%s", err);
}

Test(output, existing_files_are_moved_aside, .init = setup, .fini = teardown)
{
    in_dir("p.nsp");
    for (int i = 0; i < 3; i++) {
        int fd = ns_output_create(name, NS_IF_EXISTS_BACKUP, err, sizeof(err));
        cr_assert_geq(fd, 0, "%s", err);
        cr_assert_eq(write(fd, "abc", (size_t)i + 1), i + 1);
        close(fd);
    }
    char backup[4200];
    struct stat st;
    for (int n = 1; n <= 2; n++) {
        snprintf(backup, sizeof(backup), "%s.~%d~", name, n);
        cr_assert_eq(stat(backup, &st), 0, "%s", backup);
        cr_assert_eq(st.st_size, n, "backup %d keeps the run it came from", n);
    }
    cr_assert_eq(stat(name, &st), 0);
    cr_assert_eq(st.st_size, 3);
}

Test(output, a_symlink_is_never_written_through, .init = setup, .fini = teardown)
{
    char victim[4200];
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    FILE *f = fopen(victim, "w");
    fputs("precious", f);
    fclose(f);
    in_dir("p.nsp");
    cr_assert_eq(symlink(victim, name), 0);
    for (int mode = 0; mode < 2; mode++) {
        cr_assert_eq(ns_output_create(name, mode, err, sizeof(err)), -1);
        cr_assert(strstr(err, "symbolic link"), "%s", err);
    }
    struct stat st;
    cr_assert_eq(lstat(name, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link is left as it was");
    cr_assert_eq(stat(victim, &st), 0);
    cr_assert_eq(st.st_size, 8, "its target untouched");
}

Test(output, missing_directory_is_a_clear_error, .init = setup, .fini = teardown)
{
    in_dir("no/such/dir/p.nsp");
    cr_assert_eq(ns_output_create(name, NS_IF_EXISTS_BACKUP, err, sizeof(err)), -1);
    cr_assert(strstr(err, "No such file or directory"), "%s", err);
}
