/*
 * flame_html — the page around the flame data (see flame_html.h): template markers,
 * inlined assets, and the data element's encoding.
 */
#include "flame_html.h"

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define MARKER_OPEN  "<!--nsprof:"
#define MARKER_CLOSE "-->"

static void put_base64(struct ns_buf *b, const unsigned char *s, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        quad[0] = abc[v >> 18 & 63];
        quad[1] = abc[v >> 12 & 63];
        quad[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        quad[3] = i + 2 < n ? abc[v & 63] : '=';
        ns_buf_put(b, quad, 4);
    }
}

/* Raw deflate (no zlib header: what DecompressionStream('deflate-raw') reads). Level 4: on
 * the 19 MB document of a 95,000-stack diff, 0.15 s and 3.0 MB against level 6's 0.64 s and
 * 2.7 MB (docs/BENCHMARKS.md). */
static unsigned char *deflate_raw(const char *s, size_t len, size_t *outlen)
{
    z_stream z = {0};
    if (deflateInit2(&z, 4, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(cap ? cap : 1);
    int rc = Z_STREAM_ERROR;
    if (out) {
        z.next_in = (Bytef *)(uintptr_t)s;
        z.next_out = out;
        /* Fed in slices: avail_in is 32 bits and the document may one day be larger. */
        size_t left = len;
        do {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            z.avail_in = chunk;
            z.avail_out = (uInt)(cap - (size_t)(z.next_out - out));
            left -= chunk;
            rc = deflate(&z, left ? Z_NO_FLUSH : Z_FINISH);
        } while (left && rc == Z_OK);
    }
    *outlen = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* The JSON with <, > and & escaped: outside strings JSON has none of them, so the text
 * stays the same document. */
static void put_json_escaped(struct ns_buf *b, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = s[i] == '<'   ? "\\u003c"
                          : s[i] == '>' ? "\\u003e"
                          : s[i] == '&' ? "\\u0026"
                                        : NULL;
        if (!esc)
            continue;
        ns_buf_put(b, s + start, i - start);
        ns_buf_puts(b, esc);
        start = i + 1;
    }
    ns_buf_put(b, s + start, len - start);
}

static size_t escaped_len(const char *s, size_t len)
{
    size_t n = len;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '<' || s[i] == '>' || s[i] == '&')
            n += 5;
    return n;
}

int ns_flame_encode(const char *json, size_t len, struct ns_buf *out, const char **encoding)
{
    size_t zlen = 0;
    unsigned char *z = deflate_raw(json, len, &zlen);
    if (!z)
        return -1;
    if ((zlen + 2) / 3 * 4 < escaped_len(json, len)) {
        *encoding = "deflate-base64";
        put_base64(out, z, zlen);
    } else {
        *encoding = "json";
        put_json_escaped(out, json, len);
    }
    free(z);
    return out->oom ? -1 : 0;
}

static const struct ns_flame_asset *find_asset(const struct ns_flame_assets *a, const char *name,
                                               size_t len)
{
    for (size_t i = 0; i < a->n; i++)
        if (strlen(a->v[i].name) == len && memcmp(a->v[i].name, name, len) == 0)
            return &a->v[i];
    return NULL;
}

/* 1 if s contains `needle` in any case (needle lowercase). */
static int contains_ci(const unsigned char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && (s[i + k] | 0x20) == (unsigned char)needle[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

static int put_data_element(struct ns_buf *out, const char *json, size_t len)
{
    struct ns_buf data = {0};
    const char *encoding = NULL;
    int rc = ns_flame_encode(json, len, &data, &encoding);
    if (rc == 0) {
        ns_buf_puts(out, "<script type=\"application/octet-stream\" id=\"nsprof-data\" "
                         "data-encoding=\"");
        ns_buf_puts(out, encoding);
        ns_buf_puts(out, "\">");
        ns_buf_put(out, data.s ? data.s : "", data.len);
        ns_buf_puts(out, "</script>");
    }
    ns_buf_free(&data);
    return rc;
}

/* `<!--nsprof:inline NAME-->`: the asset's text, refused if it could end its element. */
static int expand_inline(const struct ns_flame_assets *a, const char *name, size_t len,
                         struct ns_buf *out, char *err, size_t errlen)
{
    const struct ns_flame_asset *as = find_asset(a, name, len);
    if (!as) {
        snprintf(err, errlen, "the page template inlines '%.*s', which is not embedded", (int)len,
                 name);
        return -1;
    }
    if (contains_ci(as->data, as->len, "</script") || contains_ci(as->data, as->len, "</style")) {
        snprintf(err, errlen,
                 "page asset %s contains '</script' or '</style', which would end its element",
                 as->name);
        return -1;
    }
    ns_buf_put(out, (const char *)as->data, as->len);
    return 0;
}

/* Replaces one marker whose directive is d[0..dlen). */
static int expand_marker(const struct ns_flame_assets *a, const char *d, size_t dlen,
                         const char *json, size_t len, struct ns_buf *out, char *err, size_t errlen)
{
    if (dlen == 4 && memcmp(d, "data", 4) == 0) {
        if (put_data_element(out, json, len) == 0)
            return 0;
        snprintf(err, errlen, "out of memory while compressing the flame-graph data");
        return -1;
    }
    if (dlen > 7 && memcmp(d, "inline ", 7) == 0)
        return expand_inline(a, d + 7, dlen - 7, out, err, errlen);
    snprintf(err, errlen, "unknown marker '<!--nsprof:%.*s-->' in the page template", (int)dlen, d);
    return -1;
}

int ns_flame_html_render(const struct ns_flame_assets *a, const char *json, size_t len,
                         struct ns_buf *out, char *err, size_t errlen)
{
    const struct ns_flame_asset *page = find_asset(a, "page.html", 9);
    if (!page) {
        snprintf(err, errlen,
                 "this nsprof was built without the flame-graph page "
                 "(report/flame/page.html was missing at build time)");
        return -1;
    }
    const char *s = (const char *)page->data, *end = s + page->len;
    int has_data = 0;
    while (s < end) {
        const char *m = memmem(s, (size_t)(end - s), MARKER_OPEN, strlen(MARKER_OPEN));
        if (!m) {
            ns_buf_put(out, s, (size_t)(end - s));
            break;
        }
        ns_buf_put(out, s, (size_t)(m - s));
        const char *d = m + strlen(MARKER_OPEN);
        const char *close = memmem(d, (size_t)(end - d), MARKER_CLOSE, strlen(MARKER_CLOSE));
        if (!close) {
            snprintf(err, errlen, "unterminated '<!--nsprof:' marker in the page template");
            return -1;
        }
        if (expand_marker(a, d, (size_t)(close - d), json, len, out, err, errlen) < 0)
            return -1;
        has_data |= (size_t)(close - d) == 4 && memcmp(d, "data", 4) == 0;
        s = close + strlen(MARKER_CLOSE);
    }
    if (!has_data) {
        snprintf(err, errlen, "the page template has no <!--nsprof:data--> marker");
        return -1;
    }
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
