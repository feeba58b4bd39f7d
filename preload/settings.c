/*
 * settings — parsing and validation for the registry in settings.h. No allocation: this
 * runs in the preload constructor of arbitrary programs.
 */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <dlfcn.h>
#include <string.h>

extern char **environ;

int ns_setenv(const char *name, const char *value)
{
    static int (*real)(const char *, const char *, int);
    if (!real)
        real = (int (*)(const char *, const char *, int))dlsym(RTLD_NEXT, "setenv");
    return real ? real(name, value, 1) : -1;
}

int ns_unsetenv(const char *name)
{
    static int (*real)(const char *);
    if (!real)
        real = (int (*)(const char *))dlsym(RTLD_NEXT, "unsetenv");
    return real ? real(name) : -1;
}

const char *ns_getenv(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

const struct ns_setting_def ns_setting_defs[NS_SET__COUNT] = {
#define NS_SETTING_DEF(id, key, env, sopt, lopt, type, def, choices, min, max, help)               \
    [NS_SET_##id] = {key, env, lopt, sopt, type, def, choices, min, max, help},
    NS_SETTINGS(NS_SETTING_DEF)
#undef NS_SETTING_DEF
};

/* clang-format off */
const struct ns_event_def ns_event_defs[NS_EVID__COUNT] = {
    [NS_EVID__NONE] = {"", "", 0, ""},
#define NS_EVENT_DEF(id, name, unit, flags, help) [NS_EVID_##id] = {name, unit, flags, help},
    NS_EVENTS(NS_EVENT_DEF)
#undef NS_EVENT_DEF
};
/* clang-format on */

int ns_choice_index(const char *choices, const char *text)
{
    size_t tlen = strlen(text);
    int index = 0;
    for (const char *p = choices; p && *p; index++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == tlen && memcmp(p, text, len) == 0)
            return index;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static int parse_number(const char *text, int sizes, uint64_t *out)
{
    char *end;
    if (*text < '0' || *text > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno)
        return -1;
    uint64_t mult = 1;
    if (sizes && (*end == 'k' || *end == 'K'))
        mult = 1024, end++;
    else if (sizes && (*end == 'm' || *end == 'M'))
        mult = 1024 * 1024, end++;
    if (*end != '\0' || v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

static int set_text(struct ns_config *c, enum ns_setting id, const char *text, char *err,
                    size_t errlen)
{
    size_t len = strlen(text);
    if (len >= NS_SETTING_TEXT_MAX) {
        snprintf(err, errlen, "%s is too long (%zu bytes, at most %d)", ns_setting_defs[id].env,
                 len, NS_SETTING_TEXT_MAX - 1);
        return -1;
    }
    memcpy(c->text[id], text, len + 1);
    return 0;
}

int ns_config_set(struct ns_config *c, enum ns_setting id, const char *text, char *err,
                  size_t errlen)
{
    const struct ns_setting_def *d = &ns_setting_defs[id];
    uint64_t v = 0;
    switch (d->type) {
    case NS_TYPE_ENUM: {
        int index = ns_choice_index(d->choices, text);
        if (index < 0) {
            snprintf(err, errlen, "%s: '%s' is not one of %s", d->key, text, d->choices);
            return -1;
        }
        v = (uint64_t)index;
        break;
    }
    case NS_TYPE_UINT:
    case NS_TYPE_SIZE:
        if (strcmp(text, "auto") == 0 && strcmp(d->default_text, "auto") == 0)
            break;
        if (parse_number(text, d->type == NS_TYPE_SIZE, &v) < 0 || v < d->min || v > d->max) {
            snprintf(err, errlen, "%s: '%s' is not a %s between %llu and %llu%s", d->key, text,
                     d->type == NS_TYPE_SIZE ? "size in bytes (k/M suffixes allowed)" : "number",
                     (unsigned long long)d->min, (unsigned long long)d->max,
                     strcmp(d->default_text, "auto") == 0 ? ", or auto" : "");
            return -1;
        }
        break;
    case NS_TYPE_STRING:
        if (*text == '\0') {
            snprintf(err, errlen, "%s must not be empty", d->key);
            return -1;
        }
        break;
    }
    if (set_text(c, id, text, err, errlen) < 0)
        return -1;
    c->value[id] = v;
    return 0;
}

void ns_config_defaults(struct ns_config *c)
{
    char err[256];
    memset(c->value, 0, sizeof(c->value));
    for (int i = 0; i < NS_SET__COUNT; i++) {
        /* Defaults are valid by construction; a failure here is a bug in the table. */
        if (ns_config_set(c, (enum ns_setting)i, ns_setting_defs[i].default_text, err,
                          sizeof(err)) < 0)
            abort();
    }
}

int ns_config_from_env(struct ns_config *c, void (*warn)(const char *msg))
{
    int invalid = 0;
    for (int i = 0; i < NS_SET__COUNT; i++) {
        const char *text = ns_getenv(ns_setting_defs[i].env);
        char err[512], msg[700];
        if (!text)
            continue;
        if (ns_config_set(c, (enum ns_setting)i, text, err, sizeof(err)) < 0) {
            invalid++;
            if (warn) {
                snprintf(msg, sizeof(msg), "%s=%s ignored: %s; using %s", ns_setting_defs[i].env,
                         text, err, ns_setting_defs[i].default_text);
                warn(msg);
            }
        }
    }
    return invalid;
}

void ns_config_resolve(struct ns_config *c)
{
    if (c->value[NS_SET_FREQ] == 0) {
        /* Wall mode signals blocked threads too: a lower rate bounds that cost. */
        c->value[NS_SET_FREQ] = 999; /* wall's on-CPU part is sampled as cpu is */
        snprintf(c->text[NS_SET_FREQ], NS_SETTING_TEXT_MAX, "%llu",
                 (unsigned long long)c->value[NS_SET_FREQ]);
    }
    /* The kernel copies whole 8-byte words of stack. */
    c->value[NS_SET_STACK_COPY] &= ~(uint64_t)7;
}

int ns_setting_find(const char *name)
{
    for (int i = 0; i < NS_SET__COUNT; i++) {
        if (strcmp(ns_setting_defs[i].key, name) == 0 ||
            strcmp(ns_setting_defs[i].long_opt, name) == 0)
            return i;
    }
    return -1;
}
