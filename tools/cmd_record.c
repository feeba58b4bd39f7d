/*
 * cmd_record — `nsprof record [options] -- CMD ARGS...`: runs CMD with libnsprof.so
 * preloaded and the settings given as options, then says what was written.
 *
 * The options are generated from the settings registry (preload/settings.h), so every
 * switch the preload library understands is an option here, with the same validation and
 * help text. nsprof exits with the program's exit status, or dies of the same signal after
 * saying so, so that it can stand in for the program in scripts.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "perf_session.h"
#include "record.h"
#include "settings.h"

/* Prints text wrapped to `width` columns, every line indented by `indent` spaces except the
 * first (which continues where the caller's cursor is). */
static void print_wrapped(const char *text, int indent, int width)
{
    int col = indent;
    while (*text) {
        size_t word = strcspn(text, " ");
        if (col > indent && col + 1 + (int)word > width) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)word, text);
        col += (int)word;
        text += word;
        text += strspn(text, " ");
    }
    putchar('\n');
}

static void print_help(void)
{
    printf("usage: nsprof record [options] [--] COMMAND [ARGS...]\n\n"
           "Runs COMMAND with libnsprof.so preloaded and writes its profile; its children\n"
           "(fork, exec) are profiled too, each into its own file of the same session.\n"
           "nsprof exits with COMMAND's exit status.\n\noptions:\n");
    for (int i = 0; i < NS_SET__COUNT; i++) {
        const struct ns_setting_def *d = &ns_setting_defs[i];
        char left[64], more[160];
        const char *arg = d->type == NS_TYPE_ENUM ? d->choices : "VALUE";
        if (d->short_opt)
            snprintf(left, sizeof(left), "-%c, --%s=%s", d->short_opt, d->long_opt, arg);
        else
            snprintf(left, sizeof(left), "    --%s=%s", d->long_opt, arg);
        printf("  %-30s ", left);
        print_wrapped(d->help, 33, 96);
        snprintf(more, sizeof(more), "(env %s, default %s)", d->env, d->default_text);
        printf("%33s", "");
        print_wrapped(more, 33, 96);
    }
    printf("  %-30s libnsprof.so to preload (env NSPROF_LIB)\n", "    --lib=PATH");
    printf("  %-30s print nothing but errors\n", "-q, --quiet");
    printf("  %-30s this text\n", "-h, --help");
    printf("\nThe same settings work without nsprof record, as environment variables:\n"
           "  LD_PRELOAD=/path/to/libnsprof.so NSPROF_FREQ=999 ./app\n\n"
           "Mechanisms: cpu sampling uses perf_event rings when the kernel allows it\n"
           "(kernel.perf_event_paranoid <= 2, or CAP_PERFMON); otherwise per-thread CPU\n"
           "timers and SIGPROF, which this kernel fires at most 250 times a second.\n"
           "Wall mode: SIGPROF interrupts blocked system calls, so poll, epoll_wait, select,\n"
           "nanosleep and timed socket calls may return EINTR (even with SA_RESTART); a\n"
           "program that does not retry on EINTR may behave differently while profiled.\n\n"
           "examples:\n"
           "  nsprof record -o app.nsp -- ./app input.txt\n"
           "  nsprof record -e wall -F 199 -- ./server --port 8080\n"
           "  nsprof record --mechanism=signal -- make -j2\n");
}

static struct option *build_options(char *shortopts, size_t cap)
{
    static struct option opts[NS_SET__COUNT + 4];
    size_t n = 0, s = 0;
    shortopts[s++] = '+'; /* stop at the command: its options are its own */
    for (int i = 0; i < NS_SET__COUNT; i++) {
        const struct ns_setting_def *d = &ns_setting_defs[i];
        opts[n++] = (struct option){d->long_opt, required_argument, NULL, 1000 + i};
        if (d->short_opt && s + 3 < cap) {
            shortopts[s++] = d->short_opt;
            shortopts[s++] = ':';
        }
    }
    opts[n++] = (struct option){"lib", required_argument, NULL, 'L'};
    opts[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){NULL, 0, NULL, 0};
    strcpy(shortopts + s, "qh");
    return opts;
}

static int setting_of_short(int c)
{
    for (int i = 0; i < NS_SET__COUNT; i++) {
        if (ns_setting_defs[i].short_opt == c)
            return i;
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct ns_record *rec)
{
    char shortopts[64];
    struct option *opts = build_options(shortopts, sizeof(shortopts));
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        int id = c >= 1000 ? c - 1000 : setting_of_short(c);
        char err[512];
        if (id >= 0) {
            if (ns_config_set(&rec->cfg, (enum ns_setting)id, optarg, err, sizeof(err)) < 0) {
                ns_cli_error("%s", err);
                return -1;
            }
            rec->given[id] = 1;
        } else if (c == 'L') {
            rec->lib = optarg;
        } else if (c == 'q') {
            rec->quiet = 1;
        } else if (c == 'h') {
            print_help();
            exit(NS_EXIT_OK);
        } else {
            ns_cli_error("run 'nsprof record --help' for the options");
            return -1;
        }
    }
    if (optind >= argc) {
        ns_cli_error("no command to profile: nsprof record [options] -- COMMAND [ARGS...]");
        return -1;
    }
    rec->argv = argv + optind;
    return 0;
}

static int readable_file(const char *path)
{
    return access(path, R_OK) == 0;
}

/* libnsprof.so: --lib, NSPROF_LIB, next to this executable, or ../lib beside it. */
static int find_library(struct ns_record *rec)
{
    static char path[PATH_MAX];
    char self[PATH_MAX];
    const char *env = getenv("NSPROF_LIB");
    if (!rec->lib && env && *env)
        rec->lib = env;
    if (rec->lib) {
        if (!realpath(rec->lib, path) || !readable_file(path)) {
            ns_cli_error("cannot read the preload library '%s': %s", rec->lib, strerror(errno));
            return -1;
        }
        rec->lib = path;
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    const char *candidates[] = {"%s/libnsprof.so", "%s/../lib/libnsprof.so"};
    for (size_t i = 0; i < 2; i++) {
        char guess[PATH_MAX + 32];
        snprintf(guess, sizeof(guess), candidates[i], self);
        if (readable_file(guess) && realpath(guess, path)) {
            rec->lib = path;
            return 0;
        }
    }
    ns_cli_error("cannot find libnsprof.so (looked in %s and %s/../lib); pass --lib PATH or "
                 "set NSPROF_LIB",
                 self, self);
    return -1;
}

static void new_session(char *out, size_t cap)
{
    unsigned char r[4];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        unsigned v = (unsigned)getpid() ^ (unsigned)time(NULL);
        memcpy(r, &v, sizeof(r));
    }
    snprintf(out, cap, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

/* Whether this run's profiling can be done by nsprof itself as the agent: CPU sampling
 * through perf events (wall time and the signal mechanism still sample from inside). */
static int agent_wanted(const struct ns_record *rec)
{
    return strcmp(rec->cfg.text[NS_SET_AGENT], "off") != 0;
}

static int prepare_environment(struct ns_record *rec)
{
    char preload[PATH_MAX * 2], cwd[PATH_MAX];
    /* Absolute, so that the summary finds what a program that changes directory wrote. */
    const char *out = rec->cfg.text[NS_SET_OUTPUT];
    if (rec->given[NS_SET_OUTPUT] && out[0] != '/' && getcwd(cwd, sizeof(cwd))) {
        char abs[2 * NS_SETTING_TEXT_MAX], err[256];
        snprintf(abs, sizeof(abs), "%s/%s", cwd, out);
        if (ns_config_set(&rec->cfg, NS_SET_OUTPUT, abs, err, sizeof(err)) < 0) {
            ns_cli_error("%s", err);
            return -1;
        }
    }
    for (int i = 0; i < NS_SET__COUNT; i++) {
        if (rec->given[i])
            setenv(ns_setting_defs[i].env, rec->cfg.text[i], 1);
    }
    new_session(rec->session, sizeof(rec->session));
    setenv("NSPROF_SESSION", rec->session, 1);
    /* The directory where the session's processes share their tables with the agent. */
    char err[1024], link[4200];
    unsetenv(NS_ENV_AGENT_SESSION);
    if (agent_wanted(rec)) {
        if (ns_agent_link_session_dir(rec->session, rec->session_dir, sizeof(rec->session_dir), err,
                                      sizeof(err)) < 0) {
            ns_cli_warn("%s; profiling inside the program instead", err);
            rec->session_dir[0] = '\0';
        } else if (snprintf(link, sizeof(link), "%d:perf:%s", (int)getpid(), rec->session_dir) <
                   (int)sizeof(link)) {
            setenv(NS_ENV_AGENT_SESSION, link, 1);
        }
    }
    /* A fresh session: whatever nsprof run we may be inside, this command is its root. */
    unsetenv("NSPROF_ROOT");
    unsetenv("NSPROF_EXEC");
    unsetenv("NSPROF_DISABLE");
    const char *old = getenv("LD_PRELOAD");
    if (old && *old)
        snprintf(preload, sizeof(preload), "%s:%s", rec->lib, old);
    else
        snprintf(preload, sizeof(preload), "%s", rec->lib);
    setenv("LD_PRELOAD", preload, 1);
    return 0;
}

/* A statically linked program ignores LD_PRELOAD: say so before running it. */
static void warn_if_static(const char *cmd)
{
    char path[PATH_MAX];
    if (!ns_record_resolve_command(cmd, path, sizeof(path)))
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    Elf64_Ehdr eh;
    int dynamic = 0, is_elf = 0;
    if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
        memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64) {
        is_elf = 1;
        for (int i = 0; i < eh.e_phnum && i < 256; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
                (ssize_t)sizeof(ph))
                break;
            if (ph.p_type == PT_INTERP)
                dynamic = 1;
        }
    }
    close(fd);
    if (is_elf && !dynamic)
        ns_cli_warn("'%s' is statically linked: LD_PRELOAD cannot reach it, so it will not be "
                    "profiled (its dynamically linked children would be)",
                    path);
}

static void check_perf(const struct ns_record *rec)
{
    if (rec->cfg.value[NS_SET_EVENT] != NS_EVENT_CPU ||
        rec->cfg.value[NS_SET_MECHANISM] == NS_MECH_SIGNAL || rec->quiet)
        return;
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.sample_period = 1000000;
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return;
    }
    int e = errno, paranoid = -9;
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    if (f) {
        if (fscanf(f, "%d", &paranoid) != 1)
            paranoid = -9;
        fclose(f);
    }
    ns_cli_warn("perf_event_open is refused here (%s, kernel.perf_event_paranoid=%d): sampling "
                "with CPU timers and SIGPROF instead, at most 250 samples/s per thread on this "
                "kernel. For the faster, signal-free perf mechanism run 'sudo sysctl "
                "kernel.perf_event_paranoid=2' or grant CAP_PERFMON.",
                strerror(e), paranoid);
}

static pid_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

/* Opens the session's perf events on the child before it execs the program; 0 if they are
 * there (the child is then told to go on attached to us), -1 to profile in-process. */
/* The session's agent is nsprof itself. It samples the program with perf events opened on
 * the child before it execs; where that is refused, where wall time is asked for or
 * mechanism=signal, the processes sample themselves into their regions for it; with
 * event=none it only reads what the interposers record. */
static void start_agent(struct ns_record *rec, pid_t child, struct ns_perf_session *perf,
                        struct ns_agent_config *ac)
{
    const struct ns_config *c = &rec->cfg;
    memset(ac, 0, sizeof(*ac));
    ac->cfg = rec->cfg;
    snprintf(ac->session, sizeof(ac->session), "%s", rec->session);
    snprintf(ac->dir, sizeof(ac->dir), "%s", rec->session_dir);
    ac->root = child;
    ac->root_is_child = 1;
    ac->root_exec_pending = 1;
    ac->stderr_fd = STDERR_FILENO;
    ac->producer = "nsprof " NSPROF_VERSION " agent";
    ac->mech = NS_AGENT_SIGNAL;
    if (c->value[NS_SET_EVENT] == NS_EVENT_NONE) {
        ac->mech = NS_AGENT_NONE;
        snprintf(ac->mech_reason, sizeof(ac->mech_reason), "event=none: no sampling was asked for");
        return;
    }
    if (c->value[NS_SET_MECHANISM] == NS_MECH_SIGNAL) {
        snprintf(ac->mech_reason, sizeof(ac->mech_reason), "mechanism=signal was asked for");
        return;
    }
    struct ns_perf_params p = ns_perf_params_of(c);
    if (ns_perf_session_open(perf, child, &p, 1, ac->mech_reason, sizeof(ac->mech_reason)) < 0) {
        ac->perf_refused = 1;
        return;
    }
    ac->mech = NS_AGENT_PERF;
    ac->timer_samples = p.switches_only;
    snprintf(ac->mech_reason, sizeof(ac->mech_reason), "%s",
             p.switches_only ? NS_SWITCHES_REASON
                             : "perf_event_open is allowed: nsprof record samples from outside "
                               "the program");
    /* CPU timers count the kernel's time too */
    ac->exclude_kernel = p.switches_only ? 0 : perf->params.exclude_kernel;
}

/* Starts the command; a close-on-exec pipe tells whether its exec succeeded (nothing
 * arrives) or failed (the child writes its errno), so a command that could not be started
 * is reported as such rather than as a program that wrote no profile. A second pipe holds
 * the child until its perf events are open, and says how the session samples: 'p', 'w', 's'
 * or 'n' = attached to the agent (us) with perf, perf's switches and CPU timers, signals or
 * nothing (agent_link.h), 'i' =
 * profile yourself (no session directory). */
static int run_command(struct ns_record *rec, int *status)
{
    static struct ns_perf_session perf;
    int pipefd[2], gofd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0 || pipe2(gofd, O_CLOEXEC) != 0) {
        ns_cli_error("cannot create a pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    child_pid = fork();
    if (child_pid < 0) {
        ns_cli_error("cannot fork: %s", strerror(errno));
        return -1;
    }
    if (child_pid == 0) {
        char go = 'i', link[4200];
        close(pipefd[0]);
        close(gofd[1]);
        while (read(gofd[0], &go, 1) < 0 && errno == EINTR)
            ;
        const char *mech = go == 'p'   ? "perf"
                           : go == 'w' ? "switches"
                           : go == 's' ? "signal"
                                       : "none";
        if (go == 'i')
            unsetenv(NS_ENV_AGENT_SESSION);
        else if (snprintf(link, sizeof(link), "%d:%s:%s", (int)getppid(), mech, rec->session_dir) <
                 (int)sizeof(link))
            setenv(NS_ENV_AGENT_SESSION, link, 1);
        execvp(rec->argv[0], rec->argv);
        int e = errno;
        if (write(pipefd[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(e == ENOENT ? 127 : 126);
    }
    close(pipefd[1]);
    close(gofd[0]);
    /* The terminal's ^C and ^\ reach the program directly (same process group); TERM and
     * HUP sent to nsprof are meant for it. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    static struct ns_agent_config ac;
    int agent = rec->session_dir[0] && agent_wanted(rec);
    if (agent)
        start_agent(rec, child_pid, &perf, &ac);
    char go = !agent                                         ? 'i'
              : ac.mech == NS_AGENT_PERF && ac.timer_samples ? 'w'
              : ac.mech == NS_AGENT_PERF                     ? 'p'
              : ac.mech == NS_AGENT_SIGNAL                   ? 's'
                                                             : 'n';
    if (write(gofd[1], &go, 1) != 1)
        agent = 0;
    close(gofd[1]);
    int exec_errno = 0;
    ssize_t got = 0;
    if (agent) {
        int perf_on = ac.mech == NS_AGENT_PERF;
        if (ns_agent_begin(&ac, perf_on ? &perf : NULL) == 0)
            ns_agent_run(status);
        if (perf_on)
            ns_perf_session_close(&perf);
        /* The exec's outcome is in the pipe by now: the child exec'd or exited. */
        while ((got = read(pipefd[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
            ;
    } else {
        while ((got = read(pipefd[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
            ;
    }
    close(pipefd[0]);
    while (!agent && waitpid(child_pid, status, 0) < 0) {
        if (errno != EINTR) {
            ns_cli_error("waiting for '%s': %s", rec->argv[0], strerror(errno));
            return -1;
        }
    }
    if (got == (ssize_t)sizeof(exec_errno)) {
        ns_cli_error("cannot run '%s': %s", rec->argv[0], strerror(exec_errno));
        return 1;
    }
    return 0;
}

/* Leaves as the program did: same exit status, or the same fatal signal. */
static int exit_like(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* the program dumped core already if it was to */
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 128 + sig;
}

int ns_cmd_record(int argc, char **argv)
{
    static struct ns_record rec;
    ns_config_defaults(&rec.cfg);
    if (parse_args(argc, argv, &rec) < 0)
        return NS_EXIT_USAGE;
    ns_config_resolve(&rec.cfg);
    if (ns_record_check_output(&rec) < 0 || find_library(&rec) < 0)
        return NS_EXIT_USAGE;
    if (prepare_environment(&rec) < 0)
        return NS_EXIT_USAGE;
    warn_if_static(rec.argv[0]);
    check_perf(&rec);
    int status;
    int started = run_command(&rec, &status);
    if (started < 0) {
        if (rec.session_dir[0])
            ns_agent_link_remove_dir(rec.session_dir);
        return NS_EXIT_FAILURE;
    }
    if (started > 0) /* exec failed: the shell's convention, 127 not found, 126 not runnable */
        return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
    if (WIFSIGNALED(status))
        ns_cli_warn("'%s' was killed by signal %d (%s)", rec.argv[0], WTERMSIG(status),
                    strsignal(WTERMSIG(status)));
    if (rec.session_dir[0])
        ns_agent_link_remove_dir(rec.session_dir);
    if (!rec.quiet)
        ns_record_summarize(&rec);
    return exit_like(status);
}
