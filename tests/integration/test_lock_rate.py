"""Issue 10: lock contention as a rate. lock_hammer's two threads take a mutex ROUNDS times
each after both exist, so the lock calls are known exactly; `shared` makes them collide on
one mutex, `apart` gives each its own (no call can find its lock taken)."""
import unittest

from nsptest import NsprofTest, workload

ROUNDS = 2000000


class LockRate(NsprofTest):
    def locks(self, mode, *flags):
        rec = self.record([workload("lock_hammer"), mode, str(ROUNDS)], "--locks", "on", *flags)
        self.assertIn("lock_calls=%d" % (2 * ROUNDS), rec.stdout)
        return self.report(rec.files())

    def test_shared_mutex_contention_rate(self):
        doc = self.locks("shared", "--event", "none")
        locks = doc["locks"]
        self.assertEqual(locks["lock_calls"], 2 * ROUNDS)
        self.assertGreater(locks["lock_contended"], 0)
        sites = [s for s in locks["sites"] if s["function"] == "hammer"]
        self.assertEqual(len(sites), 1, locks["sites"])
        s = sites[0]
        self.assertEqual(s["calls"], 2 * ROUNDS)
        self.assertEqual(s["contended"], locks["lock_contended"])
        self.assertAlmostEqual(s["contended_pct"], 100.0 * s["contended"] / s["calls"], places=6)
        duration = doc["processes"][0]["duration_ns"]
        self.assertAlmostEqual(s["contended_per_s"], s["contended"] * 1e9 / duration, delta=1)
        # One mutex: the lock's row says the same.
        self.assertEqual([(l["calls"], l["contended"]) for l in locks["locks"]],
                         [(s["calls"], s["contended"])])
        found = [f for f in doc["recommendations"] if f["rule"] == "lock_contention"]
        self.assertEqual(len(found), 1, doc["recommendations"])
        self.assertEqual(found[0]["function"], "hammer")
        self.assertIn("found the lock taken", found[0]["evidence"])

    def test_apart_mutexes_are_never_contended(self):
        doc = self.locks("apart", "--event", "none")
        locks = doc["locks"]
        self.assertEqual(locks["lock_calls"], 2 * ROUNDS)
        self.assertEqual(locks["lock_contended"], 0)
        self.assertEqual(doc["recommendations"], [])

    def test_counts_survive_wall_mode(self):
        # Wall mode publishes contended waits as blocking calls too: the counts are the same.
        doc = self.locks("shared", "--event", "wall")
        self.assertEqual(doc["locks"]["lock_calls"], 2 * ROUNDS)


if __name__ == "__main__":
    unittest.main()
