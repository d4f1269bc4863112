#ifndef AIRGAP_CSYSTEM_SHIM_H
#define AIRGAP_CSYSTEM_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// Linux-only calls that Swift's Glibc module does not import.
static inline int airgap_start_writeback(int fd, long long offset, long long count) {
#ifdef SYNC_FILE_RANGE_WRITE
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)count;
    return 0;
#endif
}

// Copies inside the kernel (a reflink where the file system shares extents, a page-cache copy
// otherwise): no bytes pass through the caller. -1 with errno ENOSYS/EXDEV/EINVAL where it cannot.
static inline long long airgap_copy_range(int from, long long from_offset, int to, long long to_offset, long long count) {
#ifdef SYS_copy_file_range
    // Through syscall(2): the module's libc headers are not built with _GNU_SOURCE.
    long long in = from_offset, out = to_offset;
    return syscall(SYS_copy_file_range, from, &in, to, &out, (size_t)count, 0u);
#else
    (void)from; (void)from_offset; (void)to; (void)to_offset; (void)count;
    errno = ENOSYS;
    return -1;
#endif
}

// Reserves the blocks of [0, length) (unwritten extents: nothing is written) and sets the size.
// -1 with errno EOPNOTSUPP where the file system cannot; then the caller sets the size alone.
static inline int airgap_allocate(int fd, long long length) {
#ifdef SYS_fallocate
    return (int)syscall(SYS_fallocate, fd, 0, 0LL, length);
#else
    (void)fd; (void)length;
    errno = EOPNOTSUPP;
    return -1;
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
