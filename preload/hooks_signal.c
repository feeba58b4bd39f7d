/*
 * hooks_signal — signal dispositions the program sets while nsprof uses signals.
 *
 * SIGPROF: while the signal mechanism owns it, the program's sigaction/signal calls are
 * recorded instead of installed, and nsprof's handler passes every SIGPROF that is not its
 * own to them — a program that profiles itself (setitimer + handler) keeps working, and the
 * profile says so. With the perf mechanism nsprof sends no signal and the program's calls go
 * straight through.
 *
 * Fatal signals (crashes, but also ^C, kill's SIGTERM, a closed pipe's SIGPIPE, alarm()):
 * where the program left the default action — to die — nsprof's handler writes what it
 * has (END with the signal) before the process dies the way it would have anyway. A program
 * that installs its own handler replaces nsprof's, and sees the default in `oldact` where
 * nsprof's was.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sampler/format/nsp_format.h"
#include "../sampler/real.h"
#include "../sampler/sampler.h"
#include "../sampler/session/shm.h"
#include "../sampler/sources/source.h"
#include "../sampler/writer_thread/writer.h"
#include "preload.h"

#define NS_EXPORT __attribute__((visibility("default")))

/* Every signal whose default action ends the process (but SIGKILL, which can't be caught,
 * and SIGPROF, which nsprof may sample with). */
static const int crash_signals[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE,  SIGABRT, SIGTRAP,
                                    SIGSYS,  SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE,
                                    SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM};
#define NCRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))
static int crash_installed[NCRASH];
static int sigprof_noted;

static int crash_index(int sig)
{
    for (size_t i = 0; i < NCRASH; i++) {
        if (crash_signals[i] == sig)
            return (int)i;
    }
    return -1;
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    int saved = errno;
    ns_sampler_crash(sig);
    /* SA_RESETHAND restored the default action: die of the same signal. A fault re-raises
     * itself when we return; a signal sent by kill() is raised again here. */
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
    errno = saved;
}

void ns_install_crash_handlers(void)
{
    for (size_t i = 0; i < NCRASH; i++) {
        struct sigaction old, sa;
        if (ns_real.sigaction(crash_signals[i], NULL, &old) != 0)
            continue;
        if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
            continue; /* the program (or its launcher) decided: leave it */
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_crash;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        if (ns_real.sigaction(crash_signals[i], &sa, NULL) == 0)
            crash_installed[i] = 1;
    }
}

static int installs_handler(const struct sigaction *act)
{
    if (!act)
        return 0;
    if (act->sa_flags & SA_SIGINFO)
        return act->sa_sigaction != NULL;
    return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

static void note_program_sigprof(int virtualised)
{
    if (__atomic_exchange_n(&sigprof_noted, 1, __ATOMIC_RELAXED))
        return;
    if (virtualised)
        ns_shm_note(NSP_NOTE_WARNING, "sigprof_handler",
                    "the program installed its own SIGPROF handler; nsprof (which samples "
                    "with SIGPROF) kept its handler and passed every SIGPROF that was not "
                    "its own to the program's (see counter sigprof_forwarded)");
    else
        ns_shm_note(NSP_NOTE_INFO, "sigprof_handler",
                    "the program installed its own SIGPROF handler; the perf mechanism "
                    "sends no signals, so the two did not interact");
}

NS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
    ns_real_init();
    if (sig == SIGPROF && ns_signal_owns_sigprof()) {
        if (installs_handler(act))
            note_program_sigprof(1);
        int r = ns_signal_program_sigaction(act, oldact);
        NS_KEEP_FRAME();
        return r;
    }
    if (sig == SIGPROF && installs_handler(act) && ns_sampler_active())
        note_program_sigprof(0);
    int ci = crash_index(sig);
    if (ci < 0 || !crash_installed[ci])
        return ns_real.sigaction(sig, act, oldact);
    struct sigaction prev;
    int r = ns_real.sigaction(sig, act, &prev);
    if (r == 0 && oldact) {
        /* Ours is an implementation detail: the program set nothing, so it sees SIG_DFL. */
        memset(oldact, 0, sizeof(*oldact));
        oldact->sa_handler = SIG_DFL;
    }
    if (r == 0 && act)
        crash_installed[ci] = 0;
    return r;
}

/* glibc's signal() calls its internal sigaction, so it needs a hook of its own; BSD
 * semantics as glibc gives them: restart, and block the signal during its handler. */
NS_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    ns_real_init();
    int ci = crash_index(sig);
    if (!(sig == SIGPROF && ns_signal_owns_sigprof()) && (ci < 0 || !crash_installed[ci]))
        return ns_real.signal(sig, handler);
    struct sigaction act, old;
    memset(&act, 0, sizeof(act));
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    /* sa_handler and sa_sigaction share storage: either way this is the old function. */
    return old.sa_handler;
}
