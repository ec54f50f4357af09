#include "relay/map.h"

#include <stdbool.h>
#include <stdlib.h>

#include "rtp/error.h"

/* The finaliser of splitmix64: every input bit affects every output bit, so sequential
 * SSRCs or ports spread over the table. */
static uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int alloc_slots(cq_map_t *m, size_t capacity) {
    cq_map_entry_t *slots = calloc(capacity, sizeof *slots);
    if (slots == NULL)
        return CQ_ENOMEM;
    m->slots = slots;
    m->mask = capacity - 1;
    m->count = 0;
    return 0;
}

int cq_map_init(cq_map_t *m, size_t expected) {
    size_t capacity = 8;
    while (capacity < expected * 2)
        capacity *= 2;
    return alloc_slots(m, capacity);
}

void cq_map_close(cq_map_t *m) {
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

void *cq_map_get(const cq_map_t *m, uint64_t key) {
    if (m->slots == NULL)
        return NULL;
    for (size_t i = mix(key) & m->mask;; i = (i + 1) & m->mask) {
        const cq_map_entry_t *e = &m->slots[i];
        if (e->value == NULL)
            return NULL;
        if (e->key == key)
            return e->value;
    }
}

static void insert_unique(cq_map_t *m, uint64_t key, void *value) {
    size_t i = mix(key) & m->mask;
    while (m->slots[i].value != NULL)
        i = (i + 1) & m->mask;
    m->slots[i] = (cq_map_entry_t){key, value};
    m->count++;
}

static int grow(cq_map_t *m) {
    cq_map_t bigger;
    if (alloc_slots(&bigger, (m->mask + 1) * 2) != 0)
        return CQ_ENOMEM;
    for (size_t i = 0; i <= m->mask; i++)
        if (m->slots[i].value != NULL)
            insert_unique(&bigger, m->slots[i].key, m->slots[i].value);
    free(m->slots);
    *m = bigger;
    return 0;
}

int cq_map_put(cq_map_t *m, uint64_t key, void *value) {
    if (value == NULL)
        return CQ_EINVAL;
    if (m->slots == NULL && cq_map_init(m, 4) != 0)
        return CQ_ENOMEM;
    if (cq_map_get(m, key) != NULL)
        return CQ_EEXIST;
    /* At most half full: probe sequences stay short even for a poor key distribution. */
    if ((m->count + 1) * 2 > m->mask + 1 && grow(m) != 0)
        return CQ_ENOMEM;
    insert_unique(m, key, value);
    return 0;
}

void *cq_map_remove(cq_map_t *m, uint64_t key) {
    if (m->slots == NULL)
        return NULL;
    size_t i = mix(key) & m->mask;
    while (m->slots[i].value != NULL && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    void *value = m->slots[i].value;
    if (value == NULL)
        return NULL;
    /* Backward-shift deletion: move later entries of the probe run into the hole when
     * their home slot does not lie cyclically in (hole, j]. */
    size_t hole = i;
    for (size_t j = (i + 1) & m->mask; m->slots[j].value != NULL; j = (j + 1) & m->mask) {
        size_t home = mix(m->slots[j].key) & m->mask;
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = (cq_map_entry_t){0, NULL};
    m->count--;
    return value;
}

uint64_t cq_map_hash_bytes(const void *data, size_t len) {
    /* FNV-1a 64 then the mixer: short keys (ufrags, 20-byte addresses) hash well. */
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return mix(h ^ len);
}
