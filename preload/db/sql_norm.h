/*
 * sql_norm — a statement's text as nsprof keeps it: normalized, with every literal replaced
 * by `?`, so that executions of one query with different values are one row, and so that no
 * value (a password, an e-mail address) is ever written unless the user asks for raw SQL
 * (issue 14). One tokenizer for the three client libraries nsprof follows; `dialect` says how
 * a double-quoted string is read (MySQL: a string; SQLite and PostgreSQL: an identifier).
 *
 * Normalization:
 *  - literals become `?`: numbers (with a sign right after an operator), strings ('...' with
 *    '' and, for MySQL, backslash escapes; PostgreSQL's E'...' and $tag$...$tag$), blobs and
 *    bit strings (X'..', B'..', N'..'), booleans are kept (TRUE, FALSE, NULL carry no data);
 *  - parameters become `?`: ?, ?NNN, :name, @name, $name, $1 (a PostgreSQL `::type` cast is
 *    not a parameter);
 *  - comments (-- to the end of the line, and C-style block comments) are dropped,
 *    whitespace folded;
 *  - keywords are upper-cased; identifiers are kept as written;
 *  - `IN (?, ?, ...)` becomes `IN (?)`; `VALUES (...), (...), ...` of several rows of one
 *    shape becomes `VALUES (...), ...`.
 * The result is cut at the buffer's size (ending in "..."): its hash is of the whole
 * normalized text, so two statements that differ after the cut are still two.
 *
 * Contract: pure functions of their arguments; no allocation, no locks: callable from any
 * hook (not from a signal handler: they are not written for one, though they would be safe).
 */
#ifndef NS_SQL_NORM_H
#define NS_SQL_NORM_H

#include <stddef.h>
#include <stdint.h>

enum ns_sql_dialect { NS_SQL_SQLITE, NS_SQL_POSTGRES, NS_SQL_MYSQL };

/* The first keyword of a statement, for rules about writes (autocommit_loop). */
enum ns_sql_verb {
    NS_SQL_OTHER,
    NS_SQL_SELECT,
    NS_SQL_INSERT,
    NS_SQL_UPDATE,
    NS_SQL_DELETE,
    NS_SQL_BEGIN, /* BEGIN, START TRANSACTION, SAVEPOINT */
    NS_SQL_END,   /* COMMIT, END, ROLLBACK, RELEASE */
};

struct ns_sql_norm {
    size_t len;            /* of the text written (at most cap - 1) */
    int truncated;         /* the text was cut at the buffer's size */
    uint64_t hash;         /* of the whole normalized text (FNV-1a) */
    uint64_t literal_hash; /* of the literals' own texts, in order: one value set */
    uint32_t literals;     /* literals and parameters replaced */
    uint32_t rows;         /* rows of a VALUES list (0: none) */
    enum ns_sql_verb verb;
};

/* Normalizes sql[0..len) (a NUL ends it) into out[0..cap) (NUL-terminated when cap > 0;
 * out may be NULL when cap is 0: the hash alone). */
void ns_sql_normalize(const char *sql, size_t len, enum ns_sql_dialect dialect, char *out,
                      size_t cap, struct ns_sql_norm *r);

/* The length of the first statement of sql[0..len): up to and including its `;` outside
 * strings, comments and quoted names (a trigger's BEGIN ... END body included), else to the
 * end of the text (a NUL ends it, as for the C APIs). For sqlite3_exec, which runs each
 * statement of a script. */
size_t ns_sql_statement_len(const char *sql, size_t len, enum ns_sql_dialect dialect);

#endif
