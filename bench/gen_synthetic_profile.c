/*
 * gen_synthetic_profile — writes a synthetic but realistic .nsp file, to benchmark the
 * offline side (`nsprof report`, export, flame) on profiles of any size.
 *
 *     gen_synthetic_profile -o out.nsp [-n samples] [-t threads] [-s stacks]
 *                           [-m mappings] [-d max_depth] [-r seed] [-c chunk_bytes]
 *
 * What makes it realistic:
 *  - Mappings are real ELF files of this machine (this program, libc, libm, libz, ...)
 *    with their real build-ids, executable segment spans and load biases, and every frame
 *    address lies inside a real function of its object, so a symbolizer names them.
 *  - Stacks form a call tree: most stacks extend a prefix of an earlier one, start at a
 *    thread root (_start / __libc_start_main / main, or clone3 / start_thread) and end in
 *    a leaf; samples pick stacks with a Zipf-like skew, so a few stacks dominate.
 *  - Records arrive the way the preload writer sends them: interned strings, mappings,
 *    threads and stacks just before first use, samples in batches from per-thread ~1 kHz
 *    timers, one chunk per simulated second with THREAD_STATS and COUNTERS, END at exit.
 * Deterministic for a given seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsp_format.h"
#include "profile_writer.h"

#define MAX_OBJECTS   8
#define MAX_FUNCS     4096
#define SAMPLE_BATCH  512
#define EVENT_CPU     1
#define PERIOD_NS     1000000u /* 1 kHz */
#define START_MONO_NS 5000000000ull

struct func {
    uint64_t lo, size; /* ELF virtual address span */
    const char *name;
};

struct object {
    char path[PATH_MAX];
    uint8_t build_id[NSP_MAX_BUILD_ID];
    size_t build_id_len;
    uint64_t exec_lo, exec_hi, bias;
    int is_main;
    struct func *funcs;
    size_t nfuncs;
    uint64_t path_id, mapping_id; /* 0 until written */
};

struct frame {
    int obj;
    uint64_t addr;
};

struct stack {
    struct frame frames[NSP_MAX_FRAMES > 128 ? 128 : NSP_MAX_FRAMES];
    size_t n;       /* leaf first */
    uint64_t id;    /* file id, 0 until written */
    uint32_t owner; /* thread index the stack belongs to */
};

struct gen {
    uint64_t samples, seed;
    unsigned threads, nstacks, nobjects, max_depth;
    size_t chunk_bytes;
    const char *out;
    struct object obj[MAX_OBJECTS];
    struct stack *stacks;
    double *cdf; /* Zipf-like popularity of stacks */
    uint64_t rng;
    struct ns_pw pw;
    uint64_t next_string, next_stack;
};

static uint64_t rnd(struct gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static double rnd01(struct gen *g)
{
    return (double)(rnd(g) >> 11) / (double)(1ull << 53);
}

/* ---- real ELF objects ---- */

static void read_build_id(Elf *elf, struct object *o)
{
    size_t nph;
    if (elf_getphdrnum(elf, &nph) != 0)
        return;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        GElf_Nhdr nh;
        size_t off = 0, name_off, desc_off;
        while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 &&
                nh.n_descsz <= NSP_MAX_BUILD_ID) {
                memcpy(o->build_id, (char *)d->d_buf + desc_off, nh.n_descsz);
                o->build_id_len = nh.n_descsz;
                return;
            }
        }
    }
}

static int read_exec_span(Elf *elf, struct object *o)
{
    size_t nph;
    if (elf_getphdrnum(elf, &nph) != 0)
        return -1;
    o->exec_lo = UINT64_MAX;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
            continue;
        if (ph.p_vaddr < o->exec_lo)
            o->exec_lo = ph.p_vaddr;
        if (ph.p_vaddr + ph.p_memsz > o->exec_hi)
            o->exec_hi = ph.p_vaddr + ph.p_memsz;
    }
    return o->exec_lo == UINT64_MAX ? -1 : 0;
}

/* Function symbols from .symtab if the object has one, else from .dynsym. */
static void read_funcs(Elf *elf, struct object *o)
{
    Elf_Scn *best = NULL, *scn = NULL;
    GElf_Shdr sh;
    while ((scn = elf_nextscn(elf, scn)))
        if (gelf_getshdr(scn, &sh) &&
            (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !best)))
            best = scn;
    if (!best || !gelf_getshdr(best, &sh) || sh.sh_entsize == 0)
        return;
    Elf_Data *d = elf_getdata(best, NULL);
    size_t n = sh.sh_size / sh.sh_entsize;
    o->funcs = calloc(MAX_FUNCS, sizeof *o->funcs);
    for (size_t i = 0; d && o->funcs && i < n && o->nfuncs < MAX_FUNCS; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
            sym.st_size < 4 || sym.st_shndx == SHN_UNDEF || sym.st_value < o->exec_lo ||
            sym.st_value + sym.st_size > o->exec_hi)
            continue;
        const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
        o->funcs[o->nfuncs++] = (struct func){sym.st_value, sym.st_size, strdup(name ? name : "")};
    }
}

static int load_object(struct object *o, const char *path, int is_main, uint64_t bias)
{
    if (!realpath(path, o->path))
        return -1;
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    int rc = -1;
    if (elf && elf_kind(elf) == ELF_K_ELF && read_exec_span(elf, o) == 0) {
        read_build_id(elf, o);
        read_funcs(elf, o);
        GElf_Ehdr eh;
        /* A non-PIE executable runs at its link addresses: bias 0. */
        o->bias = gelf_getehdr(elf, &eh) && eh.e_type == ET_EXEC ? 0 : bias;
        o->is_main = is_main;
        rc = o->nfuncs > 0 ? 0 : -1;
    }
    if (elf)
        elf_end(elf);
    close(fd);
    return rc;
}

static const char *const candidate_libs[] = {
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libm.so.6",
    "/usr/lib/x86_64-linux-gnu/libz.so.1",
    "/usr/lib/x86_64-linux-gnu/libelf.so.1",
    "/lib64/ld-linux-x86-64.so.2",
    "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
};

static int load_objects(struct gen *g)
{
    elf_version(EV_CURRENT);
    unsigned want = g->nobjects;
    g->nobjects = 0;
    if (load_object(&g->obj[g->nobjects], "/proc/self/exe", 1, 0x555555554000ull) == 0)
        g->nobjects++;
    for (size_t i = 0; i < sizeof candidate_libs / sizeof *candidate_libs && g->nobjects < want;
         i++) {
        uint64_t bias = 0x7f0000000000ull - (uint64_t)g->nobjects * 0x10000000ull;
        if (load_object(&g->obj[g->nobjects], candidate_libs[i], 0, bias) == 0)
            g->nobjects++;
    }
    return g->nobjects >= 2 ? 0 : -1;
}

/* ---- stacks ---- */

static struct frame frame_in(struct gen *g, int obj, const char *name)
{
    struct object *o = &g->obj[obj];
    size_t k = rnd(g) % o->nfuncs;
    for (size_t i = 0; name && i < o->nfuncs; i++)
        if (strcmp(o->funcs[i].name, name) == 0) {
            k = i;
            break;
        }
    /* Non-leaf frames are return address - 1: somewhere inside the function's body. */
    return (struct frame){obj, o->funcs[k].lo + 1 + rnd(g) % (o->funcs[k].size - 2)};
}

static int libc_index(struct gen *g)
{
    for (unsigned i = 0; i < g->nobjects; i++)
        if (strstr(g->obj[i].path, "libc.so"))
            return (int)i;
    return 1;
}

/* Outermost frames first (reversed into leaf-first order at the end). */
static void thread_root(struct gen *g, struct stack *s, uint32_t thread)
{
    int libc = libc_index(g);
    s->n = 0;
    if (thread == 0) {
        s->frames[s->n++] = frame_in(g, 0, "_start");
        s->frames[s->n++] = frame_in(g, libc, "__libc_start_main");
        s->frames[s->n++] = frame_in(g, 0, "main");
    } else {
        s->frames[s->n++] = frame_in(g, libc, "clone3");
        s->frames[s->n++] = frame_in(g, libc, "start_thread");
        s->frames[s->n++] = frame_in(g, 0, NULL);
    }
}

static void reverse(struct stack *s)
{
    for (size_t i = 0; i < s->n / 2; i++) {
        struct frame t = s->frames[i];
        s->frames[i] = s->frames[s->n - 1 - i];
        s->frames[s->n - 1 - i] = t;
    }
}

/*
 * Stack i either extends a prefix of an earlier stack of the same thread (a call tree
 * with shared callers) or starts a fresh path from its thread's root.
 */
static void make_stack(struct gen *g, size_t i, struct stack *prefix_pool)
{
    struct stack *s = &g->stacks[i];
    size_t cap = g->max_depth < 128 ? g->max_depth : 128;
    if (i > 0 && rnd01(g) < 0.8) {
        const struct stack *p = &prefix_pool[rnd(g) % i];
        *s = *p;
        s->n = 3 + rnd(g) % (p->n - 2);
        if (s->n > cap - 1)
            s->n = cap - 1;
    } else {
        s->owner = (uint32_t)(rnd(g) % g->threads);
        thread_root(g, s, s->owner);
    }
    size_t extra = 1 + rnd(g) % 6;
    while (extra-- > 0 && s->n < cap - 1)
        s->frames[s->n++] = frame_in(g, rnd01(g) < 0.7 ? 0 : (int)(rnd(g) % g->nobjects), NULL);
    /* Leaves mostly in libraries, where programs spend their time (memcpy, malloc, libm). */
    s->frames[s->n++] = frame_in(g, 1 + (int)(rnd(g) % (g->nobjects - 1)), NULL);
    prefix_pool[i] = *s;
    reverse(s);
    s->id = 0;
}

static int make_stacks(struct gen *g)
{
    g->stacks = calloc(g->nstacks, sizeof *g->stacks);
    struct stack *outer_first = calloc(g->nstacks, sizeof *outer_first);
    g->cdf = calloc(g->nstacks, sizeof *g->cdf);
    if (!g->stacks || !outer_first || !g->cdf)
        return -1;
    double sum = 0;
    for (size_t i = 0; i < g->nstacks; i++) {
        make_stack(g, i, outer_first);
        sum += 1.0 / ((double)i + 1.0);
        g->cdf[i] = sum;
    }
    for (size_t i = 0; i < g->nstacks; i++)
        g->cdf[i] /= sum;
    free(outer_first);
    return 0;
}

static size_t pick_stack(struct gen *g)
{
    double u = rnd01(g);
    size_t lo = 0, hi = g->nstacks - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- records ---- */

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0) {                                                                            \
            fprintf(stderr, "gen_synthetic_profile: %s: %s\n", #expr, strerror(-rc_));             \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static uint64_t string(struct gen *g, const char *text)
{
    uint64_t id = g->next_string++;
    return ns_pw_string(&g->pw, id, text, strlen(text)) == 0 ? id : 0;
}

static int write_preamble(struct gen *g)
{
    static const char cmdline[] = "synthetic\0--threads\0many";
    struct ns_pw_process p = {.pid = 4242,
                              .ppid = 1,
                              .exec_index = 0,
                              .start_realtime_ns = 1700000000000000000ull,
                              .start_mono_ns = START_MONO_NS,
                              .session = "4242-1700000000",
                              .exe = g->obj[0].path,
                              .cmdline = cmdline,
                              .cmdline_len = sizeof cmdline - 1,
                              .hostname = "synthetic-host",
                              .kernel = "6.1.0-synthetic",
                              .producer = "nsprof 0.1.0 gen_synthetic_profile"};
    CHECK(ns_pw_process(&g->pw, &p));
    CHECK(ns_pw_setting(&g->pw, "event", "cpu"));
    CHECK(ns_pw_setting(&g->pw, "freq", "1000"));
    CHECK(ns_pw_setting(&g->pw, "mechanism_used", "perf"));
    CHECK(ns_pw_event(&g->pw, EVENT_CPU, "cpu", "ns", PERIOD_NS));
    for (unsigned i = 0; i < g->nobjects; i++) {
        struct object *o = &g->obj[i];
        o->path_id = string(g, o->path);
        o->mapping_id = i + 1;
        struct ns_pw_mapping m = {.id = o->mapping_id,
                                  .lo = o->bias + o->exec_lo,
                                  .hi = o->bias + o->exec_hi,
                                  .bias = o->bias,
                                  .path_id = o->path_id,
                                  .flags = o->is_main ? NSP_MAP_MAIN : 0,
                                  .build_id = o->build_id,
                                  .build_id_len = o->build_id_len};
        CHECK(ns_pw_mapping(&g->pw, &m));
    }
    for (unsigned t = 0; t < g->threads; t++) {
        char name[32];
        snprintf(name, sizeof name, t ? "worker-%u" : "synthetic", t);
        CHECK(ns_pw_thread(&g->pw, 4242 + t, string(g, name), START_MONO_NS + t * 1000));
    }
    return 0;
}

static int define_stack(struct gen *g, struct stack *s)
{
    struct ns_pw_frame f[128];
    for (size_t i = 0; i < s->n; i++)
        f[i] = (struct ns_pw_frame){g->obj[s->frames[i].obj].mapping_id, s->frames[i].addr};
    s->id = g->next_stack++;
    CHECK(ns_pw_stack(&g->pw, s->id, s->n >= g->max_depth ? NSP_END_DEPTH : NSP_END_ROOT, f, s->n));
    return 0;
}

/* One simulated second's statistics, as the writer sends them before each flush. */
static int write_stats(struct gen *g, const uint64_t *per_thread, uint64_t taken)
{
    for (unsigned t = 0; t < g->threads; t++)
        CHECK(ns_pw_thread_stats(&g->pw, 4242 + t, per_thread[t] * PERIOD_NS, per_thread[t], 0));
    const char *names[] = {"samples", "dropped_ring_full", "threads_seen"};
    uint64_t values[] = {taken, 0, g->threads};
    CHECK(ns_pw_counters(&g->pw, names, values, 3));
    return 0;
}

/* Samples in time order: every thread ticks at ~1 kHz with jitter, round robin. */
static int write_samples(struct gen *g)
{
    struct ns_pw_sample batch[SAMPLE_BATCH];
    uint64_t *per_thread = calloc(g->threads, sizeof *per_thread);
    size_t nb = 0;
    int64_t second = 1;
    if (!per_thread)
        return -1;
    for (uint64_t i = 0; i < g->samples; i++) {
        uint32_t t = (uint32_t)(i % g->threads);
        int64_t time_us =
            (int64_t)(i / g->threads) * 1000 + (int64_t)t * 7 + (int64_t)(rnd(g) % 50);
        struct stack *s = &g->stacks[pick_stack(g)];
        if (s->id == 0 && define_stack(g, s) < 0)
            return -1;
        uint64_t weight = rnd(g) % 100 == 0 ? 2 * PERIOD_NS : PERIOD_NS;
        batch[nb++] = (struct ns_pw_sample){time_us, 4242 + s->owner, s->id, weight};
        per_thread[s->owner]++;
        if (nb == SAMPLE_BATCH || i + 1 == g->samples) {
            CHECK(ns_pw_samples(&g->pw, EVENT_CPU, batch, nb));
            nb = 0;
        }
        if (time_us >= second * 1000000 || i + 1 == g->samples) {
            if (write_stats(g, per_thread, i + 1) < 0)
                return -1;
            CHECK(ns_pw_flush(&g->pw));
            second++;
        }
    }
    free(per_thread);
    return 0;
}

static int generate(struct gen *g)
{
    int fd = open(g->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "gen_synthetic_profile: %s: %s\n", g->out, strerror(errno));
        return -1;
    }
    g->next_string = g->next_stack = 1;
    int rc = ns_pw_init(&g->pw, fd, g->chunk_bytes);
    if (rc != 0)
        fprintf(stderr, "gen_synthetic_profile: cannot start the writer (-c %zu?): %s\n",
                g->chunk_bytes, strerror(-rc));
    if (rc == 0 && write_preamble(g) == 0 && write_samples(g) == 0) {
        uint64_t end_ns = START_MONO_NS + g->samples / g->threads * 1000000ull;
        rc = ns_pw_note(&g->pw, NSP_NOTE_INFO, "synthetic", "generated by gen_synthetic_profile");
        rc = rc ? rc : ns_pw_end(&g->pw, NSP_EXIT_NORMAL, 0, end_ns);
        rc = rc ? rc : ns_pw_flush(&g->pw);
    } else if (rc == 0) {
        rc = -1;
    }
    if (rc == 0)
        printf("%s: %llu samples, %llu stacks used, %u mappings, %u threads, %llu bytes in %llu "
               "chunks\n",
               g->out, (unsigned long long)g->samples, (unsigned long long)g->next_stack - 1,
               g->nobjects, g->threads, (unsigned long long)g->pw.bytes_written,
               (unsigned long long)g->pw.chunks_written);
    ns_pw_destroy(&g->pw);
    return close(fd) == 0 && rc == 0 ? 0 : -1;
}

static int parse_args(struct gen *g, int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "o:n:t:s:m:d:r:c:")) != -1) {
        char *end;
        errno = 0;
        unsigned long long v = optarg ? strtoull(optarg, &end, 10) : 0;
        if (c != 'o' && (errno || *end || v == 0)) {
            fprintf(stderr, "gen_synthetic_profile: -%c wants a positive number, not '%s'\n", c,
                    optarg);
            return -1;
        }
        switch (c) {
        case 'o':
            g->out = optarg;
            break;
        case 'n':
            g->samples = v;
            break;
        case 't':
            g->threads = (unsigned)(v > 4096 ? 4096 : v);
            break;
        case 's':
            g->nstacks = (unsigned)(v > 10000000 ? 10000000 : v);
            break;
        case 'm':
            g->nobjects = (unsigned)(v < 2 ? 2 : v > MAX_OBJECTS ? MAX_OBJECTS : v);
            break;
        case 'd':
            g->max_depth = (unsigned)(v < 8 ? 8 : v > 128 ? 128 : v);
            break;
        case 'r':
            g->seed = v;
            break;
        case 'c':
            g->chunk_bytes = (size_t)v;
            break;
        default:
            return -1;
        }
    }
    if (!g->out) {
        fprintf(stderr, "usage: gen_synthetic_profile -o out.nsp [-n samples] [-t threads] "
                        "[-s stacks] [-m mappings] [-d max_depth] [-r seed] [-c chunk_bytes]\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct gen g = {.samples = 1000000,
                    .threads = 4,
                    .nstacks = 3000,
                    .nobjects = 5,
                    .max_depth = 48,
                    .seed = 1,
                    .chunk_bytes = 1 << 20};
    if (parse_args(&g, argc, argv) < 0)
        return 2;
    g.rng = g.seed * 0x9E3779B97F4A7C15ull | 1;
    if (load_objects(&g) < 0) {
        fprintf(stderr, "gen_synthetic_profile: found no usable ELF objects\n");
        return 1;
    }
    if (make_stacks(&g) < 0)
        return 1;
    return generate(&g) == 0 ? 0 : 1;
}
