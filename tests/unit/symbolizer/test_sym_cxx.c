/*
 * Demangling, and C++ names through DWARF and through the symbol table alone.
 */
#include "sym_test_util.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(sym_cxx, .fini = tu_remove_tempdirs);

static void expect_demangled(const char *mangled, const char *expected)
{
    char *d = ns_sym_demangle(mangled);
    cr_assert_not_null(d, "%s not demangled", mangled);
    cr_assert_str_eq(d, expected);
    free(d);
}

Test(sym_demangle, cxx_names)
{
    expect_demangled("_ZN3foo3barEv", "foo::bar()");
    expect_demangled("_ZNK3geo3VecIiEplERKS1_",
                     "geo::Vec<int>::operator+(geo::Vec<int> const&) const");
    expect_demangled("_ZNSt6vectorIiSaIiEE9push_backERKi",
                     "std::vector<int, std::allocator<int> >::push_back(int const&)");
    expect_demangled("_Z3foov.cold", "foo() [clone .cold]");
    expect_demangled("_ZNSt8ios_base4InitC1Ev@@GLIBCXX_3.4",
                     "std::ios_base::Init::Init()@@GLIBCXX_3.4");
}

Test(sym_demangle, rust_legacy_names)
{
    expect_demangled("_ZN4core3ptr13drop_in_place17h0123456789abcdefE", "core::ptr::drop_in_place");
    expect_demangled("_ZN60_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..Drop$GT$4drop17h"
                     "fedcba9876543210E",
                     "<alloc::vec::Vec<T> as core::ops::Drop>::drop");
}

Test(sym_demangle, plain_names_are_not_mangled)
{
    /* "f" and "i" are valid type encodings ("float", "int") for __cxa_demangle. */
    const char *plain[] = {"main",   "f",
                           "i",      "getenv",
                           "_start", "__libc_start_main",
                           "_Zzz!",  "",
                           "_R",     "_RNvCs1234_7mycrate3foo"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char *d = ns_sym_demangle(plain[i]);
        cr_assert_null(d, "'%s' demangled to '%s'", plain[i], d);
    }
    cr_assert_null(ns_sym_demangle(NULL));
}

struct cxx_case {
    const char *mangled;
    const char *expected;
};

static const struct cxx_case cxx_cases[] = {
    {"_ZNK3geo3VecIiEplERKS1_", "geo::Vec<int>::operator+(geo::Vec<int> const&) const"},
    {"_ZN3geo6detail5scaleEli", "geo::detail::scale(long, int)"},
    {"_ZN3geo10accumulateIdEET_PKS1_m",
     "double geo::accumulate<double>(double const*, unsigned long)"},
    {"_ZNK3geo4GridclEii", "geo::Grid::operator()(int, int) const"},
};

static void check_cxx_names(const char *binary, enum ns_sym_status want)
{
    char *path = tu_bin(binary);
    const char *empty = tu_tempdir();
    const char *dirs[] = {empty, NULL};
    struct tu_sym t;
    tu_sym_open(&t, dirs, path, NULL, 0);
    const char *detail;
    cr_assert_eq(tu_sym_status(&t, &detail), want, "%s", detail);
    for (size_t i = 0; i < sizeof cxx_cases / sizeof cxx_cases[0]; i++) {
        uint64_t vaddr, size;
        cr_assert(tu_elf_symbol(path, cxx_cases[i].mangled, &vaddr, &size), "%s not in %s",
                  cxx_cases[i].mangled, binary);
        size_t n;
        const struct ns_sym_frame *f = tu_sym_lookup(&t, vaddr + size / 2, &n);
        cr_assert_str_eq(f[n - 1].function, cxx_cases[i].expected);
        if (want == NS_SYM_OK)
            cr_assert(tu_ends_with(f[n - 1].file, "target_cxx.cpp"), "%s", f[n - 1].file);
    }
    tu_sym_done(&t);
    free(path);
}

Test(sym_cxx, names_from_dwarf)
{
    check_cxx_names("sym_target_cxx", NS_SYM_OK);
}

Test(sym_cxx, names_from_the_symbol_table)
{
    check_cxx_names("sym_target_cxx.nodebug", NS_SYM_NO_DEBUG_INFO);
}
