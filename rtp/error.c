#include "rtp/error.h"

const char *cq_strerror(int err) {
    switch (err) {
#define CQ_ERRNO_MSG(name, value, msg)                                                             \
    case (value):                                                                                  \
        return msg;
        CQ_ERRNO_MAP(CQ_ERRNO_MSG)
#undef CQ_ERRNO_MSG
    default:
        return "unknown error";
    }
}

const char *cq_err_name(int err) {
    switch (err) {
#define CQ_ERRNO_NAME(name, value, msg)                                                            \
    case (value):                                                                                  \
        return "CQ_" #name;
        CQ_ERRNO_MAP(CQ_ERRNO_NAME)
#undef CQ_ERRNO_NAME
    default:
        return "CQ_EUNKNOWN";
    }
}
