#ifndef AIRGAP_CSYSTEM_SHIM_H
#define AIRGAP_CSYSTEM_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>

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

// The width of the terminal on fd (ioctl is variadic, so Swift cannot call it), or 0 when fd is
// not a terminal or does not say.
static inline int airgap_terminal_columns(int fd) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
    return size.ws_col;
}

// Swaps two paths in one step (renameat2 RENAME_EXCHANGE, Linux 3.15+): a directory is replaced
// with no moment at which neither the old nor the new one is there. -1 with errno EINVAL or
// ENOSYS where the file system or kernel cannot.
static inline int airgap_exchange_paths(const char *first, const char *second) {
#ifdef RENAME_EXCHANGE
    return renameat2(AT_FDCWD, first, AT_FDCWD, second, RENAME_EXCHANGE);
#else
    (void)first; (void)second;
    errno = ENOSYS;
    return -1;
#endif
}
#endif
