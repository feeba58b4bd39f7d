"""benchlib — what the bench/ scripts share: how each tool wraps a command, and quartiles.

A configuration is (wrap, env): wrap(cmd) gives the command line to run, env its
environment (no NSPROF_ variable of the caller's leaks into it).
"""
import os
import random
import shutil
import statistics
import subprocess
import sys


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("NSPROF")}


def unprofiled():
    return (lambda cmd: cmd, clean_env())


def nsprof_record(build, out, *flags):
    nsprof = os.path.join(build, "nsprof")
    return (lambda cmd: [nsprof, "record", "-q", "-o", out, *flags, "--"] + cmd, clean_env())


def nsprof_preload(build, out, **settings):
    """LD_PRELOAD=libnsprof.so with NSPROF_<NAME>=value for each setting."""
    env = dict(clean_env(), LD_PRELOAD=os.path.join(build, "libnsprof.so"), NSPROF_OUTPUT=out,
               NSPROF_LOG="quiet")
    env.update({"NSPROF_" + k.upper(): v for k, v in settings.items()})
    return (lambda cmd: cmd, env)


def perf_record(tmp, freq=999):
    """perf record --call-graph dwarf, or None when perf is not installed."""
    if not shutil.which("perf"):
        return None
    data = os.path.join(tmp, "perf.data")
    return (lambda cmd: ["perf", "record", "-q", "-F", str(freq), "--call-graph", "dwarf",
                         "-o", data, "--"] + cmd, clean_env())


def quartiles(xs):
    """(first quartile, median, third quartile)."""
    xs = sorted(xs)
    if len(xs) < 4:
        return xs[0], statistics.median(xs), xs[-1]
    q = statistics.quantiles(xs, n=4)
    return q[0], q[1], q[2]


def interleaved_rounds(cs, reps, run_one, tmp, label):
    """Runs every configuration of cs ({name: (wrap, env)}) once per round, in a fresh random
    order each round (these VMs drift: neighbours in time share the drift), emptying tmp
    after each run; returns {name: [run_one(wrap, env) per round]}."""
    runs = {name: [] for name in cs}
    for r in range(reps):
        order = list(cs)
        random.shuffle(order)
        for name in order:
            wrap, env = cs[name]
            runs[name].append(run_one(wrap, env))
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
        print("%s: round %d/%d done" % (label, r + 1, reps), file=sys.stderr)
    return runs


def run_matching(cmd, env, pattern, label):
    """Runs cmd (output read to its end: a detached agent holds it until its profile is
    complete) and returns the match of pattern in its output; exits naming the command
    when it fails or prints no such line."""
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    m = pattern.search(p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("%s: %s failed (%d):\n%s" % (label, " ".join(cmd), p.returncode,
                                              p.stdout[-2000:]))
    return m
