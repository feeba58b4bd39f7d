/*
 * ns_sql_statement_len against SQLite's own sqlite3_complete (Debian's libsqlite3): for
 * scripts built from statements with semicolons in strings, comments, quoted names and
 * trigger bodies (CASE ... END inside them too), each statement ends where sqlite3_complete
 * first says the text so far is complete.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sql_norm.h"

static const char *const PIECES[] = {
    "SELECT 1;",
    "SELECT ';' AS semi;",
    "SELECT \"a;b\" FROM t;",
    "SELECT [x;y] FROM t;",
    "SELECT `q;r` FROM t;",
    "SELECT 1 -- a comment; with a semicolon\n;",
    "SELECT /* ; */ 2;",
    "INSERT INTO t VALUES ('it''s; fine', x'00');",
    "CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE b SET x = 1; DELETE FROM c; END;",
    "CREATE TEMP TRIGGER tr2 BEFORE DELETE ON a BEGIN SELECT CASE WHEN 1 THEN 2 END + 1; END;",
    "create trigger tr3 after update on a begin insert into log values ('end;'); end;",
    "CREATE TABLE end_table (end_col INTEGER);",
    "BEGIN; ",
    "END;",
    "  \n\t;",
    "SELECT 'unclosed ; still' || ';' ;",
};

/* Where sqlite3_complete first says the text from s is complete: the reference split. */
static size_t reference_len(const char *s, size_t len)
{
    char *buf = malloc(len + 1);
    size_t k = 1;
    for (; k <= len; k++) {
        memcpy(buf, s, k);
        buf[k] = '\0';
        if (s[k - 1] == ';' && sqlite3_complete(buf))
            break;
    }
    free(buf);
    return k <= len ? k : len;
}

static void check_script(const char *script)
{
    size_t len = strlen(script), pos = 0;
    while (pos < len) {
        size_t ours = ns_sql_statement_len(script + pos, len - pos, NS_SQL_SQLITE);
        size_t theirs = reference_len(script + pos, len - pos);
        cr_assert_eq(ours, theirs, "at %zu of \"%s\": nsprof %zu, sqlite3_complete %zu", pos,
                     script, ours, theirs);
        cr_assert_gt(ours, 0);
        pos += ours;
    }
}

Test(sql_split_sqlite, each_piece_alone)
{
    for (size_t i = 0; i < sizeof(PIECES) / sizeof(PIECES[0]); i++)
        check_script(PIECES[i]);
}

Test(sql_split_sqlite, random_scripts)
{
    srand(3);
    size_t n = sizeof(PIECES) / sizeof(PIECES[0]);
    for (int round = 0; round < 500; round++) {
        char script[4096] = "";
        int pieces = 1 + rand() % 8;
        for (int p = 0; p < pieces; p++) {
            strcat(script, PIECES[rand() % n]);
            strcat(script, rand() % 2 ? " " : "\n");
        }
        check_script(script);
    }
}
