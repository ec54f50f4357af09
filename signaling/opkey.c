#include "signaling/opkey.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rtp/error.h"
#include "signaling/fsutil.h"

static bool is_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static int load(int fd, char *key) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return CQ_EIO;
    if ((st.st_mode & 077) != 0)
        return CQ_EACCES;
    char buf[CQ_OPKEY_LEN + 3];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0)
        return CQ_EIO;
    size_t len = (size_t)n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len != CQ_OPKEY_LEN || !is_hex(buf, len))
        return CQ_EMALFORMED;
    memcpy(key, buf, CQ_OPKEY_LEN);
    key[CQ_OPKEY_LEN] = '\0';
    return 0;
}

static int create(const char *path, char *key) {
    int err = cq_fs_make_parents(path);
    if (err != 0)
        return err;
    unsigned char raw[CQ_OPKEY_LEN / 2];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return CQ_ECRYPTO;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        key[2 * i] = digits[raw[i] >> 4];
        key[2 * i + 1] = digits[raw[i] & 15];
    }
    key[CQ_OPKEY_LEN] = '\n';
    /* O_EXCL: two starts racing never both write; the loser reads the winner's key. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? CQ_EEXIST : CQ_EIO;
    bool ok = write(fd, key, CQ_OPKEY_LEN + 1) == CQ_OPKEY_LEN + 1 && fsync(fd) == 0;
    close(fd);
    key[CQ_OPKEY_LEN] = '\0';
    if (!ok) {
        unlink(path);
        return CQ_EIO;
    }
    return 0;
}

int cq_opkey_load_or_create(const char *path, char *key, size_t cap, bool *created) {
    if (cap < CQ_OPKEY_LEN + 1)
        return CQ_EINVAL;
    *created = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            int err = load(fd, key);
            close(fd);
            return err;
        }
        if (errno != ENOENT)
            return CQ_EIO;
        int err = create(path, key);
        if (err != CQ_EEXIST) {
            *created = err == 0;
            return err;
        }
    }
    return CQ_EIO;
}
