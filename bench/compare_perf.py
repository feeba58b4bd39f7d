#!/usr/bin/env python3
"""compare_perf — do `nsprof report` and `perf report --no-children` agree on self shares?

For each workload, the top self functions by share as nsprof reports them and as perf
reports them, side by side: a program of our own with known hot functions (bench/cpu_bound,
-O2 -g) and Debian programs nobody here wrote (`sqlite3 :memory:` running a SQL script;
optionally `xz -9 -T1`). Each entry of either top N gets nsprof's share, perf's share, the
difference in points and in standard errors; a difference of more than --max-diff points
(default 1) that is also more than 3 standard errors is a real disagreement, and so is a
function that one tool names and the other does not (or leaves out).

Both tools profile the same run by default (`--mode same`):

    perf record --buildid-mmap -e cpu-clock -F 999 -o R.data -- nsprof record -o R.nsp -- CMD

perf follows nsprof record (the agent) and the program it starts; perf's report is limited
to the program's pid (from nsprof's profile), so the agent's own samples are not in it.
One run for both removes the run-to-run noise of this VM. (`--buildid-mmap` is needed, not a
preference: nsprof's agent asks the kernel for build-ids in its mmap records, and the
kernel then also marks perf's records of the program's mmaps as carrying a build-id
(misc 0x4002) while their body holds device and inode numbers; perf 6.1 reads those as
build-ids and aborts, in record and in report. With perf's events asking for build-ids
too, every record is what its flag says.) `--mode separate` runs each tool on a run of its
own, in a random order per round.

Shares are pooled over --runs runs: samples per function summed on each side. Both tools
take cpu-clock samples at 999 Hz of the thread's CPU time; the standard error of a
difference of two shares is sqrt(p1(1-p1)/n1 + p2(1-p2)/n2), the binomial error of two
independent samplings. In the same run the two tools' samples are not independent (both
timers start when the thread is scheduled in, often firing at the same instants), so the
true noise is smaller than this and the test errs on the lenient side; the points
threshold stays the hard bar.

Names: nsprof names a function by its debug information (DWARF) when there is some, perf
by the ELF symbol, so the same code can be spelled differently. Each side's names are put
in one canonical form before matching — the same rules for both tools:
  - perf's kernel functions (`[k] name`) are summed into one `[kernel]` entry: nsprof
    records where a tick in the kernel happened, not the kernel's stack (nsprof charges it
    to a `[kernel]` frame on the user stack that entered the kernel);
  - gcc's clone suffixes are dropped (`tokenize.constprop.0`, `msort_with_tmp.part.0`,
    `.isra.N`, `.cold`, `.lto_priv.N`): DWARF names the source function;
  - symbol versions (`@@GLIBC_2.2.5`) and glibc's `__GI_` internal alias prefix are dropped;
  - an address without a name is `module+0xADDR` (ELF address) on both sides: perf prints
    `0x00000000000fcf0f` in the module's column, nsprof `libsqlite3.so.0.8.6+0xfcf0f`;
  - nsprof's inlined frames (default report) are merged with the same function's own
    frames; with --no-inline (the default here, as perf charges inlined code to the
    function it was inlined into) there are none;
  - in the same run perf also sees nsprof's interposers (libnsprof.so's malloc, free,
    pthread_mutex_lock: a test and a jump into glibc), which nsprof charges to the glibc
    function they call: perf's libnsprof.so entries join that function.
Entries still unmatched on both sides are looked up in the module's ELF file (`nm`,
`objdump` for PLT stubs): names at the same address are aliases (e.g. glibc's memcpy and
memmove variants) and an unnamed address inside a named function or PLT stub is that
function. An alias is a spelling difference (listed); a function one tool names and the
other leaves as an address is a naming disagreement (flagged, exit status 1).

    bench/compare_perf.py --build build [--runs 3] [--keep DIR] [--workloads own sqlite3]

Exit status: 0 all entries agree, 1 a real disagreement (share or name), 2 a tool failed.
Needs linux-perf (tools/setup.sh --bench), sqlite3 and binutils.
"""
import argparse
import bisect
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

KERNEL = ("[kernel]", "[kernel]")

# 1.5 M rows: about 2 s of sqlite3 here; spread over >10 functions (the VDBE interpreter,
# b-tree inserts and seeks, printf, the sorter, memcmp and memmove, malloc).
SQL = """CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < {rows})
INSERT INTO t SELECT i, printf('%08x%08x', i * 2654435761 % 4294967296, i), i * 0.5 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(length(b)), avg(c) FROM t WHERE b LIKE '%a%';
SELECT substr(b, 1, 2) AS k, count(*), avg(c) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 3;
SELECT b FROM t ORDER BY b DESC LIMIT 1;
"""


# ---- workloads -------------------------------------------------------------------------

def xz_input(path, mbytes):
    """Semi-compressible text: words of a small vocabulary and random numbers (xz -9 gets
    it to about a quarter), deterministic."""
    rnd = random.Random(1)
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
             for _ in range(4000)]
    with open(path, "w") as f:
        size = 0
        while size < mbytes << 20:
            line = " ".join(rnd.choice(words) if rnd.random() < 0.8 else str(rnd.getrandbits(24))
                            for _ in range(12)) + "\n"
            f.write(line)
            size += len(line)


def workloads(args, tmp):
    """{name: (argv, stdin path or None)} of the workloads asked for."""
    out = {}
    for w in args.workloads:
        if w == "own":
            out[w] = ([os.path.join(args.build, "bench", "cpu_bound"), str(args.units)], None)
        elif w == "sqlite3":
            sql = os.path.join(tmp, "work.sql")
            with open(sql, "w") as f:
                f.write(SQL.format(rows=args.rows))
            out[w] = ([shutil.which("sqlite3") or "sqlite3", ":memory:"], sql)
        elif w == "xz":
            data = os.path.join(tmp, "xz.in")
            xz_input(data, args.xz_mb)
            out[w] = ([shutil.which("xz") or "xz", "-9", "-T1", "-c", data], None)
    return out


# ---- recording -------------------------------------------------------------------------

def fail(cmd, p):
    print("compare_perf: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]),
          file=sys.stderr)
    sys.exit(2)


def run(cmd, stdin=None):
    """Runs cmd with its output discarded; exits (status 2) naming it when it fails."""
    with open(stdin or os.devnull) as f:
        p = subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=benchlib.clean_env(), text=True)
    if p.returncode != 0:
        fail(cmd, p)


def perf_cmd(args, data):
    return ["perf", "record", "-q", "--buildid-mmap", "-e", "cpu-clock", "-F", str(args.freq),
            "-o", data, "--"]


def nsprof_cmd(args, nsp):
    return [os.path.join(args.build, "nsprof"), "record", "-q", "-F", str(args.freq), "-o", nsp,
            "--"]


def record(args, argv, stdin, base):
    """Profiles one run (or two, --mode separate) of argv; returns (nsp, perf.data)."""
    nsp, data = base + ".nsp", base + ".data"
    if args.reuse:
        if not (os.path.exists(nsp) and os.path.exists(data)):
            sys.exit("compare_perf: --reuse: no %s and %s" % (nsp, data))
    elif args.mode == "same":
        run(perf_cmd(args, data) + nsprof_cmd(args, nsp) + argv, stdin)
    else:
        todo = [nsprof_cmd(args, nsp) + argv, perf_cmd(args, data) + argv]
        random.shuffle(todo)
        for cmd in todo:
            run(cmd, stdin)
    return nsp, data


# ---- names -----------------------------------------------------------------------------

CLONE = re.compile(r"(\.(constprop|part|isra|cold|lto_priv|localalias|clone)(\.\d+)?)+$")
ADDR = re.compile(r"^(.*)\+0x([0-9a-f]+)$")


def canon(name):
    """A function's name as both tools' names are compared (see the header)."""
    if "@plt" not in name:
        name = re.sub(r"@@?[A-Za-z_][\w.]*$", "", name)
    name = CLONE.sub("", name)
    if name.startswith("__GI_"):
        name = name[len("__GI_"):]
    return name


def is_addr(name):
    return ADDR.match(name) is not None


# ---- nsprof's side ---------------------------------------------------------------------

def nsprof_self(args, nsp, keep):
    """{(module, printed name): samples}, total samples, the program's pid and module paths."""
    cmd = [os.path.join(args.build, "nsprof"), "report", "--json", "--top", "0", nsp]
    if not args.inline:
        cmd.insert(3, "--no-inline")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        fail(cmd, p)
    if keep:
        with open(nsp + ".json", "w") as f:
            f.write(p.stdout)
    doc = json.loads(p.stdout)
    ev = next(e for e in doc["events"] if e["name"] == "cpu")
    self = {}
    for f in ev["functions_by_self"]:
        key = (f["module"], f["name"])
        self[key] = self.get(key, 0) + f["self_samples"]
    paths = {os.path.basename(p["path"]): (p["path"], p["build_id"])
             for p in doc["sampling"]["symbol_problems"]}
    proc = doc["processes"][0]
    paths.setdefault(os.path.basename(proc["exe"]), (proc["exe"], ""))
    return self, ev["samples"], proc["pid"], paths


# ---- perf's side -----------------------------------------------------------------------

SEP = "\x1f"


def perf_self(data, pid, comm, keep):
    """{(module, printed name): samples} of one process (by pid, else by comm), its total
    samples, and the full paths of the modules perf saw (perf buildid-list)."""
    # The process must be a sort key: perf report's --pid and --comms filter whole entries
    # by the thread that created them, so with `--sort dso,sym` alone an entry that another
    # process also hit (a kernel function, libc's memmove: nsprof's agent runs them too)
    # counts that process's samples as well (perf 6.1).
    by = "pid" if pid is not None else "comm"
    cmd = ["perf", "report", "-i", data, "--no-children", "--sort", by + ",dso,sym", "--stdio",
           "-F", "overhead,sample,%s,dso,sym" % by, "-t", SEP, "--percentage", "relative"]
    cmd += ["--pid", str(pid)] if pid is not None else ["--comms", comm]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        fail(cmd, p)
    if keep:
        with open(data + ".txt", "w") as f:
            f.write(p.stdout)
    self, total = {}, 0
    for line in p.stdout.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split(SEP)]
        # perf leaves the comm column out when --comms names a single one: count from the end.
        if len(cols) < 4 or not cols[1].isdigit():
            continue
        n, dso, sym = int(cols[1]), cols[-2], cols[-1]
        total += n
        kind, name = sym[:3], sym[4:]
        if kind == "[k]":
            key = KERNEL
        elif re.fullmatch(r"0x[0-9a-f]+", name):
            key = (dso, "%s+0x%x" % (dso, int(name, 16)))
        else:
            key = (dso, name)
        self[key] = self.get(key, 0) + n
    paths = {}
    b = subprocess.run(["perf", "buildid-list", "-i", data], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    for line in b.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].startswith("/"):
            paths[os.path.basename(parts[1])] = (parts[1], parts[0])
    return self, total, paths


# ---- ELF look-ups for what names alone do not match ------------------------------------

class ElfSymbols:
    """A module's function symbols (.symtab and .dynsym, by nm, and the .symtab of its debug
    file under /usr/lib/debug/.build-id, where nsprof's DWARF names come from) and PLT stubs
    (objdump's `name@plt` labels): name -> start addresses, address -> the symbol there."""

    def __init__(self, path, build_id):
        self.starts = {}  # canonical name -> set of start addresses
        spans = []
        debug = "/usr/lib/debug/.build-id/%s/%s.debug" % (build_id[:2], build_id[2:])
        for flags, f in ((["-S"], path), (["-S", "-D"], path), (["-S"], debug)):
            if not os.path.exists(f) or not build_id and f == debug:
                continue
            out = subprocess.run(["nm", "--defined-only", *flags, f], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True).stdout
            for line in out.splitlines():
                f = line.split()
                if len(f) == 4 and f[2] in "TtWwi":
                    start, size = int(f[0], 16), int(f[1], 16)
                    name = f[3].split("@")[0] if "@plt" not in f[3] else f[3]
                    spans.append((start, start + max(size, 1), name))
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-j", ".plt", "-j",
                              ".plt.sec", "-j", ".plt.got", path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
        labels = re.findall(r"^([0-9a-f]+) <([^>]+@plt)>:", out, re.M)
        for i, (addr, name) in enumerate(labels):
            start = int(addr, 16)
            end = int(labels[i + 1][0], 16) if i + 1 < len(labels) else start + 16
            spans.append((start, min(end, start + 16), name))
        spans.sort()
        self.spans = spans
        self.keys = [s[0] for s in spans]
        at = {}
        for start, _, name in spans:
            at.setdefault(start, []).append(name)
        for start, _, name in spans:
            self.starts.setdefault(canon(name), set()).add(start)
            # A stub of an IRELATIVE relocation (glibc's calls to its own memcpy, strlen...)
            # has no symbol: objdump labels it *ABS*+0xTARGET@plt, perf prints "@plt", nsprof
            # names it after the IFUNC whose resolver TARGET is (memcpy@plt).
            m = re.match(r"\*ABS\*\+0x([0-9a-f]+)@plt$", name)
            if m:
                self.starts.setdefault("@plt", set()).add(start)
                for ifunc in at.get(int(m.group(1), 16), []):
                    self.starts.setdefault(canon(ifunc + "@plt"), set()).add(start)

    def covering(self, addr):
        """(start, name) of the symbol or stub holding addr, or None."""
        i = bisect.bisect_right(self.keys, addr) - 1
        while i >= 0 and self.spans[i][0] <= addr:
            if addr < self.spans[i][1]:
                return self.spans[i][0], self.spans[i][2]
            i -= 1
        return None

    def places(self, key):
        """Start addresses of the function an entry names, or set() when unknown."""
        m = ADDR.match(key[1])
        if m and m.group(1) == key[0]:
            c = self.covering(int(m.group(2), 16))
            return {c[0]} if c else set()
        return self.starts.get(canon(key[1]), set())


# ---- comparison ------------------------------------------------------------------------

class Side:
    """One tool's self samples, pooled over the runs, with the names it printed."""

    def __init__(self):
        self.samples, self.total, self.printed = {}, 0, {}

    def add(self, raw, total):
        self.total += total
        for (module, name), n in raw.items():
            module = "[kernel]" if module.startswith("[kernel") else module
            key = (module, name if (module, name) == KERNEL or is_addr(name) else canon(name))
            self.samples[key] = self.samples.get(key, 0) + n
            self.printed.setdefault(key, set()).add(name)

    def share(self, key):
        return 100.0 * self.samples.get(key, 0) / self.total if self.total else 0.0

    def top(self, n):
        return sorted(self.samples, key=lambda k: (-self.samples[k], k))[:n]

    def move(self, src, dst, label=None):
        """src's samples and printed names join dst's (label: src's module, when the name
        alone would not say where perf saw it)."""
        self.samples[dst] = self.samples.get(dst, 0) + self.samples.pop(src)
        names = self.printed.pop(src)
        if label:
            names = {"%s (%s)" % (n, label) for n in names}
        self.printed.setdefault(dst, set()).update(names)


INTERPOSER = "libnsprof.so"


def fold_interposers(ns, pf, merges, places):
    """In the same run perf also sees nsprof's interposers in libnsprof.so (malloc, free,
    pthread_mutex_lock: a flag test and a jump, there whether their event is on or not);
    nsprof hides its own frames and charges them to the function called, the glibc one. So
    perf's libnsprof.so entries join the entry of the same name in another module, or the
    function of that name in a module that defines it (its aliases are matched later)."""
    keys = list(pf.samples) + list(ns.samples)
    modules = sorted({k[0] for k in keys} - {INTERPOSER, KERNEL[0]})
    for key in [k for k in pf.samples if k[0] == INTERPOSER]:
        same = [k for k in keys if k[1] == key[1] and k[0] != INTERPOSER]
        target = same[0] if same else next(
            ((m, key[1]) for m in modules if places((m, key[1]))), None)
        if target:
            pf.move(key, target, INTERPOSER)
            merges.setdefault(target, set()).add("interposer")


def match_leftovers(ns, pf, paths):
    """Entries that the other side has under no canonical name: looks
    them up in the module's ELF file and merges them with the other side's entries at the
    same function (an alias at the same address, or an address inside a function or PLT
    stub that the other tool names). Merged samples go to the named entry. Returns
    {key: {kinds}} of the entries that took others in: "interposer" (fold_interposers),
    "alias" or "unnamed"."""
    elfs, merges = {}, {}

    def places(key):
        if key[0] not in paths:
            return set()
        if key[0] not in elfs:
            elfs[key[0]] = ElfSymbols(*paths[key[0]])
        return elfs[key[0]].places(key)

    fold_interposers(ns, pf, merges, places)

    for a_side, b_side in ((ns, pf), (pf, ns)):
        for a in a_side.top(len(a_side.samples)):
            if a not in a_side.samples or a in b_side.samples:
                continue
            where = places(a)
            if not where:
                continue
            for b in sorted(k for k in b_side.samples if k not in a_side.samples and k[0] == a[0]):
                if not (places(b) & where):
                    continue
                if is_addr(a[1]) and not is_addr(b[1]):  # a joins b, the named one
                    a_side.move(a, b)
                    merges.setdefault(b, set()).update(merges.pop(a, set()) | {"unnamed"})
                    break
                b_side.move(b, a)
                kind = "unnamed" if is_addr(b[1]) else "alias"
                merges.setdefault(a, set()).update(merges.pop(b, set()) | {kind})
    return merges


def compare(name, ns, pf, merges, args):
    """Prints the table of one workload; returns the number of real disagreements."""
    rows = list(dict.fromkeys(ns.top(args.top) + pf.top(args.top)))
    rank_ns = {k: i + 1 for i, k in enumerate(ns.top(len(ns.samples)))}
    rank_pf = {k: i + 1 for i, k in enumerate(pf.top(len(pf.samples)))}
    unnamed = {k for k, kinds in merges.items() if "unnamed" in kinds}
    rows.sort(key=lambda k: -max(ns.share(k), pf.share(k)))
    print("\n%s: nsprof %d samples, perf %d samples (%d run%s, %s)" % (
        name, ns.total, pf.total, args.runs, "s" if args.runs > 1 else "",
        "same runs" if args.mode == "same" else "separate runs"))
    print("%-4s %-4s %-40s %-22s %8s %8s %7s %6s  %s" % (
        "ns#", "perf#", "function", "module", "nsprof%", "perf%", "diff", "sigma", "verdict"))
    bad = 0
    for k in rows:
        p1, p2 = ns.share(k), pf.share(k)
        d = p1 - p2
        sd = 100.0 * math.sqrt((p1 / 100) * (1 - p1 / 100) / max(ns.total, 1) +
                               (p2 / 100) * (1 - p2 / 100) / max(pf.total, 1))
        sig = abs(d) / sd if sd > 0 else 0.0
        verdict = []
        if abs(d) > args.max_diff and sig > 3:
            verdict.append("DISAGREE")
        # Absent from one side: a name of its own there, or samples the other tool missed,
        # unless so few that missing them is chance (0 samples where k were expected has
        # probability e^-k: k > 9 is the 3 sigma above).
        absent = "nsprof" if not ns.samples.get(k) else "perf" if not pf.samples.get(k) else None
        if absent and sig > 3:
            verdict.append("ABSENT from %s" % absent)
        if k in unnamed:
            verdict.append("NAME")
        bad += bool(verdict)
        if not verdict:
            verdict.append("ok" if not absent else "ok (absent from %s: noise)" % absent)
        for ranks, label in ((rank_ns, "nsprof"), (rank_pf, "perf")):
            if ranks.get(k, 0) > args.top:
                verdict.append("(rank %d in %s)" % (ranks[k], label))
        fn = k[1] if len(k[1]) <= 40 else k[1][:37] + "..."
        print("%-4s %-4s %-40s %-22s %7.2f%% %7.2f%% %+7.2f %6.1f  %s" % (
            rank_ns.get(k, "-"), rank_pf.get(k, "-"), fn, k[0][:22], p1, p2, d, sig,
            " ".join(verdict)))
    names = rows if not args.all_names else sorted(
        set(ns.samples) & set(pf.samples), key=lambda k: -ns.samples[k] - pf.samples[k])
    spelled = [(k, ns.printed[k], pf.printed[k]) for k in names
               if ns.samples.get(k) and pf.samples.get(k) and ns.printed[k] != pf.printed[k]]
    if spelled:
        print("names printed differently (nsprof | perf; samples; module; how matched)%s:" % (
            "" if not args.all_names else ", every entry"))
        for k, a, b in spelled:
            print("  %s | %s   (%d | %d; %s; %s)" % (
                ", ".join(sorted(a)), ", ".join(sorted(b)), ns.samples[k], pf.samples[k], k[0],
                ", ".join(sorted(merges.get(k, {"canonical form"})))))
    if args.all_names:
        alone = [(k, s) for k in set(ns.samples) ^ set(pf.samples)
                 for s in (ns if k in ns.samples else pf,) if s.samples[k] >= 10]
        if alone:
            # Fewer than 10 samples on one side and none on the other is within chance.
            print("printed by one tool only (10 samples or more):")
        for k, s in sorted(alone, key=lambda e: -e[1].samples[e[0]]):
            print("  %s: %s   (%d; %s)" % ("nsprof" if s is ns else "perf",
                                         ", ".join(sorted(s.printed[k])), s.samples[k], k[0]))
    return bad


def main():
    ap = argparse.ArgumentParser(
        description="\n\n".join(__doc__.split("\n\n")[:2]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit status: 0 every entry agrees, 1 a real disagreement (share or name), 2 a "
               "tool failed.\nHow names are matched: the script's docstring; results: "
               "docs/BENCHMARKS.md, Self shares beside perf.")
    ap.add_argument("--build", default="build", help="nsprof's build directory (default build)")
    ap.add_argument("--runs", type=int, default=3, help="runs per workload, pooled (default 3)")
    ap.add_argument("--keep", metavar="DIR", help="keep profiles and reports in DIR")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep DIR: compare the profiles kept there, record nothing")
    ap.add_argument("--workloads", nargs="+", default=["own", "sqlite3"],
                    choices=["own", "sqlite3", "xz"], help="default: own sqlite3")
    ap.add_argument("--mode", choices=["same", "separate"], default="same",
                    help="both tools on the same run (default) or each on its own run")
    ap.add_argument("--top", type=int, default=10, help="entries per tool's list (default 10)")
    ap.add_argument("--max-diff", type=float, default=1.0,
                    help="points of share difference allowed (default 1)")
    ap.add_argument("--freq", type=int, default=999, help="sampling rate (default 999)")
    ap.add_argument("--all-names", action="store_true",
                    help="list every name the tools print differently, not only the table's")
    ap.add_argument("--inline", action="store_true",
                    help="nsprof's default report (inlined functions as frames of their own) "
                         "instead of --no-inline")
    ap.add_argument("--units", type=int, default=150,
                    help="cpu_bound work units (default 150: ~2 s here)")
    ap.add_argument("--rows", type=int, default=1500000,
                    help="sqlite3 rows (default 1500000: ~2 s here)")
    ap.add_argument("--xz-mb", type=int, default=6, help="MB of input for xz (default 6)")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.reuse and not args.keep:
        ap.error("--reuse needs --keep DIR")
    if not shutil.which("perf"):
        sys.exit("compare_perf: needs perf (tools/setup.sh --bench)")

    tmp = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="compare_perf.")
    os.makedirs(tmp, exist_ok=True)
    bad = 0
    try:
        for name, (argv, stdin) in workloads(args, tmp).items():
            ns, pf, paths = Side(), Side(), {}
            for r in range(args.runs):
                nsp, data = record(args, argv, stdin, os.path.join(tmp, "%s.%d" % (name, r)))
                raw, total, pid, p1 = nsprof_self(args, nsp, args.keep)
                ns.add(raw, total)
                pid = pid if args.mode == "same" else None
                raw, total, p2 = perf_self(data, pid, os.path.basename(argv[0])[:15], args.keep)
                pf.add(raw, total)
                paths.update(p1)
                paths.update(p2)  # with build-ids, for debug files
                print("%s: run %d/%d: nsprof %d samples, perf %d" % (
                    name, r + 1, args.runs, ns.total, pf.total), file=sys.stderr)
            merges = match_leftovers(ns, pf, paths)
            bad += compare(name, ns, pf, merges, args)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n%s" % ("every entry agrees" if not bad else
                    "%d entr%s" % (bad, "y disagrees" if bad == 1 else "ies disagree")))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
