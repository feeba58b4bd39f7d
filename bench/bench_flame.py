#!/usr/bin/env python3
"""bench_flame — what `nsprof flame` costs on big profiles: time and page size.

Profiles come from bench/gen_synthetic_profile (real libraries of this machine, so
symbolization is real work) with a given number of samples and of distinct stacks (-s; the
Zipf skew leaves some unused: the generator prints how many were used). Each is turned into
folded stacks (`nsprof export`: reading, symbolizing and building the model) and into a page
(`nsprof flame`: the same plus the flame data, deflate and base64); the difference is what
the page itself costs. Medians of --reps runs.

Then each page is opened in headless Chromium (bench/flame_render.mjs: Debian's chromium
and playwright-core, installed by `tools/setup.sh --test`), --render-runs times: "render ms"
is the page's own nsprofPage.firstRenderMs (navigation start to the first view drawn),
"wall ms" the same seen from outside (page.goto to nsprofPage.ready resolved), "tables ms"
what computing the two hotspot tables costs after that; medians. --no-render skips it.

    bench/bench_flame.py --build build [--reps 3] [--render-runs 5] [--no-render] [--json out.json]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# (samples, distinct stacks asked for); 130,000 asked gives ~95,000 used.
CASES = ((100000, 10000), (1000000, 3000), (1000000, 130000))
RENDER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flame_render.mjs")


def timed(cmd, reps):
    times = []
    for _ in range(reps):
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.monotonic() - t0)
        if p.returncode != 0:
            sys.exit("bench_flame: %s failed:\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return statistics.median(times)


def generate(build, path, samples, stacks):
    out = subprocess.run([os.path.join(build, "bench", "gen_synthetic_profile"), "-o", path,
                          "-n", str(samples), "-s", str(stacks)], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    used = re.search(r"(\d+) stacks used", out)
    return int(used.group(1)) if used else None


def data_encoding(page):
    with open(page, "rb") as f:
        m = re.search(rb'id="nsprof-data" data-encoding="([a-z0-9-]+)"', f.read())
    return m.group(1).decode() if m else "?"


def run_case(nsprof, build, tmp, samples, stacks, reps):
    nsp = os.path.join(tmp, "p%d_%d.nsp" % (samples, stacks))
    page = os.path.join(tmp, "p%d_%d.html" % (samples, stacks))
    used = generate(build, nsp, samples, stacks)
    export_s = timed([nsprof, "export", "--format", "folded", "-o", os.devnull, "--force", nsp],
                     reps)
    flame_s = timed([nsprof, "flame", "--force", "-o", page, nsp], reps)
    return {"samples": samples, "stacks_used": used, "profile_bytes": os.path.getsize(nsp),
            "export_s": export_s, "flame_s": flame_s, "page_s": flame_s - export_s,
            "html_bytes": os.path.getsize(page), "encoding": data_encoding(page), "page": page}


def render(rows, runs):
    """Adds the Chromium timings of each row's page (bench/flame_render.mjs)."""
    node = shutil.which("node")
    if not node:
        sys.exit("bench_flame: node is missing (the render timing needs Node.js 20); or pass "
                 "--no-render")
    p = subprocess.run([node, RENDER_SCRIPT, "--runs", str(runs)] + [r["page"] for r in rows],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("bench_flame: the render timing failed (tools/setup.sh --test installs what it "
                 "needs; --no-render skips it):\n" + p.stderr[-2000:])
    by_page = {}
    for line in p.stdout.splitlines():
        m = json.loads(line)
        by_page[m["page"]] = m
    for r in rows:
        m = by_page[os.path.abspath(r["page"])]
        r.update(render_ms=m["first_render_ms"], wall_ms=m["wall_ms"], tables_ms=m["tables_ms"],
                 drawn_frames=m["drawn_frames"], render_timings=m["timings"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--render-runs", type=int, default=5, help="page loads per page in Chromium")
    ap.add_argument("--no-render", action="store_true", help="do not time the pages in Chromium")
    ap.add_argument("--json")
    args = ap.parse_args()
    nsprof = os.path.join(args.build, "nsprof")
    for need in (nsprof, os.path.join(args.build, "bench", "gen_synthetic_profile")):
        if not os.access(need, os.X_OK):
            sys.exit("bench_flame: %s is missing: build the nsprof and gen_synthetic_profile "
                     "targets in %s" % (need, args.build))
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_case(nsprof, args.build, tmp, n, s, args.reps) for n, s in CASES]
        if not args.no_render:
            render(rows, args.render_runs)
        for r in rows:
            del r["page"]
    head = "%9s %8s %9s %9s %9s %9s %10s  %-14s" % ("samples", "stacks", "nsp MB", "export s",
                                                    "flame s", "page s", "html MB", "encoding")
    if not args.no_render:
        head += " %9s %9s %9s" % ("render ms", "wall ms", "tables ms")
    print(head.rstrip())
    for r in rows:
        line = "%9d %8s %9.1f %9.2f %9.2f %9.2f %10.2f  %-14s" % (
            r["samples"], r["stacks_used"], r["profile_bytes"] / 1e6, r["export_s"],
            r["flame_s"], r["page_s"], r["html_bytes"] / 1e6, r["encoding"])
        if not args.no_render:
            line += " %9.0f %9.0f %9.0f" % (r["render_ms"], r["wall_ms"], r["tables_ms"])
        print(line.rstrip())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
