/*
 * timeline — see timeline.h.
 */
#include "timeline.h"

static void emit(struct ns_timeline *tl, enum ns_piece_kind kind, enum ns_off_reason reason,
                 uint64_t t, ns_piece_fn fn, void *ctx)
{
    /* Records of one CPU come in order, but the clock of two CPUs may disagree by a little:
     * a record older than what was handed out adds nothing rather than going back. */
    if (t <= tl->acct_ns)
        return;
    struct ns_piece p = {kind, reason, tl->acct_ns, t};
    tl->acct_ns = t;
    fn(ctx, &p);
}

void ns_tl_start(struct ns_timeline *tl, uint64_t start_ns, int created)
{
    *tl = (struct ns_timeline){.acct_ns = start_ns, .state = NS_TL_UNKNOWN};
    if (created) {
        tl->state = NS_TL_OFF;
        tl->reason = NS_OFF_PREEMPTED;
    }
}

void ns_tl_sample(struct ns_timeline *tl, uint64_t t, ns_piece_fn fn, void *ctx)
{
    /* A sample older than what was handed out (one a thread took itself, read after its
     * switch records because its region was attached late) says nothing about now: taking
     * it as proof the thread runs would turn its next wait into unknown time. */
    if (tl->state == NS_TL_ENDED || t <= tl->acct_ns)
        return;
    if (tl->state == NS_TL_OFF) {
        /* It runs, yet its switch-in is missing (lost): the time since it left is not
         * known to be off-CPU time. */
        emit(tl, NS_PIECE_OFF_CPU, NS_OFF_UNKNOWN, t, fn, ctx);
        tl->state = NS_TL_ON;
    }
    emit(tl, NS_PIECE_SAMPLE, NS_OFF_BLOCKED, t, fn, ctx);
}

void ns_tl_switch_out(struct ns_timeline *tl, uint64_t t, int preempted, ns_piece_fn fn, void *ctx)
{
    if (tl->state == NS_TL_ENDED)
        return;
    if (tl->state == NS_TL_OFF) /* two switch-outs: the switch-in between was lost */
        emit(tl, NS_PIECE_OFF_CPU, NS_OFF_UNKNOWN, t, fn, ctx);
    else
        emit(tl, NS_PIECE_ON_CPU, preempted ? NS_OFF_PREEMPTED : NS_OFF_BLOCKED, t, fn, ctx);
    tl->state = NS_TL_OFF;
    tl->reason = (uint8_t)(preempted ? NS_OFF_PREEMPTED : NS_OFF_BLOCKED);
    tl->gap = 0;
}

void ns_tl_switch_in(struct ns_timeline *tl, uint64_t t, ns_piece_fn fn, void *ctx)
{
    if (tl->state == NS_TL_ENDED)
        return;
    if (tl->state == NS_TL_OFF)
        emit(tl, NS_PIECE_OFF_CPU, tl->gap ? NS_OFF_UNKNOWN : (enum ns_off_reason)tl->reason, t, fn,
             ctx);
    else if (tl->state == NS_TL_ON)
        /* a switch-in while on CPU: its switch-out was lost, and with it where the time
         * since went */
        emit(tl, NS_PIECE_OFF_CPU, NS_OFF_UNKNOWN, t, fn, ctx);
    else
        emit(tl, NS_PIECE_ON_CPU, NS_OFF_BLOCKED, t, fn, ctx);
    tl->state = NS_TL_ON;
    tl->gap = 0;
}

void ns_tl_lost(struct ns_timeline *tl)
{
    tl->gap = 1;
}

void ns_tl_flush(struct ns_timeline *tl, uint64_t horizon_ns, ns_piece_fn fn, void *ctx)
{
    if (tl->state == NS_TL_OFF)
        emit(tl, NS_PIECE_OFF_CPU, tl->gap ? NS_OFF_UNKNOWN : (enum ns_off_reason)tl->reason,
             horizon_ns, fn, ctx);
    else if (tl->state != NS_TL_ENDED)
        emit(tl, NS_PIECE_ON_CPU, NS_OFF_BLOCKED, horizon_ns, fn, ctx);
}

void ns_tl_end(struct ns_timeline *tl, uint64_t t, ns_piece_fn fn, void *ctx)
{
    ns_tl_flush(tl, t, fn, ctx);
    tl->state = NS_TL_ENDED;
}
