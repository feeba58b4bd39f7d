"""Database calls recorded in the program (issue 14), the sqlite3 part, as the profile's
events: db_calls (statement executions), db_rows, db_prepares, db_connects, db_closes, held
to tests/workloads/db_sqlite_truth.c's counts (known by construction: its setup is 247
executions and 9 prepares, each mode adds its own). Also: a program that makes no database
call gets no database event; --db=off records none and changes nothing; literals never
reach the file unless --db-sql=full. (The report's Database section and its rules are held
to the same program by test_db_sqlite.py.)
"""
import os
import subprocess
import zlib

from nsptest import NsprofTest, workload

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


def zlib_streams(data):
    """Every zlib stream that starts somewhere in data, inflated (the .nsp's chunks)."""
    view, out, i = memoryview(data), [], data.find(b"\x78")
    while i != -1 and i + 1 < len(data):
        if (data[i] * 256 + data[i + 1]) % 31 == 0:
            try:
                chunk = zlib.decompressobj().decompress(view[i:], 1 << 27)
                if chunk:
                    out.append(chunk)
            except zlib.error:
                pass
        i = data.find(b"\x78", i + 1)
    return out


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

    def texts(self, rec):
        out = []
        for path in rec.files():
            with open(path, "rb") as f:
                data = f.read()
            out.append(data)
            out.extend(zlib_streams(data))
        return out

    def test_literals_reach_the_file_only_when_asked(self):
        rec, _ = self.run_mode("exec_script")
        texts = self.texts(rec)
        self.assertGreater(len(texts), len(rec.files()), "no zlib stream found: cannot read")
        self.assertTrue(any(b"INSERT INTO secrets (k, v) VALUES (?, ?)" in t for t in texts),
                        "the normalized statement is in the file")
        for secret in SECRETS:
            self.assertFalse(any(secret in t for t in texts), secret)
        rec, _ = self.run_mode("exec_script", "--db-sql=full")
        texts = self.texts(rec)
        for secret in SECRETS:
            self.assertTrue(any(secret in t for t in texts), secret)
