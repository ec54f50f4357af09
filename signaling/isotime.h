/*
 * Times on the API: ISO 8601 in UTC, to the second, "2026-11-23T14:00:00Z" (RFC 3339's
 * profile, with the Z an operator's tools write). Offsets other than Z and fractions are
 * refused rather than guessed at: a session scheduled an hour off is worse than an error.
 */
#ifndef CQ_SIGNALING_ISOTIME_H
#define CQ_SIGNALING_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

/* Length of "YYYY-MM-DDTHH:MM:SSZ". */
#define CQ_ISOTIME_LEN 20

/* Parses text (NUL-terminated) into Unix seconds. Returns 0, or CQ_EMALFORMED when it is
 * not exactly that form or names a date that does not exist (2026-02-30, hour 24). Years
 * 1970..9999. */
int cq_isotime_parse(const char *text, int64_t *out_s);

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least CQ_ISOTIME_LEN + 1 bytes).
 * Returns 0, or CQ_EINVAL for a time outside years 1970..9999. */
int cq_isotime_format(int64_t t, char *buf, size_t cap);

#endif
