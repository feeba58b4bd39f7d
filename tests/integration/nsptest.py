"""nsptest — what the integration tests share: running a program under `nsprof record`,
reading the report back as JSON, and tolerances derived from the sample count.

The paths come from ctest (tests/integration/CMakeLists.txt):
  NSPROF            the nsprof executable
  NSPROF_WORKLOADS  the directory of the ground-truth workloads
"""
import glob
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest

NSPROF = os.environ.get("NSPROF", "nsprof")
WORKLOADS = os.environ.get("NSPROF_WORKLOADS", ".")


def workload(name):
    return os.path.join(WORKLOADS, name)


class Recording:
    """One `nsprof record` run: its exit status, output and the profiles it wrote."""

    def __init__(self, proc, directory, out):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.dir = directory
        self.out = out

    def files(self):
        """Every profile of the session: the named one first, then the others sorted."""
        stem, ext = os.path.splitext(self.out)
        others = sorted(glob.glob(stem + ".*.*" + ext))
        return ([self.out] if os.path.exists(self.out) else []) + others


class NsprofTest(unittest.TestCase):
    """A test case with a private directory for its profiles."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nsprof-it-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def record(self, cmd, *flags, env=None, name="p.nsp", check=True, timeout=300):
        out = os.path.join(self.dir, name)
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run([NSPROF, "record", "-o", out, *flags, "--", *cmd], env=full_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, cwd=self.dir)
        rec = Recording(proc, self.dir, out)
        if check:
            self.assertEqual(proc.returncode, 0,
                             "nsprof record %s failed:\n%s%s" % (cmd, proc.stdout, proc.stderr))
            self.assertTrue(rec.files(), "no profile written:\n" + proc.stderr)
        return rec

    def report(self, files, *args, check=True):
        proc = subprocess.run([NSPROF, "report", "--json", "--top", "0", *args, *files],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check:
            self.assertEqual(proc.returncode, 0, "nsprof report failed:\n" + proc.stderr)
            return json.loads(proc.stdout)
        return proc

    def folded(self, files, *args):
        proc = subprocess.run([NSPROF, "export", "--format", "folded", *args, *files],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, "nsprof export failed:\n" + proc.stderr)
        stacks = {}
        for line in proc.stdout.splitlines():
            stack, _, count = line.rpartition(" ")
            stacks[stack] = int(count)
        return stacks


def event(doc, name="cpu"):
    for e in doc["events"]:
        if e["name"] == name:
            return e
    raise AssertionError("no %s event in the report (events: %s)" %
                         (name, [e["name"] for e in doc["events"]]))


def function(ev, name, module=None):
    """The function entry (by total) named `name`, or None."""
    for f in ev["functions_by_total"]:
        if f["name"] == name and (module is None or f["module"] == module):
            return f
    return None


def weight(ev, name, kind="total"):
    f = function(ev, name)
    return f[kind + "_weight"] if f else 0


def samples(ev, name, kind="total"):
    f = function(ev, name)
    return f[kind + "_samples"] if f else 0


def binomial_tolerance(p, n, sigmas=4.0, slack=0.005):
    """How far an observed share may be from p after n samples: `sigmas` binomial standard
    deviations, plus a small allowance for what sampling cannot see (the loop around the
    work, timer edges). Shares are fractions (0..1)."""
    if n <= 0:
        return 1.0
    return sigmas * math.sqrt(p * (1 - p) / n) + slack
