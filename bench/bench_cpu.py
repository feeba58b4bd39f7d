#!/usr/bin/env python3
"""bench_cpu — sampling overhead of nsprof next to perf and gperftools, in one run.

Runs bench/cpu_bound (fixed CPU work, -O2, no frame pointers) unprofiled and under each
profiler. These VMs are noisy (the same unprofiled run varies by 15%), so every round runs
every configuration once, in a fresh random order, and each profiled run is compared with
the unprofiled run *of its own round*; the report gives the median of those per-round
ratios (and their interquartile range), for the workload's own wall time and its process
CPU time (every thread of the process: in nsprof's in-process mode its writer thread counts
against nsprof), and for the CPU of the whole process tree (perf record's own process, and
nsprof record, which is the agent, included; the agent LD_PRELOAD alone starts is detached,
so its CPU, from the profile's agent_session_cpu_ns counter, is added). Also: samples taken,
CPU cost per sample (from the median CPU ratio), profile bytes per sample, the agent's CPU
(start-up included: reading the CFI of every module with samples).

At 999 Hz the overhead (a few %) is within the noise of one run (±15% here), so the same
profilers also run at higher rates, where the cost per sample stands out; the cost at 999 Hz
is that cost per sample times 999 per CPU-second ("projected" column).

    bench/bench_cpu.py --build build [--reps 15] [--units 30] [--json out.json]
    bench/bench_cpu.py --build build --freqs --stack-freq 19999 --stack-sizes 4K 8K 16K 32K

Needs linux-perf and google-perftools (tools/setup.sh --bench installs them).
"""
import argparse
import random
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile

FREQ = 999


def run(cmd):
    """Runs cmd; returns the workload's wall and process CPU, and the CPU of the whole
    process tree (the profiler's own processes included, e.g. perf record). Output goes
    through a pipe read to its end: a detached agent holds the program's stderr until its
    profile is complete, as it does for a user's `app 2>log`."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = p.stdout.read().decode(errors="replace")
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status  # reaped here (for its rusage), not by Popen
    m = re.search(r"cpu_bound: wall=([\d.]+) cpu=([\d.]+)", text)
    if status != 0 or not m:
        sys.exit("bench_cpu: %s failed (%d):\n%s" % (" ".join(cmd), status, text[-2000:]))
    return float(m.group(1)), float(m.group(2)), ru.ru_utime + ru.ru_stime


def nsprof_samples(nsprof, path):
    """Samples in the profile, and the agent's CPU seconds (agent_session_cpu_ns; 0 for the
    in-process mode, whose writer thread is in the process's own CPU time)."""
    out = subprocess.run([nsprof, "report", "--json", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, check=True).stdout
    doc = json.loads(out)
    agent_ns = max((p.get("counters", {}).get("agent_session_cpu_ns", 0)
                    for p in doc["processes"]), default=0)
    return sum(e["samples"] for e in doc["events"]), agent_ns / 1e9


def perf_samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "period"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip()), 0.0


def gperf_samples(path):
    """Counts samples in a gperftools CPU profile (binary: header, records, trailer)."""
    data = open(path, "rb").read()
    words = struct.unpack("<%dQ" % (len(data) // 8), data[: len(data) // 8 * 8])
    i, total = 5, 0  # header: 0, 3, 0, period, 0
    while i + 1 < len(words):
        count, depth = words[i], words[i + 1]
        if count == 0 and depth == 1:
            break  # trailer
        total += count
        i += 2 + depth
    return total, 0.0


class Config:
    def __init__(self, name, wrap, samples=None, profile=None):
        self.name, self.wrap, self.samples, self.profile = name, wrap, samples, profile
        self.wall, self.cpu, self.tree, self.nsamples, self.bytes = [], [], [], [], []
        self.agent = []  # CPU seconds of nsprof's agent (agent_session_cpu_ns)
        self.detached = False  # the agent is not in the process tree (LD_PRELOAD alone)


def configs(args, tmp):
    nsprof = os.path.join(args.build, "nsprof")
    out = os.path.join(tmp, "p.nsp")

    def nsprof_cfg(name, freq, *flags):
        return Config(name, lambda cmd: [nsprof, "record", "-q", "-F", str(freq), "-o", out,
                                         "--if-exists=refuse", *flags, "--"] + cmd,
                      lambda: nsprof_samples(nsprof, out), out)

    def preload_cfg(name, freq, **settings):
        env = ["env", "LD_PRELOAD=" + os.path.join(args.build, "libnsprof.so"),
               "NSPROF_OUTPUT=" + out, "NSPROF_FREQ=%d" % freq, "NSPROF_LOG=quiet"]
        env += ["NSPROF_%s=%s" % (k.upper(), v) for k, v in settings.items()]
        c = Config(name, lambda cmd: env + cmd, lambda: nsprof_samples(nsprof, out), out)
        c.detached = settings.get("agent") != "off"
        return c

    # A second unprofiled configuration measures the noise itself (an A/A comparison).
    cs = [Config("unprofiled", lambda cmd: cmd),
          Config("unprofiled again (noise)", lambda cmd: cmd)]
    for freq in args.freqs:
        cs.append(nsprof_cfg("nsprof perf %d Hz" % freq, freq, "--mechanism=perf"))
    for size in args.stack_sizes:
        cs.append(nsprof_cfg("nsprof perf %d Hz, stack %s" % (args.stack_freq, size),
                             args.stack_freq, "--mechanism=perf", "--stack-copy=" + size))
    cs.append(nsprof_cfg("nsprof signal %d Hz" % FREQ, FREQ, "--mechanism=signal"))
    cs.append(preload_cfg("nsprof LD_PRELOAD perf %d Hz (detached agent)" % FREQ, FREQ,
                          mechanism="perf"))
    cs.append(preload_cfg("nsprof in-process perf %d Hz (before: agent off)" % FREQ, FREQ,
                          mechanism="perf", agent="off"))
    if shutil.which("perf"):
        pd = os.path.join(tmp, "perf.data")
        for freq in args.freqs:
            cs.append(Config("perf record --call-graph dwarf %d Hz" % freq,
                             lambda cmd, f=freq: ["perf", "record", "-q", "-F", str(f),
                                                  "--call-graph", "dwarf", "-o", pd, "--"] + cmd,
                             lambda: perf_samples(pd), pd))
    libprofiler = "/usr/lib/x86_64-linux-gnu/libprofiler.so.0"
    if os.path.exists(libprofiler):
        gp = os.path.join(tmp, "gperf.prof")
        env_cmd = ["env", "LD_PRELOAD=" + libprofiler, "CPUPROFILE=" + gp,
                   "CPUPROFILE_FREQUENCY=%d" % FREQ]
        cs.append(Config("gperftools libprofiler %d Hz" % FREQ, lambda cmd: env_cmd + cmd,
                         lambda: gperf_samples(gp), gp))
    return cs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--units", type=int, default=30)
    ap.add_argument("--stack-sizes", nargs="*", default=["4K", "8K", "32K"])
    ap.add_argument("--stack-freq", type=int, default=FREQ,
                    help="rate of the stack-copy-size configurations (a high one shows the "
                         "copy's cost above the noise)")
    ap.add_argument("--freqs", nargs="*", type=int, default=[FREQ, 4999, 19999],
                    help="rates for nsprof perf and perf record: the overhead per sample is "
                         "measured where it stands out of the noise, then scaled to 999 Hz")
    ap.add_argument("--json")
    args = ap.parse_args()
    workload = os.path.join(args.build, "bench", "cpu_bound")
    with tempfile.TemporaryDirectory() as tmp:
        cs = configs(args, tmp)
        for rep in range(args.reps):
            order = list(cs)
            random.shuffle(order)
            for c in order:
                if c.profile and os.path.exists(c.profile):
                    os.unlink(c.profile)
                wall, cpu, tree = run(c.wrap([workload, str(args.units)]))
                c.wall.append(wall)
                c.cpu.append(cpu)
                c.tree.append(tree)
                if c.samples:
                    n, agent = c.samples()
                    c.nsamples.append(n)
                    c.agent.append(agent)
                    if c.detached:  # not in the process tree: count it there
                        c.tree[-1] += agent
                    c.bytes.append(os.path.getsize(c.profile))
            print("round %d/%d done" % (rep + 1, args.reps), file=sys.stderr)
    base = cs[0]
    base_cpu = statistics.median(base.cpu)
    rows = []
    for c in cs:
        def ratios(mine, theirs):
            r = sorted(m / t for m, t in zip(mine, theirs))
            q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
            return statistics.median(r), q[0], q[2]
        wall_r, _, _ = ratios(c.wall, base.wall)
        cpu_r, cpu_q1, cpu_q3 = ratios(c.cpu, base.cpu)
        tree_r, _, _ = ratios(c.tree, base.tree)
        row = {"config": c.name, "wall_ratio": wall_r, "cpu_ratio": cpu_r, "cpu_q1": cpu_q1,
               "cpu_q3": cpu_q3, "tree_ratio": tree_r, "cpu_s": statistics.median(c.cpu),
               "runs_wall": c.wall, "runs_cpu": c.cpu, "runs_tree": c.tree}
        if c.nsamples:
            n = statistics.median(c.nsamples)
            row.update(samples=n, samples_per_cpu_s=n / row["cpu_s"],
                       us_per_sample=(cpu_r - 1) * base_cpu / n * 1e6 if n else None,
                       bytes_per_sample=statistics.median(c.bytes) / n if n else None,
                       agent_s=statistics.median(c.agent) if c.agent else 0.0)
            per = [a / k * 1e6 for a, k in zip(c.agent, c.nsamples) if a and k]
            row["agent_us_per_sample"] = statistics.median(per) if per else None
        rows.append(row)
    print("unprofiled: median process CPU %.3f s over %d rounds" % (base_cpu, args.reps))
    print()
    for r in rows:
        tree_extra = (r["tree_ratio"] - 1) * base_cpu
        if r.get("samples"):
            r["tree_us_per_sample"] = tree_extra / r["samples"] * 1e6
            r["projected_999hz"] = r["tree_us_per_sample"] * 1e-6 * FREQ
    print("| configuration | wall ratio | process CPU ratio (IQR) | CPU incl. profiler "
          "processes | samples | samples/CPU-s | µs CPU per sample (incl. profiler processes) "
          "| projected overhead at 999 Hz | bytes/sample | agent CPU s (µs per sample) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def f(key, fmt):
            return fmt % r[key] if r.get(key) is not None else "–"
        agent = ("%.3f (%.1f)" % (r["agent_s"], r["agent_us_per_sample"])
                 if r.get("agent_us_per_sample") else "–")
        print("| %s | %s | %s (%s–%s) | %s | %s | %s | %s | %s | %s | %s |" % (
            r["config"], f("wall_ratio", "%.3f"), f("cpu_ratio", "%.3f"), f("cpu_q1", "%.3f"),
            f("cpu_q3", "%.3f"), f("tree_ratio", "%.3f"), f("samples", "%.0f"),
            f("samples_per_cpu_s", "%.0f"), f("tree_us_per_sample", "%.1f"),
            ("%.1f%%" % (r["projected_999hz"] * 100)) if "projected_999hz" in r else "–",
            f("bytes_per_sample", "%.0f"), agent))
    # The agent's CPU is a fixed start-up (its own loading, the CFI of the modules it meets)
    # plus a cost per sample: the slope between the lowest and highest nsprof perf rates
    # separates the two, which one rate's ratio cannot on a 1 s run.
    perf_rows = [(f, r) for f in args.freqs for r in rows
                 if r["config"] == "nsprof perf %d Hz" % f and r.get("samples")]
    if len(perf_rows) >= 2:
        (f0, lo), (f1, hi) = perf_rows[0], perf_rows[-1]
        slope = (hi["agent_s"] - lo["agent_s"]) / (hi["samples"] - lo["samples"])
        fixed = lo["agent_s"] - slope * lo["samples"]
        print()
        print("agent (nsprof record): %.1f µs per sample (slope between %d and %d Hz), "
              "%.1f ms fixed per session" % (slope * 1e6, f0, f1, fixed * 1e3))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
