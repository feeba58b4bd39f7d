"""Where nsprof meets its environment: perf_event refused (as under a container's seccomp
profile or perf_event_paranoid=3), output paths that are symlinks or already exist, and
damaged profiles given to the report."""
import os
import shutil
import subprocess
import tempfile
import unittest

from nsptest import NSPROF, NsprofTest, event, samples, workload


class PerfRefused(NsprofTest):
    def test_falls_back_to_signals_and_says_why(self):
        # Everything under the filter, nsprof record included: no perf event can be opened,
        # neither by the agent from outside nor by the program on itself.
        out = os.path.join(self.dir, "p.nsp")
        proc = subprocess.run([workload("deny_perf"), NSPROF, "record", "-o", out, "--",
                               workload("split_cpu"), "1"], stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = self.report([out])
        proc = doc["processes"][0]
        self.assertIn("split_cpu", proc["exe"])
        self.assertEqual(proc["settings"]["mechanism_used"], "signal")
        self.assertIn("refused", proc["settings"]["mechanism_reason"])
        self.assertIn("perf_event_paranoid", proc["settings"]["mechanism_reason"])
        self.assertIn("perf_refused", [n["code"] for n in proc["notes"]])
        self.assertGreater(samples(event(doc), "work_b"), 100)

    def test_program_that_forbids_perf_itself_is_still_sampled_from_outside(self):
        # The program's own seccomp filter refuses perf_event_open to it and to what it
        # execs; nsprof record opened the events before, from outside: they still sample.
        rec = self.record([workload("deny_perf"), workload("split_cpu"), "1"])
        doc = self.report([rec.files()[-1]])
        proc = doc["processes"][0]
        self.assertIn("split_cpu", proc["exe"])
        self.assertEqual(proc["settings"]["mechanism_used"], "perf")
        self.assertEqual(proc["settings"]["mode"], "agent")
        self.assertGreater(samples(event(doc), "work_b"), 600)

    def test_record_warns_before_running(self):
        # nsprof record itself under the filter: it checks perf_event_open before starting.
        out = os.path.join(self.dir, "x.nsp")
        proc = subprocess.run([workload("deny_perf"), NSPROF, "record", "-o", out, "--",
                               workload("split_cpu"), "0.2"], stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("perf_event_open is refused", proc.stderr)
        self.assertIn("perf_event_paranoid", proc.stderr)
        self.assertIn("CAP_PERFMON", proc.stderr)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def unprivileged_runner():
    """A command prefix that drops root to nobody, when that works here: the test binaries
    must be reachable by nobody (CI may build under a private home)."""
    setpriv = shutil.which("setpriv")
    if os.getuid() != 0 or not setpriv:
        return None
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = subprocess.run(prefix + ["test", "-x", NSPROF, "-a", "-x", workload("syscall_split")])
    return prefix if probe.returncode == 0 else None


class Unprivileged(NsprofTest):
    def test_user_space_only_perf_reports_what_it_misses(self):
        prefix = unprivileged_runner()
        if not prefix:
            self.skipTest("needs root, setpriv, and a build directory that nobody can read")
        if read_bytes("/proc/sys/kernel/perf_event_paranoid").strip() != b"2":
            self.skipTest("needs kernel.perf_event_paranoid=2 (user-space self-profiling)")
        out_dir = tempfile.mkdtemp(prefix="nsprof-nobody-")
        os.chmod(out_dir, 0o777)
        try:
            out = os.path.join(out_dir, "u.nsp")
            proc = subprocess.run(prefix + [NSPROF, "record", "-o", out, "--",
                                            workload("syscall_split"), "1.5"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("limited to user space", proc.stderr)
            doc = self.report([out])
            proc_doc = doc["processes"][0]
            self.assertEqual(proc_doc["settings"]["mechanism_used"], "perf")
            self.assertEqual(proc_doc["settings"]["exclude_kernel"], "1")
            self.assertEqual(doc["sampling"]["kernel_excluded"], "all")
            # Reading /dev/zero is kernel time the samples cannot see: the report says how much.
            self.assertGreater(doc["sampling"]["kernel_unsampled_pct"], 5)
            self.assertLess(proc_doc["rate"]["hz"], 0.95 * 999)
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def test_root_samples_the_kernel_too(self):
        if os.getuid() != 0:
            self.skipTest("needs root")
        rec = self.record([workload("syscall_split"), "1.5"])
        doc = self.report(rec.files())
        self.assertEqual(doc["processes"][0]["settings"]["exclude_kernel"], "0")
        self.assertIsNone(doc["sampling"]["kernel_unsampled_pct"])
        # Ticks in the kernel are charged to the read() that entered it.
        kernel = [s for s in self.folded(rec.files()) if s.endswith(";[kernel]")]
        self.assertTrue(any("read" in s for s in kernel), kernel[:3])
        self.assertGreaterEqual(doc["processes"][0]["rate"]["hz"], 0.9 * 999)


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
        before = read_bytes(first.out)
        self.record([workload("split_cpu"), "0.1"])
        backup = first.out + ".~1~"
        self.assertTrue(os.path.exists(backup))
        self.assertEqual(read_bytes(backup), before)
        self.report([first.out, backup])

    def test_existing_profile_refused(self):
        first = self.record([workload("split_cpu"), "0.1"])
        before = read_bytes(first.out)
        rec = self.record([workload("split_cpu"), "0.1"], "--if-exists=refuse", check=False)
        self.assertEqual(rec.returncode, 0)
        self.assertIn("already exists", rec.stderr)
        self.assertEqual(read_bytes(first.out), before)


class DamagedProfiles(NsprofTest):
    def test_cut_file_is_reported_not_fatal(self):
        rec = self.record([workload("split_cpu"), "1.5"], "--flush-ms=200")
        data = read_bytes(rec.out)
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
        data = bytearray(read_bytes(rec.out))
        data[40] ^= 0xFF
        bad = os.path.join(self.dir, "bad.nsp")
        with open(bad, "wb") as f:
            f.write(data)
        proc = self.report([bad], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("offset", proc.stderr)

    def test_not_a_profile(self):
        proc = self.report(["/etc/hostname"], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("not", proc.stderr)


if __name__ == "__main__":
    unittest.main()
