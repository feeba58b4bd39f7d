/* The writer's intern tables: byte strings to dense ids, bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "intern.h"

Test(intern, put_then_get)
{
    struct ns_intern t;
    cr_assert_eq(ns_intern_init(&t, 100, 4096), 0);
    cr_assert_eq(ns_intern_get(&t, "alpha", 5), 0, "absent keys have id 0");
    cr_assert_eq(ns_intern_put(&t, "alpha", 5, 7), 0);
    cr_assert_eq(ns_intern_put(&t, "alphabet", 8, 8), 0);
    cr_assert_eq(ns_intern_get(&t, "alpha", 5), 7);
    cr_assert_eq(ns_intern_get(&t, "alphabet", 8), 8);
    cr_assert_eq(ns_intern_get(&t, "alph", 4), 0, "a prefix is another key");
    cr_assert_eq(ns_intern_put(&t, "", 0, 9), 0, "the empty key is a key");
    cr_assert_eq(ns_intern_get(&t, "", 0), 9);
    ns_intern_destroy(&t);
}

Test(intern, grows_to_its_capacity_then_refuses)
{
    struct ns_intern t;
    char key[32];
    cr_assert_eq(ns_intern_init(&t, 20000, 1 << 20), 0);
    uint64_t n = 0;
    for (;; n++) {
        int len = snprintf(key, sizeof(key), "stack-%llu", (unsigned long long)n);
        if (ns_intern_put(&t, key, (size_t)len, n + 1) < 0)
            break;
    }
    cr_assert_geq(n, 20000, "holds at least what it was sized for");
    cr_assert_lt(n, 80000, "and is bounded");
    for (uint64_t i = 0; i < n; i += 997) {
        int len = snprintf(key, sizeof(key), "stack-%llu", (unsigned long long)i);
        cr_assert_eq(ns_intern_get(&t, key, (size_t)len), i + 1, "key %llu after growing",
                     (unsigned long long)i);
    }
    ns_intern_clear(&t);
    cr_assert_eq(ns_intern_get(&t, "stack-1", 7), 0, "a cleared table forgets");
    cr_assert_eq(ns_intern_put(&t, "stack-1", 7, 42), 0, "and takes keys again");
    cr_assert_eq(ns_intern_get(&t, "stack-1", 7), 42);
    ns_intern_destroy(&t);
}

Test(intern, key_storage_is_bounded)
{
    struct ns_intern t;
    char big[600];
    memset(big, 'x', sizeof(big));
    cr_assert_eq(ns_intern_init(&t, 1000, 1024), 0);
    cr_assert_eq(ns_intern_put(&t, big, 600, 1), 0);
    big[0] = 'y';
    cr_assert_eq(ns_intern_put(&t, big, 600, 2), -1, "1200 bytes of keys do not fit in 1024");
    ns_intern_destroy(&t);
}
