/*
 * The page: hostile names never appear raw in the HTML (only the template's own <script>
 * elements exist), the data element decodes back to the exact document in both encodings
 * (escaped JSON for small profiles, raw deflate + base64 for large ones), assets are
 * inlined, and a broken template is refused with a message.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "flame_data.h"
#include "flame_util.h"
#include "helpers.h"

static const char *const hostile[] = {
    "</script><script>alert(1)</script>",
    "operator<<",
    "a&b>c<!--",
    "bad\xff\xfeutf8",
    "ctl\x01\x1b[31m\"q\"\\",
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static struct fake_sym hostile_syms[NHOSTILE];
static struct fake_resolver hostile_fake;

/* One stack per hostile name, called from main. */
static struct ns_model *hostile_model(void)
{
    struct ns_profile *p = tp_new("h.nsp", 7, "/usr/bin/a<b>&c");
    uint32_t app = tp_mapping(p, "/usr/bin/a<b>&c", 1);
    tp_event(p, 1, "cpu", "ns", 1000);
    tp_thread(p, 1, "t");
    for (size_t i = 0; i < NHOSTILE; i++) {
        hostile_syms[i] = (struct fake_sym){"/usr/bin/a<b>&c", 0x100 * (i + 1), 1, {{0}}};
        hostile_syms[i].frames[0].function = hostile[i];
        hostile_syms[i].frames[0].file = "<b>.c";
        hostile_syms[i].frames[0].line = 1;
        uint32_t s = tp_stack(p, 0, 1, (uint64_t[]){app, 0x100 * (i + 1)});
        tp_sample(p, 1, (int64_t)i * 1000, 1, s, 1000);
    }
    memset(&hostile_fake, 0, sizeof(hostile_fake));
    hostile_fake.syms = hostile_syms;
    hostile_fake.nsyms = NHOSTILE;
    struct ns_resolver r = fake_resolver(&hostile_fake);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    tp_free(p);
    return m;
}

static size_t count_ci(const char *s, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (; *s; s++)
        n += strncasecmp(s, needle, len) == 0;
    return n;
}

static int has_string(const json_t *doc, const char *s)
{
    json_t *strings = json_object_get(doc, "strings");
    for (size_t i = 0; i < json_array_size(strings); i++)
        if (strcmp(json_string_value(json_array_get(strings, i)), s) == 0)
            return 1;
    return 0;
}

Test(flame_html, hostile_names_never_appear_raw)
{
    struct ns_model *m = hostile_model();
    size_t len;
    char *page = flame_page(m, &len);
    cr_assert_eq(strlen(page), len, "NUL byte in the page");
    /* The template's JS element and the data element, nothing else. */
    cr_assert_eq(count_ci(page, "<script"), 2);
    cr_assert_eq(count_ci(page, "</script"), 2);
    cr_assert_null(strstr(page, "operator<<"));
    cr_assert_null(strstr(page, "a&b"));
    cr_assert_null(strstr(page, "<!--"), "only the template's markers had comments");
    cr_assert_null(strstr(page, "\x1b"));
    free(page);
    ns_model_free(m);
}

Test(flame_html, hostile_names_decode_back_exactly)
{
    struct ns_model *m = hostile_model();
    size_t len, jlen;
    char *page = flame_page(m, &len);
    char encoding[32];
    char *json = decode_page_data(page, encoding, sizeof(encoding), &jlen);
    json_error_t e;
    json_t *doc = json_loadb(json, jlen, 0, &e);
    cr_assert_not_null(doc, "%s", e.text);
    for (size_t i = 0; i < NHOSTILE; i++)
        if (i != 3)
            cr_assert(has_string(doc, hostile[i]), "%s", hostile[i]);
    /* Bytes that are not UTF-8 become U+FFFD, one each. */
    cr_assert(has_string(doc, "bad\xef\xbf\xbd\xef\xbf\xbdutf8"));
    cr_assert(has_string(doc, "<b>.c"));
    cr_assert_str_eq(json_string_value(json_object_get(doc, "title")), "a<b>&c");
    json_decref(doc);
    free(json);
    free(page);
    ns_model_free(m);
}

/* A profile large enough that compression pays: many distinct stacks. */
static struct ns_model *wide_model(void)
{
    struct ns_profile *p = tp_new("w.nsp", 9, "/usr/bin/app");
    uint32_t app = tp_mapping(p, "/usr/bin/app", 1);
    tp_event(p, 1, "cpu", "ns", 1000000);
    tp_thread(p, 1, "t");
    for (uint64_t i = 0; i < 3000; i++) {
        uint32_t s = tp_stack(p, 0, 3, (uint64_t[]){app, 0x10000 + i, app, 0x100 + i % 50, app, 1});
        tp_sample(p, 1, (int64_t)i * 1000000, 1, s, 1000000 + i);
    }
    struct ns_model_options o = {0};
    struct ns_model *m = build1(p, &o);
    tp_free(p);
    return m;
}

static void check_round_trip(const struct ns_model *m, const char *want_encoding)
{
    size_t jlen, plen, dlen;
    char *json = flame_json_text(m, NULL, &jlen);
    char *page = flame_page(m, &plen);
    char encoding[32];
    char *decoded = decode_page_data(page, encoding, sizeof(encoding), &dlen);
    cr_assert_str_eq(encoding, want_encoding);
    cr_assert_eq(dlen, jlen);
    cr_assert_eq(memcmp(decoded, json, jlen), 0);
    free(json);
    free(page);
    free(decoded);
}

Test(flame_html, tiny_documents_are_escaped_json)
{
    /* Too short for deflate + base64 to pay: the JSON itself, with <, > and & escaped. */
    const char json[] = "{\"s\":\"<\"}";
    struct ns_buf page = {0};
    char err[256] = "";
    cr_assert_eq(ns_flame_html_render(&test_assets, json, strlen(json), &page, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_not_null(strstr(page.s, ">{\"s\":\"\\u003c\"}</script>"), "%s", page.s);
    char encoding[32];
    size_t dlen;
    char *decoded = decode_page_data(page.s, encoding, sizeof(encoding), &dlen);
    cr_assert_str_eq(encoding, "json");
    cr_assert_str_eq(decoded, json);
    free(decoded);
    ns_buf_free(&page);
}

Test(flame_html, hostile_profile_round_trip)
{
    struct ns_model *m = hostile_model();
    check_round_trip(m, "deflate-base64");
    ns_model_free(m);
}

Test(flame_html, large_profile_is_deflated)
{
    struct ns_model *m = wide_model();
    check_round_trip(m, "deflate-base64");
    json_t *doc = flame_json(m);
    check_view(doc, event_view(doc, "cpu"));
    json_decref(doc);
    ns_model_free(m);
}

Test(flame_html, assets_are_inlined)
{
    struct ns_model *m = hostile_model();
    size_t len;
    char *page = flame_page(m, &len);
    cr_assert_not_null(strstr(page, "<style>body{margin:0}</style>"));
    cr_assert_not_null(strstr(page, "<script>var x = 1 < 2;</script>"));
    cr_assert_eq(strncmp(page, "<!doctype html>", 15), 0);
    free(page);
    ns_model_free(m);
}

/* ns_flame_html_render over a one-off template; returns its error message. */
static void render_error(const char *page, const char *asset, const char *want)
{
    const struct ns_flame_asset v[] = {
        {"page.html", (const unsigned char *)page, strlen(page)},
        {"a.js", (const unsigned char *)asset, strlen(asset)},
    };
    const struct ns_flame_assets a = {v, 2};
    struct ns_buf out = {0};
    char err[256] = "";
    cr_assert_eq(ns_flame_html_render(&a, "{}", 2, &out, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, want), "'%s' lacks '%s'", err, want);
    ns_buf_free(&out);
}

Test(flame_html, broken_templates_are_refused)
{
    render_error("<html><!--nsprof:data--><!--nsprof:bogus--></html>", "", "unknown marker");
    render_error("<html></html>", "", "no <!--nsprof:data--> marker");
    render_error("<html><!--nsprof:data--><!--nsprof:inline b.js--></html>", "", "b.js");
    render_error("<html><!--nsprof:data--><!--nsprof:inline a.js--></html>", "x='</SCRIPT>'",
                 "a.js contains");
    render_error("<html><!--nsprof:data", "", "unterminated");
    const struct ns_flame_assets none = {NULL, 0};
    struct ns_buf out = {0};
    char err[256] = "";
    cr_assert_eq(ns_flame_html_render(&none, "{}", 2, &out, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "page.html"));
}
