#include "process.h"

// scripts/release.sh writes the version and commit into this section of the linked binary with
// `objcopy --update-section`, so stamping a release never changes a compiler flag (which would
// rebuild every module) and never writes a generated file into the source tree. The array is
// writable and has external linkage, so no compiler may fold its initial, empty value into the
// code that reads it. Its size is the contract with release.sh: keep the two in step.
__attribute__((section(".airgap_build_info"), used))
char airgap_build_info_bytes[256] = "";

const char *airgap_build_info(void) {
    return airgap_build_info_bytes;
}
