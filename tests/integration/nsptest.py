"""nsptest — what the integration tests share: running a program under `nsprof record`,
reading the report back as JSON, and tolerances derived from the sample count.

The paths come from ctest (tests/integration/CMakeLists.txt):
  NSPROF            the nsprof executable
  NSPROF_WORKLOADS  the directory of the ground-truth workloads
  NSPROF_TEST_MODE  record (default): through `nsprof record`; preload: the same tests with
                    LD_PRELOAD=libnsprof.so and NSPROF_* variables alone, so the agent the
                    program starts itself is held to the same answers
"""
import functools
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zlib

NSPROF = os.environ.get("NSPROF", "nsprof")
WORKLOADS = os.environ.get("NSPROF_WORKLOADS", ".")
MODE = os.environ.get("NSPROF_TEST_MODE", "record")
PRELOAD = MODE == "preload"
LIBNSPROF = os.path.join(os.path.dirname(os.path.abspath(NSPROF)), "libnsprof.so")


def record_only(reason):
    """Skips a test in preload mode: it checks what only `nsprof record` does."""
    return unittest.skipIf(PRELOAD, "nsprof record only: " + reason)


@functools.lru_cache(maxsize=None)
def setting_variables():
    """{option: NSPROF_ variable} for every setting, read from `nsprof record --help` (the
    settings table is the one source of both names)."""
    text = subprocess.run([NSPROF, "record", "--help"], stdout=subprocess.PIPE, text=True,
                          check=True).stdout
    names, pending = {}, []
    for line in text.splitlines():
        m = re.match(r"\s+(?:-(\w), )?--([\w-]+)=", line)
        if m:
            pending = ["-" + m.group(1)] if m.group(1) else []
            pending.append("--" + m.group(2))
        m = re.search(r"\(env (NSPROF_\w+), default", line)
        if m and pending:
            for opt in pending:
                names[opt] = m.group(1)
            pending = []
    return names


def preload_env(flags):
    """The NSPROF_ variables that say what `nsprof record FLAGS` says."""
    names, env, i = setting_variables(), {}, 0
    while i < len(flags):
        flag = flags[i]
        if "=" in flag and flag.startswith("--"):
            opt, value = flag.split("=", 1)
            i += 1
        else:
            opt, value = flag, flags[i + 1]
            i += 2
        if opt not in names:
            raise AssertionError("no environment variable for record option " + opt)
        env[names[opt]] = value
    return env


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
        if os.environ.get("NSPROF_TEST_KEEP"):  # for a post-mortem of a failure
            print("\n(kept %s)" % self.dir, file=sys.stderr)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def record(self, cmd, *flags, env=None, name="p.nsp", check=True, timeout=300):
        out = os.path.join(self.dir, name)
        full_env = dict(os.environ)
        full_env.update(env or {})
        if PRELOAD:
            # The agent keeps the program's stderr open until it has written the last
            # profile: reading stderr to its end waits for it.
            full_env.update(preload_env(flags))
            full_env.update({"LD_PRELOAD": LIBNSPROF, "NSPROF_OUTPUT": out})
            argv = list(cmd)
        else:
            argv = [NSPROF, "record", "-o", out, *flags, "--", *cmd]
        proc = subprocess.run(argv, env=full_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, cwd=self.dir)
        rec = Recording(proc, self.dir, out)
        if check:
            self.assertEqual(proc.returncode, 0,
                             "nsprof record %s failed:\n%s%s" % (cmd, proc.stdout, proc.stderr))
            self.assertTrue(rec.files(), "no profile written:\n" + proc.stderr)
        return rec

    def assertRecordSaid(self, rec, text, msg=None):
        """`nsprof record` repeats the profile's warnings on its stderr when the program ends;
        a program started with LD_PRELOAD alone has them in its profile only (its agent does
        not write to the program's terminal after it ended)."""
        if not PRELOAD:
            self.assertIn(text, rec.stderr, msg)

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


def zlib_streams(data):
    """Every zlib stream that starts somewhere in data, inflated: a .nsp is compressed in
    chunks, so what it holds is not in its raw bytes."""
    view, out, i = memoryview(data), [], data.find(b"\x78")
    while i != -1 and i + 1 < len(data):
        if (data[i] * 256 + data[i + 1]) % 31 == 0:
            try:
                chunk = zlib.decompressobj().decompress(view[i:], 1 << 27)
                if chunk:
                    out.append(chunk)
            except zlib.error:
                pass
        i = data.find(b"\x78", i + 1)
    return out


def profile_texts(paths):
    """The files' bytes and every zlib stream inflated out of them: where a test looks for
    what must (not) be in a profile."""
    texts = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        texts.append(data)
        texts.extend(zlib_streams(data))
    return texts
