#ifndef AIRGAP_PROCESS_H
#define AIRGAP_PROCESS_H

// What the one portable binary needs from its own process image: the build stamp, the
// arguments without /proc, and (glibc_compat.c, nothing to call) a glibc floor of 2.34.

/// The build description scripts/release.sh stamps into the binary after linking (see
/// build_info.c). A NUL-terminated string; empty in a development build.
const char *airgap_build_info(void);

/// The process's argc and argv as the C runtime passed them (see arguments.c); 0 and NULL if
/// the C runtime did not pass them.
int airgap_argc(void);
char **airgap_argv(void);

#endif
