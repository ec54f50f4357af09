/*
 * An open-addressing hash map from 64-bit keys to pointers, for the relay's lookups on the
 * forwarding path: 5-tuple -> participant, ICE ufrag -> participant, SSRC -> stream.
 *
 * Linear probing over a power-of-two table kept at most half full, so a lookup touches one
 * or two cache lines; deletion shifts the following entries back (no tombstones), so a
 * table that churns (participants joining and leaving all day) never slows down. Keys are
 * mixed before use, so callers may pass raw SSRCs or already-hashed values; where a key is
 * itself a hash (addresses, ufrags), the caller confirms the match on the object found.
 *
 * Memory: the table is allocated at _init and on growth, both on the control path (adding
 * a participant or a stream); lookups never allocate. One thread per map.
 */
#ifndef CQ_RELAY_MAP_H
#define CQ_RELAY_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t key;
    void *value; /* NULL marks an empty slot: values are never NULL */
} cq_map_entry_t;

typedef struct {
    cq_map_entry_t *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
} cq_map_t;

/* Prepares an empty map with room for at least `expected` entries without growing.
 * Returns 0 or CQ_ENOMEM. */
int cq_map_init(cq_map_t *m, size_t expected);

/* Frees the table; the values are the caller's. Safe on a zeroed or closed map. */
void cq_map_close(cq_map_t *m);

/* The value for key, or NULL. Never allocates. */
void *cq_map_get(const cq_map_t *m, uint64_t key);

/* Inserts key -> value (value not NULL). Returns 0, CQ_EEXIST (key present: nothing
 * changes), CQ_EINVAL (NULL value) or CQ_ENOMEM (growth failed: nothing changes). */
int cq_map_put(cq_map_t *m, uint64_t key, void *value);

/* Removes key and returns its value, or NULL if absent. */
void *cq_map_remove(cq_map_t *m, uint64_t key);

/* A 64-bit hash of bytes (for ufrags and addresses as keys). */
uint64_t cq_map_hash_bytes(const void *data, size_t len);

#endif
