/*
 * nsprof's own frames never reach a view: each run of libnsprof.so frames becomes the
 * function the program called, as the object serving it names it, or nothing
 * (report/model/model_frames.c). And the process is named by its main thread's name.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "folded.h"
#include "helpers.h"
#include "textfmt.h"

/* libnsprof.so: 0x10..0x1f is the interposer exported as `malloc` (also `__malloc_alias`),
 * 0x20 internal code nothing exports (an interposer tail-called it), 0x30 a thread-start
 * trampoline, 0x40 the constructor (nsprof's own work). libc exports
 * malloc at 0x60, whose DWARF name is __libc_malloc. */
static const struct fake_sym syms[] = {
    {"/usr/bin/app", 0x100, 1, {{"main", "/src/app.c", 10, 0, NULL}}},
    {"/usr/bin/app", 0x200, 1, {{"run", "/src/app.c", 20, 0, NULL}}},
    {"/lib/libc.so.6", 0x50, 1, {{"memcpy", "memcpy.S", 100, 0, NULL}}},
    {"/lib/libc.so.6", 0x60, 1, {{"__libc_malloc", "malloc.c", 3287, 0, NULL}}},
    {"/lib/libc.so.6",
     0x64,
     2,
     {{"tcache_get", "malloc.c", 3100, 1, NULL}, {"__libc_malloc", "malloc.c", 3300, 0, NULL}}},
    {"/lib/libc.so.6", 0x70, 1, {{"start_thread", "pthread_create.c", 442, 0, NULL}}},
    {"/opt/x/libnsprof.so", 0x10, 1, {{"ns_hook_malloc", "hooks_alloc.c", 40, 0, NULL}}},
    {"/opt/x/libnsprof.so",
     0x14,
     2,
     {{"ns_alloc_passes", "alloc.h", 97, 1, NULL},
      {"ns_hook_malloc", "hooks_alloc.c", 41, 0, NULL}}},
    {"/opt/x/libnsprof.so", 0x20, 1, {{"ns_site_get", "sites.c", 70, 0, NULL}}},
    {"/opt/x/libnsprof.so", 0x30, 1, {{"ns_thread_start", "hooks_thread.c", 12, 0, NULL}}},
    {"/opt/x/libnsprof.so", 0x40, 1, {{"ns_preload_init", "preload.c", 180, 0, NULL}}},
};

static struct fake_resolver fake;

static const char *exported_at(void *ctx, const struct ns_sym_object *obj, uint64_t addr)
{
    (void)ctx;
    if (strcmp(obj->path, "/opt/x/libnsprof.so") != 0)
        return NULL;
    if (addr >= 0x10 && addr < 0x20)
        return "malloc";
    if (addr == 0x40)
        return NS_OWN_WORK_PREFIX "init";
    return addr == 0x30 ? NS_TRAMPOLINE_PREFIX "thread" : NULL;
}

static int export_addr(void *ctx, const struct ns_sym_object *obj, const char *name, uint64_t *addr)
{
    (void)ctx;
    if (strcmp(name, "malloc") != 0)
        return 0;
    if (strcmp(obj->path, "/lib/libc.so.6") == 0) {
        *addr = 0x60;
        return 1;
    }
    return strcmp(obj->path, "/opt/x/libnsprof.so") == 0 ? (*addr = 0x10, 1) : 0;
}

static struct ns_model *model;
static struct ns_profile *prof;

/* One sample per stack; pairs are (mapping, addr), leaf first. */
static void build_with(int with_exports, const char *main_comm)
{
    prof = tp_new("own.nsp", 100, "/usr/bin/app-1.2");
    uint32_t app = tp_mapping(prof, "/usr/bin/app", 1);
    uint32_t nsp = tp_mapping(prof, "/opt/x/libnsprof.so", 0);
    uint32_t libc = tp_mapping(prof, "/lib/libc.so.6", 0);
    tp_event(prof, 1, "cpu", "ns", 1000000);
    tp_thread(prof, 100, main_comm);
    uint64_t stacks[][10] = {
        /* 1: a sample inside the interposer (inlined code in it, too) */
        {nsp, 0x14, nsp, 0x10, app, 0x100},
        /* 2: the interposer passed the call on to libc's malloc */
        {libc, 0x64, nsp, 0x10, app, 0x100},
        /* 3: the interposer's own bookkeeping called memcpy */
        {libc, 0x50, nsp, 0x20, nsp, 0x10, app, 0x100},
        /* 4: a thread's start wrapper between start_thread and the program */
        {app, 0x200, nsp, 0x30, libc, 0x70},
        /* 5: a sample in that wrapper itself */
        {nsp, 0x30, libc, 0x70},
        /* 6: nsprof's own work (its constructor) calling memcpy */
        {libc, 0x50, nsp, 0x40, app, 0x100},
        /* 7: an interposer tail-called internal code, which called memcpy */
        {libc, 0x50, nsp, 0x20, app, 0x200, app, 0x100},
    };
    size_t lens[] = {3, 3, 4, 3, 2, 3, 4};
    for (size_t i = 0; i < 7; i++)
        tp_sample(prof, 1, (int64_t)i * 1000, 100, tp_stack(prof, 0, lens[i], stacks[i]), 1000000);
    memset(&fake, 0, sizeof(fake));
    fake.syms = syms;
    fake.nsyms = sizeof(syms) / sizeof(syms[0]);
    struct ns_resolver r = fake_resolver(&fake);
    if (with_exports) {
        r.exported_at = exported_at;
        r.export_addr = export_addr;
    }
    struct ns_model_options o = {.resolver = &r, .dpkg_info_dir = ""};
    model = build1(prof, &o);
}

static void teardown(void)
{
    ns_model_free(model);
    tp_free(prof);
    model = NULL;
    prof = NULL;
}

static char *folded(void)
{
    struct ns_buf b = {0};
    cr_assert_eq(ns_folded_render(model, 0, &b), 0);
    return b.s;
}

TestSuite(own_frames, .fini = teardown);

Test(own_frames, each_run_becomes_the_called_function_or_nothing)
{
    build_with(1, "app");
    char *f = folded();
    cr_assert_null(strstr(f, "ns_"), "%s", f);
    cr_assert_null(strstr(f, "libnsprof"), "%s", f);
    /* 1: the interposer's time is malloc's own, as libc names it, at no line */
    /* 3: what the bookkeeping called is not shown: it is the call's cost */
    cr_assert(strstr(f, "app;main;__libc_malloc 2\n"), "%s", f);
    /* 2: passed on: one __libc_malloc frame, not two */
    cr_assert(strstr(f, "app;main;__libc_malloc;tcache_get_[i] 1\n"), "%s", f);
    /* 4: the trampoline is dropped; 5: its own time is its caller's */
    cr_assert(strstr(f, "app;start_thread;run 1\n"), "%s", f);
    cr_assert(strstr(f, "app;start_thread 1\n"), "%s", f);
    /* 6: nsprof's work and what it called are gone; the time stays with the caller */
    cr_assert(strstr(f, "app;main 1\n"), "%s", f);
    /* 7: what a tail-called internal function called is the program's call */
    cr_assert(strstr(f, "app;main;run;memcpy 1\n"), "%s", f);
    free(f);
    uint32_t fn = find_func(model, "__libc_malloc");
    cr_assert_neq(fn, NS_NONE);
    cr_assert_str_eq(model->funcs[fn].module, "libc.so.6");
    for (size_t i = 0; i < model->nfuncs; i++)
        cr_assert_neq(strcmp(model->funcs[i].module, "libnsprof.so"), 0, "%s",
                      model->funcs[i].name);
}

/* Without the library's exports (another build of it on disk) nothing tells a trampoline
 * from nsprof's work: its frames are dropped alone, what is below them kept. */
Test(own_frames, without_export_lookups_runs_are_dropped_alone)
{
    build_with(0, "app");
    char *f = folded();
    cr_assert_null(strstr(f, "ns_"), "%s", f);
    cr_assert(strstr(f, "app;main 1\n"), "%s", f);
    cr_assert(strstr(f, "app;main;__libc_malloc;tcache_get_[i] 1\n"), "%s", f);
    cr_assert(strstr(f, "app;main;memcpy 2\n"), "%s", f);
    cr_assert(strstr(f, "app;main;run;memcpy 1\n"), "%s", f);
    cr_assert(strstr(f, "app;start_thread;run 1\n"), "%s", f);
    free(f);
}

Test(own_frames, the_process_is_named_by_its_main_thread)
{
    build_with(1, "app");
    cr_assert_str_eq(model->processes[0].name, "app");
    char *f = folded();
    cr_assert_eq(strncmp(f, "app;", 4), 0, "%s", f);
    free(f);
    teardown();
    build_with(1, "");
    cr_assert_str_eq(model->processes[0].name, "app-1.2"); /* no name recorded: the exe's */
}

/* The loader names a library by its symlink (libz.so.1), the kernel by its file
 * (libz.so.1.2.13): one build-id is one module, under the first name seen. */
Test(own_frames, one_build_id_is_one_module_whatever_its_path)
{
    prof = tp_new("paths.nsp", 100, "/usr/bin/app");
    uint32_t a = tp_mapping(prof, "/lib/libz.so.1", 0);
    uint32_t b = tp_mapping(prof, "/usr/lib/libz.so.1.2.13", 0);
    uint32_t c = tp_mapping(prof, "/usr/lib/libother.so", 0);
    memcpy(prof->mappings[b].build_id, prof->mappings[a].build_id, 4);
    tp_event(prof, 1, "cpu", "ns", 1000000);
    tp_sample(prof, 1, 0, 100, tp_stack(prof, 0, 1, (uint64_t[]){a, 0x10}), 1000000);
    tp_sample(prof, 1, 1, 100, tp_stack(prof, 0, 1, (uint64_t[]){b, 0x10}), 1000000);
    tp_sample(prof, 1, 2, 100, tp_stack(prof, 0, 1, (uint64_t[]){c, 0x10}), 1000000);
    memset(&fake, 0, sizeof(fake));
    struct ns_resolver r = fake_resolver(&fake);
    struct ns_model_options o = {.resolver = &r, .dpkg_info_dir = ""};
    model = build1(prof, &o);
    size_t libz = 0, other = 0;
    for (size_t i = 0; i < model->nmodules; i++) {
        libz += strncmp(model->modules[i].base, "libz", 4) == 0;
        other += strcmp(model->modules[i].base, "libother.so") == 0;
    }
    cr_assert_eq(libz, 1);
    cr_assert_eq(other, 1);
    uint32_t f = find_func(model, "libz.so.1+0x10");
    cr_assert_neq(f, NS_NONE);
    cr_assert_eq(model->nodes[model->events[0].root].total_count, 3);
}

/* The kernel cuts a comm at 15 bytes: a name cut that way is the executable's, whole. */
Test(own_frames, a_comm_cut_at_15_bytes_gives_the_whole_executable_name)
{
    build_with(1, "a-very-long-pro");
    cr_assert_str_eq(model->processes[0].name, "a-very-long-pro"); /* not the exe's stump */
    teardown();
    prof = tp_new("long.nsp", 100, "/usr/bin/a-very-long-program-name");
    tp_thread(prof, 100, "a-very-long-pro");
    tp_event(prof, 1, "cpu", "ns", 1000000);
    memset(&fake, 0, sizeof(fake));
    struct ns_resolver r = fake_resolver(&fake);
    struct ns_model_options o = {.resolver = &r, .dpkg_info_dir = ""};
    model = build1(prof, &o);
    cr_assert_str_eq(model->processes[0].name, "a-very-long-program-name");
}
