#ifndef AIRGAP_CCRYPTO_SHIM_H
#define AIRGAP_CCRYPTO_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/rsa.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#endif
