#include "flame_util.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "flame_data.h"

static const char page_html[] = "<!doctype html><html><head><style><!--nsprof:inline t.css-->"
                                "</style></head><body><!--nsprof:data--><script>"
                                "<!--nsprof:inline t.js--></script></body></html>\n";
static const char css[] = "body{margin:0}";
static const char js[] = "var x = 1 < 2;";

static const struct ns_flame_asset assets[] = {
    {"page.html", (const unsigned char *)page_html, sizeof(page_html) - 1},
    {"t.css", (const unsigned char *)css, sizeof(css) - 1},
    {"t.js", (const unsigned char *)js, sizeof(js) - 1},
};
const struct ns_flame_assets test_assets = {assets, 3};

char *flame_json_text(const struct ns_model *m, const char *initial_event, size_t *len)
{
    struct ns_buf b = {0};
    struct ns_flame_data_options o = {.producer = "nsprof test", .initial_event = initial_event};
    cr_assert_eq(ns_flame_data_json(m, &o, &b), 0);
    *len = b.len;
    return b.s;
}

json_t *flame_json(const struct ns_model *m)
{
    size_t len;
    char *text = flame_json_text(m, NULL, &len);
    json_error_t e;
    json_t *doc = json_loadb(text, len, 0, &e);
    cr_assert_not_null(doc, "invalid JSON: %s at %d", e.text, e.position);
    free(text);
    return doc;
}

char *flame_page(const struct ns_model *m, size_t *len)
{
    size_t jlen;
    char *json = flame_json_text(m, NULL, &jlen);
    struct ns_buf page = {0};
    char err[256] = "";
    cr_assert_eq(ns_flame_html_render(&test_assets, json, jlen, &page, err, sizeof(err)), 0, "%s",
                 err);
    free(json);
    *len = page.len;
    return page.s;
}

static int b64_value(char c)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(abc, c) : NULL;
    return p ? (int)(p - abc) : -1;
}

static unsigned char *b64_decode(const char *s, size_t len, size_t *out)
{
    cr_assert_eq(len % 4, 0, "base64 length %zu", len);
    unsigned char *d = malloc(len / 4 * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = s[i + k] == '=' ? 0 : b64_value(s[i + k]);
        for (int k = 0; k < 4; k++)
            cr_assert_geq(v[k], 0, "bad base64 byte at %zu", i + k);
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        d[n++] = (unsigned char)(w >> 16);
        if (s[i + 2] != '=')
            d[n++] = (unsigned char)(w >> 8);
        if (s[i + 3] != '=')
            d[n++] = (unsigned char)w;
    }
    *out = n;
    return d;
}

static char *inflate_raw(const unsigned char *z, size_t zlen, size_t *len)
{
    z_stream s = {0};
    cr_assert_eq(inflateInit2(&s, -15), Z_OK);
    size_t cap = zlen * 4 + 64, n = 0;
    char *out = malloc(cap);
    s.next_in = (Bytef *)(uintptr_t)z;
    s.avail_in = (uInt)zlen;
    int rc;
    do {
        if (n == cap)
            out = realloc(out, cap *= 2);
        s.next_out = (Bytef *)out + n;
        s.avail_out = (uInt)(cap - n);
        rc = inflate(&s, Z_NO_FLUSH);
        n = cap - s.avail_out;
    } while (rc == Z_OK);
    cr_assert_eq(rc, Z_STREAM_END, "inflate: %d", rc);
    inflateEnd(&s);
    out = realloc(out, n + 1);
    out[n] = 0;
    *len = n;
    return out;
}

/* Undoes \u003c, \u003e and \u0026 (what JSON.parse does for them). */
static char *unescape_html_chars(const char *s, size_t len, size_t *out)
{
    char *d = malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (len - i >= 6 && (!memcmp(s + i, "\\u003c", 6) || !memcmp(s + i, "\\u003e", 6) ||
                             !memcmp(s + i, "\\u0026", 6))) {
            d[n++] = s[i + 5] == 'c' ? '<' : s[i + 5] == 'e' ? '>' : '&';
            i += 5;
        } else {
            d[n++] = s[i];
        }
    }
    d[n] = 0;
    *out = n;
    return d;
}

char *decode_page_data(const char *page, char *encoding, size_t enclen, size_t *len)
{
    const char *open = "<script type=\"application/octet-stream\" id=\"nsprof-data\" "
                       "data-encoding=\"";
    const char *start = strstr(page, open);
    cr_assert_not_null(start, "no data element");
    start += strlen(open);
    const char *q = strchr(start, '"');
    cr_assert(q && q[1] == '>');
    snprintf(encoding, enclen, "%.*s", (int)(q - start), start);
    const char *data = q + 2, *end = strstr(data, "</script>");
    cr_assert_not_null(end);
    if (strcmp(encoding, "json") == 0)
        return unescape_html_chars(data, (size_t)(end - data), len);
    cr_assert_str_eq(encoding, "deflate-base64");
    size_t zlen;
    unsigned char *z = b64_decode(data, (size_t)(end - data), &zlen);
    char *json = inflate_raw(z, zlen, len);
    free(z);
    return json;
}

int64_t *column(const json_t *cols, const char *key, size_t *n)
{
    json_t *a = json_object_get(cols, key);
    cr_assert(json_is_array(a), "no column %s", key);
    *n = json_array_size(a);
    int64_t *v = calloc(*n ? *n : 1, sizeof(*v));
    for (size_t i = 0; i < *n; i++) {
        cr_assert(json_is_integer(json_array_get(a, i)));
        v[i] = json_integer_value(json_array_get(a, i));
    }
    return v;
}

int64_t *parent_column(const json_t *nodes, size_t *n)
{
    int64_t *depth = column(nodes, "depth", n);
    int64_t *parent = calloc(*n ? *n : 1, sizeof(*parent));
    int64_t *last_at = calloc(*n + 1, sizeof(*last_at)); /* the latest node at each depth */
    cr_assert(*n == 0 || depth[0] == 0, "the root's depth is 0");
    for (size_t i = 0; i < *n; i++) {
        cr_assert(i == 0 || (depth[i] >= 1 && depth[i] <= depth[i - 1] + 1), "depth of %zu", i);
        parent[i] = i ? last_at[depth[i] - 1] : -1;
        last_at[depth[i]] = (int64_t)i;
    }
    free(depth);
    free(last_at);
    return parent;
}

int64_t *cell_node_column(const json_t *cells, const int64_t *bucket, size_t *n)
{
    int64_t *node = column(cells, "node", n);
    for (size_t i = 1; i < *n; i++)
        if (bucket[i] == bucket[i - 1])
            node[i] += node[i - 1];
    return node;
}

json_t *event_view(const json_t *doc, const char *name)
{
    json_t *events = json_object_get(doc, "events");
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *ev = json_array_get(events, i);
        if (strcmp(json_string_value(json_object_get(ev, "name")), name) == 0)
            return ev;
    }
    return NULL;
}

const char *frame_name(const json_t *doc, int64_t f)
{
    json_t *names = json_object_get(json_object_get(doc, "frames"), "name");
    json_int_t s = json_integer_value(json_array_get(names, (size_t)f));
    return json_string_value(json_array_get(json_object_get(doc, "strings"), (size_t)s));
}

int64_t view_path(const json_t *doc, const json_t *ev, const char *const *path)
{
    size_t n;
    json_t *nodes = json_object_get(ev, "nodes");
    int64_t *parent = parent_column(nodes, &n);
    int64_t *frame = column(nodes, "frame", &n);
    int64_t at = 0;
    for (; *path && at >= 0; path++) {
        int64_t next = -1;
        for (size_t i = 0; i < n && next < 0; i++)
            if (parent[i] == at && strcmp(frame_name(doc, frame[i]), *path) == 0)
                next = (int64_t)i;
        at = next;
    }
    free(parent);
    free(frame);
    return at;
}

/* Pre-order: each node's children come right after it, one subtree after another, and its
 * subtree is [i, i + size). */
static void check_preorder(const int64_t *parent, size_t n, int64_t *size)
{
    cr_assert_gt(n, 0);
    cr_assert_eq(parent[0], -1);
    for (size_t i = n; i-- > 0;) {
        size[i] += 1;
        if (i)
            cr_assert(parent[i] >= 0 && (size_t)parent[i] < i, "parent of %zu", i);
        if (i)
            size[parent[i]] += size[i];
    }
    for (size_t i = 0; i < n; i++) {
        size_t next = i + 1; /* where the next child of i must start */
        for (size_t j = i + 1; j < i + (size_t)size[i]; j += (size_t)size[j]) {
            cr_assert_eq(parent[j], (int64_t)i, "node %zu is not a child of %zu", j, i);
            cr_assert_eq(j, next);
            next = j + (size_t)size[j];
        }
        cr_assert_eq(next, i + (size_t)size[i]);
    }
}

static void check_weights(const int64_t *parent, const int64_t *self, const int64_t *total,
                          size_t n)
{
    int64_t *sum = calloc(n, sizeof(*sum));
    int64_t *last_child_total = malloc(n * sizeof(*last_child_total));
    for (size_t i = 0; i < n; i++)
        last_child_total[i] = INT64_MAX;
    for (size_t i = 1; i < n; i++) {
        sum[parent[i]] += total[i];
        /* Heaviest first: a child never outweighs the sibling before it. */
        cr_assert_leq(total[i], last_child_total[parent[i]], "sibling order at %zu", i);
        last_child_total[parent[i]] = total[i];
    }
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(total[i], self[i] + sum[i], "total of node %zu", i);
    free(sum);
    free(last_child_total);
}

static void check_timeline(const json_t *tl, const int64_t *self, size_t n, int64_t grand)
{
    size_t nb, nc, k;
    int64_t *weights = column(tl, "weights", &nb);
    json_t *cells = json_object_get(tl, "cells");
    int64_t *bucket = column(cells, "bucket", &nc);
    int64_t *node = cell_node_column(cells, bucket, &k);
    cr_assert_eq(k, nc);
    int64_t *weight = column(cells, "weight", &k);
    cr_assert_eq(k, nc);
    cr_assert(nb >= 1 && nb <= 400, "%zu buckets", nb);
    cr_assert_gt(json_integer_value(json_object_get(tl, "bucket_ns")), 0);
    int64_t *per_bucket = calloc(nb, sizeof(*per_bucket));
    int64_t *per_node = calloc(n, sizeof(*per_node));
    int64_t all = 0;
    for (size_t i = 0; i < nc; i++) {
        cr_assert(bucket[i] >= 0 && (size_t)bucket[i] < nb);
        cr_assert(node[i] >= 0 && (size_t)node[i] < n);
        cr_assert_gt(weight[i], 0);
        if (i)
            cr_assert(bucket[i] > bucket[i - 1] ||
                          (bucket[i] == bucket[i - 1] && node[i] > node[i - 1]),
                      "cells out of order at %zu", i);
        per_bucket[bucket[i]] += weight[i];
        per_node[node[i]] += weight[i];
        all += weight[i];
    }
    for (size_t b = 0; b < nb; b++)
        cr_assert_eq(per_bucket[b], weights[b], "bucket %zu", b);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(per_node[i], self[i], "cells of node %zu", i);
    cr_assert_eq(all, grand);
    free(weights), free(bucket), free(node), free(weight), free(per_bucket), free(per_node);
}

/* Lines name real frames and a line's self weight is part of the view's total. */
static void check_lines(const json_t *lines, size_t nframes, int64_t grand)
{
    size_t n, k;
    int64_t *frame = column(lines, "frame", &n);
    int64_t *line = column(lines, "line", &k);
    cr_assert_eq(k, n);
    int64_t *self = column(lines, "self", &k);
    cr_assert_eq(k, n);
    int64_t *file = column(lines, "file", &k);
    cr_assert_eq(k, n);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(frame[i] >= 0 && (size_t)frame[i] < nframes, "frame of line %zu", i);
        cr_assert_gt(line[i], 0);
        sum += self[i];
    }
    cr_assert_leq(sum, grand);
    free(frame), free(line), free(self), free(file);
}

void check_view(const json_t *doc, const json_t *ev)
{
    size_t n, k;
    json_t *nodes = json_object_get(ev, "nodes");
    int64_t *parent = parent_column(nodes, &n);
    int64_t *frame = column(nodes, "frame", &k);
    cr_assert_eq(k, n);
    int64_t *self = column(nodes, "self", &k);
    cr_assert_eq(k, n);
    int64_t *total = column(nodes, "total", &k);
    cr_assert_eq(k, n);
    size_t nframes = json_array_size(json_object_get(json_object_get(doc, "frames"), "name"));
    cr_assert_eq(frame[0], -1);
    for (size_t i = 1; i < n; i++)
        cr_assert(frame[i] >= 0 && (size_t)frame[i] < nframes, "frame of %zu", i);
    int64_t *size = calloc(n, sizeof(*size));
    check_preorder(parent, n, size);
    check_weights(parent, self, total, n);
    cr_assert_eq(total[0], json_integer_value(json_object_get(ev, "total")));
    json_t *tl = json_object_get(ev, "timeline");
    if (!json_is_null(tl))
        check_timeline(tl, self, n, total[0]);
    check_lines(json_object_get(ev, "lines"), nframes, total[0]);
    free(parent), free(frame), free(self), free(total), free(size);
}
