#ifndef AIRGAP_CCRYPTO_SHIM_H
#define AIRGAP_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
