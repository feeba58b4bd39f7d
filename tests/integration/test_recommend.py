"""Recommendations (report/rules/recommend.h): each rule fires on its workload at the right
function and line, and stays silent on the fixed twin, which must produce no finding of any
rule. The workloads are tests/workloads/rules/*.c; each is recorded in the exact mode its
rule reads (--alloc full, --io on, --locks on) and, where CPU is not the point, without CPU
sampling (--event none or wall) so that hot_function has nothing to say about it."""
import os
import re

from nsptest import NsprofTest, workload

SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads", "rules")


def source_lines(filename):
    with open(os.path.join(SOURCES, filename)) as f:
        return f.read().split("\n")


def line_of(filename, function, text):
    """The line of `text` inside `function`, found without hard-coding line numbers."""
    lines = source_lines(filename)
    start = next(i for i, l in enumerate(lines) if re.search(r"\b%s\(" % function, l))
    return next(i + 1 for i in range(start + 1, len(lines)) if text in lines[i])


def body_of(filename, function):
    """The lines (1-based, inclusive) from `function`'s definition to its closing brace."""
    lines = source_lines(filename)
    start = next(i for i, l in enumerate(lines)
                 if re.search(r"\b%s\(" % function, l) and not l.endswith(";"))
    end = next(i for i in range(start, len(lines)) if lines[i] == "}")
    return range(start + 1, end + 2)


class RuleTest(NsprofTest):
    def findings(self, cmd, *flags):
        rec = self.record(cmd, *flags)
        doc = self.report(rec.files())
        self.assertIn("recommendations", doc)
        for f in doc["recommendations"]:
            for key in ("rule", "severity", "function", "file", "line", "evidence", "suggestion",
                        "event", "share"):
                self.assertIn(key, f)
            self.assertIn(f["severity"], ("info", "low", "medium", "high"))
            self.assertTrue(f["evidence"] and f["suggestion"])
        return doc["recommendations"]

    def the_one(self, found, rule):
        hits = [f for f in found if f["rule"] == rule]
        self.assertEqual(len(hits), 1, "%s: %s" % (rule, found))
        return hits[0]

    def assert_clean(self, found):
        self.assertEqual(found, [], "the fixed twin must have no finding")

    def assert_at(self, f, function, filename, line):
        self.assertEqual(f["function"], function)
        self.assertEqual(os.path.basename(f["file"]), filename)
        if isinstance(line, range):
            self.assertIn(f["line"], line)
        else:
            self.assertEqual(f["line"], line)


class HotFunction(RuleTest):
    def test_fires_on_sixty_percent(self):
        f = self.the_one(self.findings([workload("rule_hot"), "fire"]), "hot_function")
        self.assert_at(f, "hot_loop", "rule_hot.c", body_of("rule_hot.c", "hot_loop"))
        self.assertEqual(f["event"], "cpu")
        self.assertGreater(f["share"], 0.45)  # 60% by construction
        self.assertEqual(f["severity"], "high")

    def test_silent_when_work_is_spread(self):
        self.assert_clean(self.findings([workload("rule_hot"), "fixed"]))


class AllocChurn(RuleTest):
    def test_site_form_fires_on_millions_of_short_lived_blocks(self):
        found = self.findings([workload("rule_alloc"), "fire"], "--alloc", "full", "--event",
                              "none")
        f = self.the_one(found, "alloc_churn")
        self.assert_at(f, "churn", "rule_alloc.c", line_of("rule_alloc.c", "churn", "malloc(48)"))
        self.assertEqual(f["event"], "alloc_count")
        self.assertIn("1,500,000 allocations", f["evidence"])

    def test_site_form_silent_when_the_block_is_reused(self):
        self.assert_clean(self.findings([workload("rule_alloc"), "fixed"], "--alloc", "full",
                                        "--event", "none"))

    def test_cpu_form_names_the_caller_of_the_allocator(self):
        found = self.findings([workload("rule_alloc"), "fire", "20000000"])
        f = self.the_one(found, "alloc_churn")
        self.assertEqual(f["function"], "churn")
        self.assertEqual(f["event"], "cpu")
        self.assertGreater(f["share"], 0.10)

    def test_cpu_form_silent_without_allocations(self):
        # A short run: too few CPU samples for any CPU rule, and no allocator in any case.
        found = self.findings([workload("rule_alloc"), "fixed"])
        self.assertEqual([f for f in found if f["rule"] == "alloc_churn"], [])


class Leak(RuleTest):
    def test_fires_where_the_blocks_were_allocated(self):
        found = self.findings([workload("rule_leak"), "fire"], "--alloc", "full", "--event", "none")
        f = self.the_one(found, "leak")
        self.assert_at(f, "build_list", "rule_leak.c",
                       line_of("rule_leak.c", "build_list", "malloc("))
        self.assertEqual(f["event"], "leak_bytes")
        self.assertEqual(f["severity"], "medium")  # 2,000,000 bytes: >= 1 MiB

    def test_silent_when_freed(self):
        self.assert_clean(self.findings([workload("rule_leak"), "fixed"], "--alloc", "full",
                                        "--event", "none"))


class SmallIo(RuleTest):
    def test_fires_on_one_write_per_record(self):
        found = self.findings([workload("rule_io"), "small-fire"], "--io", "on", "--event", "none")
        f = self.the_one(found, "small_io")
        self.assert_at(f, "write_small", "rule_io.c",
                       line_of("rule_io.c", "write_small", "write(fd, rec"))
        self.assertIn("20,000 system calls", f["evidence"])

    def test_silent_on_batched_and_stdio_buffered_writes(self):
        self.assert_clean(self.findings([workload("rule_io"), "small-fixed"], "--io", "on",
                                        "--event", "none"))


class IoBound(RuleTest):
    def test_fires_when_the_run_is_in_read(self):
        found = self.findings([workload("rule_io"), "bound-fire"], "--io", "on", "--event", "wall")
        f = self.the_one(found, "io_bound")
        self.assert_at(f, "read_fully", "rule_io.c",
                       line_of("rule_io.c", "read_fully", "read(fd, buf"))
        self.assertEqual(f["event"], "io_time")

    def test_silent_when_the_bytes_are_made_in_user_space(self):
        self.assert_clean(self.findings([workload("rule_io"), "bound-fixed"], "--io", "on",
                                        "--event", "wall"))


class LockContention(RuleTest):
    def test_fires_on_work_under_a_shared_mutex(self):
        found = self.findings([workload("rule_lock"), "fire"], "--locks", "on", "--event", "wall")
        f = self.the_one(found, "lock_contention")
        self.assert_at(f, "worker_locked", "rule_lock.c",
                       line_of("rule_lock.c", "worker_locked", "pthread_mutex_lock"))
        self.assertEqual(f["event"], "lock_wait")

    def test_silent_when_threads_work_apart(self):
        # Its eight threads compute on two CPUs, which wall mode's CPU samples and switch
        # records rightly say (hot_function, waiting_for_cpu); of locks, nothing.
        found = self.findings([workload("rule_lock"), "fixed"], "--locks", "on", "--event", "wall")
        self.assertEqual([f for f in found if f["rule"] not in ("hot_function", "waiting_for_cpu")],
                         [], found)


class WaitingForCpu(RuleTest):
    def test_fires_when_threads_outnumber_the_cpus(self):
        # Three busy threads per CPU: each waits for a CPU about twice as long as it runs.
        f = self.the_one(self.findings([workload("rule_threads"), "fire"]), "waiting_for_cpu")
        self.assertIsNone(f["function"])  # a property of the whole program, not of a line
        self.assertEqual(f["event"], "cpu")
        self.assertGreater(f["share"], 0.35)
        self.assertIn("waited", f["evidence"])

    def test_silent_when_every_thread_has_a_cpu(self):
        self.assert_clean(self.findings([workload("rule_threads"), "fixed"]))


class TextReport(RuleTest):
    def test_text_report_lists_the_finding(self):
        import subprocess
        from nsptest import NSPROF
        rec = self.record([workload("rule_leak"), "fire"], "--alloc", "full", "--event", "none")
        out = subprocess.run([NSPROF, "report", *rec.files()], stdout=subprocess.PIPE,
                             text=True, check=True).stdout
        section = out[out.index("Recommendations"):]
        self.assertIn("[medium] leak at build_list (rule_leak.c:", section)
