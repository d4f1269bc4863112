// Keeps the release binary loadable on glibc 2.34 (RHEL 9) although it is linked on a newer
// glibc. Each function below is defined here, hidden, so every caller linked into the binary
// (the static Swift runtime, Foundation, the static libstdc++ of scripts/release.sh) binds to
// it instead of the newest versioned symbol of the build machine's glibc. Hidden matters: the
// binary is linked with -export-dynamic, and an exported definition would be what the dynamic
// loader hands back for the versioned lookup below, calling itself forever.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>

#define AIRGAP_HIDDEN __attribute__((visibility("hidden")))

// glibc 2.35 gave hypot and hypotf new symbol versions (same maths, errno set in more
// cases); the original ones are still exported by every glibc.
#if defined(__x86_64__)
__asm__(".symver airgap_hypot_compat, hypot@GLIBC_2.2.5");
__asm__(".symver airgap_hypotf_compat, hypotf@GLIBC_2.2.5");
#define AIRGAP_HAVE_HYPOT_COMPAT 1
#elif defined(__aarch64__)
__asm__(".symver airgap_hypot_compat, hypot@GLIBC_2.17");
__asm__(".symver airgap_hypotf_compat, hypotf@GLIBC_2.17");
#define AIRGAP_HAVE_HYPOT_COMPAT 1
#endif

#ifdef AIRGAP_HAVE_HYPOT_COMPAT
double airgap_hypot_compat(double x, double y);
float airgap_hypotf_compat(float x, float y);

AIRGAP_HIDDEN double hypot(double x, double y) {
    return airgap_hypot_compat(x, y);
}

AIRGAP_HIDDEN float hypotf(float x, float y) {
    return airgap_hypotf_compat(x, y);
}
#endif

// glibc 2.36 added arc4random, which the static libstdc++ (std::random_device) picks up.
// getrandom(2) (glibc 2.25) reads the same kernel source.
static void airgap_fill_random(void *buffer, size_t length) {
    unsigned char *cursor = (unsigned char *)buffer;
    while (length > 0) {
        ssize_t got = getrandom(cursor, length, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            __builtin_trap(); // as glibc's arc4random: running on without randomness is worse
        }
        cursor += got;
        length -= (size_t)got;
    }
}

AIRGAP_HIDDEN uint32_t arc4random(void) {
    uint32_t value;
    airgap_fill_random(&value, sizeof value);
    return value;
}

AIRGAP_HIDDEN void arc4random_buf(void *buffer, size_t length) {
    airgap_fill_random(buffer, length);
}

AIRGAP_HIDDEN uint32_t arc4random_uniform(uint32_t bound) {
    if (bound < 2) return 0;
    uint32_t floor = -bound % bound; // values below it would bias the result
    for (;;) {
        uint32_t value = arc4random();
        if (value >= floor) return value % bound;
    }
}
