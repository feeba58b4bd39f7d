#!/usr/bin/env python3
"""bench_diff — what `nsprof diff` costs on big profiles.

Two profiles per case from bench/gen_synthetic_profile (real libraries of this machine, so
symbolization is real work), the same shape with different seeds (so the functions' weights
differ), with a given number of samples and of distinct stacks asked for (the Zipf skew
leaves some unused). Times `nsprof diff A B` as text, as JSON and with the differential
flame graph (`-o page.html`, text too), beside `nsprof report` of one of them (a diff reads
and symbolizes two profiles: about twice a report is the floor), gives the page's size and,
with --render-runs N, its first draw in headless Chromium (bench/flame_render.mjs; needs
`tools/setup.sh --test`). Medians of --reps runs.

    bench/bench_diff.py --build build [--reps 3] [--render-runs 5]
"""
import json
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# (samples, distinct stacks asked for); 130,000 asked gives ~95,000 used.
CASES = ((1000000, 3000), (1000000, 130000))


def timed(cmd, reps):
    times = []
    for _ in range(reps):
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.monotonic() - t0)
        if p.returncode not in (0, 1):
            sys.exit("bench_diff: %s failed:\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return statistics.median(times)


def render_ms(page, runs):
    """The page's median first draw (ms) in headless Chromium, or None when not asked."""
    if runs <= 0:
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flame_render.mjs")
    p = subprocess.run(["node", script, "--runs", str(runs), page], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("bench_diff: the page did not draw:\n%s" % p.stderr[-2000:])
    return json.loads(p.stdout.splitlines()[-1])["first_render_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="the build directory (default build)")
    ap.add_argument("--reps", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--render-runs", type=int, default=0,
                    help="loads of the page in Chromium for its first draw (0: not measured)")
    args = ap.parse_args()
    nsprof = os.path.join(args.build, "nsprof")
    gen = os.path.join(args.build, "bench", "gen_synthetic_profile")
    for need in (nsprof, gen):
        if not os.path.exists(need):
            sys.exit("bench_diff: %s is missing: build nsprof and gen_synthetic_profile" % need)
    print("%9s %8s %9s %7s %11s %10s %8s %10s" % ("samples", "stacks", "report s", "diff s",
                                                "diff json s", "diff -o s", "page MB",
                                                "render ms"))
    with tempfile.TemporaryDirectory() as tmp:
        for samples, stacks in CASES:
            paths = []
            for seed in (1, 2):
                path = os.path.join(tmp, "p%d_%d_%d.nsp" % (samples, stacks, seed))
                subprocess.run([gen, "-o", path, "-n", str(samples), "-s", str(stacks), "-r",
                                str(seed)], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                paths.append(path)
            report = timed([nsprof, "report", paths[0]], args.reps)
            text = timed([nsprof, "diff", *paths], args.reps)
            js = timed([nsprof, "diff", "--json", *paths], args.reps)
            page = os.path.join(tmp, "diff_%d_%d.html" % (samples, stacks))
            html = timed([nsprof, "diff", "--force", "-o", page, *paths], args.reps)
            render = render_ms(page, args.render_runs)
            print("%9d %8d %9.2f %7.2f %11.2f %10.2f %8.1f %10s" %
                  (samples, stacks, report, text, js, html, os.path.getsize(page) / 2**20,
                   "%.0f" % render if render is not None else "-"))


if __name__ == "__main__":
    main()
