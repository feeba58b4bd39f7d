/*
 * sql_norm — see sql_norm.h. A lexer turns the text into tokens (words, quoted names,
 * literals, parameters, punctuation); the tokens go out through an emitter that spaces them,
 * hashes the text and writes what fits. Two small state machines sit in between: one drops
 * the `, ?` repeats of an IN list (re-emitting them if the list turns out not to be all
 * values), one drops VALUES rows whose text equals the first row's (compared against the
 * first row as written, token by token, so nothing is buffered).
 */
#include "sql_norm.h"

#include <string.h>

enum tok_kind {
    T_END,
    T_WORD,    /* keyword or identifier */
    T_QUOTED,  /* a quoted identifier, kept as written */
    T_LITERAL, /* written as ? */
    T_PARAM,   /* written as ? */
    T_OPEN,
    T_CLOSE,
    T_COMMA,
    T_DOT,
    T_CAST, /* :: */
    T_SEMI,
    T_OP,
};

struct token {
    enum tok_kind kind;
    const char *s;
    size_t n;
    int keyword; /* T_WORD: one of KEYWORDS (written upper-case) */
};

/* Words written upper-case. Not exhaustive: the ones queries are made of. */
static const char *const KEYWORDS[] = {
    "ABORT",     "ALL",         "ALTER",     "ANALYZE",   "AND",       "ANY",        "AS",
    "ASC",       "BEGIN",       "BETWEEN",   "BY",        "CASCADE",   "CASE",       "CAST",
    "CHECK",     "COLLATE",     "COLUMN",    "COMMIT",    "CONFLICT",  "CONSTRAINT", "CREATE",
    "CROSS",     "CURRENT",     "DATABASE",  "DEFAULT",   "DELETE",    "DESC",       "DISTINCT",
    "DO",        "DROP",        "DUPLICATE", "ELSE",      "END",       "ESCAPE",     "EXCEPT",
    "EXISTS",    "EXPLAIN",     "FALSE",     "FETCH",     "FIRST",     "FOR",        "FOREIGN",
    "FROM",      "FULL",        "GLOB",      "GROUP",     "HAVING",    "IF",         "IGNORE",
    "ILIKE",     "IN",          "INDEX",     "INNER",     "INSERT",    "INTERSECT",  "INTO",
    "IS",        "ISNULL",      "JOIN",      "KEY",       "LATERAL",   "LEFT",       "LIKE",
    "LIMIT",     "LOCK",        "MATCH",     "NATURAL",   "NEXT",      "NOT",        "NOTHING",
    "NOTNULL",   "NULL",        "NULLS",     "OFFSET",    "ON",        "ONLY",       "OR",
    "ORDER",     "OUTER",       "OVER",      "PARTITION", "PRAGMA",    "PRIMARY",    "QUERY",
    "RECURSIVE", "REFERENCES",  "REGEXP",    "RELEASE",   "RENAME",    "REPLACE",    "RETURNING",
    "RIGHT",     "ROLLBACK",    "ROW",       "ROWS",      "SAVEPOINT", "SELECT",     "SET",
    "SHARE",     "SHOW",        "START",     "TABLE",     "TEMP",      "TEMPORARY",  "THEN",
    "TO",        "TRANSACTION", "TRIGGER",   "TRUE",      "TRUNCATE",  "UNION",      "UNIQUE",
    "UPDATE",    "UPSERT",      "USING",     "VACUUM",    "VALUES",    "VIEW",       "WHEN",
    "WHERE",     "WINDOW",      "WITH",      "WITHOUT",
};

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int word_is(const struct token *t, const char *kw)
{
    size_t n = strlen(kw);
    if (t->kind != T_WORD || t->n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (upper((unsigned char)t->s[i]) != kw[i])
            return 0;
    return 1;
}

static int is_keyword(const struct token *t)
{
    for (size_t i = 0; i < sizeof(KEYWORDS) / sizeof(KEYWORDS[0]); i++)
        if (word_is(t, KEYWORDS[i]))
            return 1;
    return 0;
}

static int word_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int word_char(int c)
{
    return word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static int digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex_digit(int c)
{
    return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int op_char(int c)
{
    return c && strchr("+-*/<>=!|&%^~", c) != NULL;
}

/* ---- the lexer ---- */

struct lexer {
    const char *s;
    size_t len, pos;
    enum ns_sql_dialect dialect;
    enum tok_kind prev;  /* the last token's kind, for a sign that belongs to a number */
    int prev_identifier; /* the last token was a word that is no keyword */
};

/* The end of a quoted run starting at s[p] (the opening quote), doubled quotes inside, and
 * backslash escapes when `backslash`. */
static size_t skip_quoted(const struct lexer *l, size_t p, char close, int backslash)
{
    for (p++; p < l->len; p++) {
        if (backslash && l->s[p] == '\\' && p + 1 < l->len) {
            p++;
        } else if (l->s[p] == close) {
            if (p + 1 < l->len && l->s[p + 1] == close)
                p++;
            else
                return p + 1;
        }
    }
    return l->len;
}

/* A PostgreSQL dollar quote at s[p] ($tag$...$tag$): its end, or 0 if it is not one. */
static size_t skip_dollar_quote(const struct lexer *l, size_t p)
{
    size_t t = p + 1;
    while (t < l->len && word_char((unsigned char)l->s[t]) && l->s[t] != '$')
        t++;
    if (t >= l->len || l->s[t] != '$' || (t > p + 1 && digit((unsigned char)l->s[p + 1])))
        return 0;
    size_t tag = t + 1 - p; /* "$tag$" */
    for (size_t q = t + 1; q + tag <= l->len; q++)
        if (l->s[q] == '$' && memcmp(l->s + q, l->s + p, tag) == 0)
            return q + tag;
    return l->len;
}

static size_t skip_number(const struct lexer *l, size_t p)
{
    const char *s = l->s;
    if (s[p] == '0' && p + 1 < l->len && (s[p + 1] == 'x' || s[p + 1] == 'X')) {
        p += 2;
        while (p < l->len && hex_digit((unsigned char)s[p]))
            p++;
        return p;
    }
    while (p < l->len && (digit((unsigned char)s[p]) || s[p] == '.' || s[p] == '_'))
        p++;
    if (p < l->len && (s[p] == 'e' || s[p] == 'E')) {
        size_t q = p + 1;
        if (q < l->len && (s[q] == '+' || s[q] == '-'))
            q++;
        if (q < l->len && digit((unsigned char)s[q])) {
            p = q;
            while (p < l->len && digit((unsigned char)s[p]))
                p++;
        }
    }
    return p;
}

/* Whether a sign here is a number's: after an operator, an opening parenthesis, a comma, a
 * keyword, or at the start. */
static int sign_starts_number(const struct lexer *l, size_t p)
{
    const char *s = l->s;
    if (p + 1 >= l->len || !(digit((unsigned char)s[p + 1]) ||
                             (s[p + 1] == '.' && p + 2 < l->len && digit((unsigned char)s[p + 2]))))
        return 0;
    if (l->prev == T_WORD)
        return !l->prev_identifier;
    return l->prev == T_END || l->prev == T_OP || l->prev == T_OPEN || l->prev == T_COMMA ||
           l->prev == T_SEMI;
}

static void set(struct token *t, enum tok_kind k, const struct lexer *l, size_t a, size_t b)
{
    t->kind = k;
    t->s = l->s + a;
    t->n = b - a;
    t->keyword = 0;
}

/* The next token, comments and whitespace skipped. */
static void next(struct lexer *l, struct token *t)
{
    const char *s = l->s;
    size_t p = l->pos;
    for (;;) {
        while (p < l->len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r' ||
                              s[p] == '\f' || s[p] == '\v'))
            p++;
        if (p + 1 < l->len && s[p] == '-' && s[p + 1] == '-') {
            while (p < l->len && s[p] != '\n')
                p++;
        } else if (p < l->len && s[p] == '#' && l->dialect == NS_SQL_MYSQL) {
            while (p < l->len && s[p] != '\n')
                p++;
        } else if (p + 1 < l->len && s[p] == '/' && s[p + 1] == '*') {
            const char *end = NULL;
            for (size_t q = p + 2; q + 1 < l->len && !end; q++)
                if (s[q] == '*' && s[q + 1] == '/')
                    end = s + q + 2;
            p = end ? (size_t)(end - s) : l->len;
        } else {
            break;
        }
    }
    if (p >= l->len || s[p] == '\0') {
        set(t, T_END, l, l->len, l->len);
        l->pos = l->len;
        return;
    }
    size_t a = p;
    unsigned char c = (unsigned char)s[p];
    int mysql = l->dialect == NS_SQL_MYSQL;
    if (c == '\'') {
        set(t, T_LITERAL, l, a, skip_quoted(l, p, '\'', mysql));
    } else if (c == '"') {
        set(t, mysql ? T_LITERAL : T_QUOTED, l, a, skip_quoted(l, p, '"', mysql));
    } else if (c == '`') {
        set(t, T_QUOTED, l, a, skip_quoted(l, p, '`', 0));
    } else if (c == '[' && l->dialect == NS_SQL_SQLITE) {
        size_t q = p + 1;
        while (q < l->len && s[q] != ']')
            q++;
        set(t, T_QUOTED, l, a, q < l->len ? q + 1 : q);
    } else if (word_start(c)) {
        size_t q = p + 1;
        /* X'..', B'..', N'..', E'..': blobs, bit strings, national and escape strings. */
        if (q < l->len && s[q] == '\'' && strchr("xXbBnNeE", c)) {
            set(t, T_LITERAL, l, a, skip_quoted(l, q, '\'', c == 'e' || c == 'E' || mysql));
        } else {
            while (q < l->len && word_char((unsigned char)s[q]) &&
                   !(s[q] == '$' && l->dialect != NS_SQL_POSTGRES))
                q++;
            set(t, T_WORD, l, a, q);
            t->keyword = is_keyword(t);
        }
    } else if (digit(c) || (c == '.' && p + 1 < l->len && digit((unsigned char)s[p + 1])) ||
               ((c == '-' || c == '+') && sign_starts_number(l, p))) {
        set(t, T_LITERAL, l, a, skip_number(l, c == '-' || c == '+' ? p + 1 : p));
    } else if (c == '?') {
        size_t q = p + 1;
        while (q < l->len && digit((unsigned char)s[q]))
            q++;
        set(t, T_PARAM, l, a, q);
    } else if (c == ':' && p + 1 < l->len && s[p + 1] == ':') {
        set(t, T_CAST, l, a, p + 2);
    } else if ((c == ':' || c == '@' || c == '$') && p + 1 < l->len &&
               (word_char((unsigned char)s[p + 1]) || digit((unsigned char)s[p + 1]))) {
        size_t q = c == '$' && l->dialect == NS_SQL_POSTGRES ? skip_dollar_quote(l, p) : 0;
        if (q) {
            set(t, T_LITERAL, l, a, q);
        } else {
            q = p + 1;
            while (q < l->len && word_char((unsigned char)s[q]) && s[q] != '$')
                q++;
            set(t, T_PARAM, l, a, q);
        }
    } else if (c == '$' && l->dialect == NS_SQL_POSTGRES && skip_dollar_quote(l, p)) {
        set(t, T_LITERAL, l, a, skip_dollar_quote(l, p)); /* $$...$$ */
    } else if (c == '(') {
        set(t, T_OPEN, l, a, p + 1);
    } else if (c == ')') {
        set(t, T_CLOSE, l, a, p + 1);
    } else if (c == ',') {
        set(t, T_COMMA, l, a, p + 1);
    } else if (c == '.') {
        set(t, T_DOT, l, a, p + 1);
    } else if (c == ';') {
        set(t, T_SEMI, l, a, p + 1);
    } else if (op_char(c)) {
        size_t q = p + 1;
        /* An operator ends before a comment, and before the sign of a number (`a>-5`). */
        while (q < l->len && op_char((unsigned char)s[q]) &&
               !(s[q] == '-' && q + 1 < l->len && s[q + 1] == '-') &&
               !((s[q] == '-' || s[q] == '+') && q + 1 < l->len &&
                 (digit((unsigned char)s[q + 1]) ||
                  (s[q + 1] == '.' && q + 2 < l->len && digit((unsigned char)s[q + 2])))) &&
               !(s[q] == '/' && q + 1 < l->len && s[q + 1] == '*'))
            q++;
        set(t, T_OP, l, a, q);
    } else {
        set(t, T_OP, l, a, p + 1); /* anything else stands for itself */
    }
    l->pos = a + t->n;
    l->prev = t->kind;
    l->prev_identifier = t->kind == T_WORD && !t->keyword;
}

/* ---- the emitter ---- */

struct emitter {
    char *out;
    size_t cap, len; /* len: bytes written (< cap) */
    int truncated;   /* bytes did not fit: the last three become "..." at the end */
    uint64_t hash;
    enum tok_kind prev;
    int prev_keyword;
    int name_after;  /* after INTO, TABLE, EXISTS or ON: the name of a table */
    int spaced_name; /* the last word is such a name: `INTO t (a, b)`, not `f(x)` */
};

static void put(struct emitter *e, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        e->hash = (e->hash ^ (unsigned char)s[i]) * 1099511628211ull;
    if (!e->cap)
        return;
    size_t room = e->cap - 1 - e->len, k = n <= room ? n : room;
    memcpy(e->out + e->len, s, k);
    e->len += k;
    e->truncated |= k < n;
}

/* Whether a space goes between the previous token and one of kind k. */
static int space_before(const struct emitter *e, enum tok_kind k)
{
    if (e->prev == T_END || e->prev == T_OPEN || e->prev == T_DOT || e->prev == T_CAST)
        return 0;
    if (k == T_CLOSE || k == T_COMMA || k == T_DOT || k == T_SEMI || k == T_CAST)
        return 0;
    /* f(x), but IN (?), VALUES (?), INTO t (a, b). */
    if (k == T_OPEN && (e->prev == T_WORD || e->prev == T_QUOTED) && !e->prev_keyword &&
        !e->spaced_name)
        return 0;
    return 1;
}

/* The token's text as written: ? for values, upper case for keywords, into buf (of 8 at
 * least) when it has to be rewritten. */
static const char *token_text(const struct token *t, char *buf, size_t cap, size_t *n)
{
    if (t->kind == T_LITERAL || t->kind == T_PARAM) {
        *n = 1;
        return "?";
    }
    if (t->kind == T_WORD && t->keyword && t->n < cap) {
        for (size_t i = 0; i < t->n; i++)
            buf[i] = (char)upper((unsigned char)t->s[i]);
        *n = t->n;
        return buf;
    }
    *n = t->n;
    return t->s;
}

static void emit(struct emitter *e, const struct token *t)
{
    char buf[32];
    size_t n;
    const char *text = token_text(t, buf, sizeof(buf), &n);
    if (space_before(e, t->kind))
        put(e, " ", 1);
    put(e, text, n);
    int name = (t->kind == T_WORD && !t->keyword) || t->kind == T_QUOTED;
    e->spaced_name = name && e->name_after;
    e->name_after = (e->name_after && (name || t->kind == T_DOT)) || word_is(t, "INTO") ||
                    word_is(t, "TABLE") || word_is(t, "EXISTS") || word_is(t, "ON");
    e->prev = t->kind == T_LITERAL || t->kind == T_PARAM ? T_WORD : t->kind;
    e->prev_keyword =
        (t->kind == T_WORD && t->keyword) || t->kind == T_LITERAL || t->kind == T_PARAM;
}

/* ---- IN (?, ?, ...) -> IN (?) ---- */

struct in_list {
    int state;      /* 0 none, 1 after IN, 2 after IN (, 3 after a value, 4 after its comma */
    size_t dropped; /* `, ?` pairs held back */
};

static const struct token COMMA_TOKEN = {T_COMMA, ",", 1, 0};
static const struct token VALUE_TOKEN = {T_PARAM, "?", 1, 0};

static void in_flush(struct emitter *e, struct in_list *in, int with_comma)
{
    for (size_t i = 0; i < in->dropped; i++) {
        emit(e, &COMMA_TOKEN);
        emit(e, &VALUE_TOKEN);
    }
    if (with_comma)
        emit(e, &COMMA_TOKEN);
    in->dropped = 0;
    in->state = 0;
}

/* Takes the token if the IN list holds it back; 0 when it is to be emitted. */
static int in_take(struct emitter *e, struct in_list *in, const struct token *t)
{
    int value = t->kind == T_LITERAL || t->kind == T_PARAM;
    switch (in->state) {
    case 1:
        in->state = t->kind == T_OPEN ? 2 : 0;
        return 0;
    case 2:
        in->state = value ? 3 : 0;
        return 0;
    case 3:
        if (t->kind == T_COMMA) {
            in->state = 4;
            return 1;
        }
        if (t->kind == T_CLOSE) { /* all values: the repeats stay dropped */
            in->dropped = 0;
            in->state = 0;
            return 0;
        }
        in_flush(e, in, 0);
        return 0;
    case 4:
        if (value) {
            in->dropped++;
            in->state = 3;
            return 1;
        }
        in_flush(e, in, 1);
        return 0;
    default:
        return 0;
    }
}

/* ---- VALUES (...), (...) -> VALUES (...), ... ---- */

struct values {
    int state; /* 0 none, 1 after VALUES, 2 in the first row, 3 after a row, 4 after its
                  comma, 5 comparing a row with the first */
    int depth;
    size_t first, first_end; /* the first row's text in the output, its leading space on */
    size_t cursor;           /* state 5: how much of it the row matched so far */
    int elided;              /* ", ..." written */
    uint32_t rows;
    enum tok_kind saved_prev, vprev; /* the emitter's state before the held-back text, and */
    int saved_keyword, vkeyword;     /* as it would be after it */
};

/* Whether t, written next, would be the first row's text at the cursor; if so moves on. */
static int values_match(const struct emitter *e, struct values *v, const struct token *t)
{
    struct emitter virt = {.prev = v->vprev, .prev_keyword = v->vkeyword};
    char buf[32];
    size_t n;
    const char *text = token_text(t, buf, sizeof(buf), &n);
    size_t sp = (size_t)space_before(&virt, t->kind);
    if (v->cursor + sp + n > v->first_end || (sp && e->out[v->cursor] != ' ') ||
        memcmp(e->out + v->cursor + sp, text, n) != 0)
        return 0;
    v->cursor += sp + n;
    v->vprev = t->kind == T_LITERAL || t->kind == T_PARAM ? T_WORD : t->kind;
    v->vkeyword = (t->kind == T_WORD && t->keyword) || t->kind == T_LITERAL || t->kind == T_PARAM;
    return 1;
}

/* Writes what a row held back: its comma, and the part of the first row's text it matched. */
static void values_flush(struct emitter *e, struct values *v)
{
    e->prev = v->saved_prev;
    e->prev_keyword = v->saved_keyword;
    emit(e, &COMMA_TOKEN);
    if (v->state == 5) {
        put(e, e->out + v->first, v->cursor - v->first); /* earlier bytes: no overlap */
        e->prev = v->vprev;
        e->prev_keyword = v->vkeyword;
    }
    v->state = 0;
}

/* Takes the token if the VALUES rows hold it back; 0 when it is to be emitted. */
static int values_take(struct emitter *e, struct values *v, const struct token *t)
{
    switch (v->state) {
    case 3:
        if (t->kind != T_COMMA) {
            v->state = 0;
            return 0;
        }
        v->saved_prev = e->prev;
        v->saved_keyword = e->prev_keyword;
        v->state = 4;
        return 1;
    case 4:
        if (t->kind != T_OPEN) {
            values_flush(e, v);
            return 0;
        }
        v->state = 5;
        v->cursor = v->first;
        v->vprev = T_COMMA;
        v->vkeyword = 0;
        v->depth = 0;
        __attribute__((fallthrough)); /* the '(' is compared like the rest */
    case 5:
        if (!values_match(e, v, t)) {
            values_flush(e, v);
            return 0;
        }
        v->depth += t->kind == T_OPEN ? 1 : t->kind == T_CLOSE ? -1 : 0;
        if (v->depth > 0)
            return 1;
        if (v->cursor != v->first_end) { /* closed early: not the first row's shape */
            values_flush(e, v);
            return 1; /* its ')' was written by the flush */
        }
        v->rows++;
        if (!v->elided) {
            e->prev = v->saved_prev;
            e->prev_keyword = v->saved_keyword;
            emit(e, &COMMA_TOKEN);
            put(e, " ...", 4);
            e->prev = T_WORD;
            e->prev_keyword = 1;
            v->elided = 1;
        }
        v->state = 3;
        return 1;
    default:
        return 0;
    }
}

/* Follows the first row as it is written. */
static void values_after_emit(struct emitter *e, struct values *v, const struct token *t,
                              size_t before)
{
    if (word_is(t, "VALUES")) {
        v->state = 1;
        return;
    }
    if (v->state == 1) {
        v->state = t->kind == T_OPEN ? 2 : 0;
        v->first = before;
        v->depth = 1;
        return;
    }
    if (v->state != 2)
        return;
    v->depth += t->kind == T_OPEN ? 1 : t->kind == T_CLOSE ? -1 : 0;
    if (v->depth > 0)
        return;
    v->first_end = e->len;
    v->rows = 1;
    v->state = e->truncated ? 0 : 3;
}

/* ---- the statement ---- */

static enum ns_sql_verb verb_of(const struct token *t)
{
    static const struct {
        const char *word;
        enum ns_sql_verb verb;
    } verbs[] = {
        {"SELECT", NS_SQL_SELECT}, {"INSERT", NS_SQL_INSERT},   {"REPLACE", NS_SQL_INSERT},
        {"UPDATE", NS_SQL_UPDATE}, {"DELETE", NS_SQL_DELETE},   {"BEGIN", NS_SQL_BEGIN},
        {"START", NS_SQL_BEGIN},   {"SAVEPOINT", NS_SQL_BEGIN}, {"COMMIT", NS_SQL_END},
        {"END", NS_SQL_END},       {"ROLLBACK", NS_SQL_END},    {"RELEASE", NS_SQL_END},
    };
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (word_is(t, verbs[i].word))
            return verbs[i].verb;
    return NS_SQL_OTHER;
}

void ns_sql_normalize(const char *sql, size_t len, enum ns_sql_dialect dialect, char *out,
                      size_t cap, struct ns_sql_norm *r)
{
    /* A NUL ends the text, as for the C APIs that take a length. */
    struct lexer l = {.s = sql ? sql : "", .len = sql ? strnlen(sql, len) : 0, .dialect = dialect};
    struct emitter e = {.out = out, .cap = cap, .hash = 1469598103934665603ull};
    struct in_list in = {0};
    struct values v = {0};
    memset(r, 0, sizeof(*r));
    r->literal_hash = 1469598103934665603ull;
    int first = 1;
    struct token t, semi = {.kind = T_END};
    for (next(&l, &t); t.kind != T_END; next(&l, &t)) {
        /* A semicolon is kept only between statements: `SELECT 1;` is `SELECT 1`. */
        if (t.kind == T_SEMI) {
            semi = t;
            continue;
        }
        if (semi.kind == T_SEMI) {
            emit(&e, &semi);
            semi.kind = T_END;
        }
        if (first && t.kind == T_WORD)
            r->verb = verb_of(&t);
        first = 0;
        if (t.kind == T_LITERAL || t.kind == T_PARAM) {
            r->literals++;
            for (size_t i = 0; i < t.n; i++)
                r->literal_hash = (r->literal_hash ^ (unsigned char)t.s[i]) * 1099511628211ull;
            r->literal_hash = (r->literal_hash ^ 0xff) * 1099511628211ull; /* a separator */
        }
        if (values_take(&e, &v, &t) || in_take(&e, &in, &t))
            continue;
        size_t before = e.len;
        emit(&e, &t);
        values_after_emit(&e, &v, &t, before);
        if (word_is(&t, "IN"))
            in.state = 1;
    }
    if (v.state == 4 || v.state == 5)
        values_flush(&e, &v);
    if (in.state == 4)
        in_flush(&e, &in, 1);
    else if (in.state == 3)
        in_flush(&e, &in, 0);
    if (e.truncated && e.len >= 3)
        memcpy(out + e.len - 3, "...", 3); /* where the text goes on */
    if (cap)
        out[e.len] = '\0';
    r->len = e.len;
    r->truncated = e.truncated;
    r->hash = e.hash;
    r->rows = v.rows;
}

size_t ns_sql_statement_len(const char *sql, size_t len, enum ns_sql_dialect dialect)
{
    struct lexer l = {.s = sql ? sql : "", .len = sql ? strnlen(sql, len) : 0, .dialect = dialect};
    struct token t;
    /* CREATE TRIGGER ... BEGIN ...; ...; END; the semicolons inside are the trigger's, and
     * it ends at an END right before a semicolon (as sqlite3_complete reads it: a CASE's END
     * followed by more of its statement does not end it). */
    int create = 0, trigger = 0, body = 0, first = 1, after_end = 0;
    for (next(&l, &t); t.kind != T_END; next(&l, &t)) {
        if (first)
            create = word_is(&t, "CREATE");
        first = 0;
        trigger |= create && word_is(&t, "TRIGGER");
        body |= trigger && word_is(&t, "BEGIN");
        if (t.kind == T_SEMI && (!body || after_end))
            return l.pos;
        after_end = body && word_is(&t, "END");
    }
    return l.len;
}
