/*
 * Files the daemon keeps under var/: small helpers shared by the operator key and the
 * database, so that the defaults work from a fresh checkout.
 */
#ifndef CQ_SIGNALING_FSUTIL_H
#define CQ_SIGNALING_FSUTIL_H

/* Creates the directories above path that are missing (like mkdir -p on its dirname),
 * owner-only (0700). Returns 0, CQ_EINVAL (path longer than 4 KiB) or CQ_EIO. */
int cq_fs_make_parents(const char *path);

#endif
