/*
 * hooks_exec — the exec family and posix_spawn.
 *
 * Before an exec replaces the image (no destructor runs), the profile is flushed with an
 * END(exec) record; if the exec fails, profiling resumes. The new image is profiled again:
 * its environment gets LD_PRELOAD, the session, the root pid and NSPROF_EXEC=PID.N (so that
 * it knows its exec index) even when the program hands it an environment of its own, plus
 * every NSPROF_* setting this process was started with.
 *
 * These functions may run in a vfork child (which shares our memory): building the new
 * environment uses only mmap and the stack, and the sampler calls check the pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../sampler/session/agent_link.h"
#include "../sampler/real.h"
#include "../sampler/sampler.h"
#include "../sampler/sources/source.h"
#include "preload.h"

#define NS_EXPORT __attribute__((visibility("default")))

extern char **environ;

struct exec_env {
    char **envp;
    void *block;
    size_t block_len;
};

static int has_name(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int is_ours(const char *entry)
{
    /* NSPROF_OUTPUT too: ours is absolute, so that the image writes beside its parent. */
    return has_name(entry, NS_ENV_SESSION) || has_name(entry, NS_ENV_ROOT) ||
           has_name(entry, NS_ENV_EXEC) || has_name(entry, "LD_PRELOAD") ||
           has_name(entry, ns_setting_defs[NS_SET_OUTPUT].env) ||
           has_name(entry, "NSPROF_UNBLOCK_SIGPROF") ||
           (ns_preload.agent_env[0] && has_name(entry, NS_ENV_AGENT_SESSION));
}

static const char *find_entry(char *const envp[], const char *name)
{
    for (size_t i = 0; envp && envp[i]; i++) {
        if (has_name(envp[i], name))
            return envp[i] + strlen(name) + 1;
    }
    return NULL;
}

/* Bytes the environment of the exec'd image takes (pointers and strings). */
static size_t env_bytes(char *const envp[])
{
    size_t count = 0, bytes = 0;
    for (size_t i = 0; envp && envp[i]; i++, count++)
        bytes += strlen(envp[i]) + 1;
    const char *preload = find_entry(envp, "LD_PRELOAD");
    bytes += 4 * 64 + 2 * sizeof(ns_preload.id.session) + strlen(ns_preload.lib_path) +
             (preload ? strlen(preload) : 0) + strlen(ns_preload.agent_env) + 16;
    for (size_t i = 0; i < ns_preload.ninherited; i++)
        bytes += strlen(ns_preload.inherited_env[i]) + 1;
    return (count + ns_preload.ninherited + 8) * sizeof(char *) + bytes;
}

/* Writes the environment of the exec'd image into block (env_bytes(envp) long). */
static char **build_env(char *const envp[], void *block)
{
    size_t count = 0;
    for (size_t i = 0; envp && envp[i]; i++)
        count++;
    const char *preload = find_entry(envp, "LD_PRELOAD");
    size_t slots = count + ns_preload.ninherited + 8;
    char **v = block;
    char *s = (char *)(v + slots);
    size_t n = 0;
#define ADD(...) (v[n++] = s, s += sprintf(s, __VA_ARGS__) + 1)
    for (size_t i = 0; envp && envp[i]; i++) {
        if (!is_ours(envp[i]))
            v[n++] = envp[i];
    }
    if (preload && strstr(preload, ns_preload.lib_path))
        ADD("LD_PRELOAD=%s", preload);
    else if (preload && *preload)
        ADD("LD_PRELOAD=%s:%s", ns_preload.lib_path, preload);
    else
        ADD("LD_PRELOAD=%s", ns_preload.lib_path);
    ADD("%s=%s", NS_ENV_SESSION, ns_preload.id.session);
    ADD("%s=%d", NS_ENV_ROOT, (int)ns_preload.root_pid);
    /* In a vfork child getpid() differs from ours, so the image starts at exec index 0. */
    pid_t pid = getpid();
    ADD("%s=%d.%llu", NS_ENV_EXEC, (int)pid,
        (unsigned long long)(pid == ns_preload.id.pid ? ns_preload.id.exec_index : 0));
    if (ns_preload.agent_env[0])
        v[n++] = ns_preload.agent_env;
    /* SIGPROF was blocked for the exec (sampler.c): the new image unblocks it. */
    static char unblock[] = "NSPROF_UNBLOCK_SIGPROF=1";
    if (ns_signal_blocked_for_exec() && pid == ns_preload.id.pid)
        v[n++] = unblock;
    for (size_t i = 0; i < ns_preload.ninherited; i++) {
        const char *e = ns_preload.inherited_env[i];
        char name[64];
        size_t len = strcspn(e, "=");
        snprintf(name, sizeof(name), "%.*s", (int)len, e);
        if (!find_entry(envp, name) || strcmp(name, ns_setting_defs[NS_SET_OUTPUT].env) == 0)
            v[n++] = (char *)e;
    }
#undef ADD
    v[n] = NULL;
    return v;
}

/* The new environment lives on the stack when it fits: in a vfork child the address space
 * is the parent's, and an mmap made there would outlive the exec in the parent. */
#define STACK_ENV_MAX                                                                              \
    (16u << 10) /* typical environments take 2-8 KiB; threads may have small stacks */

static int make_env(char *const envp[], struct exec_env *out, void *stack_block)
{
    out->block_len = env_bytes(envp);
    if (out->block_len <= STACK_ENV_MAX) {
        out->block = NULL; /* nothing to free */
        out->envp = build_env(envp, stack_block);
        return 0;
    }
    void *block =
        mmap(NULL, out->block_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED)
        return -1;
    out->block = block;
    out->envp = build_env(envp, block);
    return 0;
}

static void free_env(struct exec_env *e)
{
    if (e->block)
        munmap(e->block, e->block_len);
}

/* Runs one exec call with the session's environment, flushing the profile before it. */
#define RUN_EXEC(call_with_env, call_plain)                                                        \
    do {                                                                                           \
        ns_real_init();                                                                            \
        struct exec_env env = {0};                                                                 \
        _Alignas(16) char stack_env[STACK_ENV_MAX];                                                \
        if (!ns_preload.started)                                                                   \
            return call_plain;                                                                     \
        ns_sampler_before_exec();                                                                  \
        if (make_env(envp, &env, stack_env) < 0) {                                                 \
            int p_ = call_plain;                                                                   \
            int pe_ = errno;                                                                       \
            ns_sampler_exec_failed(pe_);                                                           \
            errno = pe_;                                                                           \
            return p_;                                                                             \
        }                                                                                          \
        char **const new_envp = env.envp;                                                          \
        int r_ = call_with_env;                                                                    \
        int e_ = errno;                                                                            \
        free_env(&env);                                                                            \
        ns_sampler_exec_failed(e_);                                                                \
        errno = e_;                                                                                \
        return r_;                                                                                 \
    } while (0)

NS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    RUN_EXEC(ns_real.execve(path, argv, new_envp), ns_real.execve(path, argv, envp));
}

NS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    RUN_EXEC(ns_real.execvpe(file, argv, new_envp), ns_real.execvpe(file, argv, envp));
}

NS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    RUN_EXEC(ns_real.fexecve(fd, argv, new_envp), ns_real.fexecve(fd, argv, envp));
}

NS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    RUN_EXEC(ns_real.execveat(dirfd, path, argv, new_envp, flags),
             ns_real.execveat(dirfd, path, argv, envp, flags));
}

NS_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

NS_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

/* The execl family: collect the variadic arguments into an argv on the stack. */
#define MAX_EXECL_ARGS 4096
#define COLLECT_ARGS(first, ap, argv)                                                              \
    size_t argc_ = 0;                                                                              \
    char *argv[MAX_EXECL_ARGS + 1];                                                                \
    argv[argc_++] = (char *)(first);                                                               \
    while (argc_ < MAX_EXECL_ARGS && (argv[argc_] = va_arg(ap, char *)) != NULL)                   \
        argc_++;                                                                                   \
    argv[argc_] = NULL

NS_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execve(path, argv, environ);
}

NS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execvpe(file, argv, environ);
}

NS_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

/* posix_spawn: the child is another process (its own pid, exec index 0); nothing to flush. */
#define RUN_SPAWN(call_with_env, call_plain)                                                       \
    do {                                                                                           \
        ns_real_init();                                                                            \
        struct exec_env env = {0};                                                                 \
        _Alignas(16) char stack_env[STACK_ENV_MAX];                                                \
        if (!ns_preload.started || make_env(envp, &env, stack_env) < 0)                            \
            return call_plain;                                                                     \
        char **const new_envp = env.envp;                                                          \
        int r_ = call_with_env;                                                                    \
        free_env(&env);                                                                            \
        return r_;                                                                                 \
    } while (0)

NS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    RUN_SPAWN(ns_real.posix_spawn(pid, path, fa, attr, argv, new_envp),
              ns_real.posix_spawn(pid, path, fa, attr, argv, envp));
}

NS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    RUN_SPAWN(ns_real.posix_spawnp(pid, file, fa, attr, argv, new_envp),
              ns_real.posix_spawnp(pid, file, fa, attr, argv, envp));
}
