/*
 * db_explain — `nsprof report --db-explain DBFILE`: each sqlite query of the model planned
 * offline with EXPLAIN QUERY PLAN against a copy-free, read-only connection to DBFILE (never
 * inside the profiled program, never writing it), so the report can say which slow queries
 * read a whole table.
 *
 * Only SELECT, INSERT, UPDATE and DELETE queries of sqlite databases are planned; a text
 * that is not one single statement is skipped (the SQL comes from a profile: hostile input;
 * EXPLAIN QUERY PLAN prepares but never runs it). Queries whose parameters were normalized
 * to `?` are planned as prepared statements with unbound parameters, which is what the
 * program ran.
 *
 * libsqlite3 is loaded when asked (dlopen), so nsprof does not depend on it otherwise.
 */
#ifndef NS_REPORT_DB_EXPLAIN_H
#define NS_REPORT_DB_EXPLAIN_H

#include <stddef.h>

#include "model.h"

/* Fills m->db_plans. Returns the number of queries planned, or -1 with a sentence in err
 * (libsqlite3 missing, the file cannot be opened as an sqlite database). A query the
 * database cannot plan (a table it does not have) is left without a plan and counted in
 * *failed. */
int ns_db_explain(struct ns_model *m, const char *dbfile, size_t *failed, char *err, size_t errlen);

#endif
