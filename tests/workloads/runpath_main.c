/*
 * runpath_main — dlopens "libnsrunpath.so" by bare name, found only through this
 * executable's RUNPATH ($ORIGIN/runpath). glibc looks a bare name up in the RUNPATH of the
 * object that *called* dlopen, so a dlopen interposer that calls libc's dlopen itself would
 * make the lookup fail; nsprof's must not.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    void *h = dlopen("libnsrunpath.so", RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    uint64_t (*fn)(uint64_t) = (uint64_t(*)(uint64_t))dlsym(h, "plugin_work");
    printf("plugin says %llu\n", fn ? (unsigned long long)fn(10) : 0ull);
    dlclose(h);
    return 0;
}
