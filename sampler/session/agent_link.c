/*
 * agent_link — see agent_link.h.
 */
#include "agent_link.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const mech_names[] = {"perf", "signal", "none", "switches"};
#define NMECH (int)(sizeof(mech_names) / sizeof(mech_names[0]))

const char *ns_agent_link_mech_name(enum ns_link_mech m)
{
    return (int)m >= 0 && (int)m < NMECH ? mech_names[m] : "none";
}

int ns_agent_link_parse(const char *text, struct ns_agent_link *out)
{
    char *end;
    long pid = strtol(text, &end, 10);
    if (pid <= 0 || *end != ':')
        return -1;
    const char *mech = end + 1, *colon = strchr(mech, ':');
    if (!colon)
        return -1;
    int m = -1;
    for (int i = 0; i < NMECH; i++) {
        if ((size_t)(colon - mech) == strlen(mech_names[i]) &&
            strncmp(mech, mech_names[i], (size_t)(colon - mech)) == 0)
            m = i;
    }
    const char *dir = colon + 1;
    if (m < 0 || dir[0] != '/' || strlen(dir) >= sizeof(out->dir))
        return -1;
    out->agent = (pid_t)pid;
    out->mech = (enum ns_link_mech)m;
    snprintf(out->dir, sizeof(out->dir), "%s", dir);
    return 0;
}

int ns_agent_link_format(const struct ns_agent_link *l, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%d:%s:%s", (int)l->agent, ns_agent_link_mech_name(l->mech), l->dir);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ns_agent_link_from_env(struct ns_agent_link *out)
{
    const char *v = ns_getenv(NS_ENV_AGENT_SESSION);
    if (!v || ns_agent_link_parse(v, out) < 0)
        return 0;
    /* An agent that is gone cannot read what we would write: profile in-process instead. */
    return kill(out->agent, 0) == 0 || errno == EPERM;
}

/* --- the session directory ----------------------------------------------------------- */

/* mkdir 0700, or accept an existing directory only if it is ours and private. */
static int private_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "'%s' exists but is not a private directory of this user (a symlink, another "
                 "owner or open permissions): refusing to use it; remove it or set "
                 "NSPROF_SHM_DIR to another place",
                 path);
        return -1;
    }
    return 0;
}

/* The start time of pid (field 22 of /proc/PID/stat), 0 when it does not exist. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long t = 0;
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p)
        t = strtoull(p + 1, NULL, 10);
    return t;
}

int ns_agent_link_claim_dir(const char *dir)
{
    char path[4200], text[64];
    int n = snprintf(text, sizeof(text), "%d %llu\n", (int)getpid(), start_time(getpid()));
    if (snprintf(path, sizeof(path), "%s/agent", dir) >= (int)sizeof(path))
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int r = write(fd, text, (size_t)n) == n ? 0 : -1;
    close(fd);
    return r;
}

/* A session whose agent is gone (it crashed, or was killed before it removed its directory):
 * its agent file names a process that no longer runs; a directory without one was never
 * claimed and is old. */
static int stale(const char *dir, time_t now)
{
    char path[4200], text[64];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/agent", dir) >= (int)sizeof(path) ||
        lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return now - st.st_mtime > 600;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    int pid = 0;
    unsigned long long t = 0;
    if (n <= 0 || (text[n] = '\0', sscanf(text, "%d %llu", &pid, &t)) != 2 || pid <= 0)
        return now - st.st_mtime > 600;
    return start_time((pid_t)pid) != t && now - st.st_mtime > 5;
}

static void remove_stale(const char *user_dir)
{
    DIR *d = opendir(user_dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    char path[4200];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof(path), "%s/%.255s", user_dir, e->d_name) >= (int)sizeof(path))
            continue;
        if (stale(path, now))
            ns_agent_link_remove_dir(path);
    }
    closedir(d);
}

int ns_agent_link_session_dir(const char *session, char *out, size_t cap, char *err, size_t errlen)
{
    const char *base = ns_getenv("NSPROF_SHM_DIR");
    struct stat st;
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                   ? "/dev/shm"
                   : "/tmp";
    char user_dir[4096];
    if (snprintf(user_dir, sizeof(user_dir), "%s/nsprof-%u", base, (unsigned)geteuid()) >=
            (int)sizeof(user_dir) ||
        snprintf(out, cap, "%s/%s", user_dir, session) >= (int)cap) {
        snprintf(err, errlen, "the session directory's path is too long (NSPROF_SHM_DIR)");
        return -1;
    }
    if (private_dir(user_dir, err, errlen) < 0)
        return -1;
    remove_stale(user_dir);
    return private_dir(out, err, errlen);
}

void ns_agent_link_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
    }
    rmdir(dir);
}
