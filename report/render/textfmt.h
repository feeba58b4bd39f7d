/*
 * textfmt — a growable text buffer and the formatting every renderer shares: numbers,
 * percentages, weights in their unit (time, bytes, counts), and making untrusted strings
 * safe to show.
 *
 * Strings in a profile are arbitrary bytes (function names, thread names, paths, notes).
 *  - For a terminal, ns_buf_put_term turns control bytes and invalid UTF-8 into `\xNN`
 *    text and a backslash into `\\`, so no name can move the cursor or change colours
 *    and every byte stays recoverable.
 *  - For JSON, ns_utf8_valid replaces each byte that is not part of a valid UTF-8
 *    sequence by U+FFFD (jansson refuses invalid UTF-8; JSON escapes the rest).
 *
 * Contract: a buffer that failed to grow sets oom and ignores later writes.
 */
#ifndef NS_REPORT_TEXTFMT_H
#define NS_REPORT_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>

struct ns_buf {
    char *s; /* NUL-terminated when len > 0 */
    size_t len, cap;
    int oom;
};

void ns_buf_put(struct ns_buf *b, const char *s, size_t n);
void ns_buf_puts(struct ns_buf *b, const char *s);
void ns_buf_printf(struct ns_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n spaces. */
void ns_buf_pad(struct ns_buf *b, size_t n);
void ns_buf_reset(struct ns_buf *b);
void ns_buf_free(struct ns_buf *b);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if s[0..avail) does not start one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t ns_utf8_seq_len(const unsigned char *s, size_t avail);
/* Columns s takes on a terminal: one per code point (a good enough measure for names). */
size_t ns_text_width(const char *s);

/* Appends s made safe for a terminal (see above), cut to at most max_cols columns with a
 * trailing "..." when longer (max_cols 0: no limit). Returns the columns written. */
size_t ns_buf_put_term(struct ns_buf *b, const char *s, size_t max_cols);
/* Columns ns_buf_put_term would write for s without a limit. */
size_t ns_term_width(const char *s);

/* A malloc'd copy of s with each invalid UTF-8 byte replaced by U+FFFD; NULL if no memory. */
char *ns_utf8_valid(const char *s);

/* "1,234,567" */
void ns_fmt_count(char *buf, size_t len, uint64_t v);
/* "12.3%" (one decimal; "<0.1%" for tiny non-zero shares) */
void ns_fmt_pct(char *buf, size_t len, uint64_t part, uint64_t whole);
/* A weight in its event's unit: "1.234 s" / "12.3 ms" (ns), "1.5 MiB" (bytes), or a count. */
void ns_fmt_weight(char *buf, size_t len, uint64_t weight, const char *unit);
/* A duration in ns: "1.234 s", "12.3 ms", "15.0 us", "120 ns". */
void ns_fmt_duration(char *buf, size_t len, uint64_t ns);

#endif
