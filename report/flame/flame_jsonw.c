#include "flame_jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ns_jw_u64(struct ns_buf *b, uint64_t v)
{
    /* By hand: vsnprintf per number costs more than the rest of the page put together. */
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    ns_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void ns_jw_i64(struct ns_buf *b, int64_t v)
{
    if (v < 0) {
        ns_buf_put(b, "-", 1);
        ns_jw_u64(b, (uint64_t)0 - (uint64_t)v);
        return;
    }
    ns_jw_u64(b, (uint64_t)v);
}

/* The escape of byte c, or NULL when it goes out as itself. */
static const char *escape_of(unsigned char c, char tmp[8])
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '<':
    case '>':
    case '&':
        break;
    default:
        if (c >= 0x20 && c != 0x7f)
            return NULL;
    }
    memcpy(tmp, "\\u00", 4);
    tmp[4] = hex[c >> 4];
    tmp[5] = hex[c & 15];
    tmp[6] = 0;
    return tmp;
}

void ns_jw_str(struct ns_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strlen((const char *)p);
    ns_buf_put(b, "\"", 1);
    while (left) {
        size_t run = 0; /* plain ASCII bytes copied in one go */
        char tmp[8];
        while (run < left && p[run] < 0x80 && !escape_of(p[run], tmp))
            run++;
        ns_buf_put(b, (const char *)p, run);
        p += run, left -= run;
        if (!left)
            break;
        if (*p < 0x80) {
            ns_buf_puts(b, escape_of(*p, tmp));
            p++, left--;
            continue;
        }
        size_t n = ns_utf8_seq_len(p, left);
        if (n) {
            ns_buf_put(b, (const char *)p, n);
            p += n, left -= n;
        } else {
            ns_buf_puts(b, "\\ufffd");
            p++, left--;
        }
    }
    ns_buf_put(b, "\"", 1);
}

void ns_jw_key(struct ns_buf *b, const char *key)
{
    ns_jw_str(b, key);
    ns_buf_put(b, ":", 1);
}

void ns_jw_sep(struct ns_buf *b, int *first)
{
    if (!*first)
        ns_buf_put(b, ",", 1);
    *first = 0;
}

void ns_jw_double(struct ns_buf *b, double v)
{
    if (!isfinite(v)) {
        ns_buf_put(b, "0", 1);
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        ns_jw_i64(b, (int64_t)v);
        return;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%.9g", v);
    ns_buf_put(b, tmp, n > 0 ? (size_t)n : 0);
}

void ns_jw_column_u32(struct ns_buf *b, const char *key, const uint32_t *v, size_t n)
{
    ns_jw_key(b, key);
    ns_buf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ns_buf_put(b, ",", 1);
        ns_jw_u64(b, v[i]);
    }
    ns_buf_put(b, "]", 1);
}

static int str_eq(const void *ctx, uint32_t value, const void *key)
{
    return strcmp(((const struct ns_jw_strtab *)ctx)->v[value], key) == 0;
}

uint32_t ns_jw_str_id(struct ns_jw_strtab *t, const char *s)
{
    s = s ? s : "";
    uint64_t h = ns_hash_bytes(s, strlen(s));
    uint32_t id = ns_itab_get(&t->tab, h, str_eq, t, s);
    if (id != NS_NONE)
        return id;
    if (ns_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)) < 0 ||
        ns_itab_put(&t->tab, h, (uint32_t)t->n) < 0)
        return NS_NONE;
    t->v[t->n] = s;
    return (uint32_t)t->n++;
}

void ns_jw_strtab_write(struct ns_buf *b, const struct ns_jw_strtab *t)
{
    ns_jw_key(b, "strings");
    ns_buf_put(b, "[", 1);
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            ns_buf_put(b, ",", 1);
        ns_jw_str(b, t->v[i]);
    }
    ns_buf_put(b, "]", 1);
}

void ns_jw_strtab_free(struct ns_jw_strtab *t)
{
    ns_itab_free(&t->tab);
    free(t->v);
    memset(t, 0, sizeof(*t));
}
