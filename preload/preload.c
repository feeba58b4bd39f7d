/*
 * preload — libnsprof.so starts itself here: LD_PRELOAD=libnsprof.so ./app.
 *
 * The constructor reads the settings registry from the environment, works out who this
 * process is within the profiled session (session id, pid, exec index — exec keeps the pid,
 * so the index tells images apart), creates the profile and starts the sampler. It never
 * makes the program fail: if anything goes wrong the program runs unprofiled and the reason
 * is printed (unless NSPROF_LOG=quiet).
 *
 * Exit: the exit status is caught where it is visible to a preloaded library — main's
 * return value (through __libc_start_main) and exit/_exit/_Exit — and written in the END
 * record by the destructor (or by _exit, which runs no destructors).
 */
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../sampler/session/agent_link.h"
#include "../sampler/format/nsp_format.h"
#include "../sampler/real.h"
#include "../sampler/sampler.h"
#include "../sampler/session/shm.h"
#include "db/db_hooks.h"

#define NS_EXPORT __attribute__((visibility("default")))

struct ns_preload ns_preload;

static void vlog(int min_level, const char *fmt, va_list ap)
{
    char buf[1024];
    if (ns_preload.cfg.value[NS_SET_LOG] < (uint64_t)min_level)
        return;
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    /* One write, so lines of concurrent processes do not interleave. */
    if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
        /* stderr is closed: nowhere to say it */
    }
}

void ns_log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(NS_LOG_WARN, fmt, ap);
    va_end(ap);
}

void ns_log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(NS_LOG_INFO, fmt, ap);
    va_end(ap);
}

static void warn_setting(const char *msg)
{
    ns_log_warn("nsprof: %s", msg);
}

static int valid_session(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(ns_preload.id.session))
        return 0;
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              *s == '-' || *s == '_'))
            return 0;
    }
    return 1;
}

static void new_session_id(char *out, size_t cap)
{
    unsigned char r[4] = {0};
    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        unsigned v = (unsigned)getpid() * 2654435761u;
        memcpy(r, &v, sizeof(r));
    }
    snprintf(out, cap, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

/* Session, root and exec index from the environment our parent (or nsprof record) left. */
static void read_identity(struct ns_identity *id)
{
    char num[32];
    id->pid = getpid();
    id->ppid = getppid();
    ssize_t n = readlink("/proc/self/exe", id->exe, sizeof(id->exe) - 1);
    id->exe[n > 0 ? n : 0] = '\0';

    const char *session = ns_getenv(NS_ENV_SESSION);
    if (session && valid_session(session)) {
        snprintf(id->session, sizeof(id->session), "%s", session);
    } else {
        new_session_id(id->session, sizeof(id->session));
        /* Children started in any way (system, popen...) join this session. */
        ns_setenv(NS_ENV_SESSION, id->session);
    }

    const char *root = ns_getenv(NS_ENV_ROOT);
    ns_preload.root_pid = root ? (pid_t)atoi(root) : id->pid;
    if (!root) {
        snprintf(num, sizeof(num), "%d", (int)id->pid);
        ns_setenv(NS_ENV_ROOT, num);
    }

    id->exec_index = 0;
    const char *exec = ns_getenv(NS_ENV_EXEC);
    if (exec) {
        char *dot;
        long pid = strtol(exec, &dot, 10);
        if (*dot == '.' && pid == id->pid)
            id->exec_index = strtoull(dot + 1, NULL, 10) + 1;
    }
}

/* A relative output name is taken from the cwd at start: children that chdir (or exec'd
 * images started elsewhere) then still write beside their parent's profile. */
static void absolutize_output(void)
{
    char cwd[PATH_MAX], *out = ns_preload.cfg.text[NS_SET_OUTPUT];
    if (out[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return;
    char abs[NS_SETTING_TEXT_MAX];
    if (snprintf(abs, sizeof(abs), "%s/%s", cwd, out) < (int)sizeof(abs))
        memcpy(out, abs, strlen(abs) + 1);
}

static void remember_settings_env(void)
{
    for (int i = 0; i < NS_SET__COUNT; i++) {
        const char *v =
            i == NS_SET_OUTPUT ? ns_preload.cfg.text[i] : ns_getenv(ns_setting_defs[i].env);
        if (!v)
            continue;
        snprintf(ns_preload.inherited_env[ns_preload.ninherited++],
                 sizeof(ns_preload.inherited_env[0]), "%s=%s", ns_setting_defs[i].env, v);
    }
}

static void find_own_path(void)
{
    Dl_info info;
    if (dladdr((void *)&ns_preload, &info) && info.dli_fname) {
        if (!realpath(info.dli_fname, ns_preload.lib_path))
            snprintf(ns_preload.lib_path, sizeof(ns_preload.lib_path), "%s", info.dli_fname);
    }
}

int ns_output_open(const struct ns_identity *id, char *path, size_t pathlen, char *err,
                   size_t errlen)
{
    int first = id->exec_index == 0 && id->pid == ns_preload.root_pid;
    if (ns_output_name(ns_preload.cfg.text[NS_SET_OUTPUT], id, first, path, pathlen) < 0) {
        snprintf(err, errlen, "invalid output pattern '%s' (tokens: %%p %%s %%e %%n %%%%)",
                 ns_preload.cfg.text[NS_SET_OUTPUT]);
        return -1;
    }
    return ns_output_create(path, (int)ns_preload.cfg.value[NS_SET_IF_EXISTS], err, errlen);
}

__attribute__((constructor)) static void ns_preload_init(void)
{
    char err[1024];
    const char *disable = ns_getenv(NS_ENV_DISABLE);
    if (ns_preload.started || (disable && *disable && strcmp(disable, "0") != 0))
        return;
    ns_preload.started = 1;
    ns_config_defaults(&ns_preload.cfg);
    ns_config_from_env(&ns_preload.cfg, warn_setting);
    ns_config_resolve(&ns_preload.cfg);
    absolutize_output();
    remember_settings_env();
    find_own_path();
    read_identity(&ns_preload.id);
    if (ns_sampler_start(&ns_preload.cfg, &ns_preload.id, ns_output_open, err, sizeof(err)) < 0) {
        ns_log_warn("nsprof: not profiling %s (pid %d): %s", ns_preload.id.exe,
                    (int)ns_preload.id.pid, err);
        return;
    }
    ns_install_crash_handlers();
    if (ns_preload.cfg.value[NS_SET_DB] == NS_ON) {
        ns_db_on_first_use = ns_sampler_track_threads;
        if (ns_db_hooks_start(ns_preload.cfg.value[NS_SET_DB_SQL] == NS_DB_SQL_FULL) < 0)
            ns_shm_note(NSP_NOTE_WARNING, "db_unavailable",
                        "database calls are not profiled: the loaded modules' import tables "
                        "could not be read or patched (out of memory)");
    }
    /* The image that exec'd us blocked SIGPROF for the exec (sampler.c): our handler is in
     * place now, so what waited may come. */
    if (ns_getenv("NSPROF_UNBLOCK_SIGPROF")) {
        sigset_t prof;
        sigemptyset(&prof);
        sigaddset(&prof, SIGPROF);
        ns_unsetenv("NSPROF_UNBLOCK_SIGPROF");
        ns_real.pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
    }
    if (ns_sampler_agent_failure()[0])
        ns_log_warn("nsprof: %s; profiling inside the program instead (NSPROF_AGENT=off "
                    "says so without trying)",
                    ns_sampler_agent_failure());
    if (ns_preload.cfg.value[NS_SET_ALLOC] != NS_ALLOC_OFF && !ns_alloc_hooks_reached())
        ns_shm_note(NSP_NOTE_WARNING, "alloc_not_reached",
                    "the program's malloc calls do not reach nsprof: it defines its own "
                    "allocator, or another preloaded library's comes first; allocations "
                    "are not tracked");
    const char *agent = ns_getenv(NS_ENV_AGENT_SESSION);
    if (agent && strlen(agent) < sizeof(ns_preload.agent_env) - 32)
        snprintf(ns_preload.agent_env, sizeof(ns_preload.agent_env), "%s=%s", NS_ENV_AGENT_SESSION,
                 agent);
    if (ns_sampler_agent())
        ns_log_info("nsprof: pid %d is profiled by nsprof's agent (pid %d)", (int)ns_preload.id.pid,
                    (int)ns_sampler_agent());
    else
        ns_log_info("nsprof: profiling pid %d into %s (%s mechanism)", (int)ns_preload.id.pid,
                    ns_sampler_output_path(), ns_sampler_mechanism());
}

static uint64_t exit_status(void)
{
    /* Not visible to a preloaded library when libc itself called exit (e.g. error()). */
    return ns_preload.exit_status_known ? (uint64_t)(unsigned)ns_preload.exit_status : UINT32_MAX;
}

__attribute__((destructor)) static void ns_preload_fini(void)
{
    ns_sampler_finish(NSP_EXIT_NORMAL, exit_status());
    NS_KEEP_FRAME();
}

/* nsprof's own work, run by the loader rather than called by the program: exported under
 * names the analyzer knows (NS_OWN_WORK_PREFIX, report/model/model.h), so a profile drops it with
 * all it calls instead of showing it under the loader's frames. */
void __nsprof_own_init(void) __attribute__((visibility("default"), alias("ns_preload_init")));
void __nsprof_own_fini(void) __attribute__((visibility("default"), alias("ns_preload_fini")));

/* --- exit status -------------------------------------------------------------------- */

static int (*program_main)(int, char **, char **);

/* Exported under a name the analyzer knows (NS_TRAMPOLINE_PREFIX, report/model/model.h): a
 * profile shows main below __libc_start_call_main, not this. */
NS_EXPORT int __nsprof_trampoline_main(int argc, char **argv, char **envp);
NS_EXPORT int __nsprof_trampoline_main(int argc, char **argv, char **envp)
{
    int status = program_main(argc, argv, envp);
    ns_preload.exit_status = status;
    ns_preload.exit_status_known = 1;
    return status;
}

NS_EXPORT int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                                void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
                                void *stack_end)
{
    ns_real_init();
    program_main = main;
    return ns_real.libc_start_main(__nsprof_trampoline_main, argc, argv, init, fini, rtld_fini,
                                   stack_end);
}

NS_EXPORT void exit(int status)
{
    ns_real_init();
    ns_preload.exit_status = status;
    ns_preload.exit_status_known = 1;
    ns_real.exit(status);
}

/* _exit and _Exit run no destructors: close the profile here. */
NS_EXPORT void _exit(int status)
{
    ns_real_init();
    ns_sampler_finish(NSP_EXIT_NORMAL, (uint64_t)(unsigned)status);
    ns_real._exit(status);
}

NS_EXPORT void _Exit(int status)
{
    ns_real_init();
    ns_sampler_finish(NSP_EXIT_NORMAL, (uint64_t)(unsigned)status);
    ns_real._Exit(status);
}
