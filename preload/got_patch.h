/*
 * got_patch — redirects the calls a module makes to imported functions by rewriting the
 * module's GOT slots (JUMP_SLOT and GLOB_DAT relocations), instead of exporting functions of
 * those names from libnsprof.so. Exporting them would change programs that never load the
 * library they belong to: dlsym(RTLD_DEFAULT, "sqlite3_open") probes would succeed, a
 * bundled copy beside the system one would be forwarded to the wrong copy, and a plugin's
 * RTLD_LOCAL dependency would be unreachable. Patching a slot changes only calls that were
 * already bound to the real function. (Issue 14's database hooks; `nsprof attach` will use
 * it for every interposer.)
 *
 * ns_got_patch installs a table of {name, hook} and patches every loaded module but the one
 * this code is linked into and the vDSO: each relocation of an *undefined* symbol of a
 * hooked name (an import: a library's calls to its own exports stay as they are) gets the
 * hook, and the slot's previous target is recorded. A slot still bound lazily (pointing
 * into its own module, at the PLT) is resolved first in the module's own lookup scope
 * (dlopen(path, RTLD_NOLOAD) and dlsym), since calling the lazy stub would bind the slot
 * over the hook. RELRO pages are made writable for the write and read-only again.
 * ns_got_refresh patches the modules loaded since (dlopen, or libraries the C library loads
 * itself), and costs one dl_iterate_phdr when none was. ns_got_unpatch restores every slot.
 *
 * A hook forwards to ns_got_original(its index, __builtin_return_address(0)): the previous
 * target of the slot of the module the call came from (two modules may be bound to two
 * copies of a library), else the first one recorded for that name.
 *
 * Threads: patch, refresh and unpatch serialize on a mutex and take the loader's lock
 * (dl_iterate_phdr, dlopen): not async-signal-safe. ns_got_original reads a snapshot
 * published atomically and never freed: lock-free, async-signal-safe.
 */
#ifndef NS_GOT_PATCH_H
#define NS_GOT_PATCH_H

#include <stddef.h>

struct ns_got_hook {
    const char *name; /* the imported function, e.g. "sqlite3_step" */
    void *hook;       /* what its callers reach instead */
    unsigned flags;   /* NS_GOT_* */
};

/* Also the calls the library defining the function makes to it through its own PLT (a
 * JUMP_SLOT of a defined symbol): sqlite3_exec runs each statement through sqlite3_step.
 * The hook tells those calls apart by their return address. */
#define NS_GOT_ALSO_OWN 1u

/* Installs hooks[0..n) (the table must outlive the process; one table per process; at most
 * 128 hooks) and patches the loaded modules. Returns the number of slots patched, or -1 (a
 * second table, too many hooks, or out of memory). */
int ns_got_patch(const struct ns_got_hook *hooks, size_t n);

/* Patches the modules loaded since the last call (and forgets unloaded ones). Returns the
 * number of slots newly patched, 0 when nothing was loaded, -1 without a table. Called from
 * inside the patcher on the same thread (an interposed dlopen it reaches), returns 0. */
int ns_got_refresh(void);

/* The function hook `index` stands for, as the module containing return_address was bound
 * to it; NULL when no slot of that name was ever patched (the hook cannot have been called
 * through a patched slot then). */
void *ns_got_original(size_t index, const void *return_address);

/* Restores every patched slot to its previous target and forgets the table. 0 or -1. */
int ns_got_unpatch(void);

/* Slots currently patched (for tests and the settings report). */
size_t ns_got_patched_slots(void);

#endif
