/*
 * Active-speaker detection from the audio level each participant's audio packets carry
 * (RFC 6464: the level of the audio in -dBov, 0 loudest to 127 silence, and a voice flag
 * from the sender's voice activity detector).
 *
 * The relay uses it to tell a session who is speaking, so clients can show that person
 * large; later, to give that person's video the bandwidth first. Telecentres are noisy
 * places (generators, fans, rain on metal roofs), so:
 * - only packets the sender marked as voice count, and only the part of their level above
 *   a noise floor of -50 dBov (speech at a microphone is around -20 to -40);
 * - each participant's activity is smoothed (a first-order filter with a 300 ms time
 *   constant), since speech comes in syllables; a gap in its packets longer than 120 ms
 *   (DTX, a dropped link) counts as silence and decays it the same way;
 * - a first speaker is named after 300 ms of activity above a threshold; a different
 *   participant takes over only when clearly more active (a margin) for a whole second,
 *   and never sooner than 1.5 s after the last change, so two people talking over each
 *   other do not make the indicator flap; silence keeps the last speaker.
 *
 * Caller-owned value with a fixed table; nothing allocates, time comes in as an argument.
 */
#ifndef CQ_RELAY_SPEAKER_H
#define CQ_RELAY_SPEAKER_H

#include <stdbool.h>
#include <stdint.h>

/* Participants a detector follows; audio from more is not counted (a session of more
 * would use last-N, which ranks with the same scores). */
#define CQ_SPEAKER_MAX 64

typedef struct {
    uint32_t id;
    bool used;
    float score;            /* smoothed activity, 0..50 */
    uint64_t last_us;       /* when score was last brought up to date */
    uint64_t lead_since_us; /* since when it has led the current speaker by the margin; 0 */
} cq_speaker_entry_t;

typedef struct {
    cq_speaker_entry_t e[CQ_SPEAKER_MAX];
    uint32_t current; /* participant id, 0 for nobody */
    uint64_t changed_us;
} cq_speaker_t;

void cq_speaker_init(cq_speaker_t *s);

/* Starts following participant id (not 0). Returns 0, CQ_EEXIST or CQ_ENOBUFS (full). */
int cq_speaker_add(cq_speaker_t *s, uint32_t id);

/* Stops following id; if it was the speaker, nobody is until someone speaks. */
void cq_speaker_remove(cq_speaker_t *s, uint32_t id);

/* One audio packet's level (0..127, -dBov) and voice flag, from participant id. */
void cq_speaker_feed(cq_speaker_t *s, uint32_t id, uint8_t level, bool voice, uint64_t now_us);

/* Decides who speaks at now_us. Returns true when that changed, with the new speaker's id
 * (0: nobody, after the speaker was removed) in *speaker. */
bool cq_speaker_evaluate(cq_speaker_t *s, uint64_t now_us, uint32_t *speaker);

#endif
