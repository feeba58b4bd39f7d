/*
 * The records of format 1.4 (database and query resources, QUERY, DB_STATS), crafted by
 * hand: what they say is read back, each defect is refused with a message, and a record a
 * 1.4 writer wrote (profile_writer.c) reads back field for field.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "profile_writer.h"

#define U CRAFT_U

static struct ns_profile *load(const struct buf *payload, const char *needle)
{
    struct buf file = {0};
    craft_file_with(&file, payload);
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    int rc = craft_load(&file, &p, &err);
    buf_free(&file);
    if (needle) {
        cr_assert_eq(rc, -1, "accepted; expected \"%s\"", needle);
        cr_assert(strstr(err.msg, needle), "\"%s\" lacks \"%s\"", err.msg, needle);
        return NULL;
    }
    cr_assert_eq(rc, 0, "%s", err.msg);
    return p;
}

/* Strings 1 "/bin/x", 2 "sqlite /a.db", 3 "SELECT ?", 4 "SELECT 1"; mapping 1; stack 1;
 * resource 1 = the database, 2 = the query. */
static void prelude(struct buf *payload)
{
    craft_string(payload, 1, "/bin/x");
    craft_string(payload, 2, "sqlite /a.db");
    craft_string(payload, 3, "SELECT ?");
    craft_string(payload, 4, "SELECT 1");
    U(payload, NSP_REC_MAPPING, 1, 0x1000, 0x2000, 0, 1, 0, NSP_MAP_MAIN);
    U(payload, NSP_REC_STACK, 1, NSP_END_ROOT, 1, 1, 0x10);
    U(payload, NSP_REC_RESOURCE, 1, NSP_RES_DATABASE, 2, 0);
    U(payload, NSP_REC_RESOURCE, 2, NSP_RES_QUERY, 3, 0);
}

/* A DB_STATS body: fields, nregs registers of value reg, then the (bucket, count) pairs. */
static void db_stats(struct buf *payload, const uint64_t f[10], size_t nregs, uint8_t reg,
                     size_t npairs, const uint64_t *pairs)
{
    struct buf body = {0};
    for (int i = 0; i < 10; i++)
        buf_u(&body, f[i]);
    buf_u(&body, nregs);
    for (size_t i = 0; i < nregs; i++)
        buf_put(&body, &reg, 1);
    buf_u(&body, npairs);
    for (size_t i = 0; i < 2 * npairs; i++)
        buf_u(&body, pairs[i]);
    craft_record(payload, NSP_REC_DB_STATS, &body);
    buf_free(&body);
}

Test(records_v14, query_and_db_stats_read_back)
{
    struct buf payload = {0};
    prelude(&payload);
    U(&payload, NSP_REC_QUERY, 2, 1, NSP_VERB_SELECT, NSP_QUERY_LITERALS, 4);
    /* tid, stack, query, outer, executions, rows, time, in_loop, autocommit, errors */
    const uint64_t f[10] = {7, 1, 2, 2, 40, 200, 90000, 40, 40, 1};
    const uint64_t pairs[] = {100, 30, 120, 10};
    db_stats(&payload, f, NSP_DB_DISTINCT_REGS, 3, 2, pairs);
    struct ns_profile *p = load(&payload, NULL);
    cr_assert_eq(p->resources[1].kind, NSP_RES_DATABASE);
    const struct ns_prof_resource *q = &p->resources[2];
    cr_assert(q->has_query);
    cr_assert_eq(q->database, 1);
    cr_assert_eq(q->verb, NSP_VERB_SELECT);
    cr_assert_eq(q->flags, NSP_QUERY_LITERALS);
    cr_assert_eq(q->example, 4);
    cr_assert_eq(p->ndb_stats, 1);
    const struct ns_prof_db_stats *d = &p->db_stats[0];
    cr_assert_eq(d->tid, 7);
    cr_assert_eq(d->query, 2);
    cr_assert_eq(d->outer, 2);
    cr_assert_eq(d->executions, 40);
    cr_assert_eq(d->rows, 200);
    cr_assert_eq(d->time_ns, 90000);
    cr_assert_eq(d->in_loop, 40);
    cr_assert_eq(d->autocommit, 40);
    cr_assert_eq(d->errors, 1);
    cr_assert(d->has_distinct);
    cr_assert_eq(d->distinct[63], 3);
    cr_assert_eq(d->nbuckets, 2);
    cr_assert_eq(p->db_buckets[d->first + 1].bucket, 120);
    cr_assert_eq(p->db_buckets[d->first + 1].count, 10);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(records_v14, defects_are_refused)
{
    const uint64_t ok[10] = {7, 1, 2, 0, 1, 0, 5, 0, 0, 0};
    const uint64_t pairs[] = {5, 1, 4, 1, 600, 1};
    struct {
        int query_kind; /* QUERY's resource: 1 the database (wrong), 2 the query */
        uint64_t database, nregs, npairs, pair_offset, query;
        uint8_t reg;
        const char *needle;
    } bad[] = {
        {1, 1, 0, 0, 0, 2, 0, "QUERY of a resource that is not a query"},
        {2, 2, 0, 0, 0, 2, 0, "whose database is not a database"},
        {2, 1, 63, 0, 0, 2, 0, "63 distinct-value registers"},
        {2, 1, 64, 0, 0, 2, 65, "register over 64"},
        {2, 1, 0, 2, 0, 2, 0, "out of range or out of order"}, /* 5 then 4 */
        {2, 1, 0, 1, 4, 2, 0, "out of range or out of order"}, /* bucket 600 */
        {2, 1, 0, 0, 0, 1, 0, "DB_STATS of a resource that is not a query"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf payload = {0};
        prelude(&payload);
        U(&payload, NSP_REC_QUERY, (uint64_t)bad[i].query_kind, bad[i].database, 1, 0, 0);
        uint64_t f[10];
        memcpy(f, ok, sizeof(f));
        f[2] = bad[i].query;
        db_stats(&payload, f, bad[i].nregs, bad[i].reg, bad[i].npairs, pairs + bad[i].pair_offset);
        load(&payload, bad[i].needle);
        buf_free(&payload);
    }
}

Test(records_v14, what_the_writer_writes_reads_back)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    cr_assert_geq(fd, 0);
    struct ns_pw pw;
    cr_assert_eq(ns_pw_init(&pw, fd, 1 << 20), 0);
    struct ns_pw_process proc = {.pid = 5, .session = "s", .exe = "/bin/x", .producer = "t"};
    cr_assert_eq(ns_pw_process(&pw, &proc), 0);
    ns_pw_string(&pw, 1, "sqlite /a.db", 12);
    ns_pw_string(&pw, 2, "SELECT ?", 8);
    ns_pw_resource(&pw, 1, NSP_RES_DATABASE, 1, 0);
    ns_pw_resource(&pw, 2, NSP_RES_QUERY, 2, 0);
    cr_assert_eq(ns_pw_query(&pw, 2, 1, NSP_VERB_SELECT, NSP_QUERY_CUT, 0), 0);
    uint64_t hist[NSP_DB_HIST_BUCKETS] = {0};
    hist[3] = 2;
    hist[495] = 1;
    uint8_t regs[NSP_DB_DISTINCT_REGS] = {0};
    regs[5] = 9;
    struct ns_pw_db_stats d = {.tid = 3,
                               .query_id = 2,
                               .outer_id = 0,
                               .executions = 3,
                               .rows = 6,
                               .time_ns = 77,
                               .in_loop = 1,
                               .autocommit = 2,
                               .errors = 0,
                               .distinct = regs,
                               .hist = hist};
    cr_assert_eq(ns_pw_db_stats(&pw, &d), 0);
    cr_assert_eq(ns_pw_end(&pw, NSP_EXIT_NORMAL, 0, 7), 0);
    cr_assert_eq(ns_pw_flush(&pw), 0);
    ns_pw_destroy(&pw);
    close(fd);
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    cr_assert_eq(ns_profile_read_file(path, &p, &err, NULL, NULL), 0, "%s", err.msg);
    unlink(path);
    cr_assert_eq(p->resources[2].flags, NSP_QUERY_CUT);
    cr_assert_eq(p->ndb_stats, 1);
    const struct ns_prof_db_stats *r = &p->db_stats[0];
    cr_assert_eq(r->executions, 3);
    cr_assert_eq(r->rows, 6);
    cr_assert_eq(r->time_ns, 77);
    cr_assert_eq(r->autocommit, 2);
    cr_assert_eq(r->distinct[5], 9);
    cr_assert_eq(r->nbuckets, 2);
    cr_assert_eq(p->db_buckets[r->first].bucket, 3);
    cr_assert_eq(p->db_buckets[r->first + 1].bucket, 495);
    ns_profile_free(p);
}
