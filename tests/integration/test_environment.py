"""Where nsprof meets its environment: perf_event refused (as under a container's seccomp
profile or perf_event_paranoid=3), output paths that are symlinks or already exist, and
damaged profiles given to the report."""
import os
import subprocess
import unittest

from nsptest import NSPROF, NsprofTest, event, samples, workload


class PerfRefused(NsprofTest):
    def test_falls_back_to_signals_and_says_why(self):
        rec = self.record([workload("deny_perf"), workload("split_cpu"), "1"])
        # deny_perf's own image is profiled with perf; the exec'd split_cpu can't be.
        doc = self.report([rec.files()[-1]])
        proc = doc["processes"][0]
        self.assertIn("split_cpu", proc["exe"])
        self.assertEqual(proc["settings"]["mechanism_used"], "signal")
        self.assertIn("refused", proc["settings"]["mechanism_reason"])
        self.assertIn("perf_event_paranoid", proc["settings"]["mechanism_reason"])
        self.assertIn("perf_refused", [n["code"] for n in proc["notes"]])
        self.assertGreater(samples(event(doc), "work_b"), 100)

    def test_record_warns_before_running(self):
        # nsprof record itself under the filter: it checks perf_event_open before starting.
        out = os.path.join(self.dir, "x.nsp")
        proc = subprocess.run([workload("deny_perf"), NSPROF, "record", "-o", out, "--",
                               workload("split_cpu"), "0.2"], stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("perf_event_open is refused", proc.stderr)
        self.assertIn("perf_event_paranoid", proc.stderr)
        self.assertIn("CAP_PERFMON", proc.stderr)


class OutputSafety(NsprofTest):
    def test_symlink_is_never_written_through(self):
        target = os.path.join(self.dir, "victim")
        with open(target, "w") as f:
            f.write("precious\n")
        link = os.path.join(self.dir, "p.nsp")
        os.symlink(target, link)
        rec = self.record([workload("split_cpu"), "0.1"], check=False)
        self.assertEqual(rec.returncode, 0, "the program still runs")
        self.assertIn("symbolic link", rec.stderr)
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_existing_profile_is_moved_aside(self):
        first = self.record([workload("split_cpu"), "0.1"])
        before = open(first.out, "rb").read()
        self.record([workload("split_cpu"), "0.1"])
        backup = first.out + ".~1~"
        self.assertTrue(os.path.exists(backup))
        self.assertEqual(open(backup, "rb").read(), before)
        self.report([first.out, backup])

    def test_existing_profile_refused(self):
        first = self.record([workload("split_cpu"), "0.1"])
        before = open(first.out, "rb").read()
        rec = self.record([workload("split_cpu"), "0.1"], "--if-exists=refuse", check=False)
        self.assertEqual(rec.returncode, 0)
        self.assertIn("already exists", rec.stderr)
        self.assertEqual(open(first.out, "rb").read(), before)


class DamagedProfiles(NsprofTest):
    def test_cut_file_is_reported_not_fatal(self):
        rec = self.record([workload("split_cpu"), "1.5"], "--flush-ms=200")
        data = open(rec.out, "rb").read()
        cut = os.path.join(self.dir, "cut.nsp")
        with open(cut, "wb") as f:
            f.write(data[: len(data) - 7])
        doc = self.report([cut])
        proc = doc["processes"][0]
        self.assertFalse(proc["complete"])
        self.assertIsNotNone(proc["truncated_at"])
        self.assertGreater(event(doc)["samples"], 0)

    def test_corrupt_file_names_the_offset(self):
        rec = self.record([workload("split_cpu"), "0.5"])
        data = bytearray(open(rec.out, "rb").read())
        data[40] ^= 0xFF
        bad = os.path.join(self.dir, "bad.nsp")
        open(bad, "wb").write(data)
        proc = self.report([bad], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("offset", proc.stderr)

    def test_not_a_profile(self):
        proc = self.report(["/etc/hostname"], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("not", proc.stderr)


if __name__ == "__main__":
    unittest.main()
