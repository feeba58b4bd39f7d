/*
 * The GOT patcher (preload/got_patch.h) on modules built for it (targets/): a caller bound
 * lazily (its slot still points at its PLT when patched), one bound at load time with full
 * RELRO (the slot's page is read-only), calls through a function pointer taken from the GOT,
 * a library's calls to its own export, a plugin dlopen'ed RTLD_LOCAL against a second copy
 * of the library, and the restore. Criterion runs each test in a process of its own, so
 * every test starts unpatched.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "got_patch.h"

typedef int (*add_fn)(int, int);
int lazy_add(int a, int b);
int lazy_twice(int a);
int now_add(int a, int b);
add_fn now_pointer(void);
int now_twice(int a);

/* ASan's runtime refuses RTLD_DEEPBIND (it would bypass its interceptors): the tests that
 * load a plugin with its own copy of the library run in the plain build only. */
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN()                                                                          \
    cr_skip_test("RTLD_DEEPBIND is refused under ASan; the plain build runs it")
#else
#define SKIP_UNDER_ASAN() ((void)0)
#endif

static _Atomic int hook_calls;
static const void *last_return;

static int hook_add(int a, int b)
{
    hook_calls++;
    last_return = __builtin_return_address(0);
    add_fn real = (add_fn)ns_got_original(0, __builtin_return_address(0));
    return real ? real(a, b) : -1;
}

static const struct ns_got_hook hooks[] = {{"got_add", (void *)hook_add, 0}};

/* "r--p"-style permissions of the mapping holding addr, from /proc/self/maps. */
static void perms_of(const void *addr, char out[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512];
    strcpy(out, "?");
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo &&
            (uintptr_t)addr < hi) {
            memcpy(out, p, 5);
            break;
        }
    }
    fclose(f);
}

Test(got_patch, lazy_slot_is_resolved_in_its_scope_and_stays_hooked)
{
    /* lazy_add's slot has never been called: it still points at the PLT. */
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    cr_assert_eq(lazy_add(2, 3), 5);
    cr_assert_eq(hook_calls, 1);
    /* Calling through the lazy stub would have bound the slot over the hook: it did not. */
    cr_assert_eq(lazy_add(4, 5), 9);
    cr_assert_eq(hook_calls, 2);
    Dl_info info;
    cr_assert(dladdr(last_return, &info));
    cr_assert(strstr(info.dli_fname, "libgot_caller_lazy"), "called from %s", info.dli_fname);
}

Test(got_patch, relro_slot_is_written_and_its_page_made_read_only_again)
{
    cr_assert_eq(now_add(1, 1), 2, "bound at load time, called before the patch");
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    cr_assert_eq(now_add(20, 22), 42);
    cr_assert_eq(hook_calls, 1);
    /* The slot is in the RELRO segment (with .dynamic, on one page in so small a library);
     * that page is read-only again. */
    Dl_info info;
    void *extra = NULL;
    cr_assert(dladdr1((void *)now_add, &info, &extra, RTLD_DL_LINKMAP));
    struct link_map *lm = extra;
    cr_assert_not_null(lm);
    char perms[5];
    /* now_pointer() reads the GLOB_DAT slot: its value is the hook now. */
    cr_assert_eq((void *)now_pointer(), (void *)hook_add);
    perms_of((void *)lm->l_ld, perms);
    cr_assert_str_eq(perms, "r--p", "the RELRO page holding .dynamic/.got is %s", perms);
}

Test(got_patch, function_pointers_from_the_got_reach_the_hook)
{
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    add_fn f = now_pointer();
    cr_assert_eq((void *)f, (void *)hook_add, "GLOB_DAT slot patched");
    cr_assert_eq(f(7, 8), 15);
    cr_assert_eq(hook_calls, 1);
}

Test(got_patch, a_library_calling_its_own_export_is_left_alone)
{
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    /* got_twice (not hooked) calls got_add through libgot_target's own PLT: defined there,
     * so not an import, so not patched. */
    cr_assert_eq(lazy_twice(21), 42);
    cr_assert_eq(now_twice(4), 8);
    cr_assert_eq(hook_calls, 0);
}

Test(got_patch, a_hook_that_asks_also_gets_the_librarys_own_calls)
{
    static const struct ns_got_hook own[] = {{"got_add", (void *)hook_add, NS_GOT_ALSO_OWN}};
    cr_assert_gt(ns_got_patch(own, 1), 0);
    /* got_twice calls got_add through libgot_target's own PLT: patched now, and the hook
     * forwards to libgot_target's own got_add. */
    cr_assert_eq(lazy_twice(21), 42);
    cr_assert_eq(hook_calls, 1);
    Dl_info info;
    cr_assert(dladdr(last_return, &info) && strstr(info.dli_fname, "libgot_target"),
              "called from %s", last_return ? info.dli_fname : "?");
    cr_assert_eq(lazy_add(1, 2), 3, "imports as before");
    cr_assert_eq(hook_calls, 2);
}

/* A dlopen interposed in front of the patcher's own (as nsprof's is) that refreshes after
 * loading: the patcher's dlopen(RTLD_NOLOAD) of a lazily bound module comes back into it. */
static int refresh_in_dlopen;
static int refreshes_inside;

void *dlopen(const char *file, int mode)
{
    static void *(*real)(const char *, int);
    if (!real)
        real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    void *h = real(file, mode);
    if (refresh_in_dlopen && h) {
        refreshes_inside++;
        cr_assert_eq(ns_got_refresh(), 0, "a refresh from inside the patcher does nothing");
    }
    return h;
}

static int hook_local(int a, int b)
{
    hook_calls++;
    add_fn real = (add_fn)ns_got_original(0, __builtin_return_address(0));
    return real ? real(a, b) : -1;
}

Test(got_patch, a_refresh_from_inside_the_patcher_returns_at_once, .timeout = 30)
{
    static const struct ns_got_hook local[] = {{"got_local_add", (void *)hook_local, 0}};
    void *h = dlopen(GOT_PLUGIN, RTLD_LAZY | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    add_fn plugin_local = (add_fn)dlsym(h, "got_plugin_local");
    cr_assert_not_null(plugin_local);
    refresh_in_dlopen = 1;
    cr_assert_gt(ns_got_patch(local, 1), 0, "(it would hang on its own lock)");
    refresh_in_dlopen = 0;
    cr_assert_gt(refreshes_inside, 0, "the lazy slot was resolved through dlopen");
    cr_assert_eq(plugin_local(2, 3), 1005, "the plugin's own copy");
    cr_assert_eq(hook_calls, 1);
    dlclose(h);
}

/* RTLD_DEEPBIND: the plugin binds to the copy it depends on (libgot_target2), not to the one
 * the global scope has, as a plugin bundling its own copy of a library does. */
Test(got_patch, a_plugin_loaded_later_forwards_to_its_own_copy)
{
    SKIP_UNDER_ASAN();
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    cr_assert_eq(ns_got_refresh(), 0, "nothing was loaded since");
    void *h = dlopen(GOT_PLUGIN, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    cr_assert_not_null(h, "%s", dlerror());
    add_fn plugin_add = (add_fn)dlsym(h, "got_plugin_add");
    cr_assert_not_null(plugin_add);
    cr_assert_eq(plugin_add(1, 2), 1003, "its own copy of the library adds 1000");
    cr_assert_eq(hook_calls, 0, "not patched before the refresh");
    cr_assert_gt(ns_got_refresh(), 0);
    cr_assert_eq(plugin_add(1, 2), 1003, "forwarded to the copy the plugin is bound to");
    cr_assert_eq(hook_calls, 1);
    cr_assert_eq(lazy_add(1, 2), 3, "and the others to theirs");
    cr_assert_eq(hook_calls, 2);
    /* Nothing was exported: the global scope still finds the library's own function. */
    void *global = dlsym(RTLD_DEFAULT, "got_add");
    cr_assert_not_null(global);
    cr_assert_neq(global, (void *)hook_add);
    cr_assert_eq(((add_fn)global)(1, 2), 3);
    dlclose(h);
    cr_assert_geq(ns_got_refresh(), 0, "an unloaded module is forgotten");
    cr_assert_eq(lazy_add(2, 2), 4);
}

/* Loaded lazily without DEEPBIND, the plugin's slot binds as the loader would: to the
 * global scope's got_add. */
Test(got_patch, a_lazy_plugin_forwards_where_the_loader_would_have_bound_it)
{
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    void *h = dlopen(GOT_PLUGIN, RTLD_LAZY | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    add_fn plugin_add = (add_fn)dlsym(h, "got_plugin_add");
    cr_assert_gt(ns_got_refresh(), 0);
    cr_assert_eq(plugin_add(1, 2), 3, "the global scope's copy, as the lazy stub would bind");
    cr_assert_eq(hook_calls, 1);
    dlclose(h);
}

Test(got_patch, unpatch_restores_every_slot)
{
    int n = ns_got_patch(hooks, 1);
    cr_assert_gt(n, 0);
    cr_assert_eq(ns_got_patched_slots(), (size_t)n);
    cr_assert_eq(ns_got_unpatch(), 0);
    cr_assert_eq(ns_got_patched_slots(), 0);
    cr_assert_eq(lazy_add(1, 1), 2);
    cr_assert_eq(now_add(1, 1), 2);
    cr_assert_eq(hook_calls, 0);
    cr_assert_neq((void *)now_pointer(), (void *)hook_add);
    cr_assert_eq(now_pointer()(3, 3), 6);
    /* A second table may be installed after the restore. */
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    cr_assert_eq(now_add(2, 2), 4);
    cr_assert_eq(hook_calls, 1);
}

Test(got_patch, names_nobody_imports_change_nothing)
{
    static const struct ns_got_hook none[] = {{"sqlite3_step", (void *)hook_add, 0}};
    cr_assert_eq(ns_got_patch(none, 1), 0);
    cr_assert_eq(ns_got_patched_slots(), 0);
    cr_assert_null(ns_got_original(0, (void *)lazy_add));
    cr_assert_eq(lazy_add(1, 2), 3);
    cr_assert_eq(hook_calls, 0);
    cr_assert_eq(ns_got_patch(hooks, 1), -1, "one table per process");
}

/* Calls keep forwarding correctly while another thread loads, patches and unloads. */
static atomic_int stop, wrong;

static void *call_loop(void *arg)
{
    (void)arg;
    for (int i = 0; !atomic_load(&stop); i++)
        if (lazy_add(i, 1) != i + 1 || now_add(i, 2) != i + 2)
            atomic_fetch_add(&wrong, 1);
    return NULL;
}

Test(got_patch, hooks_forward_while_modules_come_and_go)
{
    SKIP_UNDER_ASAN();
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_loop, NULL), 0);
    for (int round = 0; round < 50; round++) {
        void *h = dlopen(GOT_PLUGIN, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        cr_assert_not_null(h, "%s", dlerror());
        cr_assert_geq(ns_got_refresh(), 0);
        add_fn plugin_add = (add_fn)dlsym(h, "got_plugin_add");
        cr_assert_eq(plugin_add(round, 0), round + 1000);
        dlclose(h);
        cr_assert_geq(ns_got_refresh(), 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    cr_assert_eq(atomic_load(&wrong), 0);
    cr_assert_geq(hook_calls, 50, "the plugin's own calls at least");
}

/* Unloaded and loaded again between two refreshes (most likely at the same address, under
 * the same name): the new copy is patched, not taken for the old one. */
Test(got_patch, a_module_reloaded_between_refreshes_is_patched_again)
{
    SKIP_UNDER_ASAN();
    cr_assert_gt(ns_got_patch(hooks, 1), 0);
    void *h = dlopen(GOT_PLUGIN, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    cr_assert_gt(ns_got_refresh(), 0);
    dlclose(h);
    h = dlopen(GOT_PLUGIN, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    cr_assert_not_null(h, "%s", dlerror());
    cr_assert_gt(ns_got_refresh(), 0);
    add_fn plugin_add = (add_fn)dlsym(h, "got_plugin_add");
    cr_assert_eq(plugin_add(2, 3), 1005);
    cr_assert_eq(hook_calls, 1);
    dlclose(h);
}
