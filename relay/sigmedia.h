/*
 * The relay as the control plane's media plane: fills signaling's table of media
 * operations (signaling/media.h) with the relay's own API, so the daemon can hand one to
 * the other without either knowing the other's insides.
 */
#ifndef CQ_RELAY_SIGMEDIA_H
#define CQ_RELAY_SIGMEDIA_H

#include "relay/relay.h"
#include "signaling/media.h"

/* Operations on relay r (borrowed; it must outlive every use of the table). */
cq_media_ops_t cq_sigmedia_ops(struct cq_relay *r);

#endif
