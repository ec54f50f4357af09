/*
 * chasqui error codes.
 *
 * Every fallible function in chasqui returns int: 0 (or a byte count) on success and a
 * negative CQ_E* code on failure. Where a POSIX errno means the same thing, the code is
 * its negation, exactly as libuv does it, so UV_EINVAL == CQ_EINVAL and libuv's codes pass
 * through unchanged. chasqui's own conditions live in a range libuv never uses.
 *
 * CQ_EAGAIN is an outcome ("not now, try later"), not a failure.
 */
#ifndef CQ_RTP_ERROR_H
#define CQ_RTP_ERROR_H

#include <errno.h>

/* X(name, value, message) */
#define CQ_ERRNO_MAP(X)                                                                            \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                                         \
    X(EINVAL, -EINVAL, "invalid argument")                                                         \
    X(ENOMEM, -ENOMEM, "out of memory")                                                            \
    X(ENOBUFS, -ENOBUFS, "output buffer too small")                                                \
    X(ENOENT, -ENOENT, "no such entry")                                                            \
    X(EEXIST, -EEXIST, "entry already exists")                                                     \
    X(ENOTSUP, -ENOTSUP, "operation not supported")                                                \
    X(EIO, -EIO, "input/output or storage failure")                                                \
    X(EACCES, -EACCES, "permission denied")                                                        \
    X(ENOSPC, -ENOSPC, "no space left on the device")                                              \
    X(ETRUNCATED, -6001, "input is shorter than its format requires")                              \
    X(EMALFORMED, -6002, "input breaks the rules of its format")                                   \
    X(EVERSION, -6003, "unsupported protocol version")                                             \
    X(EAUTH, -6004, "authentication failed")                                                       \
    X(EREPLAY, -6005, "replayed or too old packet")                                                \
    X(ECRYPTO, -6006, "cryptographic library failure")                                             \
    X(EUNSUPPORTED, -6007, "valid but unsupported by chasqui")                                     \
    X(EBADSTATE, -6008, "operation not allowed in the current state")                              \
    X(EEXPIRED, -6009, "expired")                                                                  \
    X(ERESOLVE, -6010, "host name could not be resolved")

enum cq_errno {
#define CQ_ERRNO_ENUM(name, value, msg) CQ_##name = (value),
    CQ_ERRNO_MAP(CQ_ERRNO_ENUM)
#undef CQ_ERRNO_ENUM
};

/* Returns a static, human-readable message for a CQ_E* code; never NULL. Codes that are
 * not in the table (e.g. other libuv codes) read "unknown error". */
const char *cq_strerror(int err);

/* Returns the symbolic name ("CQ_EAUTH") of a code, for logs and counters; never NULL. */
const char *cq_err_name(int err);

#endif
