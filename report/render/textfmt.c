/*
 * textfmt — text buffer, safe rendering of untrusted strings, number formatting
 * (see textfmt.h).
 */
#include "textfmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(struct ns_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void ns_buf_put(struct ns_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void ns_buf_puts(struct ns_buf *b, const char *s)
{
    ns_buf_put(b, s, strlen(s));
}

void ns_buf_printf(struct ns_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ns_buf_pad(struct ns_buf *b, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memset(b->s + b->len, ' ', n);
    b->len += n;
    b->s[b->len] = '\0';
}

void ns_buf_reset(struct ns_buf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

void ns_buf_free(struct ns_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

size_t ns_utf8_seq_len(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

size_t ns_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xc0) != 0x80;
    return w;
}

/* The terminal form of the character at p: its bytes, or an escape. */
static size_t term_char(const unsigned char *p, size_t avail, char *out, size_t *cols)
{
    size_t n = ns_utf8_seq_len(p, avail);
    if (n == 1 && p[0] == '\\') {
        memcpy(out, "\\\\", 2);
        *cols = 2;
        return 1;
    }
    /* C1 controls (U+0080..U+009F) act like escapes on some terminals, too. */
    int c1 = n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
    if (n == 0 || c1 || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
        snprintf(out, 5, "\\x%02x", p[0]);
        *cols = 4;
        return 1;
    }
    memcpy(out, p, n);
    *cols = 1;
    return n;
}

size_t ns_buf_put_term(struct ns_buf *b, const char *s, size_t max_cols)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t avail = strlen(s), written = 0;
    size_t limit =
        max_cols && ns_term_width(s) > max_cols ? max_cols - (max_cols > 3 ? 3 : 0) : (size_t)-1;
    while (avail) {
        char out[5];
        size_t cols;
        size_t used = term_char(p, avail, out, &cols);
        size_t outlen = cols == 1 ? used : cols;
        if (written + cols > limit)
            break;
        ns_buf_put(b, out, outlen);
        written += cols;
        p += used;
        avail -= used;
    }
    if (avail && max_cols > 3) {
        ns_buf_puts(b, "...");
        written += 3;
    }
    return written;
}

size_t ns_term_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t avail = strlen(s), w = 0;
    while (avail) {
        char out[5];
        size_t cols;
        size_t used = term_char(p, avail, out, &cols);
        w += cols;
        p += used;
        avail -= used;
    }
    return w;
}

char *ns_utf8_valid(const char *s)
{
    size_t len = strlen(s);
    /* Each invalid byte grows to the 3 bytes of U+FFFD at most. */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (len) {
        size_t n = ns_utf8_seq_len(p, len);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            n = 1;
        } else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        len -= n;
    }
    out[o] = '\0';
    return out;
}

void ns_fmt_count(char *buf, size_t len, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    char out[48];
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, len, "%s", out);
}

void ns_fmt_pct(char *buf, size_t len, uint64_t part, uint64_t whole)
{
    double pct = whole ? 100.0 * (double)part / (double)whole : 0.0;
    if (part > 0 && pct < 0.05)
        snprintf(buf, len, "<0.1%%");
    else
        snprintf(buf, len, "%.1f%%", pct);
}

void ns_fmt_duration(char *buf, size_t len, uint64_t ns)
{
    double v = (double)ns;
    if (ns == 0)
        snprintf(buf, len, "0 s");
    else if (ns >= 1000000000ull)
        snprintf(buf, len, "%.3f s", v / 1e9);
    else if (ns >= 1000000ull)
        snprintf(buf, len, "%.1f ms", v / 1e6);
    else if (ns >= 1000ull)
        snprintf(buf, len, "%.1f us", v / 1e3);
    else
        snprintf(buf, len, "%llu ns", (unsigned long long)ns);
}

static void fmt_bytes(char *buf, size_t len, uint64_t v)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (v < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)v);
        return;
    }
    double d = (double)v;
    size_t u = 0;
    d /= 1024.0;
    while (d >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        d /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", d, units[u]);
}

void ns_fmt_weight(char *buf, size_t len, uint64_t weight, const char *unit)
{
    if (unit && strcmp(unit, "ns") == 0)
        ns_fmt_duration(buf, len, weight);
    else if (unit && strcmp(unit, "bytes") == 0)
        fmt_bytes(buf, len, weight);
    else
        ns_fmt_count(buf, len, weight);
}
