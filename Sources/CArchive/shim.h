#ifndef AIRGAP_CARCHIVE_SHIM_H
#define AIRGAP_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

// AE_IF* are cast macros that Swift does not import.
static const unsigned int airgap_AE_IFREG = AE_IFREG;
static const unsigned int airgap_AE_IFDIR = AE_IFDIR;
static const unsigned int airgap_AE_IFLNK = AE_IFLNK;
#endif
