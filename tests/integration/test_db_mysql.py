"""MySQL/MariaDB's client library (libmariadb) profiled from inside the program (issue 14),
against a real MariaDB server the test starts (myserver.py: Debian's mariadb-server, a data
directory in a temporary directory, mariadbd run as nobody on a private unix socket) with
tests/workloads/db_mysql_truth.c, whose counts are known by construction: executions and
rows per normalized query and call site for mysql_query + mysql_store_result /
mysql_use_result (rows fetched one by one), prepared statements (mysql_stmt_*), connections;
each rule fires on its anti-pattern at the right function and not on its fixed twin; the
program's output is the same profiled; no literal reaches the profile.
"""
import json
import os
import subprocess

import myserver
from nsptest import NsprofTest, profile_texts, workload

TRUTH = workload("db_mysql_truth")
SCHEMA = ("DROP TABLE IF EXISTS", "CREATE TABLE", "INSERT INTO authors SELECT",
          "INSERT INTO books (author_id, title) SELECT")
OUTER = "SELECT id FROM authors ORDER BY id"
INNER = "SELECT title FROM books WHERE author_id = ?"
JOIN = "SELECT authors.id, books.title FROM authors JOIN books ON books.author_id = authors.id"
LOOKUP = "SELECT name FROM authors WHERE id = ?"
INSERT = "INSERT INTO events (kind) VALUES (?)"
COUNT = "SELECT count(*) FROM authors"
DB_RULES = ("n_plus_one", "reprepare", "autocommit_loop", "connection_churn", "slow_query")
Q = "mysql_query"

# mode: (stdout, {(sql, function, via): (executions, rows, in_loop, autocommit)}, prepares,
#        connects, rule)
EXPECTED = {
    "nplus1": ("nplus1 authors=40 books=200\n",
               {(OUTER, "run", Q): (1, 40, 0, 1), (INNER, "run", Q): (40, 200, 40, 40)}, 0, 1,
               ("n_plus_one", "run")),
    "batched": ("batched books=200\n", {(JOIN, "run", Q): (1, 200, 0, 1)}, 0, 1, None),
    "streamed": ("streamed books=200\n",
                 {("SELECT title FROM books", "run", Q): (1, 200, 0, 1)}, 0, 1, None),
    "stmt": ("stmt found=30\n",
             {(LOOKUP, "lookup_statement", "mysql_stmt_execute"): (30, 30, 0, 30)}, 1, 1, None),
    "autocommit": ("autocommit events=60\n", {(INSERT, "run", Q): (60, 0, 0, 60)}, 0, 1,
                   ("autocommit_loop", "run")),
    "transaction": ("transaction events=60\n",
                    {(INSERT, "run", Q): (60, 0, 0, 0),
                     ("START TRANSACTION", "run", Q): (1, 0, 0, 1),
                     ("COMMIT", "run", Q): (1, 0, 0, 0)}, 0, 1, None),
    "churn": ("churn queries=20\n", {(COUNT, "run", Q): (20, 20, 0, 20)}, 0, 21,
              ("connection_churn", "connect_or_die")),
    "pooled": ("pooled queries=20\n", {(COUNT, "run", Q): (20, 20, 0, 20)}, 0, 1, None),
}


class MariaDB(NsprofTest):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = myserver.MyServer().start()

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop()

    def check(self, mode):
        stdout, want, prepares, connects, rule = EXPECTED[mode]
        self.assertTrue(os.path.exists(TRUTH), "db_mysql_truth was not built: libmariadb-dev "
                        "was missing when the build was configured (tools/setup.sh --test)")
        argv = [TRUTH, mode, self.server.socket]
        plain = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=120)
        self.assertEqual((plain.returncode, plain.stdout), (0, stdout), plain.stderr)
        rec = self.record(argv, name=mode + ".nsp")
        self.assertEqual((rec.returncode, rec.stdout), (0, stdout), rec.stderr)
        doc = self.report(rec.files())
        db = doc["database"]
        self.assertIsNotNone(db, "no database section")
        rows = {(q["sql"], q["function"], q["via"]): q for q in db["queries"]}
        context = "\n".join("  %r at %s via %s: %d executions, %d rows, in_loop %d" % (
            k + (q["executions"], q["rows"], q["in_loop"])) for k, q in rows.items())
        schema = [k for k in rows if k[0].startswith(SCHEMA)]
        self.assertEqual(sum(rows[k]["executions"] for k in schema), 8, context)
        for key, (executions, nrows, in_loop, auto) in want.items():
            self.assertIn(key, rows, context)
            q = rows[key]
            self.assertEqual((q["executions"], q["rows"], q["in_loop"], q["autocommit"]),
                             (executions, nrows, in_loop, auto), "%r\n%s" % (key, context))
            self.assertEqual((q["system"], q["database"], q["errors"]),
                             ("mysql", "%s/%s root" % (self.server.socket, myserver.DATABASE), 0))
        self.assertEqual(len(rows), len(want) + len(schema), "nothing else\n" + context)
        if in_loop_rows := [q for q in db["queries"] if q["in_loop"]]:
            self.assertEqual([q["outer_sql"] for q in in_loop_rows], [OUTER])
        self.assertEqual(sum(p["prepares"] for p in db["prepares"]), prepares, db["prepares"])
        self.assertEqual([(c["connects"], c["closes"]) for c in db["connections"]],
                         [(connects, connects)])
        found = [(f["rule"], f["function"]) for f in doc["recommendations"]
                 if f["rule"] in DB_RULES]
        self.assertEqual(found, [rule] if rule else [], doc["recommendations"])
        for text in profile_texts(rec.files()):
            self.assertNotIn(b"'author '", text)
        self.assertNotIn("'book '", json.dumps(doc))

    def test_nplus1(self):
        self.check("nplus1")

    def test_batched(self):
        self.check("batched")

    def test_streamed_rows_are_counted(self):
        self.check("streamed")

    def test_prepared_statement(self):
        self.check("stmt")

    def test_autocommit(self):
        self.check("autocommit")

    def test_transaction(self):
        self.check("transaction")

    def test_churn(self):
        self.check("churn")

    def test_pooled(self):
        self.check("pooled")
