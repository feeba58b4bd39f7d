/*
 * real — libc's own versions of the functions libnsprof.so interposes.
 *
 * Inside libnsprof.so a call to, say, sigaction binds to our own interposer (the preloaded
 * library comes first in the search order), so nsprof's internal calls and the
 * interposers themselves reach libc through these pointers. ns_real_init resolves them
 * with dlsym(RTLD_NEXT) from the constructor — never from a signal handler.
 */
#ifndef NS_REAL_H
#define NS_REAL_H

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>

struct ns_real {
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
    int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*execveat)(int, const char *, char *const[], char *const[], int);
    int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                       const posix_spawnattr_t *, char *const[], char *const[]);
    int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);
    void *(*dlopen)(const char *, int);
    void *(*dlmopen)(Lmid_t, const char *, int);
    int (*dlclose)(void *);
    void (*exit)(int) __attribute__((noreturn));
    int (*libc_start_main)(int (*)(int, char **, char **), int, char **, void (*)(void),
                           void (*)(void), void (*)(void), void *);
    sighandler_t (*signal)(int, sighandler_t);
    void (*_exit)(int) __attribute__((noreturn));
    void (*_Exit)(int) __attribute__((noreturn));
};

extern struct ns_real ns_real;

/* Resolves every pointer; returns the number that could not be found. */
int ns_real_init(void);

#endif
