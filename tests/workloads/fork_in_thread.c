/*
 * fork_in_thread — CPython's test_main_thread_after_fork_from_nonmain_thread in C: the main
 * thread starts a thread that fork()s; in the child that thread is the only one, and it
 * ends with pthread_exit(), which ends the child process (status 0) because it was the last
 * thread. The parent reaps the child with waitpid within a bound. A profiler that keeps a
 * thread of its own in the child keeps the child alive forever.
 *
 * usage: fork_in_thread [bound-seconds]   (default 10)
 * Exits 0 when the child ended with status 0 within the bound; 3 (after killing it) when
 * it did not end in time; 1 on any other failure.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "fork_in_thread: the child did not exit within the bound\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
    }
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    _exit(3);
}

static void *func(void *arg)
{
    (void)arg;
    pid_t pid = fork(); /* fork from a thread that is not main */
    if (pid == 0)
        pthread_exit(NULL); /* the child's only thread ends: exit(0) */
    child = pid;
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    return (void *)(long)(got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
    unsigned bound = argc > 1 ? (unsigned)atoi(argv[1]) : 10;
    signal(SIGALRM, on_alarm);
    alarm(bound);
    pthread_t th;
    void *ok;
    if (pthread_create(&th, NULL, func, NULL) != 0 || pthread_join(th, &ok) != 0) {
        fprintf(stderr, "fork_in_thread: thread failed\n");
        return 1;
    }
    alarm(0);
    if (!ok) {
        fprintf(stderr, "fork_in_thread: the child did not exit with status 0\n");
        return 1;
    }
    printf("child %d exited with status 0\n", (int)child);
    return 0;
}
