/* A thread's wall time cut into pieces from switch records and samples (agent/timeline.c):
 * every piece where it belongs, and together exactly the thread's life. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "timeline.h"

#define MS         1000000ull
#define MAX_PIECES 4096

struct log {
    struct ns_piece p[MAX_PIECES];
    size_t n;
};

static void record(void *ctx, const struct ns_piece *piece)
{
    struct log *l = ctx;
    cr_assert_lt(l->n, MAX_PIECES);
    cr_assert_lt(piece->start_ns, piece->end_ns, "an empty or backward piece");
    l->p[l->n++] = *piece;
}

static uint64_t total(const struct log *l, enum ns_piece_kind kind, int reason)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i].kind == kind && (reason < 0 || (int)l->p[i].reason == reason))
            sum += l->p[i].end_ns - l->p[i].start_ns;
    return sum;
}

/* Pieces follow one another without a hole or an overlap, from start to end. */
static void assert_covers(const struct log *l, uint64_t start, uint64_t end)
{
    uint64_t at = start;
    for (size_t i = 0; i < l->n; i++) {
        cr_assert_eq(l->p[i].start_ns, at, "piece %zu starts at %llu, expected %llu", i,
                     (unsigned long long)l->p[i].start_ns, (unsigned long long)at);
        at = l->p[i].end_ns;
    }
    cr_assert_eq(at, end, "the pieces end at %llu, the thread at %llu", (unsigned long long)at,
                 (unsigned long long)end);
}

/* Computes 5 ms (sampled every ms), sleeps 20 ms, three times over. */
Test(timeline, compute_and_sleep)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 0, 0);
    uint64_t t = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++) {
            t += MS;
            ns_tl_sample(&tl, t, record, &l);
        }
        t += MS / 2; /* a half millisecond after the last sample it blocks */
        ns_tl_switch_out(&tl, t, 0, record, &l);
        t += 20 * MS;
        ns_tl_switch_in(&tl, t, record, &l);
    }
    ns_tl_end(&tl, t, record, &l);
    assert_covers(&l, 0, t);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_BLOCKED), 60 * MS);
    cr_assert_eq(total(&l, NS_PIECE_SAMPLE, -1), 15 * MS);
    cr_assert_eq(total(&l, NS_PIECE_ON_CPU, -1), 3 * MS / 2, "the tails after the last samples");
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_PREEMPTED), 0);
}

/* A self-taken sample read late (older than the switch-out already handed out) must not make
 * the wait that follows unknown. */
Test(timeline, a_late_sample_changes_nothing)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 0, 0);
    ns_tl_switch_out(&tl, 10 * MS, 0, record, &l);
    ns_tl_sample(&tl, 5 * MS, record, &l); /* taken before the switch-out, read after it */
    ns_tl_switch_in(&tl, 300 * MS, record, &l);
    ns_tl_end(&tl, 301 * MS, record, &l);
    assert_covers(&l, 0, 301 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_BLOCKED), 290 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_UNKNOWN), 0);
}

Test(timeline, preempted_is_not_blocked)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 10 * MS, 0);
    ns_tl_sample(&tl, 11 * MS, record, &l);
    ns_tl_switch_out(&tl, 12 * MS, 1, record, &l);
    ns_tl_switch_in(&tl, 15 * MS, record, &l);
    ns_tl_switch_out(&tl, 16 * MS, 0, record, &l);
    ns_tl_switch_in(&tl, 20 * MS, record, &l);
    ns_tl_end(&tl, 21 * MS, record, &l);
    assert_covers(&l, 10 * MS, 21 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_PREEMPTED), 3 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_BLOCKED), 4 * MS);
}

/* A flush in the middle of a sleep hands out the sleep so far; the rest follows, with the
 * same reason, and a run killed after the flush would still add up. */
Test(timeline, flush_splits_an_open_interval)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 0, 0);
    ns_tl_sample(&tl, 1 * MS, record, &l);
    ns_tl_switch_out(&tl, 2 * MS, 0, record, &l);
    ns_tl_flush(&tl, 50 * MS, record, &l);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_BLOCKED), 48 * MS);
    ns_tl_flush(&tl, 50 * MS, record, &l); /* again at the same horizon: nothing more */
    cr_assert_eq(l.n, 3);
    ns_tl_switch_in(&tl, 80 * MS, record, &l);
    ns_tl_end(&tl, 81 * MS, record, &l);
    assert_covers(&l, 0, 81 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_BLOCKED), 78 * MS);
}

/* Nothing is paired across lost records: the interval they cut is unknown. */
Test(timeline, lost_records_make_the_interval_unknown)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 0, 0);
    ns_tl_switch_out(&tl, 1 * MS, 0, record, &l);
    ns_tl_lost(&tl);
    ns_tl_switch_in(&tl, 5 * MS, record, &l);
    /* a sample while off: its switch-in was lost */
    ns_tl_switch_out(&tl, 6 * MS, 1, record, &l);
    ns_tl_sample(&tl, 9 * MS, record, &l);
    /* two switch-outs in a row */
    ns_tl_switch_out(&tl, 10 * MS, 0, record, &l);
    ns_tl_switch_out(&tl, 12 * MS, 0, record, &l);
    ns_tl_switch_in(&tl, 13 * MS, record, &l);
    ns_tl_end(&tl, 14 * MS, record, &l);
    assert_covers(&l, 0, 14 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_UNKNOWN), 4 * MS + 3 * MS + 2 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_BLOCKED), 1 * MS);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_PREEMPTED), 0);
}

/* A new thread waits for a CPU until it first runs. */
Test(timeline, a_created_thread_is_runnable_until_it_runs)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 1000, 1);
    ns_tl_switch_in(&tl, 1400, record, &l);
    ns_tl_sample(&tl, 2000, record, &l);
    ns_tl_end(&tl, 2500, record, &l);
    assert_covers(&l, 1000, 2500);
    cr_assert_eq(total(&l, NS_PIECE_OFF_CPU, NS_OFF_PREEMPTED), 400);
    cr_assert_eq(total(&l, NS_PIECE_SAMPLE, -1), 600);
    cr_assert_eq(total(&l, NS_PIECE_ON_CPU, -1), 500);
}

/* A thread first seen switching out ran until then; nothing after its end counts. */
Test(timeline, first_seen_and_after_the_end)
{
    struct ns_timeline tl;
    struct log l = {.n = 0};
    ns_tl_start(&tl, 100, 0);
    ns_tl_switch_out(&tl, 300, 0, record, &l);
    ns_tl_switch_in(&tl, 700, record, &l);
    ns_tl_end(&tl, 1000, record, &l);
    ns_tl_sample(&tl, 1100, record, &l);
    ns_tl_switch_out(&tl, 1200, 0, record, &l);
    ns_tl_flush(&tl, 2000, record, &l);
    assert_covers(&l, 100, 1000);
    cr_assert_eq(total(&l, NS_PIECE_ON_CPU, -1), 200 + 300);
}

/* Any order of records, however garbled by losses: the pieces still cover the thread's life
 * exactly once, and a record older than what was handed out never goes back in time. */
Test(timeline, any_sequence_covers_the_life_exactly)
{
    srand(12345);
    for (int run = 0; run < 200; run++) {
        struct ns_timeline tl;
        struct log l = {.n = 0};
        uint64_t t = 1000 + (uint64_t)(rand() % 1000);
        uint64_t start = t;
        ns_tl_start(&tl, start, rand() % 2);
        for (int i = 0; i < 500; i++) {
            /* mostly forward, now and then a little backward (two CPUs' clocks) */
            uint64_t step = (uint64_t)(rand() % 5000);
            uint64_t at = rand() % 10 == 0 && t > start + 100 ? t - 100 : t + step;
            switch (rand() % 6) {
            case 0:
            case 1:
                ns_tl_sample(&tl, at, record, &l);
                break;
            case 2:
                ns_tl_switch_out(&tl, at, rand() % 2, record, &l);
                break;
            case 3:
                ns_tl_switch_in(&tl, at, record, &l);
                break;
            case 4:
                ns_tl_flush(&tl, at, record, &l);
                break;
            default:
                ns_tl_lost(&tl);
                break;
            }
            if (at > t)
                t = at;
        }
        t += 10;
        ns_tl_end(&tl, t, record, &l);
        assert_covers(&l, start, t);
    }
}
