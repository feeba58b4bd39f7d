"""myserver — a private MariaDB server for a test: Debian's mariadb-server, a data directory
initialized in a temporary directory and served by mariadbd as an unprivileged user on a
unix socket there only (--skip-networking), shut down at the end. The test's clients connect
as root through unix_socket authentication. A server that cannot start fails the test with
its log: it never passes silently.
"""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

USER = "nobody"
DATABASE = "nsprof"


class MyServerError(AssertionError):
    pass


class MyServer:
    def __init__(self):
        for tool in ("/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb-admin"):
            if not os.path.exists(tool):
                raise MyServerError("MariaDB is not installed (no %s): tools/setup.sh --test "
                                    "installs it" % tool)
        self.dir = tempfile.mkdtemp(prefix="nsprof-my-")
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(self.dir, "server.log")
        ids = pwd.getpwnam(USER)
        os.chown(self.dir, ids.pw_uid, ids.pw_gid)
        self.proc = None

    def admin(self, *args):
        return subprocess.run(["mariadb-admin", "--no-defaults", "--socket=" + self.socket,
                               "-u", "root", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60)

    def log_text(self):
        return open(self.log).read() if os.path.exists(self.log) else "(no log)"

    def start(self):
        p = subprocess.run(["runuser", "-u", USER, "--", "mariadb-install-db", "--no-defaults",
                            "--datadir=" + self.data, "--user=" + USER,
                            "--auth-root-authentication-method=socket", "--skip-test-db"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        if p.returncode != 0:
            raise MyServerError("mariadb-install-db failed:\n" + p.stdout)
        self.proc = subprocess.Popen(
            ["runuser", "-u", USER, "--", "mariadbd", "--no-defaults", "--datadir=" + self.data,
             "--socket=" + self.socket, "--skip-networking", "--log-error=" + self.log,
             "--pid-file=" + os.path.join(self.dir, "mysqld.pid"), "--innodb-flush-log-at-trx-commit=0",
             "--skip-log-bin"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Ready when it answers on its socket (or failed when it exited).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MyServerError("mariadbd exited (%d):\n%s" % (self.proc.returncode,
                                                                   self.log_text()))
            if os.path.exists(self.socket) and self.admin("ping").returncode == 0:
                break
            time.sleep(0.05)  # polling readiness, not waiting for an outcome
        else:
            self.stop()
            raise MyServerError("mariadbd did not answer in 120 s:\n" + self.log_text())
        p = subprocess.run(["mariadb", "--no-defaults", "--socket=" + self.socket, "-u", "root",
                            "-e", "CREATE DATABASE IF NOT EXISTS %s" % DATABASE],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        if p.returncode != 0:
            self.stop()
            raise MyServerError("cannot create the test database:\n" + p.stdout)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.admin("shutdown")
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
