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

/* pseudonym.c: a pseudonym master key ([assertion] pseudonym_key_file and the
 * previous ones) and its id. */
#define KEYS_MAX_PSEUDONYM 4
struct pseudo_key {
	unsigned char master[64];
	size_t len;
	char id[KEYS_PSEUDONYM_KID + 1];
};

struct keyring {
	struct seal_key seal[KEYS_MAX_SESSION];         /* [0] seals, all open */
	size_t nseal;
	struct pseudo_key pseudo[KEYS_MAX_PSEUDONYM];   /* [0] in use, all resolve */
	size_t npseudo;
	struct sign_key sign[2 * KEYS_MAX_PUBLIC];
	size_t nsign;
};

/* Loads the keys cfg names. prev (may be NULL) is the ring being replaced: its signing
 * keys that no longer sign are kept as retired (they sign for requests that still name
 * them, until the next reload). EG_OK or EG_ERR_CONFIG (logged). */
int keyring_load(const struct eg_config *cfg, const struct keyring *prev, struct keyring **out);
void keyring_free(struct keyring *r);
void keyring_public(const struct keyring *r, struct keys_public *out);
/* Calls fn for each file of a comma-separated list (config.c made them absolute);
 * stops at the first result that is not EG_OK and returns it. */
int keyring_each_path(const char *list, int (*fn)(struct keyring *, const char *, void *),
    struct keyring *r, void *arg);
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

/* pseudonym.c: loads the pseudonym keys cfg names into r (none: EG_OK). EG_OK or
 * EG_ERR_CONFIG (logged). */
int keyring_load_pseudonyms(struct keyring *r, const struct eg_config *cfg);
/* The pseudonym of nrn for backend under the key key_id (NULL or "": the one in use);
 * kid receives that key's id. EG_OK, EG_ERR_NOT_FOUND (no such key), EG_ERR_PARSE,
 * EG_ERR_CRYPTO. */
int keyring_pseudonym(const struct keyring *r, const char *key_id, const char *backend,
    const char *nrn, char kid[KEYS_PSEUDONYM_KID + 1], char out[KEYS_PSEUDONYM_LEN + 1]);
int keys_pseudonym_of(const unsigned char *master, size_t mlen, const char *backend,
    const char *nrn, char out[KEYS_PSEUDONYM_LEN + 1]);

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
	KOP_PSEUDONYM,          /* key id (KEYS_PSEUDONYM_KID, "" for the one in use) NUL
	                         * backend NUL nrn -> key id (KEYS_PSEUDONYM_KID) ||
	                         * pseudonym (KEYS_PSEUDONYM_LEN) */
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
