/*
 * demangle.c — C++ (Itanium ABI) names through libstdc++'s __cxa_demangle, which also reads
 * Rust's legacy mangling (it is Itanium-shaped). For Rust legacy names the trailing hash
 * component is dropped and Rust's `$LT$`-style escapes are decoded, which is what Rust's own
 * demangler prints, so `_ZN4core3ptr13drop_in_place17h0123456789abcdefE` reads
 * `core::ptr::drop_in_place`. Rust v0 names (`_R...`) are not understood and stay raw.
 *
 * Only names starting with "_Z" are treated as mangled: __cxa_demangle also accepts bare type
 * encodings, and would turn a C function called `f` into "float".
 */
#include "symbolizer.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* libstdc++ (extern "C" in <cxxabi.h>, which is a C++ header). */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

enum { RUST_HASH_LEN = 16 };

/* `_ZN ... 17h<16 hex digits>E`: the shape rustc's legacy mangling always ends with. */
static bool is_rust_legacy(const char *m, size_t n)
{
    const size_t tail = 3 + RUST_HASH_LEN + 1; /* "17h" hash "E" */
    if (n < 3 + tail || strncmp(m, "_ZN", 3) != 0 || m[n - 1] != 'E')
        return false;
    const char *t = m + n - tail;
    if (strncmp(t, "17h", 3) != 0)
        return false;
    for (size_t i = 0; i < RUST_HASH_LEN; i++)
        if (!isxdigit((unsigned char)t[3 + i]))
            return false;
    return true;
}

static const struct {
    const char *seq;
    char ch;
} rust_escapes[] = {
    {"$SP$", '@'}, {"$BP$", '*'}, {"$RF$", '&'}, {"$LT$", '<'},
    {"$GT$", '>'}, {"$LP$", '('}, {"$RP$", ')'}, {"$C$", ','},
};

/* Decodes one `$...$` escape at s into *out; returns its length, 0 if s is not one. */
static size_t rust_escape(const char *s, char *out)
{
    for (size_t i = 0; i < sizeof rust_escapes / sizeof rust_escapes[0]; i++) {
        size_t n = strlen(rust_escapes[i].seq);
        if (strncmp(s, rust_escapes[i].seq, n) == 0) {
            *out = rust_escapes[i].ch;
            return n;
        }
    }
    if (s[1] != 'u')
        return 0;
    unsigned v = 0;
    size_t i = 2;
    for (; isxdigit((unsigned char)s[i]) && i < 6; i++)
        v = v * 16 + (unsigned)(isdigit((unsigned char)s[i])
                                    ? s[i] - '0'
                                    : tolower((unsigned char)s[i]) - 'a' + 10);
    if (i == 2 || s[i] != '$' || v < 0x20 || v > 0x7e)
        return 0;
    *out = (char)v;
    return i + 1;
}

/* In place: the output is never longer than the input. */
static void rust_unescape(char *s)
{
    char *w = s;
    bool component_start = true;
    for (const char *r = s; *r != '\0';) {
        char ch;
        size_t n;
        if (component_start && r[0] == '_' && r[1] == '$') {
            r++; /* rustc prefixes a component that starts with an escape with "_" */
        } else if (r[0] == '$' && (n = rust_escape(r, &ch)) > 0) {
            *w++ = ch;
            r += n;
            component_start = false;
        } else if (r[0] == '.' && r[1] == '.') {
            *w++ = ':';
            *w++ = ':';
            r += 2;
            component_start = true;
        } else {
            component_start = r[0] == ':';
            *w++ = *r++;
        }
    }
    *w = '\0';
}

static void rust_drop_hash(char *d)
{
    size_t n = strlen(d);
    const size_t tail = 3 + RUST_HASH_LEN; /* "::h" hash */
    if (n > tail && strncmp(d + n - tail, "::h", 3) == 0)
        d[n - tail] = '\0';
}

static char *demangle_plain(const char *m, size_t n)
{
    char *copy = strndup(m, n);
    if (copy == NULL)
        return NULL;
    int status = -1;
    char *d = __cxa_demangle(copy, NULL, NULL, &status);
    if (status != 0 || d == NULL) {
        free(d);
        free(copy);
        return NULL;
    }
    if (is_rust_legacy(copy, n)) {
        rust_drop_hash(d);
        rust_unescape(d);
    }
    free(copy);
    return d;
}

char *ns_sym_demangle(const char *name)
{
    if (name == NULL || strncmp(name, "_Z", 2) != 0)
        return NULL;
    /* Symbol-versioned names ("_ZNSt6vectorIiSaIiEE...@@GLIBCXX_3.4") keep their suffix. */
    const char *at = strchr(name, '@');
    size_t n = at != NULL ? (size_t)(at - name) : strlen(name);
    char *d = demangle_plain(name, n);
    if (d == NULL || at == NULL)
        return d;
    size_t dn = strlen(d), an = strlen(at);
    char *joined = realloc(d, dn + an + 1);
    if (joined == NULL) {
        free(d);
        return NULL;
    }
    memcpy(joined + dn, at, an + 1);
    return joined;
}
