/*
 * Opus for telecentre voices over weak links (DESIGN.md "Adaptivity"): 48 kHz mono,
 * VOIP application, 6-32 kbit/s, in-band FEC told the measured loss, DTX, and frames of
 * 20, 40 or 60 ms (longer frames spend less of a thin link on headers). The decoder
 * recovers a lost packet from the next packet's FEC when it has it, and conceals (PLC)
 * when it does not.
 *
 * Objects own their libopus state; one thread uses each.
 */
#ifndef CQ_CODEC_OPUS_CODEC_H
#define CQ_CODEC_OPUS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_OPUS_RATE       48000
#define CQ_OPUS_MIN_BPS    6000
#define CQ_OPUS_MAX_BPS    32000
#define CQ_OPUS_MAX_PACKET 1275 /* RFC 6716 §3.2.1: the largest one frame can be */

/* Samples in a frame of ms milliseconds. */
#define CQ_OPUS_SAMPLES(ms) ((size_t)(ms) * (CQ_OPUS_RATE / 1000))

struct cq_opus_enc;
struct cq_opus_dec;

typedef struct {
    unsigned bitrate_bps;  /* 6000..32000 */
    unsigned frame_ms;     /* 20, 40 or 60 */
    bool fec;              /* in-band FEC (LBRR) */
    bool dtx;              /* send almost nothing during silence */
    unsigned loss_percent; /* what the receivers report: sizes the FEC */
} cq_opus_enc_config_t;

/* Returns 0, CQ_EINVAL (a value out of range) or CQ_ENOMEM. */
int cq_opus_enc_create(struct cq_opus_enc **out, const cq_opus_enc_config_t *cfg);
void cq_opus_enc_destroy(struct cq_opus_enc *e);

/* Changes, effective from the next frame, none of them restarting the stream. Return 0 or
 * CQ_EINVAL. */
int cq_opus_enc_set_bitrate(struct cq_opus_enc *e, unsigned bps);
int cq_opus_enc_set_loss(struct cq_opus_enc *e, unsigned percent);
int cq_opus_enc_set_frame_ms(struct cq_opus_enc *e, unsigned ms);
unsigned cq_opus_enc_frame_ms(const struct cq_opus_enc *e);

/* Samples of delay the encoder adds (its look-ahead), for aligning in tests. */
unsigned cq_opus_enc_delay(const struct cq_opus_enc *e);

/*
 * Encodes one frame: CQ_OPUS_SAMPLES(frame_ms) samples of mono PCM into out (cap bytes,
 * CQ_OPUS_MAX_PACKET is always enough). Returns the packet's length; during DTX silence a
 * packet of 1 or 2 bytes that the sender may skip. CQ_EINVAL when samples does not match
 * the frame, CQ_EIO when libopus fails.
 */
int cq_opus_enc_encode(struct cq_opus_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
                       size_t cap);

/* Returns 0 or CQ_ENOMEM. */
int cq_opus_dec_create(struct cq_opus_dec **out);
void cq_opus_dec_destroy(struct cq_opus_dec *d);

/* Decodes one packet into pcm (room for max samples: a 60 ms packet is 2880). Returns the
 * samples decoded, or CQ_EMALFORMED for a packet libopus refuses. */
int cq_opus_dec_decode(struct cq_opus_dec *d, const uint8_t *pkt, size_t len, int16_t *pcm,
                       size_t max);

/*
 * A packet of `samples` samples was lost. With the next packet at hand (next != NULL),
 * its in-band FEC rebuilds the lost one; without it, or if it carries no FEC, the decoder
 * conceals. Returns the samples written (== samples), or an error. *from_fec (if not
 * NULL) says whether a packet able to carry FEC (SILK or hybrid) was used: libopus 1.3
 * does not say whether the LBRR was really there, and conceals when it is not.
 */
int cq_opus_dec_recover(struct cq_opus_dec *d, const uint8_t *next, size_t next_len, size_t samples,
                        int16_t *pcm, bool *from_fec);

#endif
