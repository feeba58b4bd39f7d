/*
 * Folded stacks: exact output (process root, inline marker, sample counts, bytewise
 * order), escaping of ';' and control characters, merging of stacks escaping made equal.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "helpers.h"

static char *folded_of(const struct ns_model *m, uint32_t event)
{
    struct ns_buf b = {0};
    cr_assert_eq(ns_folded_render(m, event, &b), 0);
    char *s = strdup(b.s ? b.s : "");
    ns_buf_free(&b);
    return s;
}

Test(folded, standard_profile_exactly)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    char *out = folded_of(m, 0);
    /* Counts are samples (S2 weighs 2 ms per sample but counts 3). */
    cr_assert_str_eq(out, "app;main;app+0x999 1\n"
                          "app;main;compute;helper_[i] 4\n"
                          "app;main;compute;helper_[i];memcpy 2\n"
                          "app;main;run;compute 8\n");
    free(out);
    ns_model_free(m);
    tp_free(p);
}

Test(folded, no_inline_drops_the_marker_and_the_frame)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r, .no_inline = 1};
    struct ns_model *m = build1(p, &o);
    char *out = folded_of(m, 0);
    cr_assert_str_eq(out, "app;main;app+0x999 1\n"
                          "app;main;compute 4\n"
                          "app;main;compute;memcpy 2\n"
                          "app;main;run;compute 8\n");
    free(out);
    ns_model_free(m);
    tp_free(p);
}

Test(folded, escaping_and_merging)
{
    struct ns_profile *p = tp_new("e.nsp", 1, "/bin/my;prog");
    uint32_t mp = tp_mapping(p, "/bin/my;prog", 1);
    tp_event(p, 1, "cpu", "ns", 1);
    uint32_t s1 = tp_stack(p, 0, 2, (uint64_t[]){mp, 1, mp, 0});
    uint32_t s2 = tp_stack(p, 0, 2, (uint64_t[]){mp, 2, mp, 0});
    uint32_t s3 = tp_stack(p, 0, 2, (uint64_t[]){mp, 3, mp, 0});
    uint32_t s4 = tp_stack(p, 0, 2, (uint64_t[]){mp, 4, mp, 0});
    tp_samples(p, 2, 1, 1, s1, 7);
    tp_samples(p, 3, 1, 1, s2, 7);
    tp_samples(p, 1, 1, 1, s3, 7);
    tp_samples(p, 1, 1, 1, s4, 7);
    static const struct fake_sym syms[] = {
        {"/bin/my;prog", 0, 1, {{"main", "m.c", 1, 0, NULL}}},
        /* "a;b" and "a:b" become the same frame after escaping: one line, counts summed. */
        {"/bin/my;prog", 1, 1, {{"a;b", "m.c", 2, 0, NULL}}},
        {"/bin/my;prog", 2, 1, {{"a:b", "m.c", 3, 0, NULL}}},
        {"/bin/my;prog", 3, 1, {{"evil\nname\t\x1b[31m\x7f", "m.c", 4, 0, NULL}}},
        {"/bin/my;prog", 4, 1, {{"operator<< (std::ostream&, int)", "m.c", 5, 0, NULL}}},
    };
    struct fake_resolver fr = {.syms = syms, .nsyms = 5};
    struct ns_resolver r = fake_resolver(&fr);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    char *out = folded_of(m, 0);
    cr_assert_str_eq(out, "my:prog;main;a:b 5\n"
                          "my:prog;main;evil?name??[31m? 1\n"
                          "my:prog;main;operator<< (std::ostream&, int) 1\n");
    free(out);
    ns_model_free(m);
    tp_free(p);
}

Test(folded, lines_are_sorted_bytewise_like_c_sort)
{
    struct ns_profile *p = tp_new("s.nsp", 1, "/bin/x");
    uint32_t mp = tp_mapping(p, "/bin/x", 1);
    tp_event(p, 1, "cpu", "ns", 1);
    const char *names[] = {"b", "B", "a 1x", "a", "_z", "a0"};
    struct fake_sym syms[6];
    memset(syms, 0, sizeof(syms));
    for (int i = 0; i < 6; i++) {
        syms[i] = (struct fake_sym){"/bin/x", (uint64_t)i + 1, 1, {{names[i], "x.c", 1, 0, NULL}}};
        uint32_t s = tp_stack(p, 0, 1, (uint64_t[]){mp, (uint64_t)i + 1});
        tp_samples(p, 9, 1, 1, s, 1);
    }
    struct fake_resolver fr = {.syms = syms, .nsyms = 6};
    struct ns_resolver r = fake_resolver(&fr);
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    char *out = folded_of(m, 0);
    /* Whole lines compare bytewise: "x;a 1x 9" sorts before "x;a 9" (' ' then '1' < '9'). */
    cr_assert_str_eq(out, "x;B 9\n"
                          "x;_z 9\n"
                          "x;a 1x 9\n"
                          "x;a 9\n"
                          "x;a0 9\n"
                          "x;b 9\n");
    free(out);
    ns_model_free(m);
    tp_free(p);
}

Test(folded, several_processes_each_with_its_root)
{
    struct ns_profile *a = std_profile("a.nsp", 100);
    struct ns_profile *b = tp_new("b.nsp", 200, "/usr/bin/sh");
    tp_event(b, 1, "cpu", "ns", 1000000);
    tp_samples(b, 2, 1, 200, 0, 1000000);
    struct ns_resolver r = std_resolver();
    struct ns_model_options o = {.resolver = &r, .function = "main"};
    struct ns_model *m = buildn((const struct ns_profile *const[]){a, b}, 2, &o);
    char *out = folded_of(m, 0);
    /* --function keeps only stacks through main: sh's stackless samples are gone. */
    cr_assert_null(strstr(out, "sh"));
    ns_model_free(m);
    free(out);

    struct ns_model_options all = {.resolver = &r};
    m = buildn((const struct ns_profile *const[]){a, b}, 2, &all);
    out = folded_of(m, 0);
    cr_assert(strstr(out, "\nsh 2\n") || strncmp(out, "sh 2\n", 5) == 0, "%s", out);
    cr_assert(strstr(out, "app;main;run;compute 8\n"), "%s", out);
    free(out);
    ns_model_free(m);
    tp_free(a);
    tp_free(b);
}

Test(folded, write_to_a_stream)
{
    struct ns_profile *p = std_profile("std.nsp", 100);
    struct ns_model *m = build1(p, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(ns_folded_write(f, m, 0), 0);
    fclose(f);
    /* Without symbols every frame is module+0xADDR; the five stacks stay distinct. */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    cr_assert_eq(lines, 5);
    cr_assert(strstr(buf, "app;app+0x100;app+0x200;app+0x300 5\n"), "%s", buf);
    cr_assert(strstr(buf, "app;app+0x100;app+0x400;libc.so.6+0x50 2\n"), "%s", buf);
    free(buf);
    ns_model_free(m);
    tp_free(p);
}

/* Entries of aggregate events are totals of many calls: their lines carry weights. */
Test(folded, aggregate_events_export_weights)
{
    struct ns_profile *p = ip_profile("ip.nsp", 300, "full");
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    char *out = folded_of(m, ns_model_event_index(m, "alloc_bytes"));
    cr_assert_str_eq(out, "app;main;fill;std::vector<int>::_M_realloc_insert_[i];"
                          "operator new(unsigned long);malloc 1600\n"
                          "app;main;load;malloc 8000\n"
                          "app;main;parse;strdup;malloc 800\n");
    free(out);
    out = folded_of(m, ns_model_event_index(m, "leak_bytes"));
    cr_assert_str_eq(out,
                     "app;main;load;malloc 300\n"
                     "app;main;parse;strdup;malloc 40\n",
                     "only the last snapshot of each stack");
    free(out);
    out = folded_of(m, ns_model_event_index(m, "io_calls"));
    cr_assert(strstr(out, "app;main;save;fwrite 2\n"), "%s", out);
    free(out);
    ns_model_free(m);
    tp_free(p);
}
