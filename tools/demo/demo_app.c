/*
 * demo_app — the workload `tools/demo.sh` profiles: a small log-analysis job with the
 * shapes real programs have. The main thread generates and parses log lines (string
 * scanning), counts them in a hash table, sorts the result (qsort in libc) and compresses a
 * report (deflate in libz); two worker threads named "checksum" verify blocks. Built -O2
 * without frame pointers, like Debian's own binaries, so the profile shows nsprof's unwinder
 * at work.
 *
 * usage: nsprof-demo [seconds-of-work-scale]   (default 1: about two seconds of CPU)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define TABLE_SIZE 4096

struct entry {
    char key[32];
    unsigned long count;
    struct entry *next;
};

static struct entry *table[TABLE_SIZE];

static unsigned hash_key(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void count_key(const char *key)
{
    unsigned slot = hash_key(key) % TABLE_SIZE;
    for (struct entry *e = table[slot]; e; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            e->count++;
            return;
        }
    }
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        abort();
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->count = 1;
    e->next = table[slot];
    table[slot] = e;
}

static void make_line(char *line, size_t cap, unsigned long i)
{
    static const char *paths[] = {"/api/users", "/api/orders", "/static/app.js",
                                  "/health",    "/api/search", "/login"};
    snprintf(line, cap,
             "10.0.%lu.%lu - - [21/Nov/2026:12:00:%02lu] \"GET %s?id=%lu HTTP/1.1\" %d %lu",
             (i / 7) % 256, i % 256, i % 60, paths[(i * 2654435761u) % 6], i % 977,
             (i % 13) ? 200 : 500, (i * 37) % 50000);
}

/* Pulls the request path out of a log line: the hot string scanning of the job. */
static void parse_line(const char *line, char *path, size_t cap)
{
    const char *q = strchr(line, '"');
    const char *sp = q ? strchr(q, ' ') : NULL;
    size_t n = 0;
    if (!sp) {
        path[0] = '\0';
        return;
    }
    for (sp++; *sp && *sp != '?' && *sp != ' ' && n + 1 < cap; sp++)
        path[n++] = *sp;
    path[n] = '\0';
}

struct result {
    const char *key;
    unsigned long count;
};

static int by_count(const void *a, const void *b)
{
    const struct result *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->key, y->key);
}

static void *checksum_worker(void *arg)
{
    unsigned long rounds = *(unsigned long *)arg;
    static unsigned char block[1 << 16];
    uLong crc = 0;
    for (size_t i = 0; i < sizeof(block); i++)
        block[i] = (unsigned char)(i * 31);
    for (unsigned long r = 0; r < rounds; r++)
        crc = crc32(crc, block, sizeof(block));
    return (void *)(uintptr_t)crc;
}

static size_t compress_report(const struct result *res, size_t n, unsigned long reps)
{
    static char text[1 << 20];
    static unsigned char out[1 << 21];
    size_t len = 0;
    for (size_t i = 0; i < n && len + 64 < sizeof(text); i++)
        len +=
            (size_t)snprintf(text + len, sizeof(text) - len, "%s %lu\n", res[i].key, res[i].count);
    uLongf out_len = 0;
    for (unsigned long r = 0; r < reps; r++) {
        out_len = sizeof(out);
        if (compress2(out, &out_len, (const Bytef *)text, len, 9) != Z_OK)
            abort();
    }
    return out_len;
}

int main(int argc, char **argv)
{
    unsigned long scale = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
    unsigned long lines = 1500000 * scale, worker_rounds = 6000 * scale;
    pthread_t workers[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&workers[i], NULL, checksum_worker, &worker_rounds);
        pthread_setname_np(workers[i], "checksum");
    }
    char line[256], path[64];
    for (unsigned long i = 0; i < lines; i++) {
        make_line(line, sizeof(line), i);
        parse_line(line, path, sizeof(path));
        count_key(path);
    }
    size_t n = 0;
    static struct result res[1 << 16];
    for (int s = 0; s < TABLE_SIZE; s++)
        for (struct entry *e = table[s]; e && n < sizeof(res) / sizeof(res[0]); e = e->next)
            res[n++] = (struct result){e->key, e->count};
    for (unsigned long r = 0; r < 200 * scale; r++)
        qsort(res, n, sizeof(res[0]), by_count);
    size_t packed = compress_report(res, n, 400 * scale);
    for (int i = 0; i < 2; i++)
        pthread_join(workers[i], NULL);
    printf("%lu lines, %zu distinct paths, top: %s (%lu), report %zu bytes compressed\n", lines, n,
           n ? res[0].key : "-", n ? res[0].count : 0, packed);
    return 0;
}
