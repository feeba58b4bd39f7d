"""A killed or crashing target still leaves a readable profile, and the program behaves the
same with nsprof as without: output, exit status, errno, signal dispositions, descriptors,
its own SIGPROF handler, dlopen through its own RUNPATH."""
import signal
import subprocess
import unittest

from nsptest import PRELOAD, NsprofTest, event, samples, workload


class Crashes(NsprofTest):
    def test_sigsegv(self):
        rec = self.record([workload("crash"), "segv", "1.5"], check=False)
        # nsprof record dies of the same signal as the program.
        self.assertEqual(rec.returncode, -signal.SIGSEGV, rec.stderr)
        self.assertRecordSaid(rec, "killed by signal 11")
        doc = self.report(rec.files())
        proc = doc["processes"][0]
        self.assertEqual(proc["end"]["reason"], "signal")
        self.assertEqual(proc["end"]["status"], signal.SIGSEGV)
        # Written by the crash handler: nothing of the 1.5 s is lost.
        self.assertGreater(samples(event(doc), "doomed_work"), 1000)

    def test_sigkill(self):
        rec = self.record([workload("crash"), "kill", "2.5"], check=False)
        self.assertEqual(rec.returncode, -signal.SIGKILL)
        doc = self.report(rec.files())
        proc = doc["processes"][0]
        # nsprof record is the program's parent: it knows how it died. A program started
        # with LD_PRELOAD alone has another parent, which alone learns the status: its agent
        # says the process is gone. Either way the agent drained the rings after the death,
        # so nothing sampled is lost (no flush interval to lose).
        if PRELOAD:
            self.assertEqual(proc["end"]["reason"], "gone")
        else:
            self.assertEqual(proc["end"]["reason"], "signal")
            self.assertEqual(proc["end"]["status"], signal.SIGKILL)
        self.assertTrue(proc["complete"])
        self.assertGreater(event(doc)["samples"], 0.95 * 2.5 * 999)
        self.assertGreater(samples(event(doc), "doomed_work"), 2200)

    def test_abort(self):
        rec = self.record([workload("crash"), "abort", "0.5"], check=False)
        self.assertEqual(rec.returncode, -signal.SIGABRT)
        proc = self.report(rec.files())["processes"][0]
        self.assertEqual(proc["end"]["reason"], "signal")
        self.assertEqual(proc["end"]["status"], signal.SIGABRT)


    def test_sigterm_still_writes_everything(self):
        rec = self.record([workload("crash"), "term", "0.5"], check=False)
        self.assertEqual(rec.returncode, -signal.SIGTERM)
        proc = self.report(rec.files())["processes"][0]
        self.assertEqual(proc["end"]["reason"], "signal")
        self.assertEqual(proc["end"]["status"], signal.SIGTERM)
        self.assertTrue(proc["complete"])


class Behaviour(NsprofTest):
    def test_same_output_status_errno_and_descriptors(self):
        plain = subprocess.run([workload("behaviour")], stdout=subprocess.PIPE, text=True)
        self.assertEqual(plain.returncode, 42)
        configs = [["--mechanism=perf"], ["--mechanism=signal"],
                   ["--alloc=full", "--io=on", "--locks=on"],
                   ["--event=none", "--alloc=sample", "--alloc-interval=1", "--io=on"]]
        for flags in configs:
            rec = self.record([workload("behaviour")], *flags, check=False)
            self.assertEqual(rec.returncode, 42, rec.stderr)
            self.assertEqual(rec.stdout, plain.stdout, " ".join(flags))
            proc = self.report(rec.files())["processes"][0]
            self.assertEqual(proc["end"], {"reason": "exit", "status": 42,
                                           "time_ns": proc["end"]["time_ns"]})

    def test_program_with_its_own_sigprof_handler(self):
        for mech in ("signal", "perf"):
            rec = self.record([workload("sigprof_user"), "1"], "--mechanism=" + mech,
                              check=False)
            self.assertEqual(rec.returncode, 0, "%s: %s%s" % (mech, rec.stdout, rec.stderr))
            self.assertRegex(rec.stdout, r"ticks=[1-9]\d* foreign=0")
            proc = self.report(rec.files())["processes"][0]
            notes = {n["code"]: n for n in proc["notes"]}
            self.assertIn("sigprof_handler", notes, mech)
            if mech == "signal":
                self.assertGreater(int(proc["counters"]["sigprof_forwarded"]), 0)
            self.assertGreater(samples(event(self.report(rec.files())), "own_work"), 100)

    def test_dlopen_through_the_callers_runpath(self):
        rec = self.record([workload("runpath_main")], check=False)
        self.assertEqual(rec.returncode, 0, rec.stdout + rec.stderr)
        self.assertIn("plugin says", rec.stdout)


if __name__ == "__main__":
    unittest.main()
