/*
 * signer.h - the gateway's ES256 signing key behind one small API, so that the key can
 * later move to its own process (as relayd's ca.c holds relay keys) without callers
 * changing.
 *
 * A loaded signer is immutable; signer_jws() may be called from any thread concurrently
 * (OpenSSL 3 EVP_PKEY signing with a per-call EVP_MD_CTX).
 */
#ifndef EIDGATE_SIGNER_H
#define EIDGATE_SIGNER_H

#include <stddef.h>

struct signer;

/* Loads an EC P-256 private key (PEM). Refuses other key types and files that group or
 * others may read. EG_OK or EG_ERR_CONFIG (message on stderr). */
int signer_load(const char *path, struct signer **out);
void signer_free(struct signer *s);

/* Key id: the RFC 7638 JWK thumbprint (base64url SHA-256) of the public key. */
const char *signer_kid(const struct signer *s);

/* The public key as a JWK set (RFC 7517): {"keys":[{...}]}. Owned by the signer. */
const char *signer_jwks(const struct signer *s);

/* Signs payload_json (a JSON object text) as a compact JWS with header
 * {"alg":"ES256","typ":"JWT","kid":...}. *out is malloc'd; the caller frees it.
 * EG_OK or EG_ERR_CRYPTO. */
int signer_jws(const struct signer *s, const char *payload_json, char **out);

#endif
