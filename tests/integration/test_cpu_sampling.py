"""CPU sampling end to end on ground-truth workloads: split_cpu spends its CPU time 25% in
work_a and 75% in work_b by construction (same code, 1:3 iterations). nsprof must attribute
that split within a tolerance derived from the sample count, on both mechanisms, single- and
multi-threaded, for -O2 code without frame pointers, and must achieve the asked rate on the
perf mechanism."""
import unittest

from nsptest import NsprofTest, binomial_tolerance, event, samples, workload

SPLIT = 0.25
FREQ = 999


class CpuSampling(NsprofTest):
    def check_split(self, ev, label):
        a, b = samples(ev, "work_a", "self"), samples(ev, "work_b", "self")
        n = a + b
        self.assertGreater(n, 100, "%s: too few samples in work_a/work_b" % label)
        share = a / n
        tol = binomial_tolerance(SPLIT, n)
        self.assertLess(abs(share - SPLIT), tol,
                        "%s: work_a has %.1f%% of the split's %d samples, expected %.0f%% ± %.1f"
                        % (label, share * 100, n, SPLIT * 100, tol * 100))
        return share

    def check_rate(self, doc, label, minimum):
        for proc in doc["processes"]:
            rate = proc["rate"]
            self.assertIsNotNone(rate, label)
            self.assertGreaterEqual(rate["hz"], minimum,
                                    "%s: achieved %.0f samples per CPU second" % (label, rate["hz"]))

    def check_stacks_reach_root(self, ev, label):
        stacks = ev["stacks"]
        self.assertGreaterEqual(stacks["root"], 0.99 * ev["samples"],
                                "%s: stack quality %s" % (label, stacks))

    def test_perf_single_thread(self):
        rec = self.record([workload("split_cpu"), "3"], "--mechanism=perf", "-F", str(FREQ))
        doc = self.report(rec.files())
        self.assertEqual(doc["processes"][0]["settings"]["mechanism_used"], "perf")
        ev = event(doc)
        self.check_split(ev, "perf")
        self.check_rate(doc, "perf", 0.9 * FREQ)
        self.check_stacks_reach_root(ev, "perf")
        # The callers are right too: both functions are called from run_split under main.
        for stack in self.folded(rec.files()):
            if stack.endswith(";work_a") or stack.endswith(";work_b"):
                self.assertIn(";main;run_split;work_", stack)

    def test_perf_two_threads(self):
        rec = self.record([workload("split_cpu"), "2", "2"], "--mechanism=perf", "-F", str(FREQ))
        doc = self.report(rec.files())
        threads = [t for t in event(doc)["threads"] if t["name"] == "split-0" or
                   t["name"] == "split-1"]
        self.assertEqual(len(threads), 2, "both worker threads are named and sampled")
        for name in ("split-0", "split-1"):
            per_thread = self.report(rec.files(), "--thread", name)
            self.check_split(event(per_thread), "perf thread " + name)
            group = event(per_thread)["threads"][0]
            self.assertGreaterEqual(group["achieved_hz"], 0.9 * FREQ,
                                    "%s achieved %.0f Hz" % (name, group["achieved_hz"]))

    def test_signal_fallback(self):
        rec = self.record([workload("split_cpu"), "3"], "--mechanism=signal", "-F", str(FREQ))
        doc = self.report(rec.files())
        proc = doc["processes"][0]
        self.assertEqual(proc["settings"]["mechanism_used"], "signal")
        ev = event(doc)
        self.check_split(ev, "signal")
        self.check_stacks_reach_root(ev, "signal")
        # CPU timers tick with the kernel: the profile states the rate it really got, and the
        # weights (each its thread's CPU time since the previous) still add up to the CPU time.
        self.assertGreater(proc["rate"]["hz"], 50)
        cpu_ns = proc["rate"]["cpu_ns"]
        self.assertLess(abs(ev["weight"] - cpu_ns) / cpu_ns, 0.1,
                        "weights %d vs CPU time %d" % (ev["weight"], cpu_ns))
        self.assertTrue(any(n["code"] == "cpu_timer_rate" for n in proc["notes"]))

    def test_signal_two_threads(self):
        rec = self.record([workload("split_cpu"), "2", "2"], "--mechanism=signal")
        for name in ("split-0", "split-1"):
            doc = self.report(rec.files(), "--thread", name)
            self.check_split(event(doc), "signal thread " + name)

    def test_threads_without_a_name_of_their_own_carry_the_programs(self):
        # rule_threads' workers never set a name: like perf, the report names them after
        # the thread that created them (they used to be "(unnamed)" when created after the
        # profile was opened).
        rec = self.record([workload("rule_threads"), "fire"])
        groups = event(self.report(rec.files()))["threads"]
        self.assertEqual([g["name"] for g in groups], ["rule_threads"], groups)
        self.assertGreaterEqual(len(groups[0]["tids"]), 4)

    def test_deep_recursion(self):
        rec = self.record([workload("deep_recursion"), "300", "1"], "--max-depth=1024")
        ev = event(self.report(rec.files()))
        self.check_stacks_reach_root(ev, "300 frames deep")
        deepest = max(stack.count(";descend") for stack in self.folded(rec.files()))
        self.assertGreaterEqual(deepest, 301, "every recursion level is a frame")

    def test_depth_limit_is_counted(self):
        rec = self.record([workload("deep_recursion"), "300", "0.5"], "--max-depth=64")
        ev = event(self.report(rec.files()))
        # Every sample at the bottom of the 300-deep recursion is cut at 64 frames and counted
        # so; the few taken while the program starts (the loader, main) are not that deep.
        bottom = samples(ev, "leaf_work")
        self.assertGreater(bottom, 0.9 * ev["samples"])
        self.assertGreaterEqual(ev["stacks"]["by_end"].get("depth", 0), 0.99 * bottom)

    def test_small_stack_copy_is_counted(self):
        rec = self.record([workload("deep_recursion"), "300", "0.5"], "--mechanism=perf",
                          "--stack-copy=1K")
        doc = self.report(rec.files())
        ev = event(doc)
        self.assertGreaterEqual(ev["stacks"]["by_end"].get("stack_end", 0), 0.99 * ev["samples"])
        self.assertGreater(int(doc["processes"][0]["counters"]["stack_copy_truncated"]), 0)


if __name__ == "__main__":
    unittest.main()
