"""slow_query and `nsprof report --db-explain` (issue 14) on tests/workloads/db_sqlite_truth.c:
slow_scan counts one sensor's readings 20 times in a table of a million rows without an
index (each execution reads the whole table: tens of milliseconds, the rule's threshold is
5 ms), indexed does the same with an index (microseconds). The rule fires at the scan's call
site and not on the indexed twin (nor on its CREATE INDEX: a schema change has no plan);
--db-explain plans the profile's queries against the database file, read-only: the scan is
a full table scan, the indexed search is not, the file is left as it was, and a missing
file or one that is not a database is an error that says so.
"""
import hashlib
import json
import os
import subprocess

from nsptest import NSPROF, NsprofTest, workload

TRUTH = workload("db_sqlite_truth")
SCAN = "SELECT count(*) FROM readings WHERE sensor = ?"


class DbExplain(NsprofTest):
    def run_mode(self, mode):
        self.assertTrue(os.path.exists(TRUTH), "db_sqlite_truth was not built (libsqlite3-dev)")
        db = os.path.join(os.path.realpath(self.dir), mode + ".db")
        rec = self.record([TRUTH, mode, db], name=mode + ".nsp")
        self.assertEqual(rec.stdout, "scans=20 readings=20000\n", rec.stderr)
        return rec, db

    def report(self, files, *args, check=True):
        p = subprocess.run([NSPROF, "report", "--json", *args, *files], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)
        return p

    def scan_row(self, doc):
        rows = [q for q in doc["database"]["queries"] if q["sql"] == SCAN]
        self.assertEqual(len(rows), 1, [q["sql"] for q in doc["database"]["queries"]])
        self.assertEqual((rows[0]["executions"], rows[0]["rows"], rows[0]["function"]),
                         (20, 20, "scan_readings"))
        return rows[0]

    def test_a_full_scan_is_slow_and_its_plan_says_so(self):
        rec, db = self.run_mode("slow_scan")
        with open(db, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()
        doc = self.report(rec.files(), "--db-explain", db)
        with open(db, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before, "the file changed")
        row = self.scan_row(doc)
        self.assertEqual((row["plan"], row["full_scan"]), ("SCAN readings", True))
        slow = [f for f in doc["recommendations"] if f["rule"] == "slow_query"]
        self.assertEqual([(f["function"], f["event"]) for f in slow],
                         [("scan_readings", "db_time")], doc["recommendations"])
        self.assertIn(SCAN, slow[0]["evidence"])
        self.assertIn("reads a whole table", slow[0]["evidence"])
        self.assertEqual(row["line"], slow[0]["line"])
        # Without --db-explain: the same finding, no plan fields.
        plain = self.report(rec.files())
        self.assertNotIn("plan", self.scan_row(plain))
        self.assertEqual([f["function"] for f in plain["recommendations"]
                          if f["rule"] == "slow_query"], ["scan_readings"])
        text = subprocess.run([NSPROF, "report", "--db-explain", db, *rec.files()],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("plan (reads a whole table): " + SCAN + "  ->  SCAN readings", text.stdout)

    def test_an_index_search_is_not_slow(self):
        rec, db = self.run_mode("indexed")
        doc = self.report(rec.files(), "--db-explain", db)
        row = self.scan_row(doc)
        self.assertIn("USING COVERING INDEX readings_by_sensor", row["plan"])
        self.assertFalse(row["full_scan"])
        self.assertEqual([f for f in doc["recommendations"]
                          if f["rule"] in ("slow_query", "n_plus_one", "reprepare",
                                           "autocommit_loop", "connection_churn")], [])

    def test_bad_database_files_are_errors(self):
        rec, _ = self.run_mode("indexed")
        missing = self.report(rec.files(), "--db-explain", os.path.join(self.dir, "no.db"),
                              check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("cannot read it", missing.stderr)
        not_db = os.path.join(self.dir, "text.db")
        with open(not_db, "w") as f:
            f.write("not a database\n" * 100)
        bad = self.report(rec.files(), "--db-explain", not_db, check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("file is not a database", bad.stderr)
        # Another database, without the profile's tables: planned where it can be, and told.
        other = os.path.join(self.dir, "other.db")
        subprocess.run(["sqlite3", other, "CREATE TABLE x (a)"], check=True)
        p = self.report(rec.files(), "--db-explain", other, check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("could not be planned there", p.stderr)
        self.assertIsNone(self.scan_row(json.loads(p.stdout))["plan"])
