"""Lock contention (--locks): lock_truth makes waits whose places and numbers are known by
construction — a holder keeps each lock until the waiter is seen blocked on it in the kernel —
and nsprof must charge them to the waiting function, name each lock by the function that
created it (or first waited for it), keep uncontended locking and condition-variable idling
out of lock_wait, and leave the program's behaviour unchanged."""
import subprocess
import unittest

from nsptest import NsprofTest, workload

ROUNDS = 5   # lock_truth.c: waits per contended lock
READERS = 2  # readers blocked by the writer each round
POOL, ITEMS = 2, 20


def sites_of(rows, function):
    return [s for s in rows if s["function"] == function]


def one_site(rows, function, via):
    found = [s for s in sites_of(rows, function) if s["via"] == via]
    assert len(found) == 1, "%d sites of %s via %s in %s" % (
        len(found), function, via, [(s["function"], s["via"]) for s in rows])
    return found[0]


def lock_created_by(locks, function, via):
    found = [l for l in locks if l["created_at"] and l["created_at"]["function"] == function
             and l["created_at"]["via"] == via]
    assert len(found) == 1, "%d locks created by %s via %s in %s" % (
        len(found), function, via,
        [(l["name"], l["created_at"] and l["created_at"]["function"]) for l in locks])
    return found[0]


class LockWaits(NsprofTest):
    def record_waits(self):
        rec = self.record([workload("lock_truth"), "waits"], "--locks", "on")
        self.assertIn("contended waits %d" % ROUNDS, rec.stdout)
        return self.report(rec.files())["locks"]

    def test_contended_mutex_charged_to_waiter_and_named_by_creator(self):
        locks = self.record_waits()
        self.assertGreater(locks["lock_wait_ns"], 0)
        s = one_site(locks["sites"], "wait_contended", "pthread_mutex_lock")
        self.assertGreater(s["wait_ns"], 0)
        self.assertEqual(s["waits"]["count"], ROUNDS)
        lock = lock_created_by(locks["locks"], "make_contended_lock", "pthread_mutex_init")
        self.assertEqual(lock["name"], "mutex")
        self.assertEqual(lock["waits"]["count"], ROUNDS)
        self.assertEqual(lock["wait_ns"], s["wait_ns"], "only wait_contended waits for it")
        # The holder took the lock each round while it was free: it never waited.
        self.assertFalse(sites_of(locks["sites"], "hold_until_blocked"))

    def test_uncontended_and_idle_locking_records_no_wait(self):
        locks = self.record_waits()
        for function in ("uncontended_work", "pool_worker", "post_work", "idle_pool"):
            self.assertFalse(sites_of(locks["sites"], function), function + " never waited")
        cond = locks["cond_wait"]
        self.assertIsNotNone(cond)
        self.assertTrue(cond["idle"])
        pool = one_site(cond["sites"], "pool_worker", "pthread_cond_wait")
        self.assertGreater(pool["wait_ns"], 0)
        # Each worker waits for every item and for the order to quit (spurious wake-ups
        # could only add waits).
        self.assertGreaterEqual(pool["waits"]["count"], POOL * (ITEMS + 1))
        self.assertEqual([s["function"] for s in cond["sites"]], ["pool_worker"])
        self.assertNotIn("pthread_cond_wait", [s["via"] for s in locks["sites"]])

    def test_rwlock_readers_blocked_by_writer(self):
        locks = self.record_waits()
        s = one_site(locks["sites"], "read_blocked", "pthread_rwlock_rdlock")
        self.assertEqual(s["waits"]["count"], ROUNDS * READERS)
        lock = lock_created_by(locks["locks"], "make_rwlock", "pthread_rwlock_init")
        self.assertEqual(lock["name"], "rwlock")
        self.assertEqual(lock["waits"]["count"], ROUNDS * READERS)
        self.assertFalse(sites_of(locks["sites"], "write_while_readers_wait"))

    def test_static_mutex_named_by_first_waiter_and_c11_mutex(self):
        locks = self.record_waits()
        s = one_site(locks["sites"], "wait_static", "pthread_mutex_lock")
        self.assertEqual(s["waits"]["count"], 1)
        lock = lock_created_by(locks["locks"], "wait_static", "pthread_mutex_lock")
        self.assertEqual(lock["waits"]["count"], 1)
        # mtx_lock reaches glibc's mutex without the PLT: interposed itself.
        c11 = one_site(locks["sites"], "wait_c11", "mtx_lock")
        self.assertEqual(c11["waits"]["count"], 1)
        lock = lock_created_by(locks["locks"], "make_c11_lock", "mtx_init")
        self.assertEqual(lock["waits"]["count"], 1)
        self.assertEqual(len(locks["locks"]), 4, "one entry per contended lock")


class SingleThreaded(NsprofTest):
    def test_process_shared_mutex_wait_of_a_single_threaded_process(self):
        # A single-threaded process passes its private mutexes straight to glibc (it cannot
        # wait for them, and glibc's single-thread path stays), but a process-shared mutex
        # can be held by another process: that wait is measured.
        rec = self.record([workload("lock_truth"), "pshared"], "--locks", "on")
        self.assertIn("pshared waits 1 single_threaded 1", rec.stdout)
        locks = self.report(rec.files())["locks"]
        s = one_site(locks["sites"], "wait_pshared", "pthread_mutex_lock")
        self.assertEqual(s["waits"]["count"], 1)
        self.assertGreater(s["wait_ns"], 0)
        self.assertEqual([x["function"] for x in locks["sites"]], ["wait_pshared"],
                         "the private mutex and the child's lock never waited")


class Behaviour(NsprofTest):
    def run_plain(self, mode):
        return subprocess.run([workload("lock_truth"), mode], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)

    def test_mutex_types_answer_as_without_nsprof(self):
        plain = self.run_plain("types")
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertIn("errorcheck lock 0 lock 35", plain.stdout, "EDEADLK on relock")
        self.assertIn("robust lock 130", plain.stdout, "EOWNERDEAD after the owner died")
        rec = self.record([workload("lock_truth"), "types"], "--locks", "on")
        self.assertEqual(rec.stdout, plain.stdout)
        locks = self.report(rec.files())["locks"]
        # Relocking an error-checking mutex or rwlock returns at once: not a wait.
        self.assertEqual(locks["sites"], [])

    def test_locks_off_writes_no_lock_events(self):
        plain = self.run_plain("waits")
        rec = self.record([workload("lock_truth"), "waits"], "--locks", "off")
        self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout))
        doc = self.report(rec.files())
        self.assertIsNone(doc["locks"])
        self.assertNotIn("lock_wait", [e["name"] for e in doc["events"]])
        self.assertNotIn("cond_wait", [e["name"] for e in doc["events"]])

    def test_output_and_status_unchanged_with_locks_on(self):
        plain = self.run_plain("waits")
        rec = self.record([workload("lock_truth"), "waits"], "--locks", "on")
        self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout))
        bad = self.record([workload("lock_truth"), "nonsense"], "--locks", "on", check=False)
        self.assertEqual(bad.returncode, 2)


if __name__ == "__main__":
    unittest.main()
