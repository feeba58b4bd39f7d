/*
 * The SQL normalizer (preload/db/sql_norm.h): statements as applications write them, in the
 * three dialects, with the normalized text known by construction; no literal survives;
 * equal queries hash equal whatever their values; the statement splitter of sqlite3_exec;
 * and bytes no one would write (unterminated quotes, NULs, random noise).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_norm.h"

static char out[4096];

static struct ns_sql_norm norm(const char *sql, enum ns_sql_dialect d)
{
    struct ns_sql_norm r;
    ns_sql_normalize(sql, strlen(sql), d, out, sizeof(out), &r);
    cr_assert_eq(r.len, strlen(out));
    return r;
}

static void expect(const char *sql, enum ns_sql_dialect d, const char *want)
{
    norm(sql, d);
    cr_assert_str_eq(out, want, "%s", sql);
}

Test(sql_norm, literals_become_placeholders_and_keywords_upper_case)
{
    expect("select * from users where id = 42", NS_SQL_SQLITE, "SELECT * FROM users WHERE id = ?");
    expect("SELECT Name FROM Users WHERE email = 'bob@example.com' AND pw='s3cr''et'",
           NS_SQL_SQLITE, "SELECT Name FROM Users WHERE email = ? AND pw = ?");
    expect("select count(*) from t where x > 3.14e-2 and y = 0xFF and z < .5", NS_SQL_SQLITE,
           "SELECT count(*) FROM t WHERE x > ? AND y = ? AND z < ?");
    expect("SELECT main.t.a FROM main.t", NS_SQL_SQLITE, "SELECT main.t.a FROM main.t");
    expect("SELECT x FROM t WHERE flag IS NOT NULL AND ok = TRUE", NS_SQL_SQLITE,
           "SELECT x FROM t WHERE flag IS NOT NULL AND ok = TRUE");
}

Test(sql_norm, signs_belong_to_numbers_only_where_an_operand_is_expected)
{
    expect("SELECT a - 1, -2, f(-3), b-4 FROM t WHERE c = -5 AND d > +6", NS_SQL_SQLITE,
           "SELECT a - ?, ?, f(?), b - ? FROM t WHERE c = ? AND d > ?");
    expect("SELECT a-1 FROM t", NS_SQL_SQLITE, "SELECT a - ? FROM t");
    /* an operator written against the sign: the operator, then the number */
    expect("SELECT a FROM t WHERE c>-5 AND d<=+.5 AND e<>-1", NS_SQL_SQLITE,
           "SELECT a FROM t WHERE c > ? AND d <= ? AND e <> ?");
}

Test(sql_norm, a_final_semicolon_is_not_part_of_the_query)
{
    expect("UPDATE t SET a = 1 WHERE id = 2; ", NS_SQL_SQLITE, "UPDATE t SET a = ? WHERE id = ?");
    expect("SELECT 1; SELECT 2;", NS_SQL_SQLITE, "SELECT ?; SELECT ?");
    cr_assert_eq(norm("SELECT 1;", NS_SQL_SQLITE).hash, norm("SELECT 1", NS_SQL_SQLITE).hash);
}

Test(sql_norm, no_literal_survives)
{
    const char *sql = "INSERT INTO accounts (user, password, card) VALUES "
                      "('alice', 'hunter2', X'DEADBEEF') -- set by admin 'root'\n";
    struct ns_sql_norm r = norm(sql, NS_SQL_SQLITE);
    cr_assert_str_eq(out, "INSERT INTO accounts (user, password, card) VALUES (?, ?, ?)");
    const char *secrets[] = {"alice", "hunter2", "DEAD", "root", "admin"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        cr_assert_null(strstr(out, secrets[i]), "%s leaked", secrets[i]);
    cr_assert_eq(r.literals, 3);
    cr_assert_eq(r.verb, NS_SQL_INSERT);
}

Test(sql_norm, in_lists_collapse_when_they_are_all_values)
{
    expect("SELECT * FROM t WHERE id IN (1, 2, 3)", NS_SQL_SQLITE,
           "SELECT * FROM t WHERE id IN (?)");
    expect("SELECT * FROM t WHERE id IN (1)", NS_SQL_SQLITE, "SELECT * FROM t WHERE id IN (?)");
    expect("SELECT * FROM t WHERE id in ($1,$2,$3,$4)", NS_SQL_POSTGRES,
           "SELECT * FROM t WHERE id IN (?)");
    expect("SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE k = 7)", NS_SQL_SQLITE,
           "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE k = ?)");
    expect("SELECT * FROM t WHERE id IN (1, a)", NS_SQL_SQLITE,
           "SELECT * FROM t WHERE id IN (?, a)");
    expect("SELECT * FROM t WHERE id IN (1, 2, 3 + 4)", NS_SQL_SQLITE,
           "SELECT * FROM t WHERE id IN (?, ?, ? + ?)");
    /* A query with 3 ids and one with 300 are one query. */
    struct ns_sql_norm a = norm("SELECT * FROM t WHERE id IN (1, 2, 3)", NS_SQL_SQLITE);
    char many[4000] = "SELECT * FROM t WHERE id IN (0";
    for (int i = 1; i < 300; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), ", %d", i);
    strcat(many, ")");
    struct ns_sql_norm b = norm(many, NS_SQL_SQLITE);
    cr_assert_eq(a.hash, b.hash);
    cr_assert_eq(b.literals, 300);
}

Test(sql_norm, values_rows_of_one_shape_collapse)
{
    struct ns_sql_norm r =
        norm("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", NS_SQL_SQLITE);
    cr_assert_str_eq(out, "INSERT INTO t (a, b) VALUES (?, ?), ...");
    cr_assert_eq(r.rows, 3);
    expect("INSERT INTO t VALUES (1, 2)", NS_SQL_SQLITE, "INSERT INTO t VALUES (?, ?)");
    expect("INSERT INTO t VALUES (1, 2), (3)", NS_SQL_SQLITE, "INSERT INTO t VALUES (?, ?), (?)");
    expect("INSERT INTO t VALUES (1, f(2)), (3, f(4)), (5, g(6))", NS_SQL_SQLITE,
           "INSERT INTO t VALUES (?, f(?)), ..., (?, g(?))");
    expect("insert into t values (1,2),(3,4) on conflict do nothing", NS_SQL_SQLITE,
           "INSERT INTO t VALUES (?, ?), ... ON CONFLICT DO NOTHING");
    expect("INSERT INTO t VALUES (1, 2),", NS_SQL_SQLITE, "INSERT INTO t VALUES (?, ?),");
    expect("INSERT INTO t VALUES (1, 2), (3", NS_SQL_SQLITE, "INSERT INTO t VALUES (?, ?), (?");
    struct ns_sql_norm two = norm("INSERT INTO t VALUES (1, 2), (3, 4)", NS_SQL_SQLITE);
    struct ns_sql_norm ten =
        norm("INSERT INTO t VALUES (1,2),(3,4),(5,6),(7,8),(9,0)", NS_SQL_SQLITE);
    cr_assert_eq(two.hash, ten.hash);
    cr_assert_eq(ten.rows, 5);
}

Test(sql_norm, comments_and_whitespace_fold)
{
    expect("  SELECT\ta -- the a column\n  FROM /* multi\nline */ t ;  ", NS_SQL_SQLITE,
           "SELECT a FROM t");
    expect("SELECT a # mysql comment\nFROM t", NS_SQL_MYSQL, "SELECT a FROM t");
    expect("SELECT a # b FROM t", NS_SQL_POSTGRES, "SELECT a # b FROM t");
    expect("SELECT 1 /* unterminated", NS_SQL_SQLITE, "SELECT ?");
}

Test(sql_norm, parameters_of_every_style)
{
    expect("SELECT * FROM t WHERE a = ? AND b = ?2 AND c = :name AND d = @v AND e = $w",
           NS_SQL_SQLITE, "SELECT * FROM t WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ?");
    expect("SELECT * FROM t WHERE a = $1 AND b = $2::int AND c::text = $3", NS_SQL_POSTGRES,
           "SELECT * FROM t WHERE a = ? AND b = ?::int AND c::text = ?");
}

Test(sql_norm, quoting_by_dialect)
{
    /* MySQL: "..." is a string; SQLite and PostgreSQL: a name. */
    expect("SELECT * FROM t WHERE a = \"secret\"", NS_SQL_MYSQL, "SELECT * FROM t WHERE a = ?");
    expect("SELECT \"my col\" FROM \"T\" WHERE x = 1", NS_SQL_SQLITE,
           "SELECT \"my col\" FROM \"T\" WHERE x = ?");
    expect("SELECT `a` FROM `t` WHERE b = 'it\\'s' AND c = 1", NS_SQL_MYSQL,
           "SELECT `a` FROM `t` WHERE b = ? AND c = ?");
    expect("SELECT [a b] FROM t WHERE c = 1", NS_SQL_SQLITE, "SELECT [a b] FROM t WHERE c = ?");
    /* PostgreSQL: escape strings, dollar quotes, bit strings. */
    expect("SELECT E'a\\'b', $$body's$$, $fn$x$fn$, B'0101' FROM t", NS_SQL_POSTGRES,
           "SELECT ?, ?, ?, ? FROM t");
    /* Standard strings: a backslash is a character; '' the quote. */
    expect("SELECT 'a\\', b FROM t", NS_SQL_POSTGRES, "SELECT ?, b FROM t");
}

Test(sql_norm, equal_queries_hash_equal_and_value_sets_apart)
{
    struct ns_sql_norm a = norm("SELECT * FROM t WHERE id = 1", NS_SQL_SQLITE);
    struct ns_sql_norm b = norm("select *  from t where id=2", NS_SQL_SQLITE);
    struct ns_sql_norm c = norm("SELECT * FROM t WHERE id = 1", NS_SQL_SQLITE);
    struct ns_sql_norm d = norm("SELECT * FROM u WHERE id = 1", NS_SQL_SQLITE);
    cr_assert_eq(a.hash, b.hash);
    cr_assert_neq(a.literal_hash, b.literal_hash);
    cr_assert_eq(a.literal_hash, c.literal_hash);
    cr_assert_neq(a.hash, d.hash);
    /* The values 1, 23 and 12, 3 are two sets. */
    struct ns_sql_norm e = norm("SELECT f(1, 23)", NS_SQL_SQLITE);
    struct ns_sql_norm f = norm("SELECT f(12, 3)", NS_SQL_SQLITE);
    cr_assert_neq(e.literal_hash, f.literal_hash);
}

Test(sql_norm, a_cut_text_still_hashes_whole)
{
    const char *sql = "SELECT aaaa, bbbb, cccc, dddd FROM t WHERE x = 1";
    struct ns_sql_norm whole = norm(sql, NS_SQL_SQLITE);
    char small[16];
    struct ns_sql_norm cut;
    ns_sql_normalize(sql, strlen(sql), NS_SQL_SQLITE, small, sizeof(small), &cut);
    cr_assert(cut.truncated);
    cr_assert_eq(strlen(small), 15);
    cr_assert_str_eq(small, "SELECT aaaa,...");
    cr_assert_eq(cut.hash, whole.hash);
    const char *other = "SELECT aaaa, bbbb, cccc, eeee FROM t WHERE x = 1";
    ns_sql_normalize(other, strlen(other), NS_SQL_SQLITE, small, sizeof(small), &cut);
    cr_assert_neq(cut.hash, whole.hash, "differing after the cut: still two statements");
    ns_sql_normalize(sql, strlen(sql), NS_SQL_SQLITE, NULL, 0, &cut);
    cr_assert_eq(cut.hash, whole.hash, "no buffer at all: the hash alone");
}

Test(sql_norm, verbs)
{
    cr_assert_eq(norm("  select 1", NS_SQL_SQLITE).verb, NS_SQL_SELECT);
    cr_assert_eq(norm("Insert into t values (1)", NS_SQL_SQLITE).verb, NS_SQL_INSERT);
    cr_assert_eq(norm("REPLACE INTO t VALUES (1)", NS_SQL_SQLITE).verb, NS_SQL_INSERT);
    cr_assert_eq(norm("update t set a = 1", NS_SQL_SQLITE).verb, NS_SQL_UPDATE);
    cr_assert_eq(norm("/* c */ DELETE FROM t", NS_SQL_SQLITE).verb, NS_SQL_DELETE);
    cr_assert_eq(norm("begin transaction", NS_SQL_SQLITE).verb, NS_SQL_BEGIN);
    cr_assert_eq(norm("START TRANSACTION", NS_SQL_MYSQL).verb, NS_SQL_BEGIN);
    cr_assert_eq(norm("commit", NS_SQL_SQLITE).verb, NS_SQL_END);
    cr_assert_eq(norm("ROLLBACK", NS_SQL_POSTGRES).verb, NS_SQL_END);
    cr_assert_eq(norm("WITH x AS (SELECT 1) SELECT * FROM x", NS_SQL_SQLITE).verb, NS_SQL_OTHER);
    cr_assert_eq(norm("", NS_SQL_SQLITE).verb, NS_SQL_OTHER);
}

Test(sql_norm, statements_of_a_script)
{
    const char *s = "SELECT ';' FROM t; INSERT INTO u VALUES (1);\n-- ; in a comment\nSELECT 2";
    size_t len = strlen(s), a = ns_sql_statement_len(s, len, NS_SQL_SQLITE);
    cr_assert_eq(a, strlen("SELECT ';' FROM t;"));
    size_t b = ns_sql_statement_len(s + a, len - a, NS_SQL_SQLITE);
    cr_assert_eq(b, strlen(" INSERT INTO u VALUES (1);"));
    size_t c = ns_sql_statement_len(s + a + b, len - a - b, NS_SQL_SQLITE);
    cr_assert_eq(a + b + c, len, "the last statement needs no semicolon");
    const char *trig = "CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE b SET x = 1; "
                       "DELETE FROM c; END; SELECT 1";
    cr_assert_eq(ns_sql_statement_len(trig, strlen(trig), NS_SQL_SQLITE),
                 strlen(trig) - strlen(" SELECT 1"));
    cr_assert_eq(ns_sql_statement_len("", 0, NS_SQL_SQLITE), 0);
}

Test(sql_norm, bytes_no_one_would_write)
{
    expect("SELECT 'unterminated", NS_SQL_SQLITE, "SELECT ?");
    expect("SELECT \"unterminated", NS_SQL_SQLITE, "SELECT \"unterminated");
    expect("", NS_SQL_SQLITE, "");
    struct ns_sql_norm r;
    ns_sql_normalize(NULL, 5, NS_SQL_SQLITE, out, sizeof(out), &r);
    cr_assert_str_eq(out, "");
    /* A NUL ends the statement, as the C API reads it. */
    ns_sql_normalize("SELECT 1\0 DROP TABLE t", 22, NS_SQL_SQLITE, out, sizeof(out), &r);
    cr_assert_str_eq(out, "SELECT ?");
    /* Noise: never past the buffer, always terminated. */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        char noise[300], small[40];
        size_t n = (size_t)(rand() % (int)sizeof(noise));
        for (size_t k = 0; k < n; k++)
            noise[k] = (char)(rand() % 256);
        enum ns_sql_dialect d = (enum ns_sql_dialect)(rand() % 3);
        ns_sql_normalize(noise, n, d, small, sizeof(small), &r);
        cr_assert_lt(r.len, sizeof(small));
        cr_assert_eq(strlen(small), r.len);
        size_t s = ns_sql_statement_len(noise, n, d);
        cr_assert_leq(s, n);
    }
}
