"""pgserver — a private PostgreSQL server for a test: Debian's postgresql binaries, a cluster
initialized into a temporary directory and run by an unprivileged user (postgres refuses to
run as root) on a unix socket in that directory only (no TCP), stopped at the end. A server
that cannot start fails the test with its log: it never passes silently.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

USER = "nobody"
PORT = 5432  # the socket's name only: no TCP listener


class PgServerError(AssertionError):
    pass


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise PgServerError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                            "tools/setup.sh --test installs it")
    return os.path.dirname(found[-1])


class PgServer:
    def __init__(self):
        self.bin = bindir()
        self.dir = tempfile.mkdtemp(prefix="nsprof-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        ids = pwd.getpwnam(USER)
        os.chown(self.dir, ids.pw_uid, ids.pw_gid)
        self.started = False

    def as_user(self, *cmd):
        return subprocess.run(["runuser", "-u", USER, "--", *cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120)

    def start(self):
        p = self.as_user(os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust",
                         "-U", USER, "--no-sync", "-E", "UTF8", "--locale=C")
        if p.returncode != 0:
            raise PgServerError("initdb failed:\n" + p.stdout)
        opts = ("-k %s -c listen_addresses='' -p %d -c fsync=off -c synchronous_commit=off"
                % (self.dir, PORT))
        p = self.as_user(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log,
                         "-o", opts, "-w", "-t", "60", "start")
        if p.returncode != 0:
            log = open(self.log).read() if os.path.exists(self.log) else "(no log)"
            raise PgServerError("the PostgreSQL server did not start:\n%s\n%s" % (p.stdout, log))
        self.started = True
        return self

    def conninfo(self, dbname="postgres"):
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, PORT, dbname, USER)

    def stop(self):
        if self.started:
            self.as_user(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast",
                         "-w", "stop")
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
