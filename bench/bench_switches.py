#!/usr/bin/env python3
"""bench_switches — what profiling costs a context-switch-heavy program.

bench/pingpong hands a byte back and forth between two threads through pipes: ~4 context
switches per round trip, ~170,000 a second here. Every mechanism that follows a thread
across context switches pays on each of them, so this is the worst case for off-CPU
profiling (issue 10's target: wall mode within 1.10 of unprofiled). Configurations, each
once per round in a fresh random order, compared with the unprofiled run of the same round
(medians of the ratios, with their interquartile range; an unprofiled A/A run shows the
noise): nsprof record in CPU mode (perf events, the agent), with the signal mechanism (CPU
timers), in wall mode (the default: perf's switch records on a dummy event and on-CPU stacks
from CPU timers; --mechanism=perf: perf's cpu-clock samples and switch records; the signal
mechanism: CPU timers and the blocking calls' own clocks); perf record with cpu-clock samples (with and without DWARF stacks
and switch records); and perf's switch records alone (a dummy event, no sampling).

    bench/bench_switches.py --build build [--reps 7] [--trips 200000]
"""
import argparse
import os
import re
import statistics
import shutil
import tempfile

from benchlib import (clean_env, interleaved_rounds, nsprof_record, quartiles, run_matching,
                      unprofiled)

LINE = re.compile(r"round_trips=(\d+) wall=([\d.]+) switches_per_s=(\d+)")


def run(cmd, env):
    m = run_matching(cmd, env, LINE, "bench_switches")
    return float(m.group(2)), float(m.group(3))


def perf(tmp, *args):
    data = os.path.join(tmp, "perf.data")
    return (lambda cmd: ["perf", "record", "-q", "-o", data, *args, "--"] + cmd, clean_env())


def configs(build, tmp):
    out = os.path.join(tmp, "p.nsp")
    cs = {"unprofiled": unprofiled(),
          "unprofiled again (A/A)": unprofiled(),
          "nsprof record -e cpu (perf events)": nsprof_record(build, out),
          "nsprof record -e cpu --mechanism=signal (CPU timers)":
              nsprof_record(build, out, "--mechanism=signal"),
          "nsprof record -e wall (switch records, CPU timers)":
              nsprof_record(build, out, "-e", "wall"),
          "nsprof record -e wall --mechanism=perf (cpu-clock samples, switch records)":
              nsprof_record(build, out, "-e", "wall", "--mechanism=perf"),
          "nsprof record -e wall --mechanism=signal (CPU timers, blocking calls' clocks)":
              nsprof_record(build, out, "-e", "wall", "--mechanism=signal")}
    if shutil.which("perf"):
        cs["perf record -e cpu-clock -F 999 --call-graph dwarf --switch-events"] = perf(
            tmp, "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf", "--switch-events")
        cs["perf record -e cpu-clock -F 999 (no stacks, no switch records)"] = perf(
            tmp, "-e", "cpu-clock", "-F", "999")
        cs["perf record -e dummy --switch-events (switch records alone)"] = perf(
            tmp, "-e", "dummy", "--switch-events")
    return cs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--trips", type=int, default=200000)
    args = ap.parse_args()
    workload = [os.path.join(args.build, "bench", "pingpong"), str(args.trips)]
    with tempfile.TemporaryDirectory() as tmp:
        cs = configs(args.build, tmp)
        runs = interleaved_rounds(cs, args.reps, lambda wrap, env: run(wrap(workload), env),
                                  tmp, "bench_switches")
    base = runs["unprofiled"]
    print("%d rounds of pingpong %d (unprofiled: %.0f switches/s)" % (
        args.reps, args.trips, statistics.median(b[1] for b in base)))
    print()
    print("| configuration | wall (median) | wall ratio (IQR) |")
    print("|---|---|---|")
    for name, rs in runs.items():
        q = quartiles([x[0] / b[0] for x, b in zip(rs, base)])
        print("| %s | %.2f s | %.3f (%.3f–%.3f) |" % (name, statistics.median(x[0] for x in rs),
                                                      q[1], q[0], q[2]))


if __name__ == "__main__":
    main()
