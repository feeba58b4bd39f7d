/*
 * ip_fixture — the interposed-calls profile of helpers.h (ip_profile): allocations, I/O and
 * locks as format 1.1 writes them, with named [nsprof] frames as leaves.
 */
#include <string.h>

#include "helpers.h"
#include "nsp_format.h"

static const struct fake_sym ip_syms[] = {
    {"/usr/bin/app", 0x100, 1, {{"main", "/src/main.c", 10, 0, NULL}}},
    {"/usr/bin/app", 0x200, 1, {{"load", "/src/load.c", 22, 0, NULL}}},
    {"/usr/bin/app", 0x300, 1, {{"parse", "/src/parse.c", 31, 0, NULL}}},
    {"/usr/bin/app",
     0x400,
     2,
     {{"std::vector<int>::_M_realloc_insert", "/usr/include/c++/12/bits/vector.tcc", 450, 1, NULL},
      {"fill", "/src/fill.cc", 12, 0, NULL}}},
    {"/usr/bin/app", 0x500, 1, {{"save", "/src/save.c", 41, 0, NULL}}},
    {"/usr/bin/app", 0x600, 1, {{"flush", "/src/log.c", 51, 0, NULL}}},
    {"/usr/bin/app", 0x700, 1, {{"read_cfg", "/src/cfg.c", 7, 0, NULL}}},
    {"/usr/bin/app", 0x800, 1, {{"worker", "/src/worker.c", 61, 0, NULL}}},
    {"/usr/bin/app", 0x900, 1, {{"wait_job", "/src/job.cc", 9, 0, NULL}}},
    {"/usr/bin/app", 0xa00, 1, {{"init_locks", "/src/init.c", 5, 0, NULL}}},
    {"/lib/x86_64-linux-gnu/libc.so.6", 0x50, 1, {{"strdup", "strdup.c", 42, 0, NULL}}},
    {"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
     0x60,
     1,
     {{"operator new(unsigned long)", "new_op.cc", 50, 0, NULL}}},
    {"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
     0x70,
     1,
     {{"std::condition_variable::wait(std::unique_lock<std::mutex>&)", "condition_variable.cc", 41,
       0, NULL}}},
};

static struct fake_resolver ip_fake;

struct ns_resolver ip_resolver(void)
{
    memset(&ip_fake, 0, sizeof(ip_fake));
    ip_fake.syms = ip_syms;
    ip_fake.nsyms = sizeof(ip_syms) / sizeof(ip_syms[0]);
    return fake_resolver(&ip_fake);
}

enum {
    EV_ALLOC_BYTES = 10,
    EV_ALLOC_COUNT,
    EV_LEAK,
    EV_PEAK,
    EV_IO_TIME = 20,
    EV_IO_BYTES,
    EV_IO_CALLS,
    EV_STDIO_TIME,
    EV_STDIO_BYTES,
    EV_STDIO_CALLS,
    EV_LOCK = 30,
    EV_COND,
};

#define MS 1000000

static void ip_events(struct ns_profile *p)
{
    const uint32_t agg = NSP_EVENT_AGGREGATE, snap = NSP_EVENT_AGGREGATE | NSP_EVENT_SNAPSHOT;
    tp_event_flags(p, EV_ALLOC_BYTES, "alloc_bytes", "bytes", 1, agg);
    tp_event_flags(p, EV_ALLOC_COUNT, "alloc_count", "count", 1, agg);
    tp_event_flags(p, EV_LEAK, "leak_bytes", "bytes", 1, snap);
    tp_event_flags(p, EV_PEAK, "peak_bytes", "bytes", 1, snap);
    tp_event_flags(p, EV_IO_TIME, "io_time", "ns", 1, agg);
    tp_event_flags(p, EV_IO_BYTES, "io_bytes", "bytes", 1, agg);
    tp_event_flags(p, EV_IO_CALLS, "io_calls", "count", 1, agg);
    tp_event_flags(p, EV_STDIO_TIME, "stdio_time", "ns", 1, agg);
    tp_event_flags(p, EV_STDIO_BYTES, "stdio_bytes", "bytes", 1, agg);
    tp_event_flags(p, EV_STDIO_CALLS, "stdio_calls", "count", 1, agg);
    tp_event_flags(p, EV_LOCK, "lock_wait", "ns", 1, agg);
    tp_event_flags(p, EV_COND, "cond_wait", "ns", 1, agg);
}

struct ip_stacks {
    uint32_t load, parse, fill, save, flush, read, lock, cond, init;
};

static void ip_make_stacks(struct ns_profile *p, struct ip_stacks *s)
{
    uint32_t app = tp_mapping(p, "/usr/bin/app", NSP_MAP_MAIN);
    uint32_t libc = tp_mapping(p, "/lib/x86_64-linux-gnu/libc.so.6", 0);
    uint32_t cxx = tp_mapping(p, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", 0);
    uint32_t ns = tp_mapping(p, "[nsprof]", NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    uint64_t malloc_ = tp_string(p, "malloc"), fwrite_ = tp_string(p, "fwrite");
    uint64_t write_ = tp_string(p, "write"), read_ = tp_string(p, "read");
    uint64_t lock_ = tp_string(p, "pthread_mutex_lock"), cond_ = tp_string(p, "pthread_cond_wait");
    s->load = tp_stack(p, 0, 3, (uint64_t[]){ns, malloc_, app, 0x200, app, 0x100});
    s->parse = tp_stack(p, 0, 4, (uint64_t[]){ns, malloc_, libc, 0x50, app, 0x300, app, 0x100});
    s->fill = tp_stack(p, 0, 4, (uint64_t[]){ns, malloc_, cxx, 0x60, app, 0x400, app, 0x100});
    s->save = tp_stack(p, 0, 3, (uint64_t[]){ns, fwrite_, app, 0x500, app, 0x100});
    s->flush = tp_stack(p, 0, 3, (uint64_t[]){ns, write_, app, 0x600, app, 0x100});
    s->read = tp_stack(p, 0, 3, (uint64_t[]){ns, read_, app, 0x700, app, 0x100});
    s->lock = tp_stack(p, 0, 3, (uint64_t[]){ns, lock_, app, 0x800, app, 0x100});
    s->cond = tp_stack(p, 0, 4, (uint64_t[]){ns, cond_, cxx, 0x70, app, 0x900, app, 0x100});
    s->init = tp_stack(p, 0, 3, (uint64_t[]){ns, lock_, app, 0xa00, app, 0x100});
}

static void ip_allocations(struct ns_profile *p, const struct ip_stacks *s)
{
    tp_sample(p, EV_ALLOC_BYTES, 1 * MS, 100, s->load, 3000);
    tp_sample(p, EV_ALLOC_COUNT, 1 * MS, 100, s->load, 3);
    tp_sample(p, EV_ALLOC_BYTES, 2 * MS, 100, s->load, 5000);
    tp_sample(p, EV_ALLOC_COUNT, 2 * MS, 100, s->load, 5);
    tp_sample(p, EV_ALLOC_BYTES, 1 * MS, 100, s->parse, 800);
    tp_sample(p, EV_ALLOC_COUNT, 1 * MS, 100, s->parse, 40);
    tp_sample(p, EV_ALLOC_BYTES, 2 * MS, 101, s->fill, 1600);
    tp_sample(p, EV_ALLOC_COUNT, 2 * MS, 101, s->fill, 2);
    /* Two snapshots of load's leaks: only the later one counts. */
    tp_sample(p, EV_LEAK, 9 * MS, 100, s->load, 300);
    tp_sample(p, EV_LEAK, 5 * MS, 100, s->load, 100);
    tp_sample(p, EV_LEAK, 9 * MS, 100, s->parse, 40);
    tp_sample(p, EV_PEAK, 3 * MS, 100, s->load, 5000);
    tp_sample(p, EV_PEAK, 3 * MS, 101, s->fill, 1600);
    int64_t heap[] = {0, 0, 1 * MS, 4096, 3 * MS, 6600, 8 * MS, 2000};
    tp_series(p, "heap_live_bytes", "bytes", 4, heap);
}

static void ip_io(struct ns_profile *p, const struct ip_stacks *s, const uint32_t *res)
{
    tp_site_sample(p, EV_STDIO_TIME, 4 * MS, 100, s->save, 1 * MS, res[0]);
    tp_site_sample(p, EV_STDIO_BYTES, 4 * MS, 100, s->save, 6400, res[0]);
    tp_site_sample(p, EV_STDIO_CALLS, 4 * MS, 100, s->save, 100, res[0]);
    tp_site_sample(p, EV_IO_TIME, 4 * MS, 100, s->save, 3 * MS, res[0]);
    tp_site_sample(p, EV_IO_BYTES, 4 * MS, 100, s->save, 8192, res[0]);
    tp_site_sample(p, EV_IO_CALLS, 4 * MS, 100, s->save, 2, res[0]);
    tp_site_sample(p, EV_IO_TIME, 5 * MS, 100, s->flush, 20 * MS, res[1]);
    tp_site_sample(p, EV_IO_BYTES, 5 * MS, 100, s->flush, 640, res[1]);
    tp_site_sample(p, EV_IO_CALLS, 5 * MS, 100, s->flush, 10, res[1]);
    tp_site_sample(p, EV_IO_TIME, 6 * MS, 100, s->read, 1 * MS, res[3]);
    tp_site_sample(p, EV_IO_BYTES, 6 * MS, 100, s->read, 100, res[3]);
    tp_site_sample(p, EV_IO_CALLS, 6 * MS, 100, s->read, 1, res[3]);
    uint64_t pages[14] = {[13] = 2}, small_a[7] = {[6] = 4}, small_b[7] = {[6] = 6};
    uint64_t stdio[8] = {[7] = 100};
    tp_histogram(p, EV_IO_BYTES, 100, s->save, res[0], 14, pages);
    tp_histogram(p, EV_IO_BYTES, 100, s->flush, res[1], 7, small_a);
    tp_histogram(p, EV_IO_BYTES, 100, s->flush, res[1], 7, small_b);
    tp_histogram(p, EV_STDIO_BYTES, 100, s->save, res[0], 8, stdio);
}

struct ns_profile *ip_profile(const char *path, uint64_t pid, const char *alloc_mode)
{
    struct ns_profile *p = tp_new(path, pid, "/usr/bin/app");
    struct ip_stacks s;
    ip_events(p);
    ip_make_stacks(p, &s);
    uint32_t res[5] = {
        tp_resource(p, NSP_RES_FILE, "/var/log/app.log", 0),
        tp_resource(p, NSP_RES_SOCKET, "tcp 10.0.0.5:5432", 0),
        tp_resource(p, NSP_RES_LOCK, "mutex", s.init),
        tp_resource(p, NSP_RES_FILE, "/tmp/evil\x1b[31m\xff.txt", 0),
        tp_resource(p, NSP_RES_LOCK, "cond", 0),
    };
    tp_thread(p, 100, "app");
    tp_thread(p, 101, "worker");
    ip_allocations(p, &s);
    ip_io(p, &s, res);
    tp_site_sample(p, EV_LOCK, 7 * MS, 101, s.lock, 30 * MS, res[2]);
    tp_site_sample(p, EV_COND, 7 * MS, 101, s.cond, 500 * MS, res[4]);
    tp_setting(p, "event", "none");
    tp_setting(p, "freq", "999");
    tp_setting(p, "alloc", alloc_mode);
    if (strcmp(alloc_mode, "sample") == 0)
        tp_setting(p, "alloc_interval", "512K");
    tp_setting(p, "io", "on");
    tp_setting(p, "locks", "on");
    tp_end(p, 0, 0, 10 * MS);
    return p;
}
