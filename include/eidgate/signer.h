/*
 * signer.h - identity assertions as compact JWS (ES256) with the assertion key, which
 * stays with the keys (keys.h): a signer knows the public keys (the JWK set it publishes,
 * the key id its signatures name) and has every signature made by keys_sign (keys/jws.c).
 * Also, for the key holders, the P-256 key files (core/keyfile.c).
 *
 * A signer is immutable (one per configuration snapshot); signer_jws() may be called
 * from any thread concurrently.
 */
#ifndef EIDGATE_SIGNER_H
#define EIDGATE_SIGNER_H

#include <stddef.h>

#include <openssl/types.h>

struct keys;
struct signer;

/* From the public keys of k: the assertion key that signs now (its kid) and every
 * assertion key published (the JWK set). k must outlive the signer. EG_OK, EG_ERR_KEYS,
 * EG_ERR_CONFIG (no signing key) or EG_ERR_NOMEM. */
int signer_new(struct keys *k, struct signer **out);
void signer_free(struct signer *s);

/* Key id: the RFC 7638 JWK thumbprint (base64url SHA-256) of the signing key. */
const char *signer_kid(const struct signer *s);

/* The published keys as a JWK set (RFC 7517): {"keys":[{...},...]}, the signing key
 * first. Owned by the signer. */
const char *signer_jwks(const struct signer *s);

/* Signs payload_json (a JSON object text) as a compact JWS with header
 * {"alg":"ES256","typ":"JWT","kid":...}. *out is malloc'd; the caller frees it.
 * EG_OK, EG_ERR_CRYPTO, or EG_ERR_KEYS when the key process is gone. */
int signer_jws(const struct signer *s, const char *payload_json, char **out);

/* ---- keyfile.c: the EC P-256 key files of the signer and of the audit checkpoints
 * (audit/checkpoint.c). Pure apart from reading the file; thread-safe. ---- */

/* Refuses a private key file that group or others may access in any way (as OpenSSH
 * and relayd's check_file_secrecy do).
 * @param path  the key file; stat(2)ed, not opened.
 * @param err   receives the reason ("<path>: ..."), NUL-terminated, on failure; may be
 *              NULL (errlen 0).
 * @return EG_OK, or EG_ERR_CONFIG when the file cannot be stat'ed or its mode is open. */
int eg_key_secrecy(const char *path, char *err, size_t errlen);

/* 1 when key is an EC key on P-256 (prime256v1), else 0. */
int eg_key_is_p256(EVP_PKEY *key);

/* Loads an EC P-256 key from a PEM file of at most EG_MAX_KEY_FILE bytes.
 * @param need_private  1: the file must hold a private key and pass eg_key_secrecy();
 *                      0: a public key (SubjectPublicKeyInfo) or a private key will do.
 * @param out   on EG_OK the key, owned by the caller (EVP_PKEY_free); NULL otherwise.
 * @param err   receives the reason ("<path>: ...") on failure.
 * The file's text is wiped before it is freed.
 * @return EG_OK, or EG_ERR_CONFIG (unreadable, open mode, not PEM, not EC P-256). */
int eg_key_load_p256(const char *path, int need_private, EVP_PKEY **out, char *err,
    size_t errlen);

/* ECDSA P-256 with SHA-256 over msg: the one place a key of this project signs (the JWS
 * signer above and the access log's checkpoints).
 * @param sig   receives the DER ECDSA-Sig-Value; *siglen is its room on entry (72 bytes
 *              always suffice) and its length on EG_OK.
 * @return EG_OK or EG_ERR_CRYPTO. Any thread (a per-call EVP_MD_CTX). */
int eg_p256_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char *sig,
    size_t *siglen);
/* The same over a SHA-256 digest someone else computed (GnuTLS hands the TLS key a
 * handshake's digest, server/tlskey.c). */
int eg_p256_sign_digest(EVP_PKEY *key, const unsigned char digest[32], unsigned char *sig,
    size_t *siglen);
/* 1 when sig (DER) is key's valid signature over msg, else 0. */
int eg_p256_verify(EVP_PKEY *key, const unsigned char *msg, size_t len,
    const unsigned char *sig, size_t siglen);

#endif
