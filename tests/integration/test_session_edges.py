"""Programs that meet nsprof's session machinery in ways it did not expect: found by a
reviewer who had not read the code (issue 10's round). Each must behave as unprofiled."""
import os
import shutil
import subprocess
import unittest

from nsptest import NSPROF, PRELOAD, NsprofTest, workload


class SessionEdges(NsprofTest):
    def test_reaper_with_wall_sees_only_its_own_child(self):
        # waitpid(-1, __WALL) waits for any child whatever its exit signal: nsprof must
        # leave none (it used to keep a keeper process alive as the program's child, which
        # made this loop wait forever under LD_PRELOAD).
        for flags in (("-e", "wall"), ("-e", "cpu")):
            rec = self.record([workload("wall_reaper")], *flags, timeout=60)
            self.assertIn("children reaped: 1", rec.stdout)

    def test_program_with_its_own_getenv_joins_the_session(self):
        # Like bash, it answers getenv with nothing before main: nsprof must read the
        # environment itself, not start a second agent for it.
        rec = self.record([workload("own_getenv")], "-e", "wall")
        self.assertIn("NSPROF_SESSION_AGENT", rec.stdout)
        files = [f for f in os.listdir(rec.dir) if f.endswith(".nsp") or ".nsp." in f]
        self.assertEqual(len(files), 1, files)
        doc = self.report(rec.files())
        self.assertEqual([os.path.basename(p["exe"]) for p in doc["processes"]], ["own_getenv"])

    @unittest.skipIf(PRELOAD, "nsprof record's session")
    def test_bash_exec_chain_gives_one_profile_per_image(self):
        bash, sleep = shutil.which("bash"), shutil.which("sleep")
        rec = self.record([bash, "-c", "exec %s 0.1" % sleep], "-e", "wall")
        files = sorted(f for f in os.listdir(rec.dir) if ".nsp" in f)
        self.assertEqual(len(files), 2, files)  # bash, then sleep: no backup, no agent's
        doc = self.report(rec.files())
        self.assertEqual(sorted(os.path.basename(p["exe"]) for p in doc["processes"]),
                         ["bash", "sleep"])


if __name__ == "__main__":
    unittest.main()
