// Symbolizer test program (C++, -g -O2): namespaces, a class template with an operator, a
// function template and a functor, each kept out of line so it has its own symbol, and some
// standard-library code whose templates inline deeply (for the inline-chain comparisons).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace geo
{

template <typename T> struct Vec {
    T x, y;
    Vec operator+(const Vec &o) const;
};

template <typename T> __attribute__((noinline)) Vec<T> Vec<T>::operator+(const Vec &o) const
{
    return Vec{x + o.x, y + o.y};
}

template struct Vec<int>;

namespace detail
{

__attribute__((noinline)) long scale(long v, int k)
{
    return v * k + (v >> 3);
}

} // namespace detail

template <typename T> __attribute__((noinline)) T accumulate(const T *v, unsigned long n)
{
    T sum = T();
    for (unsigned long i = 0; i < n; i++)
        sum = sum + v[i] * v[i];
    return sum;
}

template double accumulate<double>(const double *, unsigned long);

struct Grid {
    int w;
    __attribute__((noinline, noipa)) int operator()(int r, int c) const
    {
        return r * w + c;
    }
};

__attribute__((noinline)) int most_frequent(const std::vector<std::string> &words)
{
    std::map<std::string, int> seen;
    for (const auto &w : words)
        seen[w]++;
    std::vector<int> counts;
    for (const auto &kv : seen)
        counts.push_back(kv.second);
    std::sort(counts.begin(), counts.end());
    return counts.empty() ? 0 : counts.back();
}

} // namespace geo

int main(int argc, char **argv)
{
    geo::Vec<int> a{argc, 2}, b{3, argc};
    geo::Vec<int> c = a + b;
    double d[3] = {1.0 * argc, 2.0, 3.0};
    geo::Grid g{argc + 4};
    std::vector<std::string> words(argv, argv + argc);
    std::printf("%d %ld %f %d %d\n", c.x, geo::detail::scale(c.y, argc), geo::accumulate(d, 3),
                g(argc, 2), geo::most_frequent(words));
    return 0;
}
