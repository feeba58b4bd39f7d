/*
 * dlopen_loop — loads, calls and unloads a plugin in a loop while another thread burns CPU.
 * Under the signal mechanism this is the classic profiler deadlock (an unwinder that calls
 * dl_iterate_phdr from the signal handler waits for the loader lock the interrupted dlopen
 * holds); nsprof must finish it, with samples landing inside the loader.
 *
 * usage: dlopen_loop PLUGIN_PATH [iterations] [work-per-call]
 * With one iteration and much work per call it is a plain "load a plugin and run it".
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "burn.h"

BURN_FUNCTION(background_work, 29)

static volatile int done;
static volatile uint64_t sink;

static void *background(void *arg)
{
    (void)arg;
    while (!done)
        sink += background_work(10000);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dlopen_loop PLUGIN_PATH [iterations] [work-per-call]\n");
        return 2;
    }
    int iterations = argc > 2 ? atoi(argv[2]) : 3000;
    uint64_t work = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
    pthread_t t;
    pthread_create(&t, NULL, background, NULL);
    for (int i = 0; i < iterations; i++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        uint64_t (*fn)(uint64_t) = (uint64_t(*)(uint64_t))dlsym(h, "plugin_work");
        if (!fn) {
            fprintf(stderr, "dlsym: %s\n", dlerror());
            return 1;
        }
        sink += fn(work);
        dlclose(h);
    }
    done = 1;
    pthread_join(t, NULL);
    printf("done %d\n", iterations);
    return 0;
}
