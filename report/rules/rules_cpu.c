/*
 * rules_cpu — rules over the `cpu` event's call tree: one function taking a large share of
 * the CPU (hot_function), and the heap allocator taking one (alloc_churn, CPU form).
 *
 * Both need enough samples for a share to mean something: with n samples a share p has a
 * standard error of sqrt(p(1-p)/n), about 0.057 at p = 0.2 and n = 50, so below
 * MIN_CPU_SAMPLES no CPU rule fires.
 */
#include "recommend_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "rank.h"
#include "textfmt.h"

#define MIN_CPU_SAMPLES 50

/* hot_function: a function's own (self) CPU share. 20% is where one function is clearly the
 * place to start; half the CPU in one function is the top priority. */
#define HOT_LOW    0.20
#define HOT_MEDIUM 0.35
#define HOT_HIGH   0.50
#define HOT_LINES  3
/* unnamed_code: the share of CPU samples whose leaf has no name. */
#define UNNAMED_LOW    0.20
#define UNNAMED_MEDIUM 0.40
#define UNNAMED_HIGH   0.70

/* alloc_churn (CPU form): the allocator's own code as a share of CPU. A well-behaved program
 * spends a few percent there; 10% means allocation is a cost worth removing. */
#define ALLOC_CPU_LOW    0.10
#define ALLOC_CPU_MEDIUM 0.20
#define ALLOC_CPU_HIGH   0.35

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

int ns_is_allocator_function(const char *name)
{
    static const char *const exact[] = {
        "malloc",        "free",
        "calloc",        "realloc",
        "reallocarray",  "posix_memalign",
        "aligned_alloc", "memalign",
        "valloc",        "pvalloc",
        "cfree",         "sysmalloc",
        "unlink_chunk",  "malloc_consolidate",
        "malloc_trim",   "tcache_init",
        "tcache_get",    "tcache_put",
        "alloc_perturb", "free_perturb",
        "arena_get2",    "__default_morecore",
    };
    /* glibc internals (_int_malloc, _int_free, __libc_malloc, __GI___libc_free, ...) and the
     * C++ operators, mangled (_Znwm, _ZdlPv, ...) or demangled. */
    static const char *const prefixes[] = {
        "_int_",
        "__libc_malloc",
        "__libc_free",
        "__libc_calloc",
        "__libc_realloc",
        "__libc_memalign",
        "__GI___libc_malloc",
        "__GI___libc_free",
        "__malloc_",
        "_Znw",
        "_Zna",
        "_Zdl",
        "_Zda",
        "operator new",
        "operator delete",
    };
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(name, exact[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (has_prefix(name, prefixes[i]))
            return 1;
    return 0;
}

/* The cpu event when it has enough samples to judge shares, else NS_NONE. */
static uint32_t cpu_event(const struct ns_model *m)
{
    uint32_t e = ns_model_event_index(m, "cpu");
    if (e == NS_NONE || m->events[e].count < MIN_CPU_SAMPLES || !m->events[e].weight)
        return NS_NONE;
    return e;
}

/* The node of func in event's tree with the most self weight (the one to zoom to). */
static uint32_t heaviest_self_node(const struct ns_model *m, uint32_t event, uint32_t func)
{
    uint32_t best = NS_NONE;
    for (uint32_t i = 0; i < m->nnodes; i++) {
        const struct ns_node *n = &m->nodes[i];
        if (n->event == event && n->func == func &&
            (best == NS_NONE || n->self_weight > m->nodes[best].self_weight))
            best = i;
    }
    return best;
}

/* "; hottest lines: a.c:12 (30.1%), a.c:14 (8.0%)" for func, or nothing without lines. */
static void put_hot_lines(struct ns_buf *b, const struct ns_model *m, uint32_t event, uint32_t func)
{
    const struct ns_line **lines;
    size_t n, shown = 0;
    if (ns_rank_lines(m, event, &lines, &n) < 0) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n && shown < HOT_LINES; i++) {
        if (lines[i]->func != func || !lines[i]->line || !lines[i]->weight)
            continue;
        char pct[16];
        ns_fmt_pct(pct, sizeof(pct), lines[i]->weight, m->events[event].weight);
        const char *slash = strrchr(lines[i]->file, '/');
        ns_buf_printf(b, "%s%s:%u (%s)",
                      shown++ ? ", " : "; hottest lines: ", slash ? slash + 1 : lines[i]->file,
                      lines[i]->line, pct);
    }
    free(lines);
}

static int add_hot(const struct ns_model *m, uint32_t event, const struct ns_func_stat *s, int sev,
                   double share, struct ns_findings *out)
{
    const struct ns_event *ev = &m->events[event];
    char pct[16], self[32], total[32];
    ns_fmt_pct(pct, sizeof(pct), s->self_weight, ev->weight);
    ns_fmt_count(self, sizeof(self), s->self_count);
    ns_fmt_count(total, sizeof(total), ev->count);
    struct ns_buf b = {0};
    ns_buf_printf(&b, "%s of CPU time (%s of %s samples) is spent in this function's own code", pct,
                  self, total);
    put_hot_lines(&b, m, event, s->func);
    ns_buf_puts(&b, ".");
    const struct ns_func *fn = &m->funcs[s->func];
    struct ns_finding f = {
        .rule = "hot_function",
        .severity = (enum ns_severity)sev,
        .event = event,
        .node = heaviest_self_node(m, event, s->func),
        .func = s->func,
        .file = s->hot_file ? s->hot_file : (*fn->file ? fn->file : NULL),
        .line = s->hot_line,
        .share = share,
    };
    const char *suggestion =
        fn->symbolized && !fn->named
            ? "Start optimising here: look at its hottest lines for work that can be skipped, "
              "hoisted out of a loop, cached, or done with a cheaper algorithm or data "
              "structure; if it is library code, make its callers call it less often."
            : "Start here: this code has no symbols, so install debug symbols for its module "
              "(or build with -g) to see which function and lines take the time.";
    int rc = b.oom ? -1 : ns_finding_add(out, &f, b.s, suggestion);
    ns_buf_free(&b);
    return rc;
}

/* hot_function: every function whose self share of CPU reaches HOT_LOW. The allocator is
 * left to alloc_churn, which names the code that calls it. */
int ns_rule_hot_function(const struct ns_model *m, struct ns_findings *out)
{
    uint32_t event = cpu_event(m);
    if (event == NS_NONE)
        return 0;
    struct ns_func_stat *st;
    size_t n;
    if (ns_rank_functions(m, event, &st, &n) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        double share = (double)st[i].self_weight / (double)m->events[event].weight;
        int sev = ns_severity_of(share, HOT_LOW, HOT_MEDIUM, HOT_HIGH);
        if (sev < 0)
            break; /* sorted by self weight: the rest are smaller */
        if (!ns_is_allocator_function(m->funcs[st[i].func].name))
            rc = add_hot(m, event, &st[i], sev, share, out);
    }
    free(st);
    return rc;
}

/* Frames that are the allocator or the runtime around it: the code a user can change is
 * the first frame above them. */
static int in_runtime(const struct ns_func *f)
{
    static const char *const modules[] = {"libc.so", "libc-", "libstdc++.so", "libnsprof"};
    if (f->kind != NS_FUNC_FRAME || ns_is_allocator_function(f->name))
        return 1;
    for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
        if (has_prefix(f->module, modules[i]))
            return 1;
    return has_prefix(f->name, "std::") || has_prefix(f->name, "__gnu_cxx::");
}

/* The first ancestor of node (inclusive) outside the allocator and the runtime, or NS_NONE. */
static uint32_t allocating_caller(const struct ns_model *m, uint32_t node)
{
    for (uint32_t n = node; n != NS_NONE && m->nodes[n].depth >= 2; n = m->nodes[n].parent)
        if (!in_runtime(&m->funcs[m->nodes[n].func]))
            return n;
    return NS_NONE;
}

/* A finding of rule already names func (alloc_churn's site form found it first). */
static int already_found(const struct ns_findings *out, const char *rule, uint32_t func)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->v[i].func == func && strcmp(out->v[i].rule, rule) == 0)
            return 1;
    return 0;
}

static int add_alloc_cpu(const struct ns_model *m, uint32_t event, uint64_t alloc,
                         uint32_t caller_node, uint64_t caller_w, int sev, struct ns_findings *out)
{
    uint64_t total = m->events[event].weight;
    char pct[16], cpct[16];
    ns_fmt_pct(pct, sizeof(pct), alloc, total);
    ns_fmt_pct(cpct, sizeof(cpct), caller_w, total);
    char evidence[256];
    snprintf(evidence, sizeof(evidence),
             "The heap allocator (malloc, free and their internals) takes %s of CPU time; "
             "calls from this function account for %s of CPU time.",
             pct, cpct);
    uint32_t func = m->nodes[caller_node].func;
    const char *file = m->funcs[func].file;
    struct ns_finding f = {
        .rule = "alloc_churn",
        .severity = (enum ns_severity)sev,
        .event = event,
        .node = caller_node,
        .func = func,
        .file = *file ? file : NULL,
        .share = (double)alloc / (double)total,
    };
    return ns_finding_add(
        out, &f, evidence,
        "Allocate less often here: reuse buffers and objects across iterations, reserve "
        "containers once, keep small objects on the stack, or use a pool or arena for "
        "objects that die together.");
}

/* alloc_churn, CPU form: the allocator's self share of CPU reaches ALLOC_CPU_LOW; named at
 * the caller that spends most of it. */
int ns_rule_alloc_cpu(const struct ns_model *m, struct ns_findings *out)
{
    uint32_t event = cpu_event(m);
    if (event == NS_NONE)
        return 0;
    /* Callers are judged by function (all their call paths), shown at their heaviest node. */
    uint64_t *by_node = calloc(m->nnodes ? m->nnodes : 1, sizeof(*by_node));
    uint64_t *by_func = calloc(m->nfuncs ? m->nfuncs : 1, sizeof(*by_func));
    if (!by_node || !by_func) {
        free(by_node);
        free(by_func);
        return -1;
    }
    uint64_t alloc = 0;
    for (uint32_t i = 0; i < m->nnodes; i++) {
        const struct ns_node *n = &m->nodes[i];
        if (n->event != event || !n->self_weight || n->func == NS_NONE ||
            !ns_is_allocator_function(m->funcs[n->func].name))
            continue;
        alloc += n->self_weight;
        uint32_t caller = allocating_caller(m, i);
        if (caller != NS_NONE) {
            by_node[caller] += n->self_weight;
            by_func[m->nodes[caller].func] += n->self_weight;
        }
    }
    int sev = ns_severity_of((double)alloc / (double)m->events[event].weight, ALLOC_CPU_LOW,
                             ALLOC_CPU_MEDIUM, ALLOC_CPU_HIGH);
    uint32_t func = NS_NONE, best = NS_NONE;
    for (uint32_t i = 0; sev >= 0 && i < m->nfuncs; i++)
        if (by_func[i] && (func == NS_NONE || by_func[i] > by_func[func]))
            func = i;
    for (uint32_t i = 0; func != NS_NONE && i < m->nnodes; i++)
        if (m->nodes[i].func == func && (best == NS_NONE || by_node[i] > by_node[best]))
            best = i;
    int rc = 0;
    if (best != NS_NONE && !already_found(out, "alloc_churn", func))
        rc = add_alloc_cpu(m, event, alloc, best, by_func[func], sev, out);
    free(by_node);
    free(by_func);
    return rc;
}

/* unnamed_code: the CPU time that ends in frames without a name. No other rule can point at
 * a function there, so a profile of stripped code would otherwise get no finding and look
 * clean; this says why and how to get the names. */
int ns_rule_unnamed_code(const struct ns_model *m, struct ns_findings *out)
{
    uint32_t event = cpu_event(m);
    if (event == NS_NONE)
        return 0;
    const struct ns_event *ev = &m->events[event];
    double share = (double)ev->unnamed_leaf_weight / (double)ev->weight;
    int sev = ns_severity_of(share, UNNAMED_LOW, UNNAMED_MEDIUM, UNNAMED_HIGH);
    if (sev < 0)
        return 0;
    const struct ns_module *worst = NULL;
    for (size_t i = 0; i < m->nmodules; i++)
        if (m->modules[i].unnamed_leaf_samples &&
            (!worst || m->modules[i].unnamed_leaf_samples > worst->unnamed_leaf_samples))
            worst = &m->modules[i];
    char pct[16], n[32], total[32], fix[512];
    ns_fmt_pct(pct, sizeof(pct), ev->unnamed_leaf_weight, ev->weight);
    ns_fmt_count(n, sizeof(n), ev->unnamed_leaf_count);
    ns_fmt_count(total, sizeof(total), ev->count);
    struct ns_buf b = {0}, s = {0};
    ns_buf_printf(&b, "%s of CPU time (%s of %s samples) is in code without names (module+0xADDR)",
                  pct, n, total);
    if (worst) {
        uint64_t kept = 0;
        for (size_t e = 0; e < m->nevents; e++)
            kept += m->events[e].count;
        ns_fmt_pct(pct, sizeof(pct), worst->unnamed_leaf_samples, kept);
        ns_buf_printf(&b, ", most of it in %s (%s of all samples)", worst->base, pct);
    }
    ns_buf_puts(&b, ": no rule can name a function there, so none reports on it.");
    const char *how = worst ? ns_facts_symbol_fix(worst, fix, sizeof(fix)) : NULL;
    if (how)
        ns_buf_printf(&s, "Get its names, then report again: %s.", how);
    else
        ns_buf_puts(&s, "Get its names, then report again: install the module's debug symbols "
                        "(Debian: its -dbgsym package) or rebuild it with -g; the Sampling "
                        "section's symbols lines say which modules lack them.");
    struct ns_finding f = {
        .rule = "unnamed_code",
        .severity = (enum ns_severity)sev,
        .event = event,
        .node = NS_NONE,
        .func = NS_NONE,
        .share = share,
    };
    int rc = b.oom || s.oom ? -1 : ns_finding_add(out, &f, b.s, s.s);
    ns_buf_free(&b);
    ns_buf_free(&s);
    return rc;
}
