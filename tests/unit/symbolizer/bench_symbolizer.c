/*
 * ns_symbolizer_bench — how fast the symbolizer names addresses of a real library.
 *
 *   ns_symbolizer_bench [ELF] [DISTINCT] [SAMPLES]
 *
 * Defaults: libc, 10000 distinct addresses spread over its functions, 1000000 samples drawn
 * from them (a profile's shape: few distinct addresses, many repeats). Prints the time to open
 * the object, the cold rate (distinct addresses per second: one DWARF lookup each) and the warm
 * rate (samples per second: cache hits). Addresses come from the object's own function symbols
 * (.symtab, else .dynsym, read with libelf), at several offsets inside each function.
 */
#include "symbolizer.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct func {
    uint64_t start, size;
};

struct target {
    struct func *funcs;
    size_t nfuncs;
    uint8_t id[64];
    size_t id_len;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sized function symbols of the first symbol table of the given type. */
static void read_symbols(Elf *elf, Elf64_Word type, struct target *t)
{
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        Elf_Data *data;
        if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != type || sh.sh_entsize == 0 ||
            (data = elf_getdata(scn, NULL)) == NULL)
            continue;
        size_t n = sh.sh_size / sh.sh_entsize;
        t->funcs = calloc(n, sizeof *t->funcs);
        for (size_t i = 0; t->funcs != NULL && i < n; i++) {
            GElf_Sym sym;
            if (gelf_getsym(data, (int)i, &sym) != NULL && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
                sym.st_shndx != SHN_UNDEF && sym.st_size > 0)
                t->funcs[t->nfuncs++] = (struct func){sym.st_value, sym.st_size};
        }
        return;
    }
}

static int load_target(const char *path, struct target *t)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY);
    Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
    if (elf == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    const void *id;
    ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
    if (n > 0 && n <= 64) {
        memcpy(t->id, id, (size_t)n);
        t->id_len = (size_t)n;
    }
    read_symbols(elf, SHT_SYMTAB, t); /* a program's own functions are rarely exported */
    if (t->nfuncs == 0) {
        free(t->funcs);
        t->funcs = NULL;
        read_symbols(elf, SHT_DYNSYM, t);
    }
    elf_end(elf);
    close(fd);
    return t->nfuncs > 0 ? 0 : -1;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* distinct addresses: round-robin over functions, a new offset inside each on every round. */
static uint64_t *make_addresses(const struct target *t, size_t distinct)
{
    uint64_t *a = malloc(distinct * sizeof *a);
    for (size_t i = 0; a != NULL && i < distinct; i++) {
        const struct func *f = &t->funcs[i % t->nfuncs];
        size_t round = i / t->nfuncs;
        a[i] = f->start + (round * 37) % f->size;
    }
    return a;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/lib/x86_64-linux-gnu/libc.so.6";
    size_t distinct = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    size_t samples = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
    struct target t = {0};
    if (distinct == 0 || load_target(path, &t) != 0)
        return 1;
    uint64_t *addrs = make_addresses(&t, distinct);
    if (addrs == NULL)
        return 1;

    struct ns_sym_object obj = {path, t.id, t.id_len};
    double t0 = now();
    struct ns_sym *s = ns_sym_new(NULL);
    const char *detail;
    enum ns_sym_status st = ns_sym_module_status(s, &obj, &detail);
    double t1 = now();
    size_t named = 0, frames = 0;
    for (size_t i = 0; i < distinct; i++) {
        const struct ns_sym_frame *f;
        size_t n;
        ns_sym_lookup(s, &obj, addrs[i], &f, &n);
        named += f[n - 1].function != NULL;
        frames += n;
    }
    double t2 = now();
    uint64_t rng = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < samples; i++) {
        const struct ns_sym_frame *f;
        size_t n;
        ns_sym_lookup(s, &obj, addrs[xorshift(&rng) % distinct], &f, &n);
    }
    double t3 = now();

    printf("object:   %s (status %d: %s)\n", path, st, detail);
    printf("open:     %.1f ms (DWARF, symbols, debug file search)\n", (t1 - t0) * 1e3);
    printf("cold:     %zu distinct addresses in %.1f ms = %.0f addresses/s (%zu named, %.2f "
           "frames/address)\n",
           distinct, (t2 - t1) * 1e3, (double)distinct / (t2 - t1), named,
           (double)frames / (double)distinct);
    printf("cached:   %zu samples in %.1f ms = %.1f M lookups/s\n", samples, (t3 - t2) * 1e3,
           (double)samples / (t3 - t2) / 1e6);
    ns_sym_free(s);
    free(addrs);
    free(t.funcs);
    return 0;
}
