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


if __name__ == "__main__":
    unittest.main()
