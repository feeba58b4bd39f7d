"""Issue 10: off-CPU time from the kernel's context switches, never provoked. run_queue's
threads measure their own truth with their own clocks: four CPU-bound threads on this
machine's two cores wait for a CPU (runnable) for their wall time minus their CPU time; a
sleeper blocks in nanosleep for ~200 ms; the main thread blocks in pthread_join throughout.

The tolerance: a thread's own clocks start at its first instruction and stop at its last,
while the kernel's records start at its creation (it waits for a CPU before it first runs)
and end at its exit; that window is at most a scheduling delay or two (a few ms here)."""
import os
import re
import subprocess
import unittest

from nsptest import NSPROF, NsprofTest, event, workload

BURN_S = 0.4


def own_clocks(stdout):
    """{tid: (name, wall_ns, cpu_ns)} as run_queue's threads measured themselves."""
    found = {}
    for m in re.finditer(r"thread (\d+) (\S+) wall_ns=(\d+) cpu_ns=(\d+)", stdout):
        found[int(m.group(1))] = (m.group(2), int(m.group(3)), int(m.group(4)))
    return found


def tolerance(wall_ns):
    return 0.05 * wall_ns + 10e6


class OffCpu(NsprofTest):
    def threads(self, rec):
        ev = event(self.report(rec.files()))
        return {tid: t for t in ev["threads"] for tid in t["tids"]}

    def test_runnable_and_blocked_time_match_the_threads_own_clocks(self):
        if (os.cpu_count() or 1) > 4:
            self.skipTest("needs more burners than cores (%d cores)" % os.cpu_count())
        rec = self.record([workload("run_queue"), str(BURN_S), "4"])
        truth = own_clocks(rec.stdout)
        self.assertEqual(len(truth), 5, rec.stdout)
        got = self.threads(rec)
        for tid, (name, wall, cpu) in truth.items():
            t = got.get(tid)
            self.assertIsNotNone(t, "thread %d (%s) is not in the report" % (tid, name))
            self.assertIsNotNone(t["runnable_ns"], "no off-CPU times for %s" % name)
            if name.startswith("burn"):
                waited = wall - cpu
                self.assertGreater(waited, 50e6, "%s never waited for a CPU: %d ns" % (name, waited))
                self.assertLess(abs(t["runnable_ns"] - waited), tolerance(wall),
                                "%s: waiting for CPU %.1f ms, its own clocks say %.1f ms"
                                % (name, t["runnable_ns"] / 1e6, waited / 1e6))
                self.assertLess(t["blocked_ns"], 10e6, "%s blocked %.1f ms"
                                % (name, t["blocked_ns"] / 1e6))
            else:
                # Off the CPU: asleep (ten sleeps of 20 ms), then, at each wake-up, perhaps
                # waiting for a CPU that the burners hold.
                off = t["blocked_ns"] + t["runnable_ns"]
                self.assertLess(abs(off - (wall - cpu)), tolerance(wall),
                                "sleeper: off the CPU %.1f ms, its own clocks say %.1f ms"
                                % (off / 1e6, (wall - cpu) / 1e6))
                self.assertGreaterEqual(t["blocked_ns"], 200e6 - 1e6)
                # It hardly ran: no rate rather than "0 Hz" (unless a sample caught it).
                if t["samples"] == 0:
                    self.assertIsNone(t["achieved_hz"], t)
        # The main thread waits in pthread_join for as long as the slowest burner runs.
        main = [t for tid, t in got.items() if tid not in truth]
        self.assertEqual(len(main), 1, main)
        slowest = max(wall for _, wall, _ in truth.values())
        off = main[0]["blocked_ns"] + main[0]["runnable_ns"]
        self.assertLess(abs(off - slowest), tolerance(slowest),
                        "main: off the CPU %.1f ms, the slowest thread ran %.1f ms"
                        % (off / 1e6, slowest / 1e6))
        self.assertGreater(main[0]["blocked_ns"], main[0]["runnable_ns"])

    def text_report(self, rec):
        return subprocess.run([NSPROF, "report", *rec.files()], stdout=subprocess.PIPE,
                              text=True, check=True).stdout

    def test_text_report_sums_the_threads_times(self):
        rec = self.record([workload("run_queue"), "0.05", "1"])
        line = next((l for l in self.text_report(rec).splitlines()
                     if l.strip().startswith("threads ")), None)
        self.assertIsNotNone(line, "no threads line in the Sampling section")
        self.assertRegex(line, r"3 threads ran .*, were blocked .* and waited .* for a CPU")

    def test_signal_mechanism_says_not_measured(self):
        # CPU timers see no context switch: the times are unknown (null), never zero.
        rec = self.record([workload("run_queue"), "0.05", "1"], "--mechanism=signal")
        for t in self.threads(rec).values():
            self.assertIsNone(t["runnable_ns"], t)
            self.assertIsNone(t["blocked_ns"], t)
        self.assertNotIn("for a CPU", self.text_report(rec))


if __name__ == "__main__":
    unittest.main()
