// alloc_cxx — C++ allocations (operator new/delete, containers) whose counts are known by
// construction: libstdc++'s operator new calls malloc, so they must be counted too.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

struct Widget {
    char payload[48];
};

static Widget *volatile leaked[16];
// Pointers stored here escape, so the compiler cannot elide a new/delete pair.
static void *volatile sink;

__attribute__((noinline)) static void make_widgets() // 300 x new Widget (48 B), deleted
{
    for (int i = 0; i < 300; i++) {
        Widget *w = new Widget();
        w->payload[0] = static_cast<char>(i);
        sink = w;
        delete w;
    }
}

__attribute__((noinline)) static void make_arrays() // 40 x new int[250] (1000 B), deleted
{
    for (int i = 0; i < 40; i++) {
        int *a = new int[250];
        a[i] = i;
        sink = a;
        delete[] a;
    }
}

__attribute__((noinline)) static void leak_widgets() // 16 x new Widget, never deleted
{
    for (int i = 0; i < 16; i++)
        leaked[i] = new Widget();
}

__attribute__((noinline)) static size_t fill_vector() // reserve(1000) of doubles: 8000 B
{
    std::vector<double> v;
    v.reserve(1000);
    for (int i = 0; i < 1000; i++)
        v.push_back(i);
    return v.size();
}

int main()
{
    make_widgets();
    make_arrays();
    leak_widgets();
    std::printf("vector %zu\n", fill_vector());
    return 0;
}
