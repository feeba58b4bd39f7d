"""Database calls profiled in the program (issue 14), the sqlite3 part: the report's
`database` section and the database rules, held to answers known by construction.

tests/workloads/db_sqlite_truth.c runs one anti-pattern or its fixed twin per mode, each in a
function of its own, against Debian's libsqlite3; its SQL is written in normalized form, so
the expected text of each query is the string in the program. Checked here: executions,
rows, prepares, connects and closes per (normalized SQL, call site); that nothing of
SQLite's own (the schema queries it runs through its own sqlite3_exec) and nothing twice
(sqlite3_exec stepping its statements) is counted; each rule at the right function and line
and silent on the fixed twin; literals (secrets) never written unless --db-sql=full;
--db=off; the program's behaviour unchanged; and Debian's own sqlite3 shell running a script.
"""
import collections
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from nsptest import NSPROF, NsprofTest, profile_texts, workload

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads",
                      "db_sqlite_truth.c")
TRUTH = workload("db_sqlite_truth")
MISSING = ("db_sqlite_truth was not built: libsqlite3-dev was missing when the build was "
           "configured (tools/setup.sh --test installs it; then reconfigure)")
SHELL = "/usr/bin/sqlite3"
PROGRAM = "db_sqlite_truth"

# db_sqlite_truth.c's constants
AUTHORS, BOOKS_PER_AUTHOR, LOOKUPS, EVENTS, CHURN, THREADS, PER_THREAD, DUPLICATES = (
    40, 5, 60, 100, 30, 4, 25, 10)
BOOKS = AUTHORS * BOOKS_PER_AUTHOR

# Its SQL, normalized (literals and parameters are `?`).
OUTER = "SELECT id FROM authors"
INNER = "SELECT title FROM books WHERE author_id = ?"
JOIN = "SELECT authors.id, books.title FROM authors JOIN books ON books.author_id = authors.id"
LOOKUP = "SELECT name FROM authors WHERE id = ?"
INSERT_EVENT = "INSERT INTO events (kind, value) VALUES (?, ?)"
COUNT_AUTHORS = "SELECT count(*) FROM authors"
SECRET_INSERT = "INSERT INTO secrets (k, v) VALUES (?, ?)"
SECRET_UPDATE = "UPDATE secrets SET v = ? WHERE k = ?"
SECRET_SELECT = "SELECT v FROM secrets"
COUNT_BOOKS = "SELECT count(*) FROM books WHERE author_id = ?"
ADD = "SELECT ? + ?"
INSERT_AUTHOR = "INSERT INTO authors (id, name) VALUES (?, ?)"
INSERT_BOOK = "INSERT INTO books (id, author_id, title) VALUES (?, ?, ?)"
SCHEMA = [
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL)",
    "CREATE INDEX books_by_author ON books (author_id)",
    "CREATE TABLE events (id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, value INTEGER NOT NULL)",
    "CREATE TABLE secrets (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
]
SECRETS = ("hunter2-SECRET-42", "rotated-SECRET-43")

STEP, EXEC, PREPARE = "sqlite3_step", "sqlite3_exec", "sqlite3_prepare_v2"

# One expected row of `queries`. `call`: text of the call's line inside `function` (the line
# is looked up in the source, not hard-coded). `autocommit` None: not checked (BEGIN and
# COMMIT change the state they would be judged by). `distinct`: the number of distinct
# parameter / literal sets (the report's is an estimate), None: a statement without any.
Q = collections.namedtuple("Q", "sql function via executions rows call in_loop outer autocommit "
                                "distinct errors")


def q(sql, function, via, executions, rows, call, in_loop=0, outer=None, autocommit="all",
      distinct=None, errors=0):
    if autocommit == "all":
        autocommit = executions
    return Q(sql, function, via, executions, rows, call, in_loop, outer, autocommit, distinct,
             errors)


# One expected row of `prepares`: (sql, function, via, prepares).
P = collections.namedtuple("P", "sql function via prepares")

# Every mode but `none` first fills the database in create_library(), in one transaction.
SETUP_QUERIES = [
    q("BEGIN", "create_library", EXEC, 1, 0, 'sqlite3_exec(db, "BEGIN"', autocommit=None),
    *[q(sql, "create_library", EXEC, 1, 0, "sqlite3_exec(db, SCHEMA", autocommit=0)
      for sql in SCHEMA],
    q(INSERT_AUTHOR, "create_library", STEP, AUTHORS, 0, "sqlite3_step(author)", autocommit=0,
      distinct=AUTHORS),
    q(INSERT_BOOK, "create_library", STEP, BOOKS, 0, "sqlite3_step(book)", autocommit=0,
      distinct=BOOKS),
    q("COMMIT", "create_library", EXEC, 1, 0, 'sqlite3_exec(db, "COMMIT"', autocommit=None),
]
SETUP_PREPARES = [
    P("BEGIN", "create_library", EXEC, 1),
    *[P(sql, "create_library", EXEC, 1) for sql in SCHEMA],
    P(INSERT_AUTHOR, "create_library", PREPARE, 1),
    P(INSERT_BOOK, "create_library", PREPARE, 1),
    P("COMMIT", "create_library", EXEC, 1),
]

# mode: what its measured function does, on top of the setup; `connects`: connects (each
# closed again) per connecting function.
Mode = collections.namedtuple("Mode", "queries prepares connects")
MODES = {
    "nplus1": Mode(
        [q(OUTER, "load_books_n_plus_one", STEP, 1, AUTHORS, "sqlite3_step(outer)"),
         q(INNER, "load_books_n_plus_one", STEP, AUTHORS, BOOKS, "sqlite3_step(inner)",
           in_loop=AUTHORS, outer=OUTER, distinct=AUTHORS)],
        [P(OUTER, "load_books_n_plus_one", PREPARE, 1),
         P(INNER, "load_books_n_plus_one", PREPARE, 1)],
        {"main": 1}),
    "batched": Mode(
        [q(JOIN, "load_books_batched", STEP, 1, BOOKS, "sqlite3_step(join)")],
        [P(JOIN, "load_books_batched", PREPARE, 1)],
        {"main": 1}),
    "reprepare": Mode(
        [q(LOOKUP, "lookup_reprepare", STEP, LOOKUPS, LOOKUPS, "sqlite3_step(s)",
           distinct=AUTHORS)],
        [P(LOOKUP, "lookup_reprepare", PREPARE, LOOKUPS)],
        {"main": 1}),
    "prepared_once": Mode(
        [q(LOOKUP, "lookup_prepared_once", STEP, LOOKUPS, LOOKUPS, "sqlite3_step(s)",
           distinct=AUTHORS)],
        [P(LOOKUP, "lookup_prepared_once", PREPARE, 1)],
        {"main": 1}),
    "autocommit": Mode(
        [q(INSERT_EVENT, "insert_autocommit", STEP, EVENTS, 0, "sqlite3_step(s)",
           distinct=EVENTS)],
        [P(INSERT_EVENT, "insert_autocommit", PREPARE, 1)],
        {"main": 1}),
    "transaction": Mode(
        [q("BEGIN", "insert_in_transaction", EXEC, 1, 0, 'sqlite3_exec(db, "BEGIN"',
           autocommit=None),
         q(INSERT_EVENT, "insert_in_transaction", STEP, EVENTS, 0, "sqlite3_step(s)",
           autocommit=0, distinct=EVENTS),
         q("COMMIT", "insert_in_transaction", EXEC, 1, 0, 'sqlite3_exec(db, "COMMIT"',
           autocommit=None)],
        [P(INSERT_EVENT, "insert_in_transaction", PREPARE, 1),
         P("BEGIN", "insert_in_transaction", EXEC, 1),
         P("COMMIT", "insert_in_transaction", EXEC, 1)],
        {"main": 1}),
    "churn": Mode(
        [q(COUNT_AUTHORS, "open_per_query", STEP, CHURN, CHURN, "sqlite3_step(s)")],
        [P(COUNT_AUTHORS, "open_per_query", PREPARE, CHURN)],
        {"main": 1, "open_per_query": CHURN}),
    "pooled": Mode(
        [q(COUNT_AUTHORS, "query_pooled", STEP, CHURN, CHURN, "sqlite3_step(s)")],
        [P(COUNT_AUTHORS, "query_pooled", PREPARE, 1)],
        {"main": 1, "query_pooled": 1}),
    "exec_script": Mode(
        [q(SECRET_INSERT, "run_script", EXEC, 1, 0, "sqlite3_exec(db, script", distinct=1),
         q(SECRET_UPDATE, "run_script", EXEC, 1, 0, "sqlite3_exec(db, script", distinct=1),
         q(SECRET_SELECT, "run_script", EXEC, 1, 1, "sqlite3_exec(db, script")],
        [P(SECRET_INSERT, "run_script", EXEC, 1),
         P(SECRET_UPDATE, "run_script", EXEC, 1),
         P(SECRET_SELECT, "run_script", EXEC, 1)],
        {"main": 1}),
    "exec_nplus1": Mode(
        [q(OUTER, "list_authors_via_exec", EXEC, 1, AUTHORS,
           'sqlite3_exec(db, "SELECT id FROM authors"'),
         q(COUNT_BOOKS, "count_books_cb", STEP, AUTHORS, AUTHORS, "sqlite3_step(p->count)",
           in_loop=AUTHORS, outer=OUTER, distinct=AUTHORS)],
        [P(COUNT_BOOKS, "list_authors_via_exec", PREPARE, 1),
         P(OUTER, "list_authors_via_exec", EXEC, 1)],
        {"main": 1}),
    "threads": Mode(
        # run_threads holds one row of OUTER open on the main thread meanwhile: the threads'
        # queries are in no loop of their own thread.
        [q(OUTER, "run_threads", STEP, 1, 1, "sqlite3_step(held)"),
         q(ADD, "thread_queries", STEP, THREADS * PER_THREAD, THREADS * PER_THREAD,
           "sqlite3_step(s)", distinct=THREADS * PER_THREAD)],
        [P(OUTER, "run_threads", PREPARE, 1),
         P(ADD, "thread_queries", PREPARE, THREADS)],
        {"main": 1, "thread_queries": THREADS}),
    "constraint": Mode(
        [q(INSERT_AUTHOR, "insert_duplicates", STEP, DUPLICATES, 0, "sqlite3_step(s)",
           distinct=DUPLICATES, errors=DUPLICATES)],
        [P(INSERT_AUTHOR, "insert_duplicates", PREPARE, 1)],
        {"main": 1}),
}
OUTPUT = {
    "nplus1": "nplus1 authors=40 books=200\n",
    "batched": "batched rows=200\n",
    "reprepare": "reprepare lookups=60 found=60\n",
    "prepared_once": "prepared_once lookups=60 found=60\n",
    "autocommit": "autocommit inserts=100\n",
    "transaction": "transaction inserts=100\n",
    "churn": "churn connections=30 counted=1200\n",
    "pooled": "pooled queries=30 counted=1200\n",
    "exec_script": "exec_script statements=3 rows=1\n",
    "exec_nplus1": "exec_nplus1 authors=40 books=200\n",
    "threads": "threads threads=4 queries=100 sum=151200\n",
    "constraint": "constraint failures=10\n",
    "none": "none\n",
}

# The rules that count calls. slow_query is left out of "no finding" checks: it judges
# time, and a COMMIT's fsync on a slow disk can rightly make it fire anywhere.
DB_RULES = ("n_plus_one", "reprepare", "autocommit_loop", "connection_churn")
VERBS = {"SELECT": "select", "INSERT": "insert", "UPDATE": "update", "DELETE": "delete",
         "BEGIN": "begin", "COMMIT": "end", "END": "end", "CREATE": "other"}


def source_lines():
    with open(SOURCE) as f:
        return f.read().split("\n")


def line_of(function, text):
    """The line of `text` inside `function`'s definition (a line at column 0)."""
    lines = source_lines()
    start = next(i for i, l in enumerate(lines) if re.match(r"\w.*\b%s\(" % function, l))
    return next(i + 1 for i in range(start + 1, len(lines)) if text in lines[i])


def describe(db):
    """The database section, one line per row: printed with every failure."""
    if db is None:
        return "database: null"
    g = lambda row, *keys: " ".join("%s=%s" % (k, row.get(k)) for k in keys)
    out = ["database: " + g(db, "sql_text", "executions", "rows", "time_ns", "connects",
                            "closes")]
    if not isinstance(db.get("prepares"), list):
        out[0] += " prepares=%s" % db.get("prepares")
    for r in db.get("queries") or []:
        out.append("  query %s:%s [%s via %s] %r %s" % (
            os.path.basename(r.get("file") or "?"), r.get("line"), r.get("function"),
            r.get("via"), r.get("sql"),
            g(r, "executions", "rows", "in_loop", "outer_sql", "autocommit", "distinct_params",
              "errors", "verb", "time_ns", "database")))
    for r in db.get("prepares") if isinstance(db.get("prepares"), list) else []:
        out.append("  prepare %s:%s [%s via %s] %r prepares=%s" % (
            os.path.basename(r.get("file") or "?"), r.get("line"), r.get("function"),
            r.get("via"), r.get("sql"), r.get("prepares")))
    for c in db.get("connections") or []:
        out.append("  connection %s %s sites=%s" % (
            c.get("database"), g(c, "connects", "closes", "connect_time_ns"),
            [(s.get("function"), s.get("via"), s.get("connects")) for s in c.get("sites") or []]))
    return "\n".join(out)


def describe_findings(found):
    return "\n".join("  %s at %s (%s:%s) event=%s: %s" % (
        f["rule"], f["function"], os.path.basename(f["file"] or "?"), f["line"], f["event"],
        f["evidence"]) for f in found) or "  (none)"



def estimate_range(n):
    """Where an estimate of n distinct values must lie."""
    return max(1, math.floor(0.8 * n)), math.ceil(1.2 * n)


Run = collections.namedtuple("Run", "rec doc path")


# Each (mode, flags) is recorded once for the whole module; the tests share the runs.
SHARED = {"dir": None, "runs": {}}


def setUpModule():
    SHARED["dir"] = tempfile.mkdtemp(prefix="nsprof-it-db-")


def tearDownModule():
    if not os.environ.get("NSPROF_TEST_KEEP"):
        shutil.rmtree(SHARED["dir"], ignore_errors=True)


class SqliteTest(NsprofTest):
    def run_mode(self, mode, *flags):
        key = (mode,) + flags
        if key not in SHARED["runs"]:
            self.assertTrue(os.path.exists(TRUTH), MISSING)
            tag = re.sub(r"[^\w]+", "_", "_".join(key))
            path = os.path.join(os.path.realpath(SHARED["dir"]), tag + ".db")
            rec = self.record([TRUTH, mode, path], *flags,
                              name=os.path.join(SHARED["dir"], tag + ".nsp"))
            self.assertEqual(rec.stdout, OUTPUT[mode], rec.stderr)
            SHARED["runs"][key] = Run(rec, self.report(rec.files()), path)
        return SHARED["runs"][key]

    def database(self, doc):
        db = doc.get("database")
        self.assertIsNotNone(db, "no database section in the report")
        return db

    def rows(self, db, section, sql, function=None, via=None):
        return [r for r in db[section] if r["sql"] == sql
                and (function is None or r["function"] == function)
                and (via is None or r["via"] == via)]

    def one(self, db, section, sql, function, via):
        found = self.rows(db, section, sql, function, via)
        self.assertEqual(len(found), 1, "%d %s rows of %r at %s via %s in\n%s" % (
            len(found), section, sql, function, via, describe(db)))
        return found[0]

    def plain(self, mode):
        """The program run without nsprof."""
        self.assertTrue(os.path.exists(TRUTH), MISSING)
        path = os.path.join(os.path.realpath(self.dir), "plain-%s.db" % mode)
        return subprocess.run([TRUTH, mode, path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)


class Counts(SqliteTest):
    """Exact counts per (normalized SQL, call site), and nothing else."""

    def check_mode(self, mode):
        run = self.run_mode(mode)
        db = self.database(run.doc)
        expected = SETUP_QUERIES + MODES[mode].queries
        context = "\nmode %s:\n%s" % (mode, describe(db))
        self.assertEqual(db["sql_text"], "normalized", context)
        for e in expected:
            r = self.one(db, "queries", e.sql, e.function, e.via)
            what = "%r at %s%s" % (e.sql, e.function, context)
            self.assertEqual((r["executions"], r["rows"], r["errors"]),
                             (e.executions, e.rows, e.errors),
                             "executions, rows, errors of " + what)
            self.assertEqual((r["in_loop"], r["outer_sql"]), (e.in_loop, e.outer),
                             "in_loop, outer_sql of " + what)
            if e.autocommit is not None:
                self.assertEqual(r["autocommit"], e.autocommit, "autocommit of " + what)
            if e.distinct is None:
                self.assertIsNone(r["distinct_params"], "distinct_params of " + what)
            else:
                lo, hi = estimate_range(e.distinct)
                self.assertTrue(r["distinct_params"] is not None and
                                lo <= r["distinct_params"] <= hi,
                                "distinct_params of %s: %s, expected about %d" % (
                                    what, r["distinct_params"], e.distinct))
            self.assertEqual((r["system"], r["database"], r["verb"]),
                             ("sqlite", run.path, VERBS[e.sql.split()[0]]), what)
            self.assertEqual((r["module"], os.path.basename(r["file"] or ""), r["line"],
                              r["inlined"]),
                             (PROGRAM, PROGRAM + ".c", line_of(e.function, e.call), False),
                             "call site of " + what)
            self.assertAlmostEqual(r["rows_per_execution"], e.rows / e.executions, places=3,
                                   msg=what)
            self.check_times(r, what)
        # Nothing but the program's own statements: not SQLite's schema queries (its own
        # sqlite3_exec inside prepare and step), not sqlite3_exec's statements twice.
        self.assertEqual(sorted((r["sql"], r["function"], r["via"]) for r in db["queries"]),
                         sorted((e.sql, e.function, e.via) for e in expected),
                         "the queries" + context)
        self.assertEqual((db["executions"], db["rows"]),
                         (sum(e.executions for e in expected), sum(e.rows for e in expected)),
                         "totals" + context)
        self.check_prepares(db, run.path, SETUP_PREPARES + MODES[mode].prepares, context)
        self.check_connections(db, run.path, MODES[mode].connects, context)
        self.check_order_and_shares(db, context)

    def check_times(self, r, what):
        self.assertGreater(r["time_ns"], 0, what)
        self.assertGreater(r["max_ns"], 0, what)
        self.assertLessEqual(r["max_ns"], r["time_ns"], what)
        self.assertLessEqual(r["p50_ns"], r["p95_ns"], what)
        self.assertLessEqual(r["p95_ns"], r["p99_ns"], what)
        # Percentiles come from histograms (~10%): at most a bucket above the largest call.
        self.assertLessEqual(r["p99_ns"], r["max_ns"] * 1.15 + 1, what)
        self.assertAlmostEqual(r["mean_ns"], r["time_ns"] / r["executions"],
                               delta=1 + r["mean_ns"] * 0.01, msg=what)

    def check_prepares(self, db, path, expected, context):
        # The contract names both the total and the array `prepares`: the array is read here,
        # the total is its sum.
        self.assertIsInstance(db["prepares"], list, "the prepares array" + context)
        for e in expected:
            r = self.one(db, "prepares", e.sql, e.function, e.via)
            self.assertEqual(r["prepares"], e.prepares,
                             "prepares of %r at %s%s" % (e.sql, e.function, context))
            self.assertEqual((r["system"], r["database"], r["module"]), ("sqlite", path, PROGRAM),
                             context)
            self.assertGreaterEqual(r["time_ns"], 0, context)
        self.assertEqual(sorted((r["sql"], r["function"], r["via"]) for r in db["prepares"]),
                         sorted((e.sql, e.function, e.via) for e in expected),
                         "the prepares" + context)
        self.assertEqual(sum(r["prepares"] for r in db["prepares"]),
                         sum(e.prepares for e in expected), "prepares" + context)

    def check_connections(self, db, path, sites, context):
        conns = [c for c in db["connections"] if c["database"] == path]
        self.assertEqual(len(conns), 1, "connections to %s%s" % (path, context))
        self.assertEqual(len(db["connections"]), 1, "connections to other databases" + context)
        c = conns[0]
        total = sum(sites.values())
        self.assertEqual((c["system"], c["connects"], c["closes"]), ("sqlite", total, total),
                         context)
        self.assertGreater(c["connect_time_ns"], 0, context)
        self.assertEqual({s["function"]: s["connects"] for s in c["sites"]}, sites,
                         "connects per site" + context)
        self.assertEqual({s["via"] for s in c["sites"]}, {"sqlite3_open_v2"}, context)
        self.assertEqual((db["connects"], db["closes"]), (total, total), context)

    def check_order_and_shares(self, db, context):
        times = [r["time_ns"] for r in db["queries"]]
        self.assertEqual(times, sorted(times, reverse=True), "queries by time" + context)
        # time_ns is all the time in database calls (db_time: prepares and connects too);
        # the queries' rows are the executions'
        self.assertAlmostEqual(db["execution_time_ns"], sum(times),
                               delta=0.01 * db["execution_time_ns"] + 1, msg=context)
        self.assertLessEqual(db["execution_time_ns"], db["time_ns"], context)
        self.assertAlmostEqual(sum(r["time_pct"] for r in db["queries"]), 100, delta=0.5,
                               msg=context)

    def test_nplus1(self):
        self.check_mode("nplus1")

    def test_batched(self):
        self.check_mode("batched")

    def test_reprepare(self):
        self.check_mode("reprepare")

    def test_prepared_once(self):
        self.check_mode("prepared_once")

    def test_autocommit(self):
        self.check_mode("autocommit")

    def test_transaction(self):
        self.check_mode("transaction")

    def test_churn(self):
        self.check_mode("churn")

    def test_pooled(self):
        self.check_mode("pooled")

    def test_exec_script_counts_each_statement(self):
        self.check_mode("exec_script")

    def test_exec_callback_queries_are_counted_inside_the_exec(self):
        self.check_mode("exec_nplus1")

    def test_threads(self):
        self.check_mode("threads")

    def test_failed_executions_are_errors(self):
        self.check_mode("constraint")

    def test_events_add_up_to_the_section(self):
        """Issue 14's events: db_calls (executions), db_rows, db_time (ns)."""
        doc = self.run_mode("nplus1").doc
        db = self.database(doc)
        weights = {e["name"]: e["weight"] for e in doc["events"]}
        context = "events %s\n%s" % (weights, describe(db))
        self.assertEqual((weights.get("db_calls"), weights.get("db_rows")),
                         (db["executions"], db["rows"]), context)
        self.assertIn("db_time", weights, context)
        self.assertAlmostEqual(weights["db_time"], db["time_ns"], delta=0.01 * db["time_ns"] + 1,
                               msg=context)

    def test_program_without_database_calls_has_no_section(self):
        doc = self.run_mode("none").doc
        self.assertIsNone(doc["database"], describe(doc["database"]))
        self.assertEqual([e["name"] for e in doc["events"] if e["name"].startswith("db_")], [])


class Rules(SqliteTest):
    def findings(self, mode):
        doc = self.run_mode(mode).doc
        return doc["recommendations"], "\nmode %s, findings:\n%s\n%s" % (
            mode, describe_findings(doc["recommendations"]), describe(doc["database"]))

    def fires(self, mode, rule, function, call, event, allowed=()):
        found, context = self.findings(mode)
        hits = [f for f in found if f["rule"] == rule]
        self.assertEqual(len(hits), 1, "%s findings%s" % (rule, context))
        f = hits[0]
        self.assertEqual((f["function"], f["module"], os.path.basename(f["file"] or ""), f["line"],
                          f["event"]),
                         (function, PROGRAM, PROGRAM + ".c", line_of(function, call), event),
                         context)
        self.assertTrue(f["evidence"] and f["suggestion"], context)
        others = [g["rule"] for g in found if g["rule"] in DB_RULES and g["rule"] != rule
                  and g["rule"] not in allowed]
        self.assertEqual(others, [], "other database rules" + context)
        return f

    def silent(self, mode):
        found, context = self.findings(mode)
        self.assertEqual([f["rule"] for f in found if f["rule"] in DB_RULES], [],
                         "the fixed twin must have no database finding" + context)

    def test_n_plus_one_fires_at_the_inner_query(self):
        f = self.fires("nplus1", "n_plus_one", "load_books_n_plus_one", "sqlite3_step(inner)",
                       "db_calls")
        self.assertIn(OUTER, f["evidence"], "the evidence names the outer query")

    def test_n_plus_one_fires_in_an_exec_callback(self):
        f = self.fires("exec_nplus1", "n_plus_one", "count_books_cb", "sqlite3_step(p->count)",
                       "db_calls")
        self.assertIn(OUTER, f["evidence"], "the evidence names the outer query")

    def test_n_plus_one_silent_when_batched(self):
        self.silent("batched")

    def test_reprepare_fires_at_the_prepare(self):
        self.fires("reprepare", "reprepare", "lookup_reprepare",
                   'sqlite3_prepare_v2(db, "SELECT name', "db_calls")

    def test_reprepare_silent_when_prepared_once(self):
        self.silent("prepared_once")

    def test_autocommit_loop_fires_at_the_insert(self):
        self.fires("autocommit", "autocommit_loop", "insert_autocommit", "sqlite3_step(s)",
                   "db_calls")

    def test_autocommit_loop_silent_in_a_transaction(self):
        self.silent("transaction")

    def test_connection_churn_fires_at_the_open(self):
        # A new connection must prepare its statement again: reprepare may say so too.
        self.fires("churn", "connection_churn", "open_per_query", "sqlite3_open_v2(",
                   "db_connects", allowed=("reprepare",))

    def test_connection_churn_silent_when_pooled(self):
        self.silent("pooled")

    def test_silent_on_threads_scripts_and_errors(self):
        for mode in ("threads", "exec_script", "constraint"):
            with self.subTest(mode=mode):
                self.silent(mode)


class Secrets(SqliteTest):
    def test_literals_are_never_written_by_default(self):
        run = self.run_mode("exec_script")
        db = self.database(run.doc)
        texts = profile_texts(run.rec.files())
        self.assertGreater(len(texts), len(run.rec.files()),
                           "no zlib stream found in the profile: this test cannot read it")
        for secret in SECRETS:
            for text in texts:
                self.assertNotIn(secret.encode(), text, "a literal in the .nsp file")
            self.assertNotIn(secret, json.dumps(run.doc), describe(db))
        self.assertNotIn("api_key", json.dumps(db), describe(db))
        text = subprocess.run([NSPROF, "report", *run.rec.files()], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        self.assertEqual(text.returncode, 0, text.stderr)
        for secret in SECRETS:
            self.assertNotIn(secret, text.stdout)
        self.assertIn(SECRET_INSERT, text.stdout, "the text report shows the normalized query")

    def test_full_sql_keeps_them(self):
        run = self.run_mode("exec_script", "--db-sql=full")
        db = self.database(run.doc)
        self.assertEqual(db["sql_text"], "full", describe(db))
        dumped = json.dumps(run.doc)
        for secret in SECRETS:
            self.assertIn(secret, dumped, describe(db))
            # The same reader finds them in the file: it can see SQL text when there is any.
            self.assertTrue(any(secret.encode() in t for t in profile_texts(run.rec.files())),
                            "%s not found in the .nsp files by the zlib scan" % secret)


class Behaviour(SqliteTest):
    def test_output_and_status_unchanged_when_profiled(self):
        for mode in OUTPUT:
            with self.subTest(mode=mode):
                plain = self.plain(mode)
                self.assertEqual((plain.returncode, plain.stdout), (0, OUTPUT[mode]), plain.stderr)
                rec = self.run_mode(mode).rec
                self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout))

    def test_db_off_records_no_database_and_changes_nothing(self):
        for mode in OUTPUT:
            with self.subTest(mode=mode):
                run = self.run_mode(mode, "--db=off")
                self.assertEqual((run.rec.returncode, run.rec.stdout), (0, OUTPUT[mode]))
                self.assertIsNone(run.doc["database"], describe(run.doc["database"]))
                self.assertEqual([e["name"] for e in run.doc["events"]
                                  if e["name"].startswith("db_")], [])
                self.assertEqual([f["rule"] for f in run.doc["recommendations"]
                                  if f["rule"] in DB_RULES + ("slow_query",)], [])

    def test_sqlite_error_is_unchanged(self):
        """A database that cannot be opened: the program says so and exits with 1, profiled
        or not."""
        self.assertTrue(os.path.exists(TRUTH), MISSING)
        cmd = [TRUTH, "nplus1", os.path.join(self.dir, "no-such-dir", "x.db")]
        message = "db_sqlite_truth: open: unable to open database file"
        plain = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual((plain.returncode, plain.stdout), (1, ""))
        self.assertIn(message, plain.stderr)
        rec = self.record(cmd, check=False)
        self.assertEqual((rec.returncode, rec.stdout), (1, ""), rec.stderr)
        self.assertIn(message, rec.stderr)


class DebianShell(NsprofTest):
    """Debian's sqlite3 shell reads a script: it prepares each statement itself with
    sqlite3_prepare_v2, so the call sites are in /usr/bin/sqlite3. Counted by SQL alone.
    The script's SQL is not all normalized: lower-case keywords and runs of spaces and a
    statement over two lines fold into the same text."""

    INSERTS = 50
    CREATE = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"
    INSERT = "INSERT INTO items (id, name) VALUES (?, ?)"
    COUNT = "SELECT count(*) FROM items"
    NAME = "SELECT name FROM items WHERE id = ?"

    def test_script_statements_are_counted(self):
        self.assertTrue(os.path.exists(SHELL), "%s is missing: tools/setup.sh --test "
                        "installs Debian's sqlite3" % SHELL)
        script = os.path.join(self.dir, "script.sql")
        lines = ["-- one table, %d rows in one transaction, three queries" % self.INSERTS,
                 self.CREATE + ";", "BEGIN;"]
        lines += ["INSERT INTO items (id, name) VALUES (%d, 'item-%d');" % (i, i)
                  for i in range(1, self.INSERTS + 1)]
        lines += ["COMMIT;", "select count(*) from items;", "SELECT count(*)   FROM items;",
                  "SELECT name", "  FROM items WHERE id = 7;"]
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        path = os.path.join(os.path.realpath(self.dir), "shell.db")
        rec = self.record([SHELL, path, ".read " + script])
        self.assertEqual(rec.stdout, "%d\n%d\nitem-7\n" % (self.INSERTS, self.INSERTS))
        doc = self.report(rec.files())
        db = doc["database"]
        context = "\n" + describe(db)
        self.assertIsNotNone(db, "no database section")
        expected = {  # sql: executions, rows, autocommit (None: not checked)
            self.CREATE: (1, 0, 1),
            "BEGIN": (1, 0, None),
            self.INSERT: (self.INSERTS, 0, 0),
            "COMMIT": (1, 0, None),
            self.COUNT: (2, 2, 2),
            self.NAME: (1, 1, 1),
        }
        for sql, (executions, rows, autocommit) in expected.items():
            found = [r for r in db["queries"] if r["sql"] == sql]
            self.assertTrue(found, "no query %r%s" % (sql, context))
            got = (sum(r["executions"] for r in found), sum(r["rows"] for r in found))
            self.assertEqual(got, (executions, rows), "%r%s" % (sql, context))
            if autocommit is not None:
                self.assertEqual(sum(r["autocommit"] for r in found), autocommit,
                                 "autocommit of %r%s" % (sql, context))
            for r in found:
                self.assertEqual((r["system"], r["database"], r["via"], r["module"]),
                                 ("sqlite", path, STEP, "sqlite3"), "%r%s" % (sql, context))
                self.assertEqual((r["in_loop"], r["errors"]), (0, 0), "%r%s" % (sql, context))
        # The statements of the script and nothing else: not the schema query SQLite runs
        # through its own sqlite3_exec after the CREATE TABLE.
        self.assertEqual(sorted({r["sql"] for r in db["queries"]}), sorted(expected), context)
        self.assertEqual(db["executions"], sum(e[0] for e in expected.values()), context)
        inserts = [r for r in db["queries"] if r["sql"] == self.INSERT]
        lo, hi = estimate_range(self.INSERTS)
        self.assertTrue(all(lo <= (r["distinct_params"] or 0) <= hi for r in inserts), context)
        self.assertNotIn("item-", json.dumps(db), "a literal in the report" + context)
        conns = [c for c in db["connections"] if c["database"] == path]
        self.assertEqual([(c["connects"], c["closes"]) for c in conns], [(1, 1)], context)
        self.assertEqual([f["rule"] for f in doc["recommendations"]
                          if f["rule"] in ("n_plus_one", "autocommit_loop", "connection_churn")],
                         [], describe_findings(doc["recommendations"]) + context)


if __name__ == "__main__":
    unittest.main()
