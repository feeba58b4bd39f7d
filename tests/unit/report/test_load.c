/*
 * Loading files: the errors say what to do (missing file, directory, empty file, not a
 * profile, the same file twice, a damaged file with its offset), and real files written
 * by the profile writer go through reader, model, folded output and the report (a format
 * 1.1 file of interposed calls included).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folded.h"
#include "load.h"
#include "nsp_format.h"
#include "profile_writer.h"
#include "render.h"

static char dir[] = "/tmp/ns_load_XXXXXX";

static void setup(void)
{
    strcpy(dir, "/tmp/ns_load_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(load, .init = setup, .fini = teardown);

static char *file_in_dir(const char *name, const void *data, size_t len)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    if (data) {
        FILE *f = fopen(p, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(data, 1, len, f), len);
        fclose(f);
    }
    return p;
}

static const char *load_error(char *const *paths, size_t n)
{
    static char err[1024];
    struct ns_profile **profiles = NULL;
    err[0] = '\0';
    cr_assert_eq(ns_report_load(paths, n, &profiles, err, sizeof(err), NULL, NULL), -1);
    return err;
}

Test(load, missing_file)
{
    char *p = file_in_dir("nope.nsp", NULL, 0);
    const char *err = load_error(&p, 1);
    cr_assert(strstr(err, "no such file") && strstr(err, "Check the path"), "%s", err);
}

Test(load, directory)
{
    const char *err = load_error((char *[]){dir}, 1);
    cr_assert(strstr(err, "is a directory") && strstr(err, "*.nsp"), "%s", err);
}

Test(load, empty_file)
{
    char *p = file_in_dir("empty.nsp", "", 0);
    const char *err = load_error(&p, 1);
    cr_assert(strstr(err, "is empty"), "%s", err);
}

Test(load, not_a_profile)
{
    char *p = file_in_dir("x.txt", "hello, world\n", 13);
    const char *err = load_error(&p, 1);
    cr_assert(strstr(err, "is not an nsprof profile"), "%s", err);
}

Test(load, same_file_twice)
{
    char *p = file_in_dir("a.nsp", NSP_MAGIC, NSP_MAGIC_LEN);
    char alias[300];
    snprintf(alias, sizeof(alias), "%s/./a.nsp", dir);
    const char *err = load_error((char *[]){p, alias}, 2);
    cr_assert(strstr(err, "are the same file"), "%s", err);
}

static void write_profile(const char *path, int close_it)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, 1 << 16), 0);
    struct ns_pw_process proc = {.pid = 42,
                                 .ppid = 1,
                                 .start_mono_ns = 5,
                                 .session = "s",
                                 .exe = "/usr/bin/demo",
                                 .hostname = "h",
                                 .kernel = "k",
                                 .producer = "test",
                                 .cmdline = "demo",
                                 .cmdline_len = 4};
    cr_assert_eq(ns_pw_process(&pw, &proc), 0);
    cr_assert_eq(ns_pw_event(&pw, 1, "cpu", "ns", 1000000), 0);
    cr_assert_eq(ns_pw_string(&pw, 1, "/usr/bin/demo", 13), 0);
    struct ns_pw_mapping map = {.id = 1, .lo = 0x1000, .hi = 0x2000, .path_id = 1, .flags = 1};
    cr_assert_eq(ns_pw_mapping(&pw, &map), 0);
    struct ns_pw_frame frames[] = {{1, 0x1234}, {1, 0x1100}};
    cr_assert_eq(ns_pw_stack(&pw, 1, 0, frames, 2), 0);
    struct ns_pw_sample samples[] = {{10, 7, 1, 1000000}, {20, 7, 1, 1000000}};
    cr_assert_eq(ns_pw_samples(&pw, 1, samples, 2), 0);
    if (close_it)
        cr_assert_eq(ns_pw_end(&pw, 0, 0, 100), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    ns_pw_destroy(&pw);
    close(fd);
}

Test(load, real_file_through_reader_model_and_folded)
{
    char *p = file_in_dir("demo.nsp", NULL, 0);
    write_profile(p, 1);
    struct ns_report_args a = {0};
    struct ns_model *m = NULL;
    char err[1024];
    /* The real symbolizer does not find /usr/bin/demo: frames stay module+0xADDR. */
    cr_assert_eq(ns_report_open(&p, 1, &a, NULL, NULL, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(m->events[0].count, 2);
    cr_assert(m->processes[0].has_end);
    struct ns_buf b = {0};
    cr_assert_eq(ns_folded_render(m, 0, &b), 0);
    cr_assert_str_eq(b.s, "demo;demo+0x1100;demo+0x1234 2\n");
    ns_buf_free(&b);
    ns_model_free(m);
}

Test(load, damaged_file_names_the_offset)
{
    char *p = file_in_dir("bad.nsp", NULL, 0);
    write_profile(p, 1);
    /* Flip a byte inside the first chunk's payload: a CRC mismatch, not a truncation. */
    int fd = open(p, O_RDWR);
    cr_assert_geq(fd, 0);
    unsigned char byte;
    cr_assert_eq(pread(fd, &byte, 1, NSP_FILE_HEADER_LEN + NSP_CHUNK_HEADER_LEN + 3), 1);
    byte ^= 0xff;
    cr_assert_eq(pwrite(fd, &byte, 1, NSP_FILE_HEADER_LEN + NSP_CHUNK_HEADER_LEN + 3), 1);
    close(fd);
    const char *err = load_error(&p, 1);
    cr_assert(strstr(err, "offset 16") && strstr(err, "record the profile again"), "%s", err);
}

/* A 1.1 file as the in-process side writes it: event=none, allocations and I/O through
 * named [nsprof] frames, a resource, a histogram, a heap series. */
static void write_interposed_profile(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, 1 << 16), 0);
    struct ns_pw_process proc = {
        .pid = 43, .session = "s", .exe = "/usr/bin/demo", .producer = "test"};
    cr_assert_eq(ns_pw_process(&pw, &proc), 0);
    cr_assert_eq(ns_pw_setting(&pw, "event", "none"), 0);
    cr_assert_eq(ns_pw_setting(&pw, "alloc", "full"), 0);
    cr_assert_eq(ns_pw_event_flags(&pw, 1, "alloc_bytes", "bytes", 1, NSP_EVENT_AGGREGATE), 0);
    cr_assert_eq(ns_pw_event_flags(&pw, 2, "io_bytes", "bytes", 1, NSP_EVENT_AGGREGATE), 0);
    cr_assert_eq(ns_pw_event_flags(&pw, 3, "leak_bytes", "bytes", 1,
                                   NSP_EVENT_AGGREGATE | NSP_EVENT_SNAPSHOT),
                 0);
    const char *strs[] = {"/usr/bin/demo", "[nsprof]", "malloc", "write", "/tmp/out\n.log"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(ns_pw_string(&pw, i + 1, strs[i], strlen(strs[i])), 0);
    struct ns_pw_mapping app = {.id = 1, .lo = 0x1000, .hi = 0x2000, .path_id = 1, .flags = 1};
    struct ns_pw_mapping ns = {.id = 2, .path_id = 2, .flags = NSP_MAP_PSEUDO | NSP_MAP_NAMED};
    cr_assert_eq(ns_pw_mapping(&pw, &app), 0);
    cr_assert_eq(ns_pw_mapping(&pw, &ns), 0);
    struct ns_pw_frame alloc[] = {{2, 3}, {1, 0x1100}}, io[] = {{2, 4}, {1, 0x1200}};
    cr_assert_eq(ns_pw_stack(&pw, 1, 0, alloc, 2), 0);
    cr_assert_eq(ns_pw_stack(&pw, 2, 0, io, 2), 0);
    cr_assert_eq(ns_pw_resource(&pw, 1, NSP_RES_FILE, 5, 0), 0);
    struct ns_pw_site_sample a[] = {{{10, 7, 1, 4096}, 0}}, w[] = {{{20, 7, 2, 300}, 1}};
    cr_assert_eq(ns_pw_site_samples(&pw, 1, a, 1), 0);
    cr_assert_eq(ns_pw_site_samples(&pw, 2, w, 1), 0);
    struct ns_pw_sample leak[] = {{30, 7, 1, 128}};
    cr_assert_eq(ns_pw_site_samples(&pw, 3, (struct ns_pw_site_sample[]){{leak[0], 0}}, 1), 0);
    cr_assert_eq(ns_pw_histogram(&pw, 2, 7, 2, 1, (uint64_t[]){0, 0, 0, 0, 0, 0, 0, 0, 0, 3}, 10),
                 0);
    struct ns_pw_point pts[] = {{0, 0}, {10, 4096}, {30, 128}};
    cr_assert_eq(ns_pw_series(&pw, "heap_live_bytes", "bytes", pts, 3), 0);
    cr_assert_eq(ns_pw_end(&pw, 0, 0, 100000), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    ns_pw_destroy(&pw);
    close(fd);
}

Test(load, interposed_calls_file_through_reader_model_and_report)
{
    char *p = file_in_dir("ip.nsp", NULL, 0);
    write_interposed_profile(p);
    struct ns_report_args a = {0};
    struct ns_model *m = NULL;
    char err[1024];
    cr_assert_eq(ns_report_open(&p, 1, &a, NULL, NULL, &m, err, sizeof(err)), 0, "%s", err);
    struct ns_buf b = {0};
    cr_assert_eq(ns_folded_render(m, ns_model_event_index(m, "alloc_bytes"), &b), 0);
    cr_assert_str_eq(b.s, "demo;demo+0x1100;malloc 4096\n");
    ns_buf_free(&b);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct ns_render_options ro = {.top = 20};
    cr_assert_eq(ns_render_text(f, m, &ro), 0);
    fclose(f);
    cr_assert(strstr(text, "  allocated    4.0 KiB\n"), "%s", text);
    cr_assert(strstr(text, "  leaks        128 B still allocated at exit, from 1 call site\n"),
              "%s", text);
    /* No alloc_count event: its columns say so rather than show zeros. */
    cr_assert(strstr(text, "100.0%  4.0 KiB      -    -  demo+0x1100            malloc  demo\n"),
              "%s", text);
    cr_assert(strstr(text, "  kernel       300 B in calls that reached the kernel (io_*)\n"), "%s",
              text);
    cr_assert(strstr(text, "kernel  file  /tmp/out\\x0a.log\n"), "%s", text);
    cr_assert(strstr(text, "demo+0x1200 (write) kernel: p50 256 B"), "%s", text);
    cr_assert_null(strstr(text, "Hz"), "%s", text);
    free(text);
    ns_model_free(m);
}
