/*
 * The operator key: what the operator's tools present as "Authorization: Bearer <key>".
 * Made on the first start (256 random bits, as 64 hex digits) into a file only its owner
 * can read, and read from there on every later start, so the operator keeps using the
 * same key across restarts.
 */
#ifndef CQ_SIGNALING_OPKEY_H
#define CQ_SIGNALING_OPKEY_H

#include <stdbool.h>
#include <stddef.h>

#define CQ_OPKEY_LEN 64 /* hex digits */

/*
 * Reads the key from path, or creates it there (directories included, mode 0700, the file
 * 0600) when there is none; *created says which. key receives CQ_OPKEY_LEN characters and
 * a NUL (cap at least CQ_OPKEY_LEN + 1). Returns 0, or:
 *   CQ_EACCES     the file can be read by others than its owner (the key is refused: it
 *                 may have leaked; the operator must fix the mode or remove the file);
 *   CQ_EMALFORMED the file does not hold a key of 64 hex digits (a newline after is fine);
 *   CQ_EIO        it cannot be read or written (errno says why).
 */
int cq_opkey_load_or_create(const char *path, char *key, size_t cap, bool *created);

#endif
