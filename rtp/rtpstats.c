#include "rtp/rtpstats.h"

#include <stddef.h>
#include <string.h>

#define SEQ_MOD      65536u
#define MAX_DROPOUT  3000u
#define MAX_MISORDER 100u
#define NO_BAD_SEQ   (SEQ_MOD + 1)

void cq_rtp_recv_stats_init(cq_rtp_recv_stats_t *s, uint32_t clock_rate) {
    memset(s, 0, sizeof *s);
    s->clock_rate = clock_rate;
    s->bad_seq = NO_BAD_SEQ;
}

/* A.1 init_seq: the sequence (re)starts at seq. Counters of the previous run are kept. */
static void restart(cq_rtp_recv_stats_t *s, uint16_t seq) {
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = NO_BAD_SEQ;
    s->cycles = 0;
    s->received = 0;
    s->expected_prior = 0;
    s->received_prior = 0;
    s->have_transit = false;
}

/* A.8: J += (|D| - J) / 16, kept scaled by 16 so the division is exact enough. */
static void update_jitter(cq_rtp_recv_stats_t *s, uint32_t rtp_ts, uint64_t arrival_us) {
    /* Arrival on the stream's clock; the unknown offset cancels in the difference. */
    int64_t arrival = (int64_t)((arrival_us * s->clock_rate) / 1000000u);
    int64_t transit = arrival - (int64_t)rtp_ts;
    if (s->have_transit && rtp_ts != s->last_ts) {
        int64_t d = transit - s->last_transit;
        /* A timestamp wrap shows as a step of 2^32: take the difference modulo 2^32. */
        d = (int64_t)(int32_t)(uint32_t)d;
        uint64_t abs_d = (uint64_t)(d < 0 ? -d : d);
        if (abs_d > UINT32_MAX / 32)
            abs_d = UINT32_MAX / 32; /* a clock jump, not jitter: keep the value sane */
        s->jitter_q4 += (uint32_t)abs_d - ((s->jitter_q4 + 8) >> 4);
    }
    if (!s->have_transit || rtp_ts != s->last_ts) {
        s->last_transit = transit;
        s->last_ts = rtp_ts;
        s->have_transit = true;
    }
}

cq_rtp_pkt_class_t cq_rtp_recv_stats_update(cq_rtp_recv_stats_t *s, uint16_t seq, uint32_t rtp_ts,
                                            uint64_t arrival_us, size_t len, bool retransmission) {
    cq_rtp_pkt_class_t cls = CQ_RTP_PKT_NEW;
    if (!s->started) {
        s->started = true;
        restart(s, seq);
    } else {
        uint16_t udelta = (uint16_t)(seq - s->max_seq);
        if (udelta == 0) {
            cls = CQ_RTP_PKT_DUPLICATE;
        } else if (udelta < MAX_DROPOUT) {
            if (seq < s->max_seq)
                s->cycles += SEQ_MOD; /* wrapped */
            s->max_seq = seq;
        } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
            if (seq != s->bad_seq) {
                s->bad_seq = (uint32_t)((seq + 1) & (SEQ_MOD - 1));
                return CQ_RTP_PKT_JUMP;
            }
            restart(s, seq);
            cls = CQ_RTP_PKT_RESTART;
        } else {
            cls = CQ_RTP_PKT_LATE;
        }
    }
    s->received++;
    s->bytes += len;
    if (!retransmission && cls != CQ_RTP_PKT_LATE && cls != CQ_RTP_PKT_DUPLICATE)
        update_jitter(s, rtp_ts, arrival_us);
    return cls;
}

void cq_rtp_recv_stats_on_sr(cq_rtp_recv_stats_t *s, uint64_t ntp, uint64_t arrival_us) {
    s->last_sr = cq_rtcp_ntp_short(ntp);
    s->last_sr_arrival = arrival_us;
}

uint32_t cq_rtp_recv_stats_ext_highest(const cq_rtp_recv_stats_t *s) {
    return s->cycles + s->max_seq;
}

static uint64_t expected(const cq_rtp_recv_stats_t *s) {
    return s->started ? (uint64_t)cq_rtp_recv_stats_ext_highest(s) - s->base_seq + 1 : 0;
}

int64_t cq_rtp_recv_stats_lost(const cq_rtp_recv_stats_t *s) {
    return (int64_t)expected(s) - (int64_t)s->received;
}

void cq_rtp_recv_stats_report(cq_rtp_recv_stats_t *s, uint32_t ssrc, uint64_t now_us,
                              cq_rtcp_report_t *out) {
    memset(out, 0, sizeof *out);
    out->ssrc = ssrc;
    if (!s->started)
        return;
    uint64_t exp = expected(s);
    int64_t expected_interval = (int64_t)(exp - s->expected_prior);
    int64_t received_interval = (int64_t)(s->received - s->received_prior);
    int64_t lost_interval = expected_interval - received_interval;
    s->expected_prior = exp;
    s->received_prior = s->received;
    /* A.3: the fraction is 0 when nothing was lost or more arrived than expected. */
    if (expected_interval > 0 && lost_interval > 0)
        out->fraction_lost = (uint8_t)((lost_interval << 8) / expected_interval);
    int64_t lost = cq_rtp_recv_stats_lost(s);
    /* The wire field is signed 24 bits; the writer clamps, but say so here too. */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    out->cumulative_lost = (int32_t)lost;
    out->highest_seq = cq_rtp_recv_stats_ext_highest(s);
    out->jitter = s->jitter_q4 >> 4;
    if (s->last_sr != 0) {
        out->lsr = s->last_sr;
        out->dlsr = cq_rtcp_dlsr_from_us(now_us - s->last_sr_arrival);
    }
}
