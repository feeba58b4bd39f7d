"""Issue 9: CPython's own tests of threads, processes, signals, descriptors and mmap
(Debian's libpython3.11-testsuite) pass under the preloaded library exactly as they pass
without it. They check what a library inside the interpreter must not change: thread
counts, fork from threads, pthread_exit of the last thread, which descriptors a child
inherits, SIGCHLD and waitpid(-1), signal delivery, interrupted system calls.

Each test file of the suite is run twice, by `python3 -m test` with its --junit-xml
report: plainly, then with LD_PRELOAD=libnsprof.so (cpu sampling, every allocation, I/O
and locks). Every test case that passes plainly must pass profiled; every process
that ran profiled must have left a profile (libnspidlog.so, preloaded beside it, logs
each process image and fork child, whatever user it runs as); and `nsprof report`
must read every profile.

pidlog counts the processes that ran: a process that forked gets a "fork" line, each
image that started (a program, an exec) an "image" line, and each line needs a profile of
that pid. An agent that runs nsprof's own executable is not counted; one that the
library would start with fork() after the program's start would be (pidlog's fork
handler cannot tell it from the program's children)."""
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

import test_no_thread_in_target as agent  # its helpers: the processes of a run
from nsptest import NSPROF, NsprofTest, workload

PYTHON = "/usr/bin/python3"
SUITE_DIR = "/usr/lib/python3.11/test"
SUITE_FILES = ("test_threading", "test_subprocess", "test_signal", "test_os", "test_fork1",
               "test_mmap", "test_thread")
NSPROF_PATH = os.path.abspath(shutil.which(NSPROF) or NSPROF)
LIBNSPROF = os.path.join(os.path.dirname(NSPROF_PATH), "libnsprof.so")
PIDLOG = workload("libnspidlog.so")
# Everything interposed at once. Measured here: alloc=full costs test_subprocess 45 s
# instead of 27 s plain (37 s with alloc=sample), test_signal 50 s instead of 47 s.
SETTINGS = {"NSPROF_ALLOC": "full", "NSPROF_IO": "on", "NSPROF_LOCKS": "on"}
# python -m test ends a test file that runs longer than this (faulthandler, exit); our own
# timeout kills the whole process group a little later.
FILE_TIMEOUT_S = 150
KILL_TIMEOUT_S = FILE_TIMEOUT_S + 60
NPROC_LIMIT = 4096  # not enforced for root: the timeouts above are what bound a run


def limit_processes():
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_LIMIT, NPROC_LIMIT))


class SuiteRun:
    """One `python3 -m test FILE`: its outcome per test case, its summary, its output."""

    def __init__(self, name, profiled, returncode, output, cases, elapsed, timed_out):
        self.name = name
        self.profiled = profiled
        self.returncode = returncode
        self.output = output
        self.cases = cases
        self.elapsed = elapsed
        self.timed_out = timed_out
        m = re.search(r"Tests result: ([A-Z_ ,]+)", output)
        self.result = m.group(1).strip() if m else "no result (%s)" % (
            "killed after %d s" % KILL_TIMEOUT_S if timed_out else "exit %s" % returncode)

    def tail(self, lines=40):
        return "\n".join(self.output.splitlines()[-lines:])


def outcomes(xml_path):
    """{test id: "ok" | "skipped" | "failure" | "error"} from python -m test's JUnit XML
    (subtests of one test are folded into the worst outcome)."""
    rank = {"ok": 0, "skipped": 1, "failure": 2, "error": 3}
    cases = {}
    if not os.path.exists(xml_path):
        return cases
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        name = case.get("name")
        outcome = "ok"
        for kind in ("skipped", "failure", "error"):
            if case.find(kind) is not None:
                outcome = kind
        if rank[outcome] >= rank[cases.get(name, "ok")]:
            cases[name] = outcome
    return cases


class CPythonSuite(NsprofTest):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(SUITE_DIR):
            raise unittest.SkipTest("%s is missing: install Debian's libpython3.11-testsuite "
                                    "(tools/setup.sh --test does)" % SUITE_DIR)
        if not os.path.exists(PYTHON):
            raise unittest.SkipTest("Debian's python3 is not installed")
        for f in (LIBNSPROF, PIDLOG):
            if not os.path.exists(f):
                raise unittest.SkipTest("%s was not built" % f)

    def run_suite(self, name, profiled):
        tag = "nsprof" if profiled else "plain"
        xml_path = os.path.join(self.dir, "%s-%s.xml" % (name, tag))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NSPROF") and k != "LD_PRELOAD"}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if profiled:
            env.update(SETTINGS)
            # Children that switch to another user (subprocess's user=, group=) log too.
            os.chmod(self.dir, 0o711)
            fd = os.open(self.out(name) + ".pids", os.O_CREAT | os.O_WRONLY, 0o666)
            os.fchmod(fd, 0o666)
            os.close(fd)
            # pidlog first: the first library listed is initialized last, after nsprof's.
            env["LD_PRELOAD"] = "%s:%s" % (PIDLOG, LIBNSPROF)
            env["NSPROF_OUTPUT"] = self.out(name)
            env["NSPIDLOG"] = self.out(name) + ".pids"
        work = os.path.join(self.dir, "cwd-%s-%s" % (name, tag))
        os.makedirs(work)
        # -v names each test case as it starts: the last one named is the one that hung.
        argv = [PYTHON, "-m", "test", "-v", "--junit-xml", xml_path,
                "--timeout", str(FILE_TIMEOUT_S), name]
        start = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=work, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", start_new_session=True,
                                preexec_fn=limit_processes)
        timed_out = False
        try:
            output, _ = proc.communicate(timeout=KILL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                output, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                output = "(output held open by a process outside the group)"
        elapsed = time.monotonic() - start
        # Whatever of the group is left (a test's stray child) ends with the run.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        return SuiteRun(name, profiled, proc.returncode, output or "", outcomes(xml_path),
                        elapsed, timed_out)

    @staticmethod
    def runs_nsprof(pid):
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            return False
        return os.path.dirname(exe) == os.path.dirname(NSPROF_PATH)

    def out(self, name):
        return os.path.join(self.dir, name + ".nsp")

    def profiles(self, name):
        out = self.out(name)
        stem, ext = os.path.splitext(out)
        return ([out] if os.path.exists(out) else []) + sorted(glob.glob(stem + ".*.*" + ext))

    def logged_processes(self, name):
        """{pid: [(how, executable)...]} of every process image and fork child pidlog saw,
        apart from nsprof's own programs (an agent that runs from nsprof's build
        directory)."""
        found = {}
        with open(self.out(name) + ".pids") as f:
            for line in f:
                pid, how, exe = line.rstrip("\n").split(" ", 2)
                if os.path.dirname(exe) != os.path.dirname(NSPROF_PATH):
                    found.setdefault(int(pid), []).append((how, exe))
        return found

    def read_profiles(self, files, problems):
        """{pid: number of its profiles}; notes in `problems` every profile that the report
        cannot read."""
        proc = subprocess.run([NSPROF_PATH, "report", "--json", "--top", "1", *files],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        if proc.returncode == 0:
            count = {}
            for p in json.loads(proc.stdout)["processes"]:
                count[p["pid"]] = count.get(p["pid"], 0) + 1
            return count
        bad, count = [], {}
        for f in files:
            one = subprocess.run([NSPROF_PATH, "report", "--json", "--top", "1", f],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 timeout=120)
            if one.returncode != 0:
                bad.append("%s: %s" % (os.path.basename(f), one.stderr.strip()[:200]))
            else:
                pid = json.loads(one.stdout)["processes"][0]["pid"]
                count[pid] = count.get(pid, 0) + 1
        problems.append("nsprof report cannot read %d of %d profiles:\n%s"
                        % (len(bad), len(files), "\n".join(bad[:20]) or proc.stderr[:2000]))
        return count

    def check(self, name):
        plain = self.run_suite(name, profiled=False)
        if not plain.cases:
            self.skipTest("%s gives no result without nsprof here (%s):\n%s"
                          % (name, plain.result, plain.tail()))
        before = agent.pids_now()
        prof = self.run_suite(name, profiled=True)
        # The agent may still be writing the last profiles: wait (boundedly) for it.
        left = agent.wait_for_nsprof_to_end(before, self.dir)
        print("\n%s: %d test cases; without nsprof %s in %.0f s, with it %s in %.0f s"
              % (name, len(plain.cases), plain.result, plain.elapsed, prof.result,
                 prof.elapsed), flush=True)
        problems = []

        # The same tests pass.
        broken = sorted(t for t, o in plain.cases.items()
                        if o == "ok" and prof.cases.get(t) in ("failure", "error"))
        unrun = sorted(t for t, o in plain.cases.items()
                       if o == "ok" and t not in prof.cases)
        newly_skipped = sorted(t for t, o in plain.cases.items()
                               if o == "ok" and prof.cases.get(t) == "skipped")
        if broken or unrun or prof.timed_out or (plain.result == "SUCCESS" != prof.result):
            problems.append(
                "python3 -m test %s under LD_PRELOAD=libnsprof.so (%s): %s (without nsprof: "
                "%s)\npassed without nsprof, failed with it: %s\n"
                "passed without nsprof, never finished with it: %d test(s)%s\n"
                "--- end of the profiled run's output:\n%s"
                % (name, " ".join("%s=%s" % kv for kv in SETTINGS.items()), prof.result,
                   plain.result, ", ".join(broken) or "none", len(unrun),
                   (": " + ", ".join(unrun[:10])) if unrun else "", prof.tail()))
        if newly_skipped:
            problems.append("skipped only under nsprof: %s" % ", ".join(newly_skipped))
        # (Only nsprof's own programs: a test's stray child in a session of its own may
        # outlive the suite with or without nsprof.)
        left = [(pid, cmd) for pid, cmd in left if self.runs_nsprof(pid)]
        if left:
            problems.append("%.0f s after the suite ended, nsprof's processes are still "
                            "there: %s" % (agent.AGENT_GRACE_S, left))

        # Every process got a profile, and every profile is readable.
        files = self.profiles(name)
        profiled = self.read_profiles(files, problems) if files else {}
        logged = self.logged_processes(name)
        if not logged:
            problems.append("libnspidlog.so logged no process: is it preloaded?")
        missing = ["pid %d: %s; %d profile(s)" % (pid, ", then ".join("%s %s" % e for e in seen),
                                                  profiled.get(pid, 0))
                   for pid, seen in sorted(logged.items()) if profiled.get(pid, 0) < len(seen)]
        if missing:
            problems.append("%d of %d processes that ran lack a profile (%d profiles in all):"
                            "\n%s" % (len(missing), len(logged), len(files),
                                      "\n".join(missing[:20])))
        if problems:
            self.fail("%s:\n%s" % (name, "\n\n".join(problems)))


def _add(name):
    def test(self):
        self.check(name)
    test.__name__ = name
    test.__doc__ = "python3 -m test %s: the same results with and without nsprof" % name
    setattr(CPythonSuite, name, test)


for _name in SUITE_FILES:
    _add(_name)


if __name__ == "__main__":
    unittest.main()
