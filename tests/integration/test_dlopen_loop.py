"""The profiler deadlock of gperftools' bug tracker: a signal handler that unwinds with
libunwind's local unwinder calls dl_iterate_phdr and waits for the loader lock that the
interrupted dlopen holds. nsprof's signal path never calls into the loader; this loop must
finish (ctest's timeout catches a hang), with samples inside the loader itself."""
import unittest

from nsptest import NsprofTest, event, workload


def loader_samples(ev):
    return sum(f["self_samples"] for f in ev["functions_by_self"]
               if f["module"].startswith("ld-linux"))


class DlopenLoop(NsprofTest):
    def run_loop(self, *flags, ev_name="cpu"):
        rec = self.record([workload("dlopen_loop"), workload("libnsplugin.so"), "4000"], *flags,
                          timeout=240)
        self.assertIn("done 4000", rec.stdout)
        ev = event(self.report(rec.files()), ev_name)
        self.assertGreater(loader_samples(ev), 0, "samples landed inside ld.so")
        return ev

    def test_signal_mechanism_cpu(self):
        self.run_loop("--mechanism=signal")

    def test_wall_mode_at_high_rate(self):
        self.run_loop("-e", "wall", "-F", "999", ev_name="wall")

    def test_perf_mechanism(self):
        ev = self.run_loop("--mechanism=perf")
        # Samples in the plugin, loaded and unloaded thousands of times, are still named.
        plugin = [f for f in ev["functions_by_self"] if f["module"] == "libnsplugin.so"]
        self.assertTrue(plugin)
        self.assertTrue(all(f["symbolized"] for f in plugin if f["name"] == "plugin_work"))


class FreshPlugin(NsprofTest):
    def test_samples_right_after_dlopen_are_unwound(self):
        # The plugin runs from the moment dlopen returns: its first samples must already find
        # it in the module list (dated from the start of the dlopen), on both mechanisms.
        for mech in ("perf", "signal"):
            rec = self.record([workload("dlopen_loop"), workload("libnsplugin.so"), "1",
                               "400000000"], "--mechanism=" + mech)
            ev = event(self.report(rec.files()))
            plugin = sum(f["self_samples"] for f in ev["functions_by_self"]
                         if f["name"] == "plugin_work")
            # The main thread runs the plugin while a second thread burns CPU beside it.
            self.assertGreater(plugin, 0.3 * ev["samples"], mech)
            self.assertLessEqual(ev["stacks"]["unknown_frames"], 0.02 * ev["samples"],
                                 "%s: %s" % (mech, ev["stacks"]))


if __name__ == "__main__":
    unittest.main()
