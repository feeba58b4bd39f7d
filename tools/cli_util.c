/*
 * cli_util — messages, colour and progress for the nsprof subcommands (see cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ns_cli_use_color(FILE *stream)
{
    const char *term = getenv("TERM");
    if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
        return 0;
    if (term && strcmp(term, "dumb") == 0)
        return 0;
    return isatty(fileno(stream));
}

static void vmessage(const char *tag, const char *color, const char *fmt, va_list ap)
{
    int color_on = color && ns_cli_use_color(stderr);
    fputs("nsprof: ", stderr);
    if (tag) {
        if (color_on)
            fprintf(stderr, "\033[%sm%s\033[0m", color, tag);
        else
            fputs(tag, stderr);
    }
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ns_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("error: ", "1;31", fmt, ap);
    va_end(ap);
}

void ns_cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning: ", "1;33", fmt, ap);
    va_end(ap);
}

void ns_cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(NULL, NULL, fmt, ap);
    va_end(ap);
}

void ns_progress_init(struct ns_progress *p, const char *label)
{
    p->label = label;
    p->enabled = isatty(STDERR_FILENO);
    p->last_pct = -1;
}

void ns_progress_update(struct ns_progress *p, uint64_t done, uint64_t total)
{
    if (!p->enabled || total == 0)
        return;
    int pct = (int)(done * 100 / total);
    if (pct == p->last_pct)
        return;
    p->last_pct = pct;
    fprintf(stderr, "\r%s %3d%%", p->label, pct);
    fflush(stderr);
}

void ns_progress_end(struct ns_progress *p)
{
    if (p->enabled && p->last_pct >= 0) {
        /* Erase the line so that what follows starts clean. */
        fprintf(stderr, "\r%*s\r", (int)strlen(p->label) + 6, "");
        fflush(stderr);
    }
    p->last_pct = -1;
}

void ns_phase_progress_update(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    struct ns_phase_progress *p = ctx;
    if (p->phase != phase) {
        if (p->phase)
            ns_progress_end(&p->bar);
        ns_progress_init(&p->bar, phase);
        p->phase = phase;
    }
    ns_progress_update(&p->bar, done, total);
}

void ns_phase_progress_end(struct ns_phase_progress *p)
{
    if (p->phase)
        ns_progress_end(&p->bar);
    p->phase = NULL;
}

int ns_cli_parse_u64(const char *text, const char *what, int bytes, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!text || !*text || *text == '-') {
        ns_cli_error("%s: '%s' is not a positive number", what, text ? text : "");
        return -1;
    }
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text) {
        ns_cli_error("%s: '%s' is not a number", what, text);
        return -1;
    }
    unsigned long long mult = 1, base = bytes ? 1024 : 1000;
    if (*end == 'k' || *end == 'K')
        mult = base, end++;
    else if (*end == 'M' || *end == 'm')
        mult = base * base, end++;
    else if (*end == 'G' || *end == 'g')
        mult = base * base * base, end++;
    if (*end != '\0') {
        ns_cli_error("%s: '%s' has trailing characters '%s'", what, text, end);
        return -1;
    }
    if (v > UINT64_MAX / mult) {
        ns_cli_error("%s: '%s' is too large", what, text);
        return -1;
    }
    *out = v * mult;
    return 0;
}
