"""Issue 10: wall and off-CPU time measured, never provoked. The workloads measure their own
truth with their own clocks (sleep_loop, blockers, alarm_read, run_queue, wall_split); a
profile must match it, and the program must behave exactly as it does unprofiled: no wait
cut short, no call failing that would not have failed.

Where the answer comes from: with perf (the default here) the kernel's switch records give
exact off-CPU intervals; with --mechanism signal the blocking calls' own clocks do. Both
must put each wait at the stack that entered it, under a leaf naming why."""
import os
import re
import shutil
import subprocess
import time
import unittest

from nsptest import NSPROF, NsprofTest, event, weight, workload

SLEEP_LEAF = {"nanosleep": "[off-CPU: sleep]", "usleep": "[off-CPU: sleep]",
              "poll": "[off-CPU: poll]", "select": "[off-CPU: poll]",
              "system": "[off-CPU: wait]"}


def parse(line_re, stdout):
    m = re.search(line_re, stdout)
    if not m:
        raise AssertionError("no %r in the workload's output: %r" % (line_re, stdout))
    return m


def leaf_weight(stacks, leaf, needle=None):
    """Total weight of the folded stacks ending in `leaf` (and holding `needle`)."""
    return sum(w for s, w in stacks.items()
               if s.endswith(";" + leaf) and (needle is None or needle in s.split(";")))


class WallTime(NsprofTest):
    """The default: perf's switch records (a dummy event that samples nothing) for exact
    off-CPU time, on-CPU stacks from the threads' CPU timers."""
    mechanism = ()
    perf_samples = False
    # With the switch records a thread's wall time is its whole life, start-up included.
    wall_is_lifetime = True

    def sleep_loop(self, kind, iterations=20, wait_ms=20, compute_ms=5):
        rec = self.record([workload("sleep_loop"), kind, str(iterations), str(wait_ms),
                           str(compute_ms)], "-e", "wall", *self.mechanism)
        m = parse(r"waited_ns=(\d+) computed_ns=(\d+) total_ns=(\d+) early=(\d+)", rec.stdout)
        waited, total, early = int(m.group(1)), int(m.group(3)), int(m.group(4))
        # The program behaved as unprofiled: no wait returned early, by its answer or by the
        # clock, so every wait lasted its whole time.
        self.assertEqual(early, 0, "%s: %d waits ended early under the profiler" % (kind, early))
        self.assertGreaterEqual(waited, iterations * wait_ms * 1e6)
        doc = self.report(rec.files())
        wall = event(doc, "wall")
        stacks = self.folded(rec.files(), "--event", "wall")
        asleep = leaf_weight(stacks, SLEEP_LEAF[kind], "wait_once")
        # The program's clock runs from main's start to its end: so does main's wall time
        # (the process's start-up, before main, is not in the program's truth).
        if not self.wall_is_lifetime:
            # Without the kernel's switch records the waits are the interposers' own clocks,
            # exact, but the time on a CPU is the CPU timers' samples, which undercount it
            # when the machine is busy (docs/INTERPOSED.md: 0 of 15 ms measured beside two
            # CPU hogs) and never see time runnable: only the waits can be held to the truth.
            self.assertLess(abs(asleep - waited), 0.03 * waited,
                            "%s: the profile says %.1f ms waiting at wait_once, the program "
                            "measured %.1f ms" % (kind, asleep / 1e6, waited / 1e6))
            return rec
        in_main = weight(wall, "main")
        truth = waited / total
        share = asleep / in_main
        self.assertLess(abs(share - truth), 0.03,
                        "%s: the profile says %.1f%% of wall time waiting at wait_once, the "
                        "program measured %.1f%%" % (kind, share * 100, truth * 100))
        # Wall time adds up to the thread's life: the run, start-up included (the program's
        # own process: system() runs others, profiled apart).
        duration = [p["duration_ns"] for p in doc["processes"]
                    if os.path.basename(p["exe"]) == "sleep_loop"][0]
        life = sum(t["weight"] for t in wall["threads"] if t["name"] == "sleep_loop")
        self.assertLess(abs(life - duration), 0.05 * duration + 20e6,
                        "wall %d ns, the process lived %d ns" % (life, duration))
        return rec

    def test_nanosleep_loop(self):
        self.sleep_loop("nanosleep")

    def test_usleep_loop(self):
        self.sleep_loop("usleep")

    def test_poll_timeout_loop(self):
        self.sleep_loop("poll")

    def test_select_timeout_loop(self):
        self.sleep_loop("select")

    def test_system_waits_are_the_callers(self):
        # system() waits for its shell inside libc: its own hook charges the wait to it.
        self.sleep_loop("system", iterations=3, wait_ms=100, compute_ms=5)

    def test_usr_bin_sleep(self):
        sleep = shutil.which("sleep")
        t0 = time.monotonic()
        rec = self.record([sleep, "1"], "-e", "wall", *self.mechanism)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "sleep 1 ended early")
        stacks = self.folded(rec.files(), "--event", "off_cpu")
        self.assertGreater(leaf_weight(stacks, "[off-CPU: sleep]"), 0.99e9, stacks)

    def test_sigalrm_still_interrupts_a_read(self):
        # A program that relies on EINTR gets it, once, at its alarm's time.
        rec = self.record([workload("alarm_read"), "300"], "-e", "wall", *self.mechanism)
        m = parse(r"read=(-?\d+) errno=(\S+) waited_ns=(\d+) alarms=(\d+)", rec.stdout)
        self.assertEqual((m.group(1), m.group(2), m.group(4)), ("-1", "EINTR", "1"), rec.stdout)
        self.assertGreaterEqual(int(m.group(3)), 300e6)
        stacks = self.folded(rec.files(), "--event", "off_cpu")
        self.assertGreater(leaf_weight(stacks, "[off-CPU: io]", "main"), 0.29e9, stacks)

    def test_threads_blocked_in_different_calls(self):
        rec = self.record([workload("blockers"), "300"], "-e", "wall", *self.mechanism)
        truth = {m.group(2): int(m.group(3)) for m in
                 re.finditer(r"thread (\d+) (\S+) blocked_ns=(\d+)", rec.stdout)}
        self.assertEqual(len(truth), 6, rec.stdout)
        stacks = self.folded(rec.files(), "--event", "off_cpu")
        expect = {"reader": ("reader_main", "[off-CPU: io]"),
                  "lines": ("lines_main", "[off-CPU: io]"),
                  "cond": ("cond_main", "[off-CPU: cond]"),
                  "joiner": ("joiner_main", "[off-CPU: wait]"),
                  "epoller": ("epoller_main", "[off-CPU: poll]")}
        for name, (fn, leaf) in expect.items():
            got = leaf_weight(stacks, leaf, fn)
            self.assertLess(abs(got - truth[name]), 0.05 * truth[name] + 10e6,
                            "%s: %.1f ms at %s under %s, it blocked %.1f ms itself"
                            % (name, got / 1e6, fn, leaf, truth[name] / 1e6))
        self.check_raw_futex(stacks, truth["futex"])

    def check_raw_futex(self, stacks, blocked):
        # No interposer sees a raw futex: with perf it is still counted, at the thread's
        # last sampled stack, marked as such.
        got = sum(w for s, w in stacks.items() if s.endswith(";[off-CPU: other]")
                  and "[last sampled stack]" in s and "futex_main" in s)
        self.assertLess(abs(got - blocked), 0.05 * blocked + 10e6,
                        "futex: %.1f ms marked at its last sampled stack, it blocked %.1f ms"
                        % (got / 1e6, blocked / 1e6))

    def test_waits_of_cancelled_threads_count(self):
        # Their calls never return: the waits still lasted until the cancellation.
        rec = self.record([workload("cancel_blocked"), "200"], "-e", "wall", *self.mechanism)
        self.assertEqual(len(re.findall(r"victim\d cancelled cleanup", rec.stdout)), 4, rec.stdout)
        held = int(parse(r"held_ns=(\d+)", rec.stdout).group(1))
        stacks = self.folded(rec.files(), "--event", "off_cpu")
        for fn, leaf in (("blocked_read", "[off-CPU: io]"), ("blocked_cond", "[off-CPU: cond]"),
                         ("blocked_sleep", "[off-CPU: sleep]"), ("blocked_poll", "[off-CPU: poll]")):
            got = leaf_weight(stacks, leaf, fn)
            self.assertGreater(got, 0.9 * held, "%s: %.1f ms under %s, held %.1f ms"
                               % (fn, got / 1e6, leaf, held / 1e6))
            self.assertLess(got, 1.1 * held + 50e6, "%s: %.1f ms" % (fn, got / 1e6))

    def test_short_run_keeps_its_first_waits(self):
        # A run of ~20 ms: its first wait comes before the profile could be opened.
        rec = self.record([workload("sleep_loop"), "nanosleep", "1", "10", "5"], "-e", "wall",
                          *self.mechanism)
        doc = self.report(rec.files())
        stacks = self.folded(rec.files(), "--event", "off_cpu")
        self.assertGreaterEqual(leaf_weight(stacks, "[off-CPU: sleep]", "wait_once"), 10e6, stacks)
        if not self.wall_is_lifetime:
            return
        # Everything from main's start on is there (with LD_PRELOAD the events start in the
        # constructor, after the loader: the process's duration is a little longer).
        main = [t for t in event(doc, "wall")["threads"] if t["name"] == "sleep_loop"]
        duration = doc["processes"][0]["duration_ns"]
        total = int(parse(r"total_ns=(\d+)", rec.stdout).group(1))
        self.assertGreater(main[0]["weight"], total - 2e6,
                           "wall %d ns, main ran %d ns" % (main[0]["weight"], total))
        self.assertLess(main[0]["weight"], duration + 5e6,
                        "wall %d ns, the process lived %d ns" % (main[0]["weight"], duration))

    def test_no_unwind_table_is_built_inside_a_wait(self):
        # Building libc's table takes milliseconds: done in a blocking call's capture it
        # would lengthen the program's first wait (it is done before main instead).
        rec = self.record([workload("sleep_loop"), "nanosleep", "3", "1", "5"], "-e", "wall",
                          *self.mechanism)
        # The wall event holds the CPU samples' stacks too, and unlike the cpu event never
        # comes out empty (on a busy machine 15 ms of CPU may get no timer expiry at all).
        inside = [s for s in self.folded(rec.files(), "--event", "wall")
                  if "wait_once" in s and "ns_cfi_build" in s]
        self.assertEqual(inside, [])

    def test_unsampled_kernel_time_goes_to_the_call_that_spent_it(self):
        # perf limited to user space drops the ticks inside read(): that time is still wall
        # time, charged as [kernel] to the read that spent it, not to the next user stack.
        if not self.perf_samples:
            self.skipTest("perf's samples only")
        rec = self.record([workload("syscall_split"), "1.0"], "-e", "wall", "--kernel", "off",
                          *self.mechanism)
        doc = self.report(rec.files())
        self.assertEqual(doc["processes"][0]["settings"]["exclude_kernel"], "1")
        wall = event(doc, "wall")
        stacks = self.folded(rec.files(), "--event", "wall")
        in_read = sum(w for s, w in stacks.items() if s.endswith(";read;[kernel]"))
        # against main's time on its CPU: time spent preempted grows with the machine's load
        running = weight(wall, "main") - leaf_weight(stacks, "[off-CPU: preempted]", "main")
        self.assertGreater(in_read, 0.1 * running, sorted(stacks.items())[:5])
        self.assertGreater(doc["processes"][0]["counters"].get("wall_kernel_unsampled_ns", 0), 0)

    def test_wall_split_halves(self):
        # wall_split alternates 10 ms of computing and 10 ms of sleeping by the wall clock.
        rec = self.record([workload("wall_split"), "2"], "-e", "wall", *self.mechanism)
        doc = self.report(rec.files())
        ev = event(doc, "wall")
        compute = sum(f["total_weight"] for f in ev["functions_by_total"]
                      if f["name"] == "compute_phase")
        wait = sum(f["total_weight"] for f in ev["functions_by_total"]
                   if f["name"] == "wait_phase")
        m = parse(r"compute_cpu_ns=(\d+) compute_ns=(\d+) wait_ns=(\d+)", rec.stdout)
        cpu, computed, waited = (int(g) for g in m.groups())
        # Held to the program's own clocks (about 50/50; on a busy machine the waits last
        # longer, to when the thread gets a CPU again). Blind to time runnable, the CPU
        # timers and the interposers see the CPU time the compute phases got.
        seen = computed if self.wall_is_lifetime else cpu
        truth = seen / (seen + waited)
        self.assertLess(abs(compute / (compute + wait) - truth), 0.03,
                        (compute, wait, m.group(0)))

    measured_by = ("kernel", "measured from the kernel's context switches")

    def test_off_cpu_finding_names_where_the_thread_waits(self):
        rec = self.record([workload("sleep_loop"), "nanosleep", "20", "20", "5"], "-e", "wall",
                          *self.mechanism)
        found = [f for f in self.report(rec.files())["recommendations"] if f["rule"] == "off_cpu"]
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0]["function"], "wait_once")
        self.assertEqual(found[0]["event"], "off_cpu")
        self.assertIn("(sleep)", found[0]["evidence"])
        # The blocked read and fgets are I/O: io_bound, from off-CPU time alone (no --io).
        rec = self.record([workload("blockers"), "300"], "-e", "wall", *self.mechanism)
        found = self.report(rec.files())["recommendations"]
        io = [f for f in found if f["rule"] == "io_bound"]
        self.assertEqual(sorted(f["function"] for f in io), ["lines_main", "reader_main"], found)
        # Waiting for other threads (condition, join) is how programs are built: no finding.
        self.assertFalse([f for f in found if f["function"] in ("cond_main", "joiner_main")],
                         found)

    def test_off_cpu_finding_silent_when_the_thread_mostly_computes(self):
        rec = self.record([workload("sleep_loop"), "nanosleep", "20", "2", "20"], "-e", "wall",
                          *self.mechanism)
        found = self.report(rec.files())["recommendations"]
        self.assertFalse([f for f in found if f["rule"] == "off_cpu"], found)

    def test_report_says_how_off_cpu_time_was_measured(self):
        rec = self.record([workload("wall_split"), "1"], "-e", "wall", *self.mechanism)
        doc = self.report(rec.files())
        self.assertEqual(doc["processes"][0]["settings"]["off_cpu_measured_by"],
                         self.measured_by[0])
        text = subprocess.run([NSPROF, "report", *rec.files()], stdout=subprocess.PIPE,
                              text=True, check=True).stdout
        self.assertIn(self.measured_by[1], text)

    def test_on_cpu_stacks_come_from_where_the_mechanism_says(self):
        rec = self.record([workload("wall_split"), "1"], "-e", "wall", *self.mechanism)
        proc = self.report(rec.files())["processes"][0]
        timers = "cpu_timer_rate" in [n["code"] for n in proc["notes"]]
        self.assertEqual(timers, not self.perf_samples, proc["notes"])
        self.assertEqual(proc["settings"]["mechanism_used"],
                         "signal" if self.mechanism == ("--mechanism", "signal") else "perf")

    def test_cpu_mode_does_not_see_sleep(self):
        rec = self.record([workload("wall_split"), "1"], "-e", "cpu", *self.mechanism)
        doc = self.report(rec.files())
        names = [e["name"] for e in doc["events"]]
        self.assertNotIn("off_cpu", names)
        self.assertNotIn("wall", names)


class WallTimePerfSamples(WallTime):
    """--mechanism=perf: perf's cpu-clock samples (999 Hz) and switch records."""
    mechanism = ("--mechanism", "perf")
    perf_samples = True


class WallTimeSignals(WallTime):
    """perf forced off: CPU timers (they fire only while a thread runs) and the blocking
    calls' own clocks."""
    mechanism = ("--mechanism", "signal")
    # CPU timers and the interposers see neither the start-up's waits nor time runnable.
    wall_is_lifetime = False

    def check_raw_futex(self, stacks, blocked):
        # Invisible without the kernel's records: nothing may be charged there (its say()
        # may wait for the output lock, a real wait of its own).
        self.assertEqual(sum(w for s, w in stacks.items()
                             if "futex_main" in s.split(";") and "say" not in s), 0, stacks)

    measured_by = ("interposers", "measured by the blocking calls nsprof interposes")


if __name__ == "__main__":
    unittest.main()
