#ifndef AIRGAP_CSYSTEM_SHIM_H
#define AIRGAP_CSYSTEM_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>

// Linux-only calls that Swift's Glibc module does not import.
static inline int airgap_start_writeback(int fd, long long offset, long long count) {
#ifdef SYNC_FILE_RANGE_WRITE
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)count;
    return 0;
#endif
}

static inline int airgap_advise_sequential(int fd) {
    return posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}
#endif
