#!/usr/bin/env python3
"""bench_report — how fast `nsprof report` digests a big profile, next to `perf report`.

nsprof: a synthetic 1,000,000-sample profile in the real format (bench/gen_synthetic_profile:
real libraries of this machine, real build-ids, so symbolization is real work), reported as
text and as JSON. perf: perf.data files recorded from bench/cpu_bound with frame-pointer
call graphs (-g) and with DWARF call graphs (--call-graph dwarf, unwound at report time, as
nsprof's stacks are unwound at record time), reported with --stdio. Medians of --reps runs;
throughput in samples per second.

    bench/bench_report.py --build build [--reps 5] [--samples 1000000]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, reps):
    times = []
    for _ in range(reps):
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.monotonic() - t0)
        if p.returncode != 0:
            sys.exit("bench_report: %s failed:\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return statistics.median(times), times


def perf_samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "period"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1000000)
    ap.add_argument("--json")
    args = ap.parse_args()
    nsprof = os.path.join(args.build, "nsprof")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.nsp")
        subprocess.run([os.path.join(args.build, "bench", "gen_synthetic_profile"), "-o", big,
                        "-n", str(args.samples)], check=True, stdout=subprocess.DEVNULL)
        for label, extra in (("nsprof report (text)", []), ("nsprof report --json", ["--json"])):
            med, runs = timed([nsprof, "report", *extra, big], args.reps)
            rows.append({"tool": label, "samples": args.samples, "bytes": os.path.getsize(big),
                         "seconds": med, "runs": runs, "samples_per_s": args.samples / med})
        if shutil.which("perf"):
            workload = os.path.join(args.build, "bench", "cpu_bound")
            for label, cg, freq, units in (("perf report (-g, frame pointers)", ["-g"], "4999",
                                            "300"),
                                           ("perf report (--call-graph dwarf)",
                                            ["--call-graph", "dwarf"], "999", "100")):
                data = os.path.join(tmp, "perf.data")
                subprocess.run(["perf", "record", "-q", "-F", freq, *cg, "-o", data, "--",
                                workload, units], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                n = perf_samples(data)
                med, runs = timed(["perf", "report", "-i", data, "--stdio"], args.reps)
                rows.append({"tool": label, "samples": n, "bytes": os.path.getsize(data),
                             "seconds": med, "runs": runs, "samples_per_s": n / med})
                os.unlink(data)
    print("| tool | samples | file bytes | seconds (median) | samples/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %d | %.3f | %.0f |" % (r["tool"], r["samples"], r["bytes"],
                                                  r["seconds"], r["samples_per_s"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
