"""Names as a reader needs them, on programs nobody here wrote (Debian's sqlite3, python3, xz):
nsprof's own frames never appear in any output, PLT stubs are named `x@plt`, unnamed code is
counted as such with the package that would name it, and a debug file passed with
--debug-dir names a stripped library's code."""
import os
import re
import shutil
import subprocess
import unittest

from nsptest import NsprofTest, NSPROF, PRELOAD, event

SQLITE3 = shutil.which("sqlite3")
XZ = shutil.which("xz")
PYTHON = "/usr/bin/python3"
ALL_ON = ("--alloc=full", "--io=on", "--locks=on")

SQL = """
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 400000)
INSERT INTO t SELECT i, printf('name-%d', i*7919 % 100003), i*0.5 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(c) FROM t WHERE b LIKE 'name-1%';
SELECT b, count(*) FROM t GROUP BY substr(b,1,7) ORDER BY 2 DESC LIMIT 3;
"""


def own_frame(frame):
    """A frame that is nsprof's own code (what must never be shown)."""
    return frame.startswith(("ns_", "locks_on")) or "libnsprof" in frame


class NsprofNames(NsprofTest):
    def all_outputs(self, files):
        """Every function name of every output: the JSON report's tables, the folded stacks
        of every event, the text report and the flame page."""
        doc = self.report(files)
        names = set()
        for ev in doc["events"]:
            for key in ("functions_by_self", "functions_by_total"):
                for f in ev.get(key) or []:
                    names.add(f["name"])
                    if f["module"] == "libnsprof.so":
                        names.add("libnsprof.so:" + f["name"])
            if ev["samples"] or ev.get("weight"):
                for stack in self.folded(files, "--event", ev["name"]):
                    names.update(stack.split(";"))
        text = subprocess.run([NSPROF, "report", "--top", "0", *files], stdout=subprocess.PIPE,
                              text=True, check=True).stdout
        page = os.path.join(self.dir, "page.html")
        subprocess.run([NSPROF, "flame", "-o", page, *files], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(page, encoding="utf-8") as f:
            html = f.read()
        return doc, names, text, html


@unittest.skipUnless(SQLITE3, "sqlite3 is not installed")
class SqliteShell(NsprofNames):
    def run_sqlite(self, *flags):
        script = os.path.join(self.dir, "work.sql")
        with open(script, "w") as f:
            f.write(SQL)
        plain = subprocess.run([SQLITE3, ":memory:", ".read " + script], stdout=subprocess.PIPE,
                               text=True, check=True).stdout
        rec = self.record([SQLITE3, ":memory:", ".read " + script], *flags)
        self.assertEqual(rec.stdout, plain, "the program's output is unchanged")
        return rec

    def check_no_own_frame(self, *flags):
        rec = self.run_sqlite(*flags)
        doc, names, text, html = self.all_outputs(rec.files())
        own = sorted(n for n in names if own_frame(n))
        self.assertEqual(own, [], "nsprof's own frames in the profile (%s)" % (flags,))
        self.assertNotIn("libnsprof", text)
        self.assertIsNone(re.search(r"\bns_(hook|alloc|lock|io)", text), "text report")
        self.assertNotIn("libnsprof", html)
        self.assertIsNone(re.search(r"\bns_(hook|alloc|lock|io)", html), "flame page")
        return doc

    def test_no_own_frame_with_features_off(self):
        self.check_no_own_frame()

    def test_no_own_frame_with_every_feature_on(self):
        doc = self.check_no_own_frame(*ALL_ON)
        self.assertGreater(event(doc, "alloc_count")["weight"], 0)

    def test_plt_stubs_are_named_as_objdump_names_them(self):
        rec = self.run_sqlite()
        doc = self.report(rec.files())
        ev = event(doc)
        plt = [f for f in ev["functions_by_self"] if f["name"].endswith("@plt")]
        self.assertTrue(plt, "no PLT stub among %d functions" % len(ev["functions_by_self"]))
        # objdump (binutils) names every stub itself: each name nsprof gives must be one of
        # them, in the module nsprof says.
        for f in plt:
            path = module_path(doc, f["module"])
            dump = subprocess.run(["objdump", "-d", "--section=.plt", "--section=.plt.got",
                                   "--section=.plt.sec", path], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True).stdout
            stubs = set(re.findall(r"^[0-9a-f]+ <([^>]+@plt)>:", dump, re.M))
            self.assertIn(f["name"], stubs, "%s in %s" % (f["name"], path))
        # What is left unnamed in libsqlite3 (stripped to its exports) is static code, not a
        # stub: none of those addresses is inside a PLT section.
        for f in ev["functions_by_self"]:
            if not f["symbolized"] and f["module"].startswith("libsqlite3"):
                addr = int(f["name"].rpartition("+0x")[2], 16)
                self.assertFalse(in_plt(module_path(doc, f["module"]), addr), f["name"])


def module_path(doc, module):
    """The file of a module: from the report's symbol lines, else the one sqlite3 loads."""
    for p in doc["sampling"]["symbol_problems"]:
        if p["module"] == module:
            return p["path"]
    out = subprocess.run(["ldd", SQLITE3], stdout=subprocess.PIPE, text=True).stdout
    for path in re.findall(r"=> (/\S+)", out) + [SQLITE3]:
        if os.path.basename(os.path.realpath(path)) == module:
            return os.path.realpath(path)
    raise AssertionError("no file for module %s" % module)


def in_plt(path, addr):
    out = subprocess.run(["readelf", "-SW", path], stdout=subprocess.PIPE, text=True).stdout
    for m in re.finditer(r"\]\s+(\.plt\S*)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)",
                         out):
        start, size = int(m.group(2), 16), int(m.group(3), 16)
        if start <= addr < start + size:
            return True
    return False


PYMALLOC_ARENAS = """
import time
for round in range(60):
    x = [(i, i) for i in range(250000)]   # pymalloc arenas (mmap)
    del x                                   # arenas freed: munmap
"""


@unittest.skipUnless(os.path.exists(PYTHON), "Debian's python3 is not installed")
class PythonArenas(NsprofNames):
    def test_munmap_is_munmap_not_syscall(self):
        plain = subprocess.run([PYTHON, "-c", PYMALLOC_ARENAS + "print('done')"],
                               stdout=subprocess.PIPE, text=True, check=True).stdout
        rec = self.record([PYTHON, "-c", PYMALLOC_ARENAS + "print('done')"], "--alloc=full")
        self.assertEqual(rec.stdout, plain)
        stacks = self.folded(rec.files(), "--event", "cpu")
        munmap = sum(n for s, n in stacks.items() if re.search(r"(^|;)(__)?munmap(;|$)", s))
        via_syscall = sum(n for s, n in stacks.items() if re.search(r"(^|;)syscall(;|$)", s))
        self.assertGreater(munmap, 0, "pymalloc's arenas are unmapped in munmap")
        self.assertEqual(via_syscall, 0, "no munmap shown as libc's syscall()")
        own = [s for s in stacks if any(own_frame(f) for f in s.split(";"))]
        self.assertEqual(own, [])
        # The arenas' munmap are the program's own calls: python's frame (named, as
        # PyObject_GC_Del, or not: the interpreter is stripped to its exports) right above.
        self.assertTrue(any(re.search(r"(_?Py\w+|python3[.0-9]*\+0x[0-9a-f]+);(__)?munmap(;|$)",
                                      s) for s in stacks if "munmap" in s),
                        [s for s in stacks if "munmap" in s][:5])


class ExportsKeepTheirFrames(unittest.TestCase):
    """The analyzer shows a run of nsprof's frames as the function the program called by
    the outermost frame's exported name: an exported function of libnsprof.so that
    tail-jumps into an internal one would leave only the internal frame, and nsprof's own
    work would then be shown as the program's calls (seen in CI: a `syscall` under python's
    frame through munmap). No export may end in a direct jump to a function nothing
    exports."""

    def test_no_export_tail_jumps_into_internal_code(self):
        lib = os.path.join(os.path.dirname(os.path.abspath(NSPROF)), "libnsprof.so")
        if not os.path.exists(lib) or not shutil.which("objdump"):
            self.skipTest("needs libnsprof.so beside nsprof and objdump")
        exported = set()
        for line in subprocess.run(["nm", "-D", "--defined-only", lib], stdout=subprocess.PIPE,
                                   text=True, check=True).stdout.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TtWw":
                exported.add(int(f[0], 16))
        dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib],
                              stdout=subprocess.PIPE, text=True, check=True).stdout
        current, bad = None, []
        for line in dump.splitlines():
            m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
            if m:
                current = (int(m.group(1), 16), m.group(2))
                continue
            m = re.search(r"\tjmp\s+([0-9a-f]+) <([^>+]+)>$", line)
            if m and current and current[0] in exported:
                target = int(m.group(1), 16)
                if target not in exported and not m.group(2).endswith("@plt"):
                    bad.append("%s -> %s" % (current[1], m.group(2)))
        self.assertEqual(bad, [], "exported functions that tail-jump into internal code")


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, text=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def dpkg_package(path):
    for p in (path, re.sub(r"^/usr/", "/", path)):
        proc = subprocess.run(["dpkg", "-S", p], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        if proc.returncode == 0:
            return proc.stdout.split(":")[0]
    return None


@unittest.skipUnless(XZ, "xz is not installed")
class XzStripped(NsprofNames):
    def test_unnamed_share_and_the_package_that_names_it(self):
        data = os.path.join(self.dir, "data")
        with open(data, "wb") as f:
            state = 1
            words = []
            for i in range(400):
                state = (state * 1103515245 + 12345) % 2 ** 31
                words.append(b"w%x" % (state % 99991))
            for i in range(600000):
                state = (state * 1103515245 + 12345) % 2 ** 31
                f.write(words[state % 400] + b" ")
        subprocess.run([XZ, "-6", "-T1", "-k", "-f", data], check=True)
        with open(data + ".xz", "rb") as f:
            plain = f.read()
        rec = self.record([XZ, "-6", "-T1", "-k", "-f", data])
        with open(data + ".xz", "rb") as f:
            self.assertEqual(f.read(), plain, "xz writes the same bytes under nsprof")
        doc, names, text, _ = self.all_outputs(rec.files())
        ev = event(doc)
        lib = next(p for p in doc["sampling"]["symbol_problems"]
                   if p["module"].startswith("liblzma"))
        # Debian strips liblzma to its exported functions: what is not one of them is
        # unnamed, and the counts say so (by construction from the report's own tables).
        exported = {line.split()[-1].split("@")[0] for line in subprocess.run(
            ["nm", "-D", "--defined-only", lib["path"]], stdout=subprocess.PIPE,
            text=True).stdout.splitlines() if line.strip()}
        in_lib = [f for f in ev["functions_by_self"] if f["module"] == lib["module"]]
        for f in in_lib:
            if f["symbolized"]:
                self.assertIn(f["name"], exported, "named only by an exported symbol")
        unnamed = sum(f["self_samples"] for f in ev["functions_by_self"]
                      if not f["symbolized"] and f["module"] not in ("[kernel]",))
        self.assertEqual(ev["stacks"]["unnamed_leaf"], unnamed)
        self.assertGreater(ev["stacks"]["unnamed_leaf"], 0.5 * ev["samples"])
        self.assertEqual(lib["unnamed_leaf_samples"],
                         sum(f["self_samples"] for f in in_lib if not f["symbolized"]))
        # The fix names the package that ships the library, its -dbgsym and the build-id.
        package = dpkg_package(lib["path"])
        self.assertEqual(lib["package"], package)
        self.assertIn("%s-dbgsym" % package, lib["hint"])
        bid = build_id(lib["path"])
        self.assertIn(".build-id/%s/%s.debug" % (bid[:2], bid[2:]), lib["hint"])
        self.assertIn("%s-dbgsym" % package, text)
        self.assertRegex(text, r"unnamed frames \(module\+0xADDR\): [0-9.]+% at the leaf")
        rules = [r["rule"] for r in doc["recommendations"]]
        self.assertIn("unnamed_code", rules, "the recommendations say why they are silent")


class DebugDirNamesStrippedLibrary(NsprofNames):
    """A library stripped the way Debian strips (exports only, debug file by build-id): its
    static hot function is unnamed until --debug-dir points at the debug file."""

    LIB = r"""
    static __attribute__((noinline)) unsigned long mix(unsigned long x)
    {
        for (int i = 0; i < 64; i++)
            x = x * 6364136223846793005ul + 1442695040888963407ul ^ (x >> 17);
        return x;
    }
    unsigned long lib_work(unsigned long n)
    {
        unsigned long x = 0;
        for (unsigned long i = 0; i < n; i++)
            x += mix(i);
        return x;
    }
    """
    MAIN = r"""
    #include <stdio.h>
    #include <stdlib.h>
    unsigned long lib_work(unsigned long n);
    int main(int argc, char **argv)
    {
        printf("%lu\n", lib_work(strtoul(argv[1], NULL, 10)));
        return 0;
    }
    """

    def build(self):
        src = os.path.join(self.dir, "lib.c")
        with open(src, "w") as f:
            f.write(self.LIB)
        with open(os.path.join(self.dir, "main.c"), "w") as f:
            f.write(self.MAIN)
        lib = os.path.join(self.dir, "libmix.so")
        subprocess.run(["gcc", "-O2", "-g", "-fPIC", "-shared", "-Wl,--build-id", "-o", lib, src],
                       check=True)
        bid = build_id(lib)
        debug_dir = os.path.join(self.dir, "debug")
        debug = os.path.join(debug_dir, ".build-id", bid[:2], bid[2:] + ".debug")
        os.makedirs(os.path.dirname(debug))
        subprocess.run(["objcopy", "--only-keep-debug", lib, debug], check=True)
        subprocess.run(["strip", "--strip-unneeded", "--remove-section=.comment", lib],
                       check=True)
        app = os.path.join(self.dir, "app")
        subprocess.run(["gcc", "-O2", "-o", app, os.path.join(self.dir, "main.c"),
                        "-L" + self.dir, "-lmix", "-Wl,-rpath," + self.dir], check=True)
        return app, debug_dir, bid

    def test_names_appear_with_debug_dir(self):
        app, debug_dir, bid = self.build()
        rec = self.record([app, "3000000"])
        doc = self.report(rec.files())
        ev = event(doc)
        lib = next(p for p in doc["sampling"]["symbol_problems"] if p["module"] == "libmix.so")
        self.assertIn(".build-id/%s/%s.debug" % (bid[:2], bid[2:]), lib["hint"])
        self.assertGreater(lib["unnamed_leaf_samples"], 0.5 * ev["samples"])
        self.assertFalse(any(f["name"] == "mix" for f in ev["functions_by_self"]))
        named = self.report(rec.files(), "--debug-dir", debug_dir)
        ev = event(named)
        mix = next(f for f in ev["functions_by_self"] if f["name"] == "mix")
        self.assertGreater(mix["self_samples"], 0.5 * ev["samples"])
        self.assertEqual(mix["module"], "libmix.so")
        self.assertTrue(mix["file"].endswith("lib.c"), mix)
        self.assertLess(ev["stacks"]["unnamed_leaf"], 0.05 * ev["samples"])


if __name__ == "__main__":
    unittest.main()
