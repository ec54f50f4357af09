/*
 * Lip sync for one remote telecentre: its audio and video reach the screen and the
 * speaker along different paths (a video frame waits for its packets and its decoder, an
 * audio frame for its jitter buffer), so the faster one is held back until a word and the
 * lips that say it arrive together. Each stream's RTCP sender reports tie its RTP time to
 * the sender's NTP clock (RFC 3550 §6.4.1); comparing when a frame of each is played with
 * when it was captured, on that one clock, gives the difference to make up. The sender's
 * clock never has to agree with ours: its offset is the same for both streams and cancels.
 *
 * A plain value; no allocation. Times: our monotonic clock in microseconds.
 */
#ifndef CQ_CLIENT_LIPSYNC_H
#define CQ_CLIENT_LIPSYNC_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { CQ_LIPSYNC_AUDIO = 0, CQ_LIPSYNC_VIDEO = 1 } cq_lipsync_kind_t;

/* Audio waits at most this long for video: speech comes first (DESIGN.md). */
#define CQ_LIPSYNC_MAX_AUDIO_HOLD_US 100000
/* Sound may lead the picture by this much without being held: nobody notices sound up to
 * 45 ms early (ITU-R BT.1359), and every millisecond sound waits is one more in a
 * conversation's turn-taking. Pictures paced out on a weak downlink come that much late. */
#define CQ_LIPSYNC_AUDIO_LEAD_US 45000

typedef struct {
    bool have_sr[2];
    uint64_t sr_ntp_us[2]; /* the sender's NTP time of the last SR, in microseconds */
    uint32_t sr_rtp[2];    /* the same instant in RTP time */
    uint32_t clock[2];     /* 48000 and 90000 */
    bool have_delay[2];
    double delay_us[2]; /* played minus captured, smoothed (sender clock + our offset) */
} cq_lipsync_t;

void cq_lipsync_init(cq_lipsync_t *l);

/* A sender report for one of the streams (ntp as on the wire: 32.32 seconds). */
void cq_lipsync_sr(cq_lipsync_t *l, cq_lipsync_kind_t kind, uint64_t ntp, uint32_t rtp_ts);

/* A frame of that stream with RTP time rtp_ts was played (or shown) at now_us. */
void cq_lipsync_played(cq_lipsync_t *l, cq_lipsync_kind_t kind, uint32_t rtp_ts, int64_t now_us);

/* How much longer to hold each stream than it is held now so both play in step: one of
 * them is always 0. Audio is held only for what it leads by beyond
 * CQ_LIPSYNC_AUDIO_LEAD_US, and at most CQ_LIPSYNC_MAX_AUDIO_HOLD_US. Both 0 until each
 * stream has a sender report and a played frame. */
void cq_lipsync_hold(const cq_lipsync_t *l, int64_t *audio_us, int64_t *video_us);

#endif
