#include "signaling/fsutil.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "rtp/error.h"

int cq_fs_make_parents(const char *path) {
    char dir[4096];
    size_t n = strnlen(path, sizeof dir);
    if (n == sizeof dir)
        return CQ_EINVAL;
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return CQ_EIO;
        *p = '/';
    }
    return 0;
}
