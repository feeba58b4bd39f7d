"""PostgreSQL's client library (libpq) profiled from inside the program (issue 14), against a
real server the test starts (pgserver.py: Debian's postgresql, a cluster in a temporary
directory, run as nobody on a private unix socket) with tests/workloads/db_pq_truth.c, whose
counts are known by construction: executions and rows per normalized query and call site
for PQexec, PQexecParams, PQprepare + PQexecPrepared, PQsendQueryParams + PQgetResult (one
at a time, and in pipeline mode), connections by database; each rule fires on its
anti-pattern at the right function and not on its fixed twin; the program's output is the
same profiled; no literal of the program's SQL reaches the profile.
"""
import json
import os
import subprocess

import pgserver
from nsptest import NSPROF, NsprofTest, profile_texts, workload

TRUTH = workload("db_pq_truth")
SCHEMA_SQL_START = "SET client_min_messages = warning; DROP TABLE IF EXISTS books;"
INNER = "SELECT title FROM books WHERE author_id = ?"
OUTER = "SELECT id FROM authors ORDER BY id"
JOIN = "SELECT authors.id, books.title FROM authors JOIN books ON books.author_id = authors.id"
LOOKUP = "SELECT name FROM authors WHERE id = ?"
INSERT = "INSERT INTO events (kind) VALUES (?)"
COUNT = "SELECT count(*) FROM authors"
DB_RULES = ("n_plus_one", "reprepare", "autocommit_loop", "connection_churn", "slow_query")

# mode: (stdout, {(sql, function, via): (executions, rows, in_loop)}, prepares, connects, rule)
EXPECTED = {
    "nplus1": ("nplus1 authors=40 books=200\n",
               {(OUTER, "load_books_n_plus_one", "PQexec"): (1, 40, 0),
                (INNER, "load_books_n_plus_one", "PQexecParams"): (40, 200, 40)},
               0, 1, ("n_plus_one", "load_books_n_plus_one")),
    "batched": ("batched books=200\n",
                {(JOIN, "load_books_batched", "PQexec"): (1, 200, 0)}, 0, 1, None),
    "reprepare": ("reprepare found=30\n",
                  {(LOOKUP, "lookup_reprepare", "PQexecPrepared"): (30, 30, 0)}, 30, 1,
                  ("reprepare", "lookup_reprepare")),
    "prepared_once": ("prepared_once found=30\n",
                      {(LOOKUP, "lookup_prepared_once", "PQexecPrepared"): (30, 30, 0)}, 1, 1,
                      None),
    "autocommit": ("autocommit events=60\n",
                   {(INSERT, "insert_events", "PQexecParams"): (60, 0, 0)}, 0, 1,
                   ("autocommit_loop", "insert_events")),
    "transaction": ("transaction events=60\n",
                    {(INSERT, "insert_events", "PQexecParams"): (60, 0, 0),
                     ("BEGIN", "insert_in_transaction", "PQexec"): (1, 0, 0),
                     ("COMMIT", "insert_in_transaction", "PQexec"): (1, 0, 0)}, 0, 1, None),
    "churn": ("churn queries=20\n",
              {(COUNT, "connect_per_query", "PQexec"): (20, 20, 0)}, 0, 21,
              ("connection_churn", "connect_or_die")),
    "pooled": ("pooled queries=20\n", {(COUNT, "query_pooled", "PQexec"): (20, 20, 0)}, 0, 1,
               None),
    "send": ("send queries=10 rows=50\n",
             {(INNER, "send_and_wait", "PQsendQueryParams"): (10, 50, 0)}, 0, 1, None),
    "pipeline": ("pipeline queries=10 rows=50 syncs=1\n",
                 {(INNER, "pipeline_batch", "PQsendQueryParams"): (10, 50, 0)}, 0, 1, None),
}


class Postgres(NsprofTest):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = pgserver.PgServer().start()

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop()

    def run_mode(self, mode):
        self.assertTrue(os.path.exists(TRUTH), "db_pq_truth was not built: libpq-dev was "
                        "missing when the build was configured (tools/setup.sh --test)")
        argv = [TRUTH, mode, self.server.conninfo()]
        plain = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=120)
        self.assertEqual((plain.returncode, plain.stdout), (0, EXPECTED[mode][0]), plain.stderr)
        rec = self.record(argv, name=mode + ".nsp")
        self.assertEqual((rec.returncode, rec.stdout), (0, EXPECTED[mode][0]), rec.stderr)
        return rec, self.report(rec.files())

    def check(self, mode):
        _, want, prepares, connects, rule = EXPECTED[mode]
        rec, doc = self.run_mode(mode)
        db = doc["database"]
        self.assertIsNotNone(db, "no database section")
        rows = {(q["sql"], q["function"], q["via"]): q for q in db["queries"]}
        context = "\n".join("  %r at %s via %s: %d executions, %d rows, in_loop %d" % (
            k + (q["executions"], q["rows"], q["in_loop"])) for k, q in rows.items())
        schema = [k for k in rows if k[0].startswith(SCHEMA_SQL_START)]
        self.assertEqual([(k[1], k[2], rows[k]["executions"]) for k in schema],
                         [("main", "PQexec", 1)], context)
        for key, (executions, nrows, in_loop) in want.items():
            self.assertIn(key, rows, context)
            q = rows[key]
            self.assertEqual((q["executions"], q["rows"], q["in_loop"]),
                             (executions, nrows, in_loop), "%r\n%s" % (key, context))
            self.assertEqual(q["system"], "postgresql")
            self.assertEqual(q["database"], "%s:%d/postgres %s" % (
                self.server.dir, pgserver.PORT, pgserver.USER))
            self.assertEqual(q["errors"], 0)
            self.assertLessEqual(q["p95_ns"], q["max_ns"])
        self.assertEqual(len(rows), len(want) + 1, "nothing else is counted\n" + context)
        if in_loop_rows := [q for q in db["queries"] if q["in_loop"]]:
            self.assertEqual([q["outer_sql"] for q in in_loop_rows], [OUTER])
        self.assertEqual(sum(p["prepares"] for p in db["prepares"]), prepares, db["prepares"])
        self.assertEqual([(c["system"], c["connects"], c["closes"]) for c in db["connections"]],
                         [("postgresql", connects, connects)])
        found = [(f["rule"], f["function"]) for f in doc["recommendations"]
                 if f["rule"] in DB_RULES]
        self.assertEqual(found, [rule] if rule else [], doc["recommendations"])
        # The schema's literals ('author ', 'book ') are in no profile byte.
        for text in profile_texts(rec.files()):
            self.assertNotIn(b"'book '", text)
            self.assertNotIn(b"'author '", text)
        self.assertNotIn("'book '", json.dumps(doc))

    def test_nplus1(self):
        self.check("nplus1")

    def test_batched(self):
        self.check("batched")

    def test_reprepare(self):
        self.check("reprepare")

    def test_prepared_once(self):
        self.check("prepared_once")

    def test_autocommit(self):
        self.check("autocommit")

    def test_transaction(self):
        self.check("transaction")

    def test_churn(self):
        self.check("churn")

    def test_pooled(self):
        self.check("pooled")

    def test_send_and_get_result(self):
        self.check("send")

    def test_pipeline(self):
        self.check("pipeline")

    def test_db_off(self):
        argv = [TRUTH, "nplus1", self.server.conninfo()]
        rec = self.record(argv, "--db=off", name="off.nsp")
        self.assertEqual(rec.stdout, EXPECTED["nplus1"][0])
        self.assertIsNone(self.report(rec.files())["database"])
