/*
 * pingpong — a context-switch-heavy program: two threads hand one byte back and forth
 * through two pipes, so every round trip is two blocking reads and about four context
 * switches. The workload of bench_switches.py.
 *
 * usage: pingpong [round-trips]      prints "pingpong: round_trips=N wall=S switches_per_s=X"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];
static long trips = 200000;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *echo(void *arg)
{
    (void)arg;
    char c;
    for (long i = 0; i < trips; i++) {
        if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
            break;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        trips = atol(argv[1]);
    if (trips <= 0 || pipe(ping) != 0 || pipe(pong) != 0) {
        fprintf(stderr, "usage: pingpong [round-trips > 0]\n");
        return 2;
    }
    pthread_t t;
    pthread_create(&t, NULL, echo, NULL);
    double t0 = now();
    char c = 'x';
    for (long i = 0; i < trips; i++) {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
            perror("pingpong");
            return 1;
        }
    }
    double wall = now() - t0;
    pthread_join(t, NULL);
    printf("pingpong: round_trips=%ld wall=%.3f switches_per_s=%.0f\n", trips, wall,
           4.0 * (double)trips / wall);
    return 0;
}
