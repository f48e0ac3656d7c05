/*
 * internal.h - shared by the files of keys/ only: the key ring held in memory (ring.c),
 * the AES-GCM seal (seal.c), the key process and its messages (proc.c, client.c).
 */
#ifndef EIDGATE_KEYS_INTERNAL_H
#define EIDGATE_KEYS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "eidgate/keys.h"
#include "eidgate/limits.h"

struct eg_config;

/* ---- ring.c: the keys themselves ----------------------------------------------------- */
struct seal_key {
	unsigned char session[32];      /* derived: seals sessions */
	unsigned char challenge[32];    /* derived: seals login challenges */
};

struct sign_key {
	struct keys_pub pub;
	EVP_PKEY *pkey;
	int has_private;
	char kid[48];                   /* RFC 7638 thumbprint: the JWS header's kid */
};

struct keyring {
	struct seal_key seal[KEYS_MAX_SESSION];         /* [0] seals, all open */
	size_t nseal;
	struct sign_key sign[2 * KEYS_MAX_PUBLIC];
	size_t nsign;
};

/* Loads the keys cfg names. prev (may be NULL) is the ring being replaced: its signing
 * keys that no longer sign are kept as retired (they sign for requests that still name
 * them, until the next reload). EG_OK or EG_ERR_CONFIG (logged). */
int keyring_load(const struct eg_config *cfg, const struct keyring *prev, struct keyring **out);
void keyring_free(struct keyring *r);
void keyring_public(const struct keyring *r, struct keys_public *out);
int keyring_seal(const struct keyring *r, enum keys_seal p, const void *plain, size_t len,
    char **token);
int keyring_unseal(const struct keyring *r, enum keys_seal p, const char *token,
    unsigned char **plain, size_t *len);
int keyring_sign(const struct keyring *r, enum keys_sign p, const unsigned char id[KEYS_ID_LEN],
    const void *msg, size_t len, unsigned char *sig, size_t *siglen);
/* RFC 7638 thumbprint (base64url SHA-256 of the canonical JWK) and the public point's
 * coordinates (base64url), of a P-256 key. 0 or -1. */
int keys_jwk_parts(EVP_PKEY *key, char x[64], char y[64], char kid[48]);
/* Public key and id from a DER SubjectPublicKeyInfo; NULL when it is not P-256. */
EVP_PKEY *keys_spki_key(const unsigned char *spki, size_t len);

/* ---- seal.c ------------------------------------------------------------------------ */
#define SEAL_PREFIX KEYS_TOKEN_PREFIX
#define SEAL_PREFIX_LEN KEYS_TOKEN_PREFIX_LEN
/* Seals plain under key with additional data aad: SEAL_PREFIX base64url(iv|ct|tag). */
int seal(const unsigned char key[32], const char *aad, const unsigned char *plain,
    size_t len, char **out);
/* Opens a sealed token; *plain is malloc'd (wipe with eg_freezero). EG_OK or EG_ERR_PARSE. */
int unseal(const unsigned char key[32], const char *aad, const char *token,
    unsigned char **plain, size_t *len);

/* ---- the key process's messages (proc.c answers, client.c asks) ------------------------
 * One request or answer per SOCK_SEQPACKET message: a header, then len bytes. Both ends
 * are the same executable, so the headers and struct keys_public go as they are. */
enum keys_op {
	KOP_PUBLIC = 1,         /* -> struct keys_public */
	KOP_SEAL,               /* plain -> token */
	KOP_UNSEAL,             /* token -> plain */
	KOP_SIGN,               /* id (KEYS_ID_LEN) | message -> DER signature */
	KOP_RELOAD,             /* read the configuration and the keys again */
};

struct keys_req {
	uint8_t op;
	uint8_t purpose;
	uint8_t pad[2];
	uint32_t len;
};

struct keys_rep {
	int32_t status;
	uint32_t len;
};

/* The largest message either way: a sealed session's token and its header, or the
 * public keys. */
#define KEYS_MAX_SEALED_MSG (2 * EG_MAX_SEALED + 64)
#define KEYS_MAX_MSG (sizeof(struct keys_public) > KEYS_MAX_SEALED_MSG ? \
	sizeof(struct keys_public) : KEYS_MAX_SEALED_MSG)

/* proc.c: the key process. Serves fds[0..n) until all of them are closed, then exits.
 * Never returns. */
void keyproc_main(const char *config_path, int *fds, int n) __attribute__((noreturn));

#endif
