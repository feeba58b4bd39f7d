/*
 * Folder report/flame/: the flame-graph page — its data document (flame_data.h), the page
 * writer (this header) and the page itself (page.html, flame.css, *.js), embedded into the
 * binary by flame.cmake.
 *
 * flame_html — the flame-graph page: one self-contained HTML file made of the page
 * template (report/flame/page.html) with its CSS and JavaScript inlined and the data of
 * flame_data.h in one element, so it opens from file:// and makes no network request.
 *
 * The template's markers (docs/FLAME_DATA.md, "The page template"):
 *     <!--nsprof:inline NAME-->   replaced by the asset NAME (e.g. flame.css, flame.js)
 *     <!--nsprof:data-->          replaced by the data element
 * An asset may not contain `</script` or `</style` (it would end its element early); the
 * writer refuses it rather than produce a broken page.
 *
 * The data element is <script type="application/octet-stream" id="nsprof-data"
 * data-encoding="deflate-base64|json">: raw deflate + base64 when that is shorter, else
 * the JSON with <, >, & escaped so that no string can close the element.
 *
 * Contract: the assets are the ones embedded at build time (flame.cmake) unless a caller
 * (a test) passes its own; no output of its own beyond the buffer or stream given.
 */
#ifndef NS_REPORT_FLAME_HTML_H
#define NS_REPORT_FLAME_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "textfmt.h"

struct ns_flame_asset {
    const char *name; /* file name under report/flame/: page.html, flame.css, ... */
    const unsigned char *data;
    size_t len;
};

struct ns_flame_assets {
    const struct ns_flame_asset *v;
    size_t n;
};

/* The assets of report/flame/ embedded at build time (n == 0 if the tree had none). */
struct ns_flame_assets ns_flame_embedded_assets(void);

/* The data element's text for json[0..len) appended to out; *encoding is set to
 * "deflate-base64" or "json". 0, or -1 when out of memory or zlib fails. */
int ns_flame_encode(const char *json, size_t len, struct ns_buf *out, const char **encoding);

/* The page appended to out: the template page.html of a with its markers replaced. 0, or
 * -1 with a message in err (a missing template or asset, a bad marker, out of memory). */
int ns_flame_html_render(const struct ns_flame_assets *a, const char *json, size_t len,
                         struct ns_buf *out, char *err, size_t errlen);

#endif
