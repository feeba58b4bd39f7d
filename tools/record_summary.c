/*
 * record_summary — after the program ended: which profiles the session wrote (one per
 * process and exec), how many samples, which mechanism at which real rate, and the command
 * to look at them. Problems found in the profiles (perf refused, truncated files) are
 * repeated here so that nobody has to open the report to learn the run was degraded.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "record.h"

int ns_record_resolve_command(const char *cmd, char *out, size_t cap)
{
    if (strchr(cmd, '/')) {
        snprintf(out, cap, "%s", cmd);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(out, cap, "%.*s/%s", (int)len, len ? path : ".", cmd);
        if (access(out, X_OK) == 0)
            return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

int ns_record_check_output(const struct ns_record *rec)
{
    const char *out = rec->cfg.text[NS_SET_OUTPUT];
    for (const char *p = strchr(out, '%'); p; p = strchr(p + 2, '%')) {
        if (!p[1] || !strchr("psen%", p[1])) {
            ns_cli_error("output '%s': unknown token '%%%c' (tokens: %%p pid, %%s session, %%e "
                         "exec index, %%n program, %%%% percent)",
                         out, p[1] ? p[1] : ' ');
            return -1;
        }
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        struct stat st;
        if (*dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
            ns_cli_error("output '%s': the directory '%s' does not exist", out, dir);
            return -1;
        }
    }
    return 0;
}

/* The glob that matches every file of this session (docs/FORMAT.md, "File names"). */
static void session_glob(const struct ns_record *rec, char *out, size_t cap, char *first,
                         size_t firstcap)
{
    const char *pat = rec->cfg.text[NS_SET_OUTPUT];
    size_t n = 0;
    first[0] = '\0';
    if (!strchr(pat, '%')) {
        const char *base = strrchr(pat, '/') ? strrchr(pat, '/') + 1 : pat;
        const char *dot = strrchr(base, '.');
        size_t stem = dot && dot != base ? (size_t)(dot - pat) : strlen(pat);
        snprintf(first, firstcap, "%s", pat);
        snprintf(out, cap, "%.*s.[0-9]*.[0-9]*%s", (int)stem, pat, pat + stem);
        return;
    }
    for (const char *p = pat; *p && n + 40 < cap; p++) {
        if (*p != '%' || !p[1]) {
            out[n++] = *p;
            continue;
        }
        p++;
        if (*p == 's')
            n += (size_t)snprintf(out + n, cap - n, "%s", rec->session);
        else if (*p == '%')
            out[n++] = '%';
        else
            out[n++] = '*';
    }
    out[n] = '\0';
}

#define SHOWN_FILES  4
#define MAX_WARNINGS 16

struct totals {
    size_t files;
    uint64_t samples, thread_cpu_ns, thread_samples;
    int interposed; /* events of interposed calls were recorded */
    char mechanism[32];
    char shown[SHOWN_FILES][PATH_MAX];
    char warned[MAX_WARNINGS][32]; /* note codes already repeated */
    size_t nwarned;
};

/* A path as the user would type it: relative when it lies under the current directory. */
static const char *display_path(const char *path)
{
    static char cwd[PATH_MAX];
    if (!*cwd && !getcwd(cwd, sizeof(cwd)))
        return path;
    size_t n = strlen(cwd);
    if (strncmp(path, cwd, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

/* Each warning of the session once, however many processes hit it. */
static void repeat_warnings(const struct ns_profile *p, struct totals *t)
{
    for (size_t i = 0; i < p->nnotes; i++) {
        const struct ns_prof_note *note = &p->notes[i];
        size_t k = 0;
        if (note->level != NSP_NOTE_WARNING)
            continue;
        while (k < t->nwarned && strcmp(t->warned[k], note->code.s) != 0)
            k++;
        if (k < t->nwarned)
            continue;
        if (t->nwarned < MAX_WARNINGS)
            snprintf(t->warned[t->nwarned++], sizeof(t->warned[0]), "%s", note->code.s);
        ns_cli_warn("%s", note->text.s);
    }
}

/* Samples of the sampled events: the entries of interposed-call events (allocations, I/O,
 * locks) are totals per call site, not samples, and are named instead. */
static uint64_t sampled_count(const struct ns_profile *p, struct totals *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->samples.n; i++) {
        const struct ns_prof_event *ev = ns_profile_event(p, p->samples.event[i]);
        if (!ev || !ev->flags)
            n++;
        else
            t->interposed = 1;
    }
    return n;
}

static void summarize_file(const char *path, const struct ns_record *rec, struct totals *t)
{
    struct ns_profile *p;
    struct ns_read_error err;
    if (ns_profile_read_file(path, &p, &err, NULL, NULL) < 0) {
        ns_cli_warn("%s", err.msg);
        return;
    }
    if (!p->has_process || strcmp(p->process.session.s, rec->session) != 0) {
        ns_profile_free(p);
        return; /* an older run's file that happens to match the name */
    }
    if (t->files < SHOWN_FILES)
        snprintf(t->shown[t->files], sizeof(t->shown[0]), "%s", display_path(path));
    t->files++;
    t->samples += sampled_count(p, t);
    for (size_t i = 0; i < p->nthreads; i++) {
        t->thread_cpu_ns += p->threads[i].cpu_ns;
        t->thread_samples += p->threads[i].samples;
    }
    const char *mech = ns_profile_setting(p, "mechanism_used");
    if (mech && !t->mechanism[0])
        snprintf(t->mechanism, sizeof(t->mechanism), "%s", mech);
    repeat_warnings(p, t);
    if (p->truncated)
        ns_cli_warn("%s ends inside a chunk at offset %llu (the process was killed while "
                    "writing); everything before it is readable",
                    display_path(path), (unsigned long long)p->truncated_at);
    ns_profile_free(p);
}

void ns_record_summarize(const struct ns_record *rec)
{
    char pattern[PATH_MAX], first[PATH_MAX], names[SHOWN_FILES * (PATH_MAX + 2) + 32] = "";
    static struct totals t;
    glob_t g;
    session_glob(rec, pattern, sizeof(pattern), first, sizeof(first));
    if (*first && access(first, F_OK) == 0)
        summarize_file(first, rec, &t);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            summarize_file(g.gl_pathv[i], rec, &t);
        globfree(&g);
    }
    if (t.files == 0) {
        ns_cli_warn("no profile was written for session %s: the program may be statically "
                    "linked or setuid (LD_PRELOAD does not apply), or it ended before "
                    "libnsprof.so started (see its messages above)",
                    rec->session);
        return;
    }
    for (size_t i = 0; i < t.files && i < SHOWN_FILES; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                 t.shown[i]);
    if (t.files > SHOWN_FILES)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), " and %zu more",
                 t.files - SHOWN_FILES);
    char rate[64] = "";
    if (t.thread_cpu_ns > 0 && rec->cfg.value[NS_SET_EVENT] == NS_EVENT_CPU)
        snprintf(rate, sizeof(rate), ", %.0f samples per thread CPU-second",
                 (double)t.thread_samples * 1e9 / (double)t.thread_cpu_ns);
    ns_cli_note("wrote %s: %llu samples%s, %s mechanism%s", names, (unsigned long long)t.samples,
                t.interposed ? " and the interposed calls' totals" : "",
                t.mechanism[0] ? t.mechanism : "unknown", rate);
    if (t.files == 1)
        ns_cli_note("next: nsprof report %s", t.shown[0]);
    else if (*first)
        ns_cli_note("next: nsprof report %s %s", display_path(first), display_path(pattern));
    else
        ns_cli_note("next: nsprof report %s", display_path(pattern));
}
