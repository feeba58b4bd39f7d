#!/usr/bin/env python3
"""bench_spawn — what profiling adds to starting processes.

Two measures, each configuration once per round in a fresh random order (medians over the
rounds; these VMs drift by ±15% between identical runs):
  - start: the wall time of one short program (/bin/true) run under the configuration, from
    the exec of the command to its exit (nsprof record, or the preloaded library starting
    its agent, included);
  - children: bench/spawn_loop inside the configuration: µs per fork() whose child exits at
    once, and per fork()+exec(/bin/true) (every child is profiled, each image into a file).
Configurations: unprofiled, nsprof record, LD_PRELOAD alone (the program starts the agent),
nsprof in-process (NSPROF_AGENT=off: the mode before the agent), and perf record -F 999
--call-graph dwarf, which follows children too.

    bench/bench_spawn.py --build build [--reps 11] [--children 200]
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import nsprof_preload, nsprof_record, perf_record, unprofiled


def configs(build, tmp):
    out = os.path.join(tmp, "p.nsp")
    cs = {"unprofiled": unprofiled(),
          "nsprof record": nsprof_record(build, out),
          "LD_PRELOAD (agent)": nsprof_preload(build, out),
          "nsprof in-process (before: agent off)": nsprof_preload(build, out, agent="off")}
    perf = perf_record(tmp)
    if perf:
        cs["perf record --call-graph dwarf"] = perf
    return cs


def timed(cmd, env):
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("bench_spawn: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                        p.stdout[-2000:]))
    return wall, p.stdout


def clean(tmp):
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--starts", type=int, default=10, help="/bin/true runs per round")
    ap.add_argument("--children", type=int, default=200)
    args = ap.parse_args()
    loop = [os.path.join(args.build, "bench", "spawn_loop"), str(args.children), "/bin/true"]
    with tempfile.TemporaryDirectory() as tmp:
        cs = configs(args.build, tmp)
        start = {n: [] for n in cs}
        fork = {n: [] for n in cs}
        fork_exec = {n: [] for n in cs}
        for r in range(args.reps):
            order = list(cs)
            random.shuffle(order)
            for name in order:
                wrap, env = cs[name]
                for _ in range(args.starts):
                    start[name].append(timed(wrap(["/bin/true"]), env)[0])
                    clean(tmp)
                _, text = timed(wrap(loop), env)
                m = re.search(r"fork_us=([\d.]+) fork_exec_us=([\d.]+)", text)
                if not m:
                    sys.exit("bench_spawn: no result from spawn_loop:\n" + text[-2000:])
                fork[name].append(float(m.group(1)))
                fork_exec[name].append(float(m.group(2)))
                clean(tmp)
            print("round %d/%d done" % (r + 1, args.reps), file=sys.stderr)
    print("%d rounds; start = one /bin/true (%d per round); children = spawn_loop %d" % (
        args.reps, args.starts, args.children))
    print()
    print("| configuration | start of /bin/true, ms | fork, µs per child | "
          "fork + exec /bin/true, µs per child |")
    print("|---|---|---|---|")
    for name in cs:
        print("| %s | %.2f | %.0f | %.0f |" % (
            name, statistics.median(start[name]) * 1e3, statistics.median(fork[name]),
            statistics.median(fork_exec[name])))


if __name__ == "__main__":
    main()
