"""nsprof diff on builds whose difference is known by construction (tests/workloads/
diff_work.c): a quadratic function made linear beside an untouched one, a leak fixed, a
rebuilt binary with every address moved, and the same binary run twice (no difference at
all). The gate's exit status is what CI sees."""
import base64
import json
import os
import re
import subprocess
import unittest
import zlib

from nsptest import NsprofTest, NSPROF, workload

SCALE = "2"


class _Any:
    def __eq__(self, other):
        return True


ANY = _Any()


def page_data(html):
    """The document embedded in a flame page (docs/FLAME_DATA.md)."""
    m = re.search(r'id="nsprof-data" data-encoding="([a-z0-9-]+)">([^<]*)</script>', html)
    text = m.group(2)
    if m.group(1) == "deflate-base64":
        text = zlib.decompress(base64.b64decode(text), -15).decode()
    return json.loads(text)


class Diff(NsprofTest):
    def run_build(self, build, name, *flags):
        rec = self.record([workload(build), SCALE], *flags, name=name)
        self.assertEqual(rec.stdout, self.expected_output())
        return rec.files()[0]

    def expected_output(self):
        if not hasattr(self, "_out"):
            self._out = subprocess.run([workload("diff_before"), SCALE], stdout=subprocess.PIPE,
                                       text=True, check=True).stdout
        return self._out

    def diff(self, *args, gate=None):
        argv = [NSPROF, "diff", "--json", "--top", "0", *args]
        if gate is not None:
            argv[2:2] = ["--max-regression", str(gate)]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        return json.loads(proc.stdout), proc.returncode

    @staticmethod
    def row(doc, function):
        rows = [r for r in doc["functions"] if r["function"] == function and not r["inlined"]]
        return rows[0] if rows else None

    def test_optimized_function_is_named_untouched_is_noise_and_gate_follows(self):
        before = self.run_build("diff_before", "before.nsp")
        after = self.run_build("diff_after", "after.nsp")
        doc, status = self.diff(before, after, gate=10)
        self.assertEqual(status, 0, "an optimization passes the gate")
        pairs = self.row(doc, "count_pairs")
        self.assertIsNotNone(pairs, [r["function"] for r in doc["functions"]][:10])
        # Quadratic to linear: its cost goes to (almost) nothing.
        self.assertLess(pairs["after"], 0.05 * pairs["before"], pairs)
        self.assertFalse(pairs["noise"], pairs)
        untouched = self.row(doc, "untouched")
        self.assertIsNotNone(untouched)
        self.assertTrue(untouched["noise"], untouched)
        self.assertLess(abs(untouched["delta_pct"]), 15, untouched)
        self.assertLess(doc["total"]["delta_pct"], -20)
        self.assertFalse(doc["total"]["noise"])
        # Reversed, the same change is a regression: the gate fails, naming it.
        doc, status = self.diff(after, before, gate=10)
        self.assertEqual(status, 1)
        self.assertIn("count_pairs", doc["gate"]["functions"])
        self.assertNotIn("untouched", doc["gate"]["functions"])
        text = subprocess.run([NSPROF, "diff", "--max-regression", "10", after, before],
                              stdout=subprocess.PIPE, text=True)
        self.assertEqual(text.returncode, 1)
        self.assertIn("FAILED", text.stdout)
        self.assertIn("count_pairs", text.stdout)

    def test_the_same_binary_twice_is_noise(self):
        for i in range(5):
            a = self.run_build("diff_before", "a%d.nsp" % i)
            b = self.run_build("diff_before", "b%d.nsp" % i)
            doc, status = self.diff(a, b, gate=10)
            failing = doc.get("gate", {}).get("functions")
            self.assertEqual(status, 0, "round %d: false alarm: total %s, %s" %
                             (i, doc["total"], failing))
            for name in ("count_pairs", "untouched"):
                self.assertTrue(self.row(doc, name)["noise"], (i, self.row(doc, name)))

    def test_several_runs_per_side(self):
        # Interleaved, so that a drift of the machine's speed falls on both sides alike. Five
        # a side: with three, Welch's t has about 2 degrees of freedom and its p-value for
        # count_pairs (0.0015 in one CI run) can miss Benjamini-Hochberg's bar over ~60
        # functions, most of them a sample or two (noted in the issue as a limit).
        before, after = [], []
        for i in range(5):
            before.append(self.run_build("diff_before", "b%d.nsp" % i))
            after.append(self.run_build("diff_after", "a%d.nsp" % i))
        doc, status = self.diff("--before", *before, "--after", *after, gate=10)
        self.assertEqual(status, 0)
        self.assertEqual(doc["runs"], {"before": 5, "after": 5})
        self.assertIn("Welch", doc["method"])
        pairs = self.row(doc, "count_pairs")
        self.assertFalse(pairs["noise"], pairs)
        # Welch's t has no floor: a steady shift of a few % between runs can be real to it
        # (a CI run once judged untouched so). What construction promises is a small change.
        untouched = self.row(doc, "untouched")
        self.assertLess(abs(untouched["delta_pct"]), 10, untouched)

    def test_a_rebuilt_binary_matches_function_for_function(self):
        before = self.run_build("diff_before", "before.nsp")
        padded = self.run_build("diff_padded", "padded.nsp")
        doc, _ = self.diff(before, padded)
        named = [r for r in doc["functions"] if r["symbolized"] and r["presence"] != "both"
                 and r["share"] > 1]
        self.assertEqual(named, [], "every function of weight matches across the rebuild")
        for name in ("count_pairs", "untouched", "main"):
            self.assertEqual(self.row(doc, name)["presence"], "both", name)
        self.assertLess(doc["unmatched"]["before_pct"], 1)

    def test_a_fixed_leak_shows_in_leak_and_peak_bytes(self):
        before = self.run_build("diff_before", "before.nsp", "--alloc=full")
        after = self.run_build("diff_after", "after.nsp", "--alloc=full")
        doc, _ = self.diff("-e", "leak_bytes", before, after)
        self.assertEqual(doc["kind"], "exact")
        # 1,000 blocks of 8 KiB leaked before, none after.
        self.assertGreaterEqual(doc["total"]["before"] - doc["total"]["after"], 1000 * 8192)
        self.assertFalse(doc["total"]["noise"])
        keep = self.row(doc, "keep_blocks")
        self.assertIsNotNone(keep, [r["function"] for r in doc["functions"]])
        self.assertEqual(keep["before_total"], 1000 * 8192)
        self.assertEqual(keep["after_total"], 0)
        peak = next(s for s in doc["summary"] if s["event"] == "peak_bytes")
        self.assertGreaterEqual(peak["before"] - peak["after"], 999 * 8192 - 65536)

    def test_two_static_functions_of_one_name_are_told_apart_by_file(self):
        # same_name A B runs A rounds of same_name_a.c's static step and B of
        # same_name_b.c's: 3:1 before, 1:3 after. Merged, the two would not have moved.
        def run(a, b, name):
            argv = [workload("same_name"), a, b]
            rec = self.record(argv, name=name)
            self.assertEqual(rec.stdout, subprocess.run(argv, stdout=subprocess.PIPE,
                                                        text=True, check=True).stdout)
            return rec.files()[0]
        before = run("300000", "100000", "before.nsp")
        after = run("100000", "300000", "after.nsp")
        doc, _ = self.diff(before, after)
        steps = {r["declared_in"]: r for r in doc["functions"] if r["function"] == "step"}
        self.assertEqual(sorted(steps), ["same_name_a.c", "same_name_b.c"], doc["functions"][:4])
        a, b = steps["same_name_a.c"], steps["same_name_b.c"]
        self.assertFalse(a["noise"])
        self.assertFalse(b["noise"])
        self.assertAlmostEqual(a["delta_pct"], -100.0 * 2 / 3, delta=10)
        self.assertAlmostEqual(b["delta_pct"], 200.0, delta=40)
        self.assertTrue(a["file"].endswith("same_name_a.c"), a["file"])
        text = subprocess.run([NSPROF, "diff", before, after], stdout=subprocess.PIPE,
                              text=True, check=True).stdout
        self.assertIn("step (same_name_a.c)", text)
        self.assertIn("step (same_name_b.c)", text)

    def test_usage_errors_exit_2(self):
        before = self.run_build("diff_before", "before.nsp")
        for args in ([before], [before, before, before], ["--before", before],
                     ["--normalize", "weekly", before, before],
                     ["--max-regression", "x", before, before],
                     [before, os.path.join(self.dir, "missing.nsp")],
                     ["-e", "no_such_event", before, before],
                     ["-o", "-", before, before]):
            proc = subprocess.run([NSPROF, "diff", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
            self.assertEqual(proc.returncode, 2, (args, proc.stderr))
            self.assertIn("nsprof: error:", proc.stderr)

    def test_page_is_written_safely_and_the_gate_still_decides(self):
        before = self.run_build("diff_before", "before.nsp")
        after = self.run_build("diff_after", "after.nsp")
        page = os.path.join(self.dir, "diff.html")
        # after -> before is a regression: exit 1, and the page is there to look at.
        proc = subprocess.run([NSPROF, "diff", "--max-regression", "10", "-o", page, after,
                               before], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("count_pairs", proc.stdout)
        self.assertEqual(os.stat(page).st_mode & 0o777, 0o600)
        with open(page, encoding="utf-8") as f:
            html = f.read()
        data = page_data(html)
        self.assertEqual(data["diff"]["runs"], [{"side": "before", "seconds": ANY},
                                                {"side": "after", "seconds": ANY}])
        self.assertEqual(data["diff"]["before_title"], "diff_after")
        # An existing page is not overwritten without --force (nothing else is lost).
        proc = subprocess.run([NSPROF, "diff", "-o", page, before, after],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("--force", proc.stderr)
        with open(page, encoding="utf-8") as f:
            self.assertEqual(f.read(), html)
        # A symlink planted at the name is not followed, even with --force.
        target = os.path.join(self.dir, "target")
        with open(target, "w") as f:
            f.write("keep")
        link = os.path.join(self.dir, "link.html")
        os.symlink(target, link)
        proc = subprocess.run([NSPROF, "diff", "-o", link, before, after],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        with open(target) as f:
            self.assertEqual(f.read(), "keep")


if __name__ == "__main__":
    unittest.main()
