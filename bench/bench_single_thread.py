#!/usr/bin/env python3
"""bench_single_thread — what profiling changes in a single-threaded program's cheapest calls.

bench/single_thread_ops times an uncontended pthread mutex lock+unlock and a 64-byte write()
to /dev/null, and reports how many threads it has (/proc/self/task) and glibc's
__libc_single_threaded, in the middle of its work. glibc takes cheaper paths for both while
the process never had a second thread, so a profiler that starts a thread in the program
slows them down before it measures anything; one that works from another process does not.

Configurations, each compared with the unprofiled run of its own round (these VMs drift by
±15% between identical runs; an unprofiled A/A run shows what the noise alone gives):
  - one idle thread preloaded (bench/idle_thread.c): the cost of any helper thread;
  - nsprof in-process (NSPROF_AGENT=off: the mode before the agent, writer thread included);
  - nsprof record and LD_PRELOAD alone, default settings (CPU sampling, perf rings);
  - LD_PRELOAD with --locks on and with --io on (the interposers' own cost);
  - LD_PRELOAD with --mechanism=signal (CPU timers; what stock Debian's paranoid 3 gets);
  - perf record --call-graph dwarf -F 999, the peer tool.
Reports medians of the per-round ratios (and their interquartile range) and of the absolute
ns per operation, and the threads and flag every configuration showed.

    bench/bench_single_thread.py --build build [--reps 15] [--json out.json]
"""
import argparse
import json
import os
import re
import statistics
import tempfile

from benchlib import (clean_env, interleaved_rounds, nsprof_preload, nsprof_record, perf_record,
                      quartiles, run_matching, unprofiled)

LINE = re.compile(r"lock_ns=([\d.]+) write_ns=([\d.]+) tasks=(-?\d+) single_threaded=(\d)")


def run(cmd, env):
    m = run_matching(cmd, env, LINE, "bench_single_thread")
    return float(m.group(1)), float(m.group(2)), int(m.group(3)), int(m.group(4))


def configs(build, tmp):
    out = os.path.join(tmp, "p.nsp")
    cs = {
        "unprofiled": unprofiled(),
        "unprofiled again (A/A)": unprofiled(),
        "one idle thread preloaded": (lambda cmd: cmd, dict(
            clean_env(), LD_PRELOAD=os.path.join(build, "bench", "libns_idle_thread.so"))),
        "nsprof in-process (before: agent off)": nsprof_preload(build, out, agent="off"),
        "nsprof record": nsprof_record(build, out),
        "LD_PRELOAD": nsprof_preload(build, out),
        "LD_PRELOAD --locks on": nsprof_preload(build, out, locks="on"),
        "LD_PRELOAD --io on": nsprof_preload(build, out, io="on"),
        "LD_PRELOAD --mechanism=signal": nsprof_preload(build, out, mechanism="signal"),
    }
    perf = perf_record(tmp)
    if perf:
        cs["perf record --call-graph dwarf"] = perf
    return cs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--locks", type=int, default=100000000, help="lock+unlock iterations")
    ap.add_argument("--writes", type=int, default=500000, help="64-byte writes")
    ap.add_argument("--json")
    args = ap.parse_args()
    workload = [os.path.join(args.build, "bench", "single_thread_ops"), str(args.locks),
                str(args.writes)]
    with tempfile.TemporaryDirectory() as tmp:
        cs = configs(args.build, tmp)
        runs = interleaved_rounds(cs, args.reps, lambda wrap, env: run(wrap(workload), env), tmp,
                                  "bench_single_thread")
    base = runs["unprofiled"]
    rows = []
    for name, rs in runs.items():
        lock_r = quartiles([x[0] / b[0] for x, b in zip(rs, base)])
        write_r = quartiles([x[1] / b[1] for x, b in zip(rs, base)])
        rows.append({"config": name,
                     "lock_ns": statistics.median(x[0] for x in rs),
                     "write_ns": statistics.median(x[1] for x in rs),
                     "lock_ratio": lock_r, "write_ratio": write_r,
                     "tasks": sorted({x[2] for x in rs}),
                     "single_threaded": sorted({x[3] for x in rs})})
    print("%d rounds; lock = uncontended pthread_mutex_lock+unlock, write = 64 B write() to "
          "/dev/null" % args.reps)
    print()
    print("| configuration | threads | single-threaded | lock ns | lock ratio (IQR) "
          "| write ns | write ratio (IQR) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        lr, wr = row["lock_ratio"], row["write_ratio"]
        print("| %s | %s | %s | %.2f | %.3f (%.3f–%.3f) | %.0f | %.3f (%.3f–%.3f) |" % (
            row["config"], ",".join(map(str, row["tasks"])),
            ",".join(map(str, row["single_threaded"])), row["lock_ns"], lr[1], lr[0], lr[2],
            row["write_ns"], wr[1], wr[0], wr[2]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
