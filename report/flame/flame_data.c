/*
 * flame_data — the document of docs/FLAME_DATA.md (see flame_data.h): top level, strings,
 * frames, series and recommendations; the trees and time lines are in flame_tree.c.
 */
#include "flame_data.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "flame_data_internal.h"
#include "flame_jsonw.h"
#include "nsp_format.h"
#include "recommend.h"

enum ns_flame_kind ns_flame_func_kind(const struct ns_model *m, uint32_t f)
{
    const struct ns_func *fn = &m->funcs[f];
    if (fn->kind == NS_FUNC_PROCESS || fn->named)
        return NS_FLAME_PSEUDO;
    if (fn->inlined)
        return NS_FLAME_INLINED;
    if (fn->module_index == NS_NONE)
        return NS_FLAME_LIBRARY; /* outside every mapping: not the program's own code */
    uint32_t flags = m->modules[fn->module_index].flags;
    /* A pseudo mapping that does not name its frames is `[kernel]` (a tick in the kernel);
     * the vDSO is kernel code mapped into the process. */
    if (flags & (NSP_MAP_PSEUDO | NSP_MAP_VDSO))
        return NS_FLAME_KERNEL;
    return (flags & NSP_MAP_MAIN) ? NS_FLAME_USER : NS_FLAME_LIBRARY;
}

/* Per function, the line with the most samples of it as a leaf (any event), 0 if none. */
static uint32_t *hottest_lines(const struct ns_model *m)
{
    uint32_t *line = calloc(m->nfuncs ? m->nfuncs : 1, sizeof(*line));
    uint64_t *count = calloc(m->nfuncs ? m->nfuncs : 1, sizeof(*count));
    if (!line || !count) {
        free(line);
        free(count);
        return NULL;
    }
    for (size_t i = 0; i < m->nlines; i++) {
        const struct ns_line *l = &m->lines[i];
        if (l->func >= m->nfuncs || !l->line)
            continue;
        /* Ties go to the lower line, so the choice does not depend on the order of lines. */
        if (l->count > count[l->func] ||
            (l->count == count[l->func] && (!line[l->func] || l->line < line[l->func]))) {
            count[l->func] = l->count;
            line[l->func] = l->line;
        }
    }
    free(count);
    return line;
}

/* `"strings":[...],"frames":{...}`: the columns are gathered first because the strings
 * they point into must be complete before the frames are written. */
static int write_strings_and_frames(struct fd_ctx *c)
{
    const struct ns_model *m = c->m;
    size_t nf = m->nfuncs ? m->nfuncs : 1;
    struct ns_jw_strtab st = {0};
    uint32_t *cols = malloc(4 * nf * sizeof(*cols));
    uint32_t *line = hottest_lines(m);
    int rc = -1;
    c->line_file = malloc((m->nlines ? m->nlines : 1) * sizeof(*c->line_file));
    if (!cols || !line || !c->line_file || ns_jw_str_id(&st, "") != 0)
        goto out;
    for (size_t i = 0; i < m->nlines; i++)
        if ((c->line_file[i] = ns_jw_str_id(&st, m->lines[i].file)) == NS_NONE)
            goto out;
    for (uint32_t f = 0; f < m->nfuncs; f++) {
        cols[f] = ns_jw_str_id(&st, m->funcs[f].name);
        cols[nf + f] = ns_jw_str_id(&st, m->funcs[f].module);
        cols[2 * nf + f] = ns_jw_str_id(&st, m->funcs[f].file);
        cols[3 * nf + f] = (uint32_t)ns_flame_func_kind(m, f);
        if (cols[f] == NS_NONE || cols[nf + f] == NS_NONE || cols[2 * nf + f] == NS_NONE)
            goto out;
    }
    struct ns_buf *b = c->out;
    ns_jw_strtab_write(b, &st);
    ns_buf_puts(b, ",\"frames\":{");
    ns_jw_column_u32(b, "name", cols, m->nfuncs);
    ns_buf_put(b, ",", 1);
    ns_jw_column_u32(b, "module", cols + nf, m->nfuncs);
    ns_buf_put(b, ",", 1);
    ns_jw_column_u32(b, "file", cols + 2 * nf, m->nfuncs);
    ns_buf_put(b, ",", 1);
    ns_jw_column_u32(b, "line", line, m->nfuncs);
    ns_buf_put(b, ",", 1);
    ns_jw_column_u32(b, "kind", cols + 3 * nf, m->nfuncs);
    ns_buf_puts(b, "},");
    rc = 0;
out:
    ns_jw_strtab_free(&st);
    free(cols);
    free(line);
    return rc;
}

static int write_events(struct fd_ctx *c)
{
    struct ns_buf *b = c->out;
    ns_buf_puts(b, "\"events\":[");
    for (uint32_t e = 0; e < c->m->nevents; e++) {
        const struct ns_event *ev = &c->m->events[e];
        ns_buf_puts(b, e ? ",{" : "{");
        ns_jw_key(b, "name");
        ns_jw_str(b, ev->name);
        ns_buf_puts(b, ",\"unit\":");
        ns_jw_str(b, ev->unit);
        ns_buf_puts(b, ",\"total\":");
        ns_jw_u64(b, ev->weight);
        ns_buf_puts(b, ",\"samples\":");
        ns_jw_u64(b, ev->count);
        ns_buf_puts(b,
                    ns_event_is_aggregate(ev) ? ",\"aggregate\":true," : ",\"aggregate\":false,");
        if (fd_write_tree(c, e) < 0)
            return -1;
        ns_buf_put(b, "}", 1);
    }
    ns_buf_puts(b, "],");
    return 0;
}

static void write_series(struct fd_ctx *c)
{
    struct ns_buf *b = c->out;
    ns_buf_puts(b, "\"series\":[");
    for (size_t s = 0; s < c->m->nseries; s++) {
        const struct ns_series *ser = &c->m->series[s];
        int64_t off = ser->process < c->m->nprocesses ? c->offset_ns[ser->process] : 0;
        ns_buf_puts(b, s ? ",{\"name\":" : "{\"name\":");
        ns_jw_str(b, ser->name);
        ns_buf_puts(b, ",\"unit\":");
        ns_jw_str(b, ser->unit);
        ns_buf_puts(b, ",\"pid\":");
        ns_jw_u64(b, ser->process < c->m->nprocesses ? c->m->processes[ser->process].pid : 0);
        ns_buf_puts(b, ",\"t\":[");
        for (size_t i = 0; i < ser->n; i++) {
            int64_t t = ser->points[i].time_ns;
            ns_buf_puts(b, i ? "," : "");
            ns_jw_i64(b, t < INT64_MAX / 2 && t > INT64_MIN / 2 ? t + off : t);
        }
        ns_buf_puts(b, "],\"v\":[");
        for (size_t i = 0; i < ser->n; i++) {
            ns_buf_puts(b, i ? "," : "");
            ns_jw_u64(b, ser->points[i].value);
        }
        ns_buf_puts(b, "]}");
    }
    ns_buf_puts(b, "],");
}

/* `{"cpu": 17}`: the finding's node renumbered into its event's tree, or `{}`. */
static json_t *finding_node(const struct fd_ctx *c, const struct ns_finding *f)
{
    json_t *o = json_object();
    if (o && f->event < c->m->nevents && f->node < c->m->nnodes &&
        c->m->nodes[f->node].event == f->event) {
        char *name = ns_utf8_valid(c->m->events[f->event].name);
        if (!name || json_object_set_new(o, name, json_integer(c->flame_id[f->node])) < 0) {
            json_decref(o);
            o = NULL;
        }
        free(name);
    }
    return o;
}

static int write_recommendations(struct fd_ctx *c)
{
    struct ns_findings f = {0};
    if (ns_recommend(c->m, &f) < 0)
        return -1;
    json_t *arr = ns_findings_json(c->m, &f);
    int rc = arr ? 0 : -1;
    for (size_t i = 0; arr && i < json_array_size(arr) && i < f.n; i++)
        if (json_object_set_new(json_array_get(arr, i), "node", finding_node(c, &f.v[i])) < 0)
            rc = -1;
    /* jansson escapes what JSON requires; <, > and & are escaped by the page writer. */
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    if (!text)
        rc = -1;
    ns_buf_puts(c->out, "\"recommendations\":");
    ns_buf_puts(c->out, text ? text : "[]");
    free(text);
    json_decref(arr);
    ns_findings_free(&f);
    return rc;
}

/* The view to open on: the option if it names an event, else cpu, else the first event
 * with samples, else the first event. */
static const char *initial_event(const struct ns_model *m, const char *wanted)
{
    if (wanted && ns_model_event_index(m, wanted) != NS_NONE)
        return wanted;
    uint32_t cpu = ns_model_event_index(m, "cpu");
    if (cpu != NS_NONE && m->events[cpu].count)
        return "cpu";
    for (uint32_t e = 0; e < m->nevents; e++)
        if (m->events[e].count)
            return m->events[e].name;
    return m->nevents ? m->events[0].name : "";
}

/* `"notes":[...]`: what changes the meaning of the page, as the report says it (a profile
 * that was killed or truncated holds only part of the run). */
static void write_notes(struct fd_ctx *c)
{
    struct ns_buf *b = c->out;
    ns_buf_puts(b, ",\"notes\":[");
    int first = 1;
    for (size_t i = 0; i < c->m->nprocesses; i++) {
        const struct ns_process *p = &c->m->processes[i];
        if (ns_facts_complete(p))
            continue;
        char sentence[512], note[1024];
        ns_facts_end_sentence(p, sentence, sizeof(sentence));
        snprintf(note, sizeof(note), "%s: %s", p->path ? p->path : "?", sentence);
        ns_buf_puts(b, first ? "" : ",");
        first = 0;
        ns_jw_str(b, note);
    }
    ns_buf_put(b, "]", 1);
}

void ns_flame_write_command(struct ns_buf *b, const struct ns_model *m)
{
    const struct ns_process *p = m->nprocesses ? &m->processes[0] : NULL;
    struct ns_buf cmd = {0};
    for (size_t i = 0; p && i < p->argc; i++) {
        ns_buf_puts(&cmd, i ? " " : "");
        ns_buf_puts(&cmd, p->argv[i]);
    }
    ns_jw_str(b, cmd.len ? cmd.s : "");
    if (cmd.oom)
        b->oom = 1;
    ns_buf_free(&cmd);
}

static void write_header(struct fd_ctx *c, const struct ns_flame_data_options *o)
{
    struct ns_buf *b = c->out;
    const struct ns_process *p = c->m->nprocesses ? &c->m->processes[0] : NULL;
    ns_buf_puts(b, "{\"version\":1,\"title\":");
    ns_jw_str(b, p ? p->name : "");
    ns_buf_puts(b, ",\"command\":");
    ns_flame_write_command(b, c->m);
    ns_buf_puts(b, ",\"producer\":");
    ns_jw_str(b, o && o->producer ? o->producer : "nsprof");
    ns_buf_puts(b, ",\"initial_event\":");
    ns_jw_str(b, initial_event(c->m, o ? o->initial_event : NULL));
    ns_buf_puts(b, ",\"duration_ns\":");
    ns_jw_u64(b, c->duration_ns);
    write_notes(c);
    ns_buf_put(b, ",", 1);
}

int ns_flame_data_json(const struct ns_model *m, const struct ns_flame_data_options *o,
                       struct ns_buf *out)
{
    struct fd_ctx c = {.m = m, .out = out};
    int rc = -1;
    if (fd_number_nodes(&c) < 0 || fd_time_axis(&c) < 0)
        goto out;
    write_header(&c, o);
    if (write_strings_and_frames(&c) < 0 || write_events(&c) < 0)
        goto out;
    write_series(&c);
    if (write_recommendations(&c) < 0)
        goto out;
    ns_buf_put(out, "}", 1);
    rc = out->oom ? -1 : 0;
out:
    free(c.flame_id);
    free(c.order);
    free(c.first);
    free(c.process);
    free(c.offset_ns);
    free(c.line_file);
    return rc;
}
