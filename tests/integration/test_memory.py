"""Allocation profiling (--alloc): exact counts, bytes, leaks and peak in full mode, unbiased
estimates in sample mode, C++ new/delete, threads freeing each other's blocks, and fork."""
import os
import re
import subprocess
import unittest

from nsptest import NSPROF, NsprofTest, workload

SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads")


def source_line(filename, function, text):
    """The line of `text` inside `function` of a workload's source: the truth a leak report's
    file:line must match, found without hard-coding line numbers."""
    with open(os.path.join(SOURCES, filename)) as f:
        lines = f.read().split("\n")
    start = next(i for i, l in enumerate(lines) if re.search(r"\b%s\(" % function, l))
    return next(i + 1 for i in range(start + 1, len(lines)) if text in lines[i])


def site(sites, function, via=None):
    """The one site of `function` (and `via`); fails when there is none or several."""
    found = [s for s in sites if s["function"] == function and (via is None or s["via"] == via)]
    assert len(found) == 1, "%d sites of %s via %s in %s" % (
        len(found), function, via, [(s["function"], s["via"]) for s in sites])
    return found[0]


def absent(sites, function):
    return not any(s["function"] == function for s in sites)


class FullMode(NsprofTest):
    def record_exact(self):
        rec = self.record([workload("alloc_truth"), "exact"], "--alloc", "full")
        self.assertIn("huge failed errno 12", rec.stdout, "a failing malloc still sets ENOMEM")
        return self.report(rec.files())["memory"]

    def test_every_entry_point_counted_exactly(self):
        mem = self.record_exact()
        self.assertEqual(mem["mode"], "full")
        self.assertTrue(mem["exact"])
        sites = mem["sites_by_bytes"]
        expected = [  # function, via, count, bytes
            ("small_pairs", "malloc", 1000, 24000),
            ("leak_blocks", "malloc", 37, 3700),
            ("zeroed", "calloc", 50, 1600),
            ("aligned", "posix_memalign", 20, 4000),
            ("aligned", "aligned_alloc", 10, 1280),
            ("old_aligned", "memalign", 1, 300),
            ("old_aligned", "valloc", 1, 4096),
            ("peak_holder", "malloc", 8, 8 << 20),
            ("map_anon", "mmap", 1, 4 << 20),
            ("usable", "malloc", 1, 40),
        ]
        for function, via, count, nbytes in expected:
            s = site(sites, function, via)
            self.assertEqual((s["count"], s["bytes"]), (count, nbytes), "%s via %s" % (function, via))
        # realloc(NULL, 10) is an allocation; each growth a new one of the new size.
        grow = sorted(s["bytes"] for s in sites if s["function"] == "grow")
        self.assertEqual(grow, [10, 1000, 5000])

    def test_leaks_name_function_and_line(self):
        mem = self.record_exact()
        leaks = mem["leaks"]
        self.assertEqual(leaks["status"], "found")
        s = site(leaks["sites"], "leak_blocks")
        self.assertEqual(s["bytes"], 3700)
        self.assertEqual(os.path.basename(s["file"]), "alloc_truth.c")
        self.assertEqual(s["line"], source_line("alloc_truth.c", "leak_blocks", "malloc(100)"))
        self.assertEqual(site(leaks["sites"], "old_aligned", "memalign")["bytes"], 300)
        self.assertEqual(site(leaks["sites"], "old_aligned", "valloc")["bytes"], 4096)
        for freed in ("small_pairs", "zeroed", "grow", "aligned", "peak_holder", "map_anon",
                      "usable"):
            self.assertTrue(absent(leaks["sites"], freed), freed + " freed everything")

    def test_peak_holds_what_was_live_together(self):
        mem = self.record_exact()
        peak = mem["peak"]
        self.assertEqual(peak["status"], "found")
        self.assertFalse(peak["estimated"])
        self.assertEqual(site(peak["sites"], "peak_holder")["bytes"], 8 << 20)
        # Freed before the peak was reached: nothing of theirs was live at it.
        self.assertTrue(absent(peak["sites"], "small_pairs"))
        self.assertTrue(absent(peak["sites"], "map_anon"))
        live = next(s for s in mem["series"] if s["name"] == "heap_live_bytes")
        self.assertGreaterEqual(live["max"], 8 << 20)
        self.assertGreater(len(live["points"]), 8, "the heap's rise and fall, not one point")

    def test_export_events(self):
        rec = self.record([workload("alloc_truth"), "exact"], "--alloc", "full")
        leaks = self.folded(rec.files(), "--event", "leak_bytes")
        by_leaf = {}
        for stack, count in leaks.items():
            frames = stack.split(";")
            by_leaf[frames[-2] + ";" + frames[-1]] = by_leaf.get(frames[-2] + ";" + frames[-1], 0) + count
        self.assertEqual(by_leaf.get("leak_blocks;malloc"), 3700)
        counts = self.folded(rec.files(), "--event", "alloc_count")
        small = sum(c for s, c in counts.items() if s.endswith("small_pairs;malloc"))
        self.assertEqual(small, 1000)

    def test_cxx_new_and_delete(self):
        rec = self.record([workload("alloc_cxx")], "--alloc", "full")
        self.assertIn("vector 1000", rec.stdout)
        mem = self.report(rec.files())["memory"]
        sites = mem["sites_by_bytes"]
        self.assertEqual((site(sites, "make_widgets")["count"], site(sites, "make_widgets")["bytes"]),
                         (300, 300 * 48))
        self.assertEqual((site(sites, "make_arrays")["count"], site(sites, "make_arrays")["bytes"]),
                         (40, 40 * 1000))
        self.assertEqual(site(sites, "fill_vector")["bytes"], 8000)
        leak = site(mem["leaks"]["sites"], "leak_widgets")
        self.assertEqual(leak["bytes"], 16 * 48)
        self.assertTrue(absent(mem["leaks"]["sites"], "make_widgets"))

    def test_threads_freeing_each_others_blocks(self):
        rec = self.record([workload("alloc_stress"), "4", "100000"], "--alloc", "full")
        m = re.search(r"churn allocations (\d+) bytes (\d+)", rec.stdout)
        n, nbytes = int(m.group(1)), int(m.group(2))
        mem = self.report(rec.files())["memory"]
        churn = site(mem["sites_by_bytes"], "churn")
        self.assertEqual((churn["count"], churn["bytes"]), (n, nbytes))
        self.assertTrue(absent(mem["leaks"]["sites"], "churn"), "every churned block was freed")
        self.assertEqual(site(mem["leaks"]["sites"], "keep_some")["bytes"], 4 * 5 * 256)


class SampleMode(NsprofTest):
    def test_equal_bytes_in_small_and_huge_blocks(self):
        # 128 MiB from 16-byte blocks and 128 MiB from 1 MiB blocks. At a 32 KiB mean
        # interval ~4,100 small allocations are sampled: the estimate's standard deviation
        # is ~1.6%, so 10% is more than 6 of them.
        rec = self.record([workload("alloc_truth"), "sample"], "--event", "none", "--alloc",
                          "sample", "--alloc-interval", "32K")
        mem = self.report(rec.files())["memory"]
        self.assertEqual(mem["mode"], "sample")
        self.assertFalse(mem["exact"])
        total = 128 << 20
        tiny = site(mem["sites_by_bytes"], "tiny_blocks")
        huge = site(mem["sites_by_bytes"], "huge_blocks")
        self.assertAlmostEqual(tiny["bytes"] / total, 1.0, delta=0.10)
        self.assertAlmostEqual(huge["bytes"] / total, 1.0, delta=0.10)
        self.assertAlmostEqual(tiny["count"] / (total // 16), 1.0, delta=0.10)
        self.assertAlmostEqual(huge["count"] / 128, 1.0, delta=0.10)

    def test_sampled_blocks_are_freed_and_leaks_estimated(self):
        rec = self.record([workload("alloc_truth"), "exact"], "--alloc", "sample",
                          "--alloc-interval", "1")
        # An interval of one byte samples every allocation: estimates equal the truth.
        mem = self.report(rec.files())["memory"]
        self.assertEqual(site(mem["sites_by_bytes"], "small_pairs")["count"], 1000)
        self.assertEqual(site(mem["leaks"]["sites"], "leak_blocks")["bytes"], 3700)
        self.assertTrue(absent(mem["leaks"]["sites"], "small_pairs"))


class Fork(NsprofTest):
    def check_fork(self, *flags):
        # 20 children forked while another thread allocates without pause: each child's
        # profile holds its own leak, the parent's its own; nothing hangs (timeout).
        rec = self.record([workload("alloc_truth"), "fork"], *flags, timeout=120)
        self.assertIn("children failed: 0", rec.stdout)
        files = rec.files()
        self.assertEqual(len(files), 21, files)
        parent = self.report([files[0]])["memory"]
        self.assertEqual(site(parent["leaks"]["sites"], "leak_blocks")["bytes"], 3700)
        self.assertTrue(absent(parent["leaks"]["sites"], "child_leak"))
        for f in files[1:]:
            doc = self.report([f])
            self.assertTrue(doc["processes"][0]["complete"], f)
            child = doc["memory"]
            self.assertEqual(site(child["leaks"]["sites"], "child_leak")["bytes"], 3000, f)
            self.assertTrue(absent(child["sites_by_bytes"], "leak_blocks"), f)

    def test_fork_full(self):
        self.check_fork("--alloc", "full")

    def test_fork_sample_every_byte(self):
        self.check_fork("--alloc", "sample", "--alloc-interval", "1")


class OutOfMemory(NsprofTest):
    def test_table_that_cannot_grow_marks_the_profile_inexact(self):
        # The program's heap has room, nsprof's table does not (address space capped).
        rec = self.record([workload("alloc_truth"), "exhaust"], "--event", "none", "--alloc",
                          "full", timeout=120)
        self.assertIn("exhaust: 4194304 blocks, 0 failed", rec.stdout,
                      "the program's own allocations are unaffected")
        self.assertRecordSaid(rec, "live-allocation table could not grow", "said loudly")
        doc = self.report(rec.files())
        self.assertIn("alloc_inexact", [n["code"] for n in doc["processes"][0]["notes"]])
        mem = doc["memory"]
        self.assertFalse(mem["exact"])
        # Counting needs no table: calls and bytes stay exact.
        fill = site(mem["sites_by_bytes"], "fill_heap")
        self.assertEqual((fill["count"], fill["bytes"]), (4 << 20, 48 * (4 << 20)))
        text = subprocess.run([NSPROF, "report", *rec.files()], stdout=subprocess.PIPE,
                              text=True, check=True).stdout
        self.assertIn("LOWER BOUNDS", text)


class Bypassed(NsprofTest):
    def test_own_allocator_is_reported_not_hidden(self):
        rec = self.record([workload("own_malloc")], "--alloc", "full")
        self.assertIn("arena used", rec.stdout, "the program's own allocator still serves it")
        self.assertRecordSaid(rec, "malloc calls do not reach nsprof")
        doc = self.report(rec.files())
        codes = [n["code"] for n in doc["processes"][0]["notes"]]
        self.assertIn("alloc_not_reached", codes)


class RealPrograms(NsprofTest):
    def test_python_allocations_reach_nsprof(self):
        # Debian's python3 is a non-PIE-style binary that takes malloc's address: every
        # call goes through its own PLT stub, which must still be recognised as reaching us.
        script = "blocks = [bytearray(100000) for _ in range(50)]; print(len(blocks))"
        rec = self.record(["/usr/bin/python3", "-c", script], "--alloc", "full")
        self.assertEqual(rec.stdout.strip(), "50")
        self.assertNotIn("do not reach nsprof", rec.stderr)
        doc = self.report(rec.files())
        self.assertNotIn("alloc_not_reached", [n["code"] for n in doc["processes"][0]["notes"]])
        mem = doc["memory"]
        self.assertGreaterEqual(mem["allocated_bytes"], 50 * 100000)
        self.assertGreaterEqual(mem["peak"]["bytes"], 50 * 100000)


class Off(NsprofTest):
    def test_no_alloc_events_by_default(self):
        rec = self.record([workload("alloc_truth"), "exact"])
        doc = self.report(rec.files())
        self.assertIsNone(doc["memory"])
        self.assertEqual([e["name"] for e in doc["events"]], ["cpu"])


if __name__ == "__main__":
    unittest.main()
