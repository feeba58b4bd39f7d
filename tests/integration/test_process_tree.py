"""fork, exec and posix_spawn: every image of the process tree gets a profile of its own, in
one session, named so that nothing collides (exec keeps the pid)."""
import os
import unittest

from nsptest import NsprofTest, event, samples, workload


class ProcessTree(NsprofTest):
    def profiles(self, rec):
        files = rec.files()
        docs = [self.report([f]) for f in files]
        sessions = {d["processes"][0]["session"] for d in docs}
        self.assertEqual(len(sessions), 1, "one session for the whole tree")
        return files, docs

    def test_fork(self):
        rec = self.record([workload("fork_exec"), "fork", "0.5"])
        files, docs = self.profiles(rec)
        self.assertEqual(len(files), 2, files)
        parent, child = docs
        self.assertEqual(child["processes"][0]["ppid"], parent["processes"][0]["pid"])
        self.assertGreater(samples(event(parent), "work_parent"), 100)
        self.assertEqual(samples(event(parent), "work_child"), 0)
        self.assertGreater(samples(event(child), "work_child"), 100)
        self.assertEqual(samples(event(child), "work_parent"), 0)
        # The child's file carries its pid and exec index; both files closed in order.
        pid = child["processes"][0]["pid"]
        self.assertTrue(files[1].endswith(".%d.0.nsp" % pid), files[1])
        for d in docs:
            self.assertTrue(d["processes"][0]["complete"])

    def test_exec(self):
        rec = self.record([workload("fork_exec"), "exec", "0.5"])
        files, docs = self.profiles(rec)
        self.assertEqual(len(files), 2, files)
        before, after = docs
        self.assertEqual(before["processes"][0]["pid"], after["processes"][0]["pid"])
        self.assertEqual(before["processes"][0]["exec_index"], 0)
        self.assertEqual(after["processes"][0]["exec_index"], 1)
        self.assertEqual(before["processes"][0]["end"]["reason"], "exec")
        self.assertEqual(after["processes"][0]["end"]["reason"], "exit")
        self.assertGreater(samples(event(before), "work_before"), 100)
        self.assertGreater(samples(event(after), "work_after"), 100)
        self.assertEqual(samples(event(after), "work_before"), 0)

    def test_failed_exec_goes_on_in_the_same_profile(self):
        rec = self.record([workload("fork_exec"), "badexec", "0.5"])
        files, docs = self.profiles(rec)
        self.assertEqual(len(files), 1, files)
        proc = docs[0]["processes"][0]
        self.assertEqual(proc["end"]["reason"], "exit", "only the final END counts")
        self.assertTrue(proc["complete"])
        self.assertIn("exec_failed", [n["code"] for n in proc["notes"]])
        ev = event(docs[0])
        self.assertGreater(samples(ev, "work_before"), 100)
        self.assertGreater(samples(ev, "work_after"), 100, "sampling resumed after the exec")

    def test_spawn_with_empty_environment(self):
        # The program hands its child an empty environment: nsprof puts the session back, so
        # the child is profiled in the same session.
        rec = self.record([workload("fork_exec"), "spawn", "0.5"])
        files, docs = self.profiles(rec)
        self.assertEqual(len(files), 2, files)
        child = docs[1]
        self.assertGreater(samples(event(child), "work_after"), 100)

    def test_merged_report_of_the_session(self):
        rec = self.record([workload("fork_exec"), "fork", "0.3"])
        doc = self.report(rec.files())
        self.assertEqual(len(doc["processes"]), 2)
        ev = event(doc)
        self.assertGreater(samples(ev, "work_parent"), 50)
        self.assertGreater(samples(ev, "work_child"), 50)

    def test_files_are_private(self):
        rec = self.record([workload("fork_exec"), "fork", "0.1"])
        for f in rec.files():
            self.assertEqual(os.stat(f).st_mode & 0o777, 0o600, f)


if __name__ == "__main__":
    unittest.main()
