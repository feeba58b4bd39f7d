"""Database calls recorded in the program (issue 14), the sqlite3 part, as the profile's
events: db_calls (statement executions), db_rows, db_prepares, db_connects, db_closes, held
to tests/workloads/db_sqlite_truth.c's counts (known by construction: its setup is 247
executions and 9 prepares, each mode adds its own). Also: a program that makes no database
call gets no database event; --db=off records none and changes nothing; literals never
reach the file unless --db-sql=full. (The report's Database section and its rules are held
to the same program by test_db_sqlite.py.)
"""
import os
import shutil
import subprocess
import sys

from nsptest import NsprofTest, profile_texts, workload

TRUTH = workload("db_sqlite_truth")
MISSING = ("db_sqlite_truth was not built: libsqlite3-dev was missing when the build was "
           "configured (tools/setup.sh --test installs it; then reconfigure)")
SECRETS = (b"hunter2-SECRET-42", b"rotated-SECRET-43")

# mode: (stdout, {event: weight}) — db_sqlite_truth.c's numbers
EXPECTED = {
    "nplus1": ("nplus1 authors=40 books=200\n",
               {"db_calls": 288, "db_rows": 240, "db_prepares": 11, "db_connects": 1,
                "db_closes": 1}),
    "exec_script": (None, {"db_calls": 250, "db_rows": 1, "db_prepares": 12, "db_connects": 1}),
    "threads": (None, {"db_calls": 348, "db_rows": 101, "db_prepares": 14, "db_connects": 5}),
    "churn": (None, {"db_connects": 31, "db_closes": 31}),
}



class DbEvents(NsprofTest):
    def run_mode(self, mode, *flags):
        self.assertTrue(os.path.exists(TRUTH), MISSING)
        path = os.path.join(os.path.realpath(self.dir), "%s%s.db" % (mode, len(flags)))
        rec = self.record([TRUTH, mode, path], *flags, name="%s%d.nsp" % (mode, len(flags)))
        plain = subprocess.run([TRUTH, mode, path + ".plain"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout),
                         rec.stderr)
        doc = self.report(rec.files())
        return rec, {e["name"]: e["weight"] for e in doc["events"]}

    def test_counts_per_mode(self):
        for mode, (stdout, want) in EXPECTED.items():
            with self.subTest(mode=mode):
                rec, weights = self.run_mode(mode)
                if stdout is not None:
                    self.assertEqual(rec.stdout, stdout)
                got = {k: weights.get(k) for k in want}
                self.assertEqual(got, want, "all events: %s" % weights)
                self.assertGreater(weights.get("db_time", 0), 0)

    def test_no_database_call_no_event(self):
        _, weights = self.run_mode("none")
        self.assertEqual([k for k in weights if k.startswith("db_")], [])

    def test_db_off_records_nothing_and_changes_nothing(self):
        _, weights = self.run_mode("nplus1", "--db=off")
        self.assertEqual([k for k in weights if k.startswith("db_")], [])

    def test_literals_reach_the_file_only_when_asked(self):
        rec, _ = self.run_mode("exec_script")
        texts = profile_texts(rec.files())
        self.assertGreater(len(texts), len(rec.files()), "no zlib stream found: cannot read")
        self.assertTrue(any(b"INSERT INTO secrets (k, v) VALUES (?, ?)" in t for t in texts),
                        "the normalized statement is in the file")
        for secret in SECRETS:
            self.assertFalse(any(secret in t for t in texts), secret)
        rec, _ = self.run_mode("exec_script", "--db-sql=full")
        texts = profile_texts(rec.files())
        for secret in SECRETS:
            self.assertTrue(any(secret in t for t in texts), secret)


PY_SCRIPT = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE t (a INTEGER)")
for i in range(100):
    c.execute("INSERT INTO t VALUES (?)", (i,))
c.commit()
print(c.execute("SELECT count(*) FROM t").fetchone()[0])
c.close()
"""


class RealClients(NsprofTest):
    """Programs nobody here wrote, through their own sqlite3 calls."""

    def record_both(self, argv, db):
        """argv(database path) run profiled and not, on databases of their own."""
        rec = self.record(argv(db + ".nsprof"), name="real.nsp")
        plain = subprocess.run(argv(db + ".plain"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout),
                         rec.stderr)
        doc = self.report(rec.files())
        return {e["name"]: e["weight"] for e in doc["events"]}

    def test_python_sqlite3_module(self):
        # python's _sqlite3 is loaded by dlopen after the start: patched as it is loaded.
        # Its statement cache prepares each text once; the implicit BEGIN and the COMMIT
        # are executions of their own: 1 CREATE + 1 BEGIN + 100 INSERT + 1 COMMIT + 1 SELECT.
        w = self.record_both(lambda db: [sys.executable, "-c", PY_SCRIPT, db],
                             os.path.join(self.dir, "py.db"))
        self.assertEqual((w.get("db_calls"), w.get("db_rows"), w.get("db_connects"),
                          w.get("db_closes")), (104, 1, 1, 1), w)
        self.assertLessEqual(w.get("db_prepares", 0), 10, "the module's cache reused them")

    def test_debian_sqlite3_shell(self):
        shell = shutil.which("sqlite3")
        self.assertIsNotNone(shell, "Debian's sqlite3 is missing: tools/setup.sh --test")
        script = os.path.join(self.dir, "s.sql")
        with open(script, "w") as f:
            f.write("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\nBEGIN;\n")
            for i in range(50):
                f.write("INSERT INTO items (id, name) VALUES (%d, 'item-%d');\n" % (i, i))
            f.write("COMMIT;\nselect count(*) from items;\nSELECT name FROM items WHERE id = 7;\n")
        # The shell's own statements: 1 + 1 + 50 + 1 + 2 executions, the two SELECTs' rows.
        w = self.record_both(lambda db: [shell, db, ".read " + script],
                             os.path.join(self.dir, "sh.db"))
        self.assertEqual((w.get("db_calls"), w.get("db_rows"), w.get("db_connects")),
                         (55, 2, 1), w)
