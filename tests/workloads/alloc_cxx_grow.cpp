// alloc_cxx_grow — containers that grow: libstdc++ reallocates through operator new and
// delete (never realloc), so each growth is one new allocation and a free of the old block.
//
//   alloc_cxx_grow [N]    N elements per container (default 100000)
//
// What was allocated is known from the containers themselves: a std::vector allocates exactly
// its new capacity() * sizeof(T) at each capacity change, and a std::string (libstdc++'s, with
// its 15-character inline buffer) allocates capacity() + 1 bytes (the terminating NUL) each
// time its capacity changes once it has left the inline buffer. The program watches the
// capacities and prints, per function:
//
//   site FUNCTION count N bytes B
//
// and after them the containers' final sizes (the same with and without the profiler).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// The containers' contents escape through here, so nothing is optimised away.
static volatile unsigned long sink;

struct Tally {
    unsigned long long count = 0, bytes = 0;
    void add(unsigned long long n)
    {
        count++, bytes += n;
    }
};

static Tally vector_tally, string_tally, strings_tally;

// push_back of n ints into an empty vector: a new block at each capacity change.
__attribute__((noinline, noclone)) size_t vector_grow(long n)
{
    std::vector<int> v;
    size_t cap = v.capacity();
    for (long i = 0; i < n; i++) {
        v.push_back(static_cast<int>(i));
        if (v.capacity() != cap) {
            cap = v.capacity();
            vector_tally.add(cap * sizeof(int));
        }
    }
    sink += v[n / 2];
    return v.size();
}

// n appends of 7 characters to an empty string: a new block at each capacity change.
__attribute__((noinline, noclone)) size_t string_append(long n)
{
    std::string s;
    size_t cap = s.capacity(); // 15: the inline buffer, nothing allocated
    for (long i = 0; i < n; i++) {
        s.append("abcdefg");
        if (s.capacity() != cap) {
            cap = s.capacity();
            string_tally.add(cap + 1);
        }
    }
    sink += static_cast<unsigned char>(s[s.size() / 2]);
    return s.size();
}

// A vector of n strings of 40 characters: each string one block of 41 bytes, and the
// vector's own growth (moving a string allocates nothing).
__attribute__((noinline, noclone)) size_t vector_of_strings(long n)
{
    std::vector<std::string> v;
    size_t cap = v.capacity();
    for (long i = 0; i < n; i++) {
        v.push_back(std::string(40, static_cast<char>('a' + i % 26)));
        strings_tally.add(v.back().capacity() + 1);
        if (v.capacity() != cap) {
            cap = v.capacity();
            strings_tally.add(cap * sizeof(std::string));
        }
    }
    sink += static_cast<unsigned char>(v[n / 2][0]);
    return v.size();
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? std::atol(argv[1]) : 100000;
    if (n < 1) {
        std::fprintf(stderr, "usage: alloc_cxx_grow [N]\n");
        return 2;
    }
    size_t a = vector_grow(n);
    size_t b = string_append(n);
    size_t c = vector_of_strings(n);
    std::printf("site vector_grow count %llu bytes %llu\n", vector_tally.count, vector_tally.bytes);
    std::printf("site string_append count %llu bytes %llu\n", string_tally.count,
                string_tally.bytes);
    std::printf("site vector_of_strings count %llu bytes %llu\n", strings_tally.count,
                strings_tally.bytes);
    std::printf("sizes %zu %zu %zu\n", a, b, c);
    return 0;
}
