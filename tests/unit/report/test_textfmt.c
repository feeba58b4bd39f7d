/*
 * Formatting helpers: UTF-8 validation, terminal-safe text, U+FFFD replacement, numbers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"

static size_t seq(const char *s)
{
    return ns_utf8_seq_len((const unsigned char *)s, strlen(s));
}

Test(textfmt, utf8_sequences)
{
    cr_assert_eq(seq("a"), 1);
    cr_assert_eq(seq("\xc3\xa9"), 2);
    cr_assert_eq(seq("\xe2\x82\xac"), 3);
    cr_assert_eq(seq("\xf0\x9f\x98\x80"), 4);
    cr_assert_eq(seq("\xc0\xaf"), 0, "overlong");
    cr_assert_eq(seq("\xe0\x80\xaf"), 0, "overlong");
    cr_assert_eq(seq("\xed\xa0\x80"), 0, "surrogate");
    cr_assert_eq(seq("\xf4\x90\x80\x80"), 0, "above U+10FFFF");
    cr_assert_eq(seq("\x80"), 0, "lone continuation");
    cr_assert_eq(seq("\xe2\x82"), 0, "cut short");
    cr_assert_eq(seq("\xff"), 0);
}

Test(textfmt, utf8_valid_replaces_each_bad_byte)
{
    char *s = ns_utf8_valid("ok \xc3\xa9 \xff\xfe end");
    cr_assert_str_eq(s, "ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end");
    free(s);
    s = ns_utf8_valid("");
    cr_assert_str_eq(s, "");
    free(s);
}

static char *term(const char *s, size_t max)
{
    struct ns_buf b = {0};
    ns_buf_put_term(&b, s, max);
    char *r = strdup(b.s ? b.s : "");
    ns_buf_free(&b);
    return r;
}

Test(textfmt, terminal_text_escapes_controls_and_bad_bytes)
{
    char *s = term("a\x1b[1m\tb\\c\xff\xc3\xa9\xc2\x85", 0);
    cr_assert_str_eq(s, "a\\x1b[1m\\x09b\\\\c\\xff\xc3\xa9\\xc2\\x85");
    free(s);
    cr_assert_eq(ns_term_width("a\x1b"), 5);
    cr_assert_eq(ns_term_width("\xc3\xa9t\xc3\xa9"), 3);
}

Test(textfmt, terminal_text_is_cut_with_an_ellipsis)
{
    char *s = term("abcdefghij", 8);
    cr_assert_str_eq(s, "abcde...");
    free(s);
    s = term("abcdefgh", 8);
    cr_assert_str_eq(s, "abcdefgh");
    free(s);
    /* An escape is never cut in half. */
    s = term("abcd\x1b"
             "efgh",
             8);
    cr_assert_str_eq(s, "abcd...");
    free(s);
}

Test(textfmt, numbers)
{
    char b[64];
    ns_fmt_count(b, sizeof(b), 0);
    cr_assert_str_eq(b, "0");
    ns_fmt_count(b, sizeof(b), 1234567);
    cr_assert_str_eq(b, "1,234,567");
    ns_fmt_count(b, sizeof(b), UINT64_MAX);
    cr_assert_str_eq(b, "18,446,744,073,709,551,615");
    ns_fmt_pct(b, sizeof(b), 1, 3);
    cr_assert_str_eq(b, "33.3%");
    ns_fmt_pct(b, sizeof(b), 1, 100000);
    cr_assert_str_eq(b, "<0.1%");
    ns_fmt_pct(b, sizeof(b), 0, 0);
    cr_assert_str_eq(b, "0.0%");
    ns_fmt_weight(b, sizeof(b), 1234000000, "ns");
    cr_assert_str_eq(b, "1.234 s");
    ns_fmt_weight(b, sizeof(b), 12300000, "ns");
    cr_assert_str_eq(b, "12.3 ms");
    ns_fmt_weight(b, sizeof(b), 4500, "ns");
    cr_assert_str_eq(b, "4.5 us");
    ns_fmt_weight(b, sizeof(b), 999, "ns");
    cr_assert_str_eq(b, "999 ns");
    ns_fmt_weight(b, sizeof(b), 3 * 1024 * 1024 / 2, "bytes");
    cr_assert_str_eq(b, "1.5 MiB");
    ns_fmt_weight(b, sizeof(b), 100, "bytes");
    cr_assert_str_eq(b, "100 B");
    ns_fmt_weight(b, sizeof(b), 12345, "count");
    cr_assert_str_eq(b, "12,345");
}

Test(textfmt, buffer)
{
    struct ns_buf b = {0};
    for (int i = 0; i < 1000; i++)
        ns_buf_printf(&b, "%d,", i);
    cr_assert_eq(b.len, strlen(b.s));
    cr_assert(strncmp(b.s, "0,1,2,", 6) == 0);
    ns_buf_pad(&b, 3);
    cr_assert_eq(b.s[b.len - 1], ' ');
    ns_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.s, "");
    ns_buf_free(&b);
}
