#!/usr/bin/env python3
"""bench_db — the cost of nsprof's database hooks (issue 14), in one run.

bench/db_sqlite_bound runs N short statements on an in-memory sqlite database (the worst
case for per-call interposition: nothing but the client calls, no disk): `insert`, a
prepared single-row INSERT (bind, step, reset) in one transaction, and `select`, a prepared
`SELECT ? + 1` (bind, step to the row, step to DONE, reset), and `lookup`, point lookups by
primary key in a table of 100,000 rows (an application's typical short query). Configurations: unprofiled,
an unprofiled A/A run beside it (the noise alone), nsprof preloaded with --db=off and with
--db=on (no CPU sampling: `event=none`, so only the hooks are measured). Each round runs
them all once in a fresh random order; ratios are of the timed loop's wall time to the
unprofiled run of the same round (medians and interquartile ranges), and the cost per
statement is derived from the median times.

The peer, when perf is installed: a uprobe on sqlite3_step counted by `perf stat` (how perf,
bcc and bpftrace see a library's calls from outside; it only counts).

A program that loads no database library: what db=on adds there is reading the loaded
modules' import tables at start, measured as the whole process's wall time of `true` under
--db=on over --db=off.

    bench/bench_db.py --build build [--reps 11] [--statements 1000000] [--json out.json]
"""
import argparse
import atexit
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (clean_env, interleaved_rounds, nsprof_preload, quartiles, run_matching,
                      unprofiled)

LOOP = re.compile(r"statements=(\d+) sum=\d+ wall=([\d.]+) cpu=([\d.]+)")


LIBSQLITE = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"


def uprobe_on_step():
    """The peer: a uprobe on sqlite3_step counted by `perf stat` (how perf, bcc and bpftrace
    see a library's calls from outside: a trap per call, and only a count here, no SQL, no
    time). None when perf or uprobes are not available."""
    if not shutil.which("perf") or not os.path.exists(LIBSQLITE):
        return None
    subprocess.run(["perf", "probe", "-q", "-d", "probe_libsqlite3:*"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    if subprocess.run(["perf", "probe", "-q", "-x", LIBSQLITE, "-a", "sqlite3_step"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        print("bench_db: no uprobe on sqlite3_step (perf probe failed): peer skipped",
              file=sys.stderr)
        return None
    atexit.register(subprocess.run, ["perf", "probe", "-q", "-d", "probe_libsqlite3:*"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (lambda cmd: ["perf", "stat", "-x,", "-e", "probe_libsqlite3:sqlite3_step", "--"]
            + cmd, clean_env())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--statements", type=int, default=1000000)
    ap.add_argument("--json")
    a = ap.parse_args()
    prog = os.path.join(a.build, "bench", "db_sqlite_bound")
    if not os.path.exists(prog):
        sys.exit("bench_db: %s is missing (libsqlite3-dev: tools/setup.sh --bench)" % prog)
    result = {}
    with tempfile.TemporaryDirectory(prefix="nsprof-bench-db-") as tmp:
        out = os.path.join(tmp, "p.nsp")
        cs = {"off": unprofiled(), "off_again": unprofiled(),
              "db_off": nsprof_preload(a.build, out, event="none", db="off"),
              "db_on": nsprof_preload(a.build, out, event="none", db="on")}
        probe = uprobe_on_step()
        if probe:
            cs["perf_uprobe"] = probe
        for mode in ("insert", "select", "lookup"):
            cmd = [prog, mode, str(a.statements)]
            runs = interleaved_rounds(
                cs, a.reps,
                lambda wrap, env: float(run_matching(wrap(cmd), env, LOOP, "bench_db").group(2)),
                tmp, "bench_db " + mode)
            base = runs["off"]
            rows = {}
            for name, walls in runs.items():
                ratios = [w / b for w, b in zip(walls, base)]
                q1, med, q3 = quartiles(ratios)
                added = (statistics.median(walls) - statistics.median(base)) / a.statements
                rows[name] = {"wall_median_s": statistics.median(walls), "ratio": med,
                              "ratio_iqr": [q1, q3], "added_ns_per_statement": added * 1e9}
            result[mode] = rows
            print("%s (%d statements, medians of %d interleaved rounds):" % (
                mode, a.statements, a.reps))
            print("  %-10s %10s %22s %16s" % ("config", "loop wall", "ratio (IQR)",
                                               "added/statement"))
            for name, r in rows.items():
                print("  %-10s %9.3fs %8.3f (%.3f-%.3f) %+13.1f ns" % (
                    name, r["wall_median_s"], r["ratio"], r["ratio_iqr"][0], r["ratio_iqr"][1],
                    r["added_ns_per_statement"]))

        # A program without a database library: the whole process, db=on vs db=off.
        def whole(wrap, env):
            t0 = time.monotonic()
            subprocess.run(wrap(["true"]), env=env, check=True)
            return time.monotonic() - t0
        starts = {"db_off": cs["db_off"], "db_on": cs["db_on"]}
        runs = interleaved_rounds(starts, a.reps * 5, whole, tmp, "bench_db true")
        ratios = [on / off for on, off in zip(runs["db_on"], runs["db_off"])]
        q1, med, q3 = quartiles(ratios)
        result["no_db_program"] = {
            "db_off_median_s": statistics.median(runs["db_off"]),
            "db_on_median_s": statistics.median(runs["db_on"]), "ratio": med, "ratio_iqr": [q1, q3]}
        print("true (no database library, whole process, %d rounds): db=off %.1f ms, db=on "
              "%.1f ms, ratio %.3f (%.3f-%.3f)" % (
                  a.reps * 5, 1e3 * statistics.median(runs["db_off"]),
                  1e3 * statistics.median(runs["db_on"]), med, q1, q3))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
