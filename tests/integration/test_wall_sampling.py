"""Wall-clock sampling: wall_split alternates 10 ms of computing and 10 ms of sleeping by the
wall clock, so wall time splits 50/50 by construction while CPU time is all computing."""
import unittest

from nsptest import NsprofTest, binomial_tolerance, event, samples, weight, workload


class WallSampling(NsprofTest):
    def test_wall_split(self):
        rec = self.record([workload("wall_split"), "3"], "-e", "wall", "-F", "199")
        doc = self.report(rec.files())
        ev = event(doc, "wall")
        self.assertEqual(doc["processes"][0]["settings"]["mechanism_used"], "signal")
        compute, wait = weight(ev, "compute_phase"), weight(ev, "wait_phase")
        n = samples(ev, "compute_phase") + samples(ev, "wait_phase")
        share = compute / (compute + wait)
        tol = binomial_tolerance(0.5, n)
        self.assertLess(abs(share - 0.5), tol,
                        "compute_phase has %.1f%% of wall time over %d samples, expected 50%% "
                        "± %.1f" % (share * 100, n, tol * 100))
        # The sleeping half is seen inside the sleep itself.
        self.assertTrue(any("wait_phase;" in s and "nanosleep" in s
                            for s in self.folded(rec.files(), "--event", "wall")))
        # Wall weights add up to the time the thread lived.
        duration = doc["processes"][0]["duration_ns"]
        self.assertLess(abs(ev["weight"] - duration) / duration, 0.1)

    def test_cpu_mode_does_not_see_sleep(self):
        rec = self.record([workload("wall_split"), "2"], "-e", "cpu")
        ev = event(self.report(rec.files()))
        compute, wait = samples(ev, "compute_phase"), samples(ev, "wait_phase")
        self.assertGreater(compute, 10 * max(wait, 1),
                           "cpu mode: %d samples computing, %d sleeping" % (compute, wait))

    def test_many_idle_threads_bounded_per_tick(self):
        # 2 busy threads among the main thread: with wall_threads=1 each tick signals one
        # thread, yet every thread's weights still add up to its wall time.
        rec = self.record([workload("split_cpu"), "1", "2"], "-e", "wall", "-F", "199",
                          "--wall-threads=1")
        doc = self.report(rec.files())
        ev = event(doc, "wall")
        duration = doc["processes"][0]["duration_ns"]
        main = [t for t in ev["threads"] if t["name"] == "split_cpu"]
        self.assertEqual(len(main), 1)
        self.assertLess(abs(main[0]["weight"] - duration) / duration, 0.15,
                        "main thread wall weight %d vs run %d" % (main[0]["weight"], duration))


if __name__ == "__main__":
    unittest.main()
