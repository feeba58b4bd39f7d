/*
 * idle_thread — a preloadable library that starts one thread which never runs. Preloaded
 * into an unprofiled program it measures what merely being multi-threaded costs: Linux
 * then takes a reference on the file (and its position lock) in every read() and write(),
 * a cost any profiler with a helper thread pays before its interposers do anything.
 */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

__attribute__((constructor)) static void start_idle_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, idle, NULL) == 0)
        pthread_detach(t);
}
