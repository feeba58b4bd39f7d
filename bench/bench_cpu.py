#!/usr/bin/env python3
"""bench_cpu — sampling overhead of nsprof next to perf and gperftools, in one run.

Runs bench/cpu_bound (fixed CPU work, -O2, no frame pointers) unprofiled and under each
profiler, interleaved round-robin so that machine noise hits every configuration alike, and
reports medians: the workload's own wall time and process CPU time (every thread of the
process, so nsprof's writer thread counts against nsprof), their ratio to the unprofiled run,
samples taken, CPU cost per sample, and profile bytes per sample.

    bench/bench_cpu.py --build build [--reps 5] [--units 60] [--json out.json]

Needs linux-perf and google-perftools (tools/setup.sh --bench installs them).
"""
import argparse
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
    process tree (the profiler's own processes included, e.g. perf record)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        out.seek(0)
        text = out.read()
    m = re.search(r"cpu_bound: wall=([\d.]+) cpu=([\d.]+)", text)
    if status != 0 or not m:
        sys.exit("bench_cpu: %s failed (%d):\n%s" % (" ".join(cmd), status, text[-2000:]))
    return float(m.group(1)), float(m.group(2)), ru.ru_utime + ru.ru_stime


def nsprof_samples(nsprof, path):
    out = subprocess.run([nsprof, "report", "--json", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, check=True).stdout
    doc = json.loads(out)
    return sum(e["samples"] for e in doc["events"])


def perf_samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "period"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


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
    return total


class Config:
    def __init__(self, name, wrap, samples=None, profile=None):
        self.name, self.wrap, self.samples, self.profile = name, wrap, samples, profile
        self.wall, self.cpu, self.tree, self.nsamples, self.bytes = [], [], [], [], []


def configs(args, tmp):
    nsprof = os.path.join(args.build, "nsprof")
    lib = os.path.join(args.build, "libnsprof.so")
    out = os.path.join(tmp, "p.nsp")

    def nsprof_cfg(name, *flags):
        return Config(name, lambda cmd: [nsprof, "record", "-q", "-F", str(FREQ), "-o", out,
                                         "--if-exists=refuse", *flags, "--"] + cmd,
                      lambda: nsprof_samples(nsprof, out), out)

    cs = [Config("unprofiled", lambda cmd: cmd)]
    cs.append(nsprof_cfg("nsprof perf (stack 16K)", "--mechanism=perf"))
    for size in args.stack_sizes:
        cs.append(nsprof_cfg("nsprof perf (stack %s)" % size, "--mechanism=perf",
                             "--stack-copy=" + size))
    cs.append(nsprof_cfg("nsprof signal", "--mechanism=signal"))
    if shutil.which("perf"):
        pd = os.path.join(tmp, "perf.data")
        cs.append(Config("perf record --call-graph dwarf",
                         lambda cmd: ["perf", "record", "-q", "-F", str(FREQ), "--call-graph",
                                      "dwarf", "-o", pd, "--"] + cmd,
                         lambda: perf_samples(pd), pd))
    libprofiler = "/usr/lib/x86_64-linux-gnu/libprofiler.so.0"
    if os.path.exists(libprofiler):
        gp = os.path.join(tmp, "gperf.prof")
        env_cmd = ["env", "LD_PRELOAD=" + libprofiler, "CPUPROFILE=" + gp,
                   "CPUPROFILE_FREQUENCY=%d" % FREQ]
        cs.append(Config("gperftools libprofiler", lambda cmd: env_cmd + cmd,
                         lambda: gperf_samples(gp), gp))
    return cs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--units", type=int, default=60)
    ap.add_argument("--stack-sizes", nargs="*", default=["4K", "8K", "32K"])
    ap.add_argument("--json")
    args = ap.parse_args()
    workload = os.path.join(args.build, "bench", "cpu_bound")
    with tempfile.TemporaryDirectory() as tmp:
        cs = configs(args, tmp)
        for rep in range(args.reps):
            for c in cs:
                if c.profile and os.path.exists(c.profile):
                    os.unlink(c.profile)
                wall, cpu, tree = run(c.wrap([workload, str(args.units)]))
                c.wall.append(wall)
                c.cpu.append(cpu)
                c.tree.append(tree)
                if c.samples:
                    c.nsamples.append(c.samples())
                    c.bytes.append(os.path.getsize(c.profile))
            print("rep %d/%d done" % (rep + 1, args.reps), file=sys.stderr)
    base_wall = statistics.median(cs[0].wall)
    base_cpu = statistics.median(cs[0].cpu)
    base_tree = statistics.median(cs[0].tree)
    rows = []
    for c in cs:
        wall, cpu = statistics.median(c.wall), statistics.median(c.cpu)
        tree = statistics.median(c.tree)
        row = {"config": c.name, "wall_s": wall, "cpu_s": cpu, "wall_ratio": wall / base_wall,
               "cpu_ratio": cpu / base_cpu, "tree_cpu_s": tree, "tree_ratio": tree / base_tree,
               "runs_wall": c.wall, "runs_cpu": c.cpu, "runs_tree": c.tree}
        if c.nsamples:
            n = statistics.median(c.nsamples)
            row.update(samples=n, samples_per_cpu_s=n / cpu,
                       us_per_sample=(cpu - base_cpu) / n * 1e6 if n else None,
                       bytes_per_sample=statistics.median(c.bytes) / n if n else None)
        rows.append(row)
    print("| configuration | wall (s) | wall ratio | process CPU (s) | CPU ratio "
          "| CPU with profiler processes | ratio | samples | samples/CPU-s | CPU µs/sample "
          "| bytes/sample |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def f(key, fmt):
            return fmt % r[key] if r.get(key) is not None else "–"
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["config"], f("wall_s", "%.3f"), f("wall_ratio", "%.3f"), f("cpu_s", "%.3f"),
            f("cpu_ratio", "%.3f"), f("tree_cpu_s", "%.3f"), f("tree_ratio", "%.3f"),
            f("samples", "%.0f"), f("samples_per_cpu_s", "%.0f"),
            f("us_per_sample", "%.1f"), f("bytes_per_sample", "%.0f")))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
