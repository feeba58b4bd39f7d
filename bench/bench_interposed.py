#!/usr/bin/env python3
"""bench_interposed — the cost of nsprof's interposers, next to heaptrack, in one run.

Allocation: bench/alloc_bound (nothing but small malloc/free pairs, ~20 ns each unprofiled,
the worst case for an allocation profiler) unprofiled, under nsprof with --alloc sample and
--alloc full (no CPU sampling: only the interposers are measured), under heaptrack, and with
a bare interposer preloaded (bench/bare_interposer.c: malloc and free that only jump to
libc's), the floor any interposing profiler starts from.
Mixed allocation (issue 11): bench/alloc_mixed, realloc chains (NULL -> 16 -> ... -> 2048,
then free) beside malloc(32)/free and calloc(1, 200)/free loops, unprofiled, under nsprof
--alloc sample and full, and heaptrack; then each of its three patterns alone (off, sample,
full) for the cost per call of each entry point.
I/O: bench/io_bound writing the same bytes in 1 MiB and in 64-byte write() calls to a file on
tmpfs (/dev/shm; the cost of the call itself, without disk writeback), unprofiled and under
nsprof --io on, and unprofiled with one idle thread preloaded (bench/idle_thread.c): the
kernel's own cost of a multi-threaded process on every read/write, which nsprof's writer
thread brings.

These VMs are noisy (±15% between identical runs), so every round runs every configuration
once in a fresh random order and each profiled run is compared with the unprofiled run of
its own round (an unprofiled "A/A" run beside it shows what the noise alone gives); the
report gives medians of those per-round ratios (and their interquartile
range) for the workload's wall time, its process CPU time, and the CPU of the whole process
tree (heaptrack's interpreter process included), and the cost per interposed call derived
from the median times.

    bench/bench_interposed.py --build build [--reps 11] [--pairs 10000000] [--mixed-scale 8]
                              [--skip-alloc] [--skip-mixed] [--skip-io] [--json out.json]

Needs heaptrack (tools/setup.sh --bench installs it); without it that column is skipped.
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import quartiles


def run(cmd, env=None):
    """Runs cmd; returns the workload's own wall and CPU seconds (it prints them) and the CPU
    seconds of the whole process tree."""
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        out.seek(0)
        text = out.read()
    m = re.search(r"wall[= ]([\d.]+)(?: s)? cpu[= ]([\d.]+)", text)
    if status != 0 or not m:
        sys.exit("bench_interposed: %s failed (%d):\n%s" % (" ".join(cmd), status, text[-2000:]))
    return float(m.group(1)), float(m.group(2)), ru.ru_utime + ru.ru_stime


def nsprof_env(lib, out, **settings):
    env = dict(os.environ, LD_PRELOAD=lib, NSPROF_OUTPUT=out, NSPROF_LOG="quiet",
               NSPROF_EVENT="none")
    env.update({"NSPROF_" + k.upper(): v for k, v in settings.items()})
    return env


def bench(configs, reps, tmp):
    """configs: name -> (cmd, env or None). 'off' is the baseline. Returns per-config lists
    of (wall, cpu, tree) and per-round ratios."""
    times = {name: [] for name in configs}
    ratios = {name: [] for name in configs if name != "off"}
    for r in range(reps):
        order = list(configs)
        random.shuffle(order)
        this = {}
        for name in order:
            cmd, env = configs[name]
            this[name] = run(cmd, env)
            for f in os.listdir(tmp):  # profiles and files of this round: not kept
                shutil.rmtree(os.path.join(tmp, f), ignore_errors=True)
                if os.path.exists(os.path.join(tmp, f)):
                    os.unlink(os.path.join(tmp, f))
        for name, t in this.items():
            times[name].append(t)
            if name != "off":
                ratios[name].append(tuple(t[i] / this["off"][i] for i in range(3)))
        print("  round %d/%d: %s" % (r + 1, reps, " ".join(
            "%s=%.3fs" % (n, this[n][0]) for n in configs)), file=sys.stderr)
    return times, ratios


def summarize(title, configs, times, ratios, calls):
    rows = []
    print("\n%s" % title)
    print("  %-17s %9s %9s %9s %22s %22s %16s" % ("config", "wall s", "best s", "cpu s",
                                                    "wall ratio (IQR)", "tree-CPU ratio (IQR)",
                                                    "ns per call"))
    for name in configs:
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        best = min(t[0] for t in times[name])  # the least disturbed run: steadier than medians
        row = {"config": name, "wall_s": wall, "best_wall_s": best, "cpu_s": cpu}
        if name == "off":
            per_call = cpu / calls * 1e9
            print("  %-17s %9.3f %9.3f %9.3f %22s %22s %13.1f ns" % (name, wall, best, cpu, "1", "1",
                                                                  per_call))
            row["ns_per_call"] = per_call
        else:
            w = quartiles([x[0] for x in ratios[name]])
            tr = quartiles([x[2] for x in ratios[name]])
            tree = statistics.median(t[2] for t in times[name])
            base_tree = statistics.median(t[2] for t in times["off"])
            added = (tree - base_tree) / calls * 1e9
            print("  %-17s %9.3f %9.3f %9.3f %8.3f (%.3f-%.3f) %8.3f (%.3f-%.3f) %+13.1f ns" % (
                name, wall, best, cpu, w[1], w[0], w[2], tr[1], tr[0], tr[2], added))
            row.update(wall_ratio=w[1], wall_iqr=[w[0], w[2]], tree_cpu_ratio=tr[1],
                       tree_cpu_iqr=[tr[0], tr[2]], added_ns_per_call=added)
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="the CMake build directory")
    ap.add_argument("--reps", type=int, default=11, help="rounds (default 11)")
    ap.add_argument("--pairs", type=int, default=10_000_000, help="malloc/free pairs")
    ap.add_argument("--io-bytes", type=int, default=1 << 30,
                    help="bytes written per I/O run (default 1 GiB)")
    ap.add_argument("--small-io-bytes", type=int, default=64 << 20,
                    help="bytes written per 64-byte-write run (default 64 MiB)")
    ap.add_argument("--skip-io", action="store_true")
    ap.add_argument("--skip-alloc", action="store_true")
    ap.add_argument("--skip-mixed", action="store_true")
    ap.add_argument("--mixed-scale", type=int, default=8,
                    help="alloc_mixed's scale (1: 1,000,000 realloc calls and 1,000,000 pairs "
                         "of each other kind)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    lib = os.path.join(build, "libnsprof.so")
    alloc_bound = os.path.join(build, "bench", "alloc_bound")
    alloc_mixed = os.path.join(build, "bench", "alloc_mixed")
    io_bound = os.path.join(build, "bench", "io_bound")
    idle = os.path.join(build, "bench", "libns_idle_thread.so")
    bare = os.path.join(build, "bench", "libns_bare_interposer.so")
    for path in (lib, alloc_bound, alloc_mixed, io_bound, idle, bare):
        if not os.path.exists(path):
            sys.exit("bench_interposed: %s is missing: build nsprof first "
                     "(tools/setup.sh --bench --build-dir %s)" % (path, args.build))
    results = {}
    # io_bound writes its file there, and each round removes it. tmpfs when there is one:
    # on a disk, a GiB of writes a round makes later runs wait for writeback (2.5x swings),
    # which measures the disk, not the interposers.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="nsprof-bench-", dir=shm)
    os.environ["TMPDIR"] = tmp
    try:
        out = os.path.join(tmp, "p.nsp")
        if not args.skip_alloc:
            cmd = [alloc_bound, str(args.pairs)]
            configs = {
                "off": (cmd, None),
                "off again (A/A)": (cmd, None),
                "bare interposer": (cmd, dict(os.environ, LD_PRELOAD=bare)),
                "nsprof sample": (cmd, nsprof_env(lib, out, alloc="sample")),
                "nsprof full": (cmd, nsprof_env(lib, out, alloc="full")),
            }
            if shutil.which("heaptrack"):
                configs["heaptrack"] = (["heaptrack", "-o", os.path.join(tmp, "ht")] + cmd, None)
            else:
                print("bench_interposed: heaptrack not installed; its column is skipped",
                      file=sys.stderr)
            times, ratios = bench(configs, args.reps, tmp)
            results["alloc"] = summarize(
                "malloc/free pairs: %d (%d interposed calls), %d rounds, medians" % (
                    args.pairs, 2 * args.pairs, args.reps),
                configs, times, ratios, 2 * args.pairs)
        if not args.skip_mixed:
            results["mixed"] = {}
            for what in ("mixed", "realloc", "malloc", "calloc"):
                cmd = [alloc_mixed, what, str(args.mixed_scale)]
                calls = int(re.search(r"calls=(\d+)", subprocess.run(
                    cmd, stdout=subprocess.PIPE, text=True, check=True).stdout).group(1))
                configs = {"off": (cmd, None), "off again (A/A)": (cmd, None),
                           "nsprof sample": (cmd, nsprof_env(lib, out, alloc="sample")),
                           "nsprof full": (cmd, nsprof_env(lib, out, alloc="full"))}
                if what == "mixed" and shutil.which("heaptrack"):
                    configs["heaptrack"] = (["heaptrack", "-o", os.path.join(tmp, "ht")] + cmd,
                                            None)
                times, ratios = bench(configs, args.reps, tmp)
                results["mixed"][what] = summarize(
                    "alloc_mixed %s x%d: %d allocator calls, %d rounds, medians" % (
                        what, args.mixed_scale, calls, args.reps),
                    configs, times, ratios, calls)
        if not args.skip_io:
            results["io"] = {}
            for size, total in ((1 << 20, args.io_bytes), (64, args.small_io_bytes)):
                cmd = [io_bound, str(size), str(total)]
                configs = {"off": (cmd, None), "off again (A/A)": (cmd, None),
                           "off + idle thread": (cmd, dict(os.environ, LD_PRELOAD=idle)),
                           "nsprof io": (cmd, nsprof_env(lib, out, io="on"))}
                times, ratios = bench(configs, args.reps, tmp)
                results["io"][str(size)] = summarize(
                    "write() of %d bytes: %d calls, %d rounds, medians" % (
                        size, total // size, args.reps),
                    configs, times, ratios, total // size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
