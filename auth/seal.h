/* seal.h - AES-256-GCM sealing shared by sessions and challenges; auth/ only. */
#ifndef EIDGATE_SEAL_H
#define EIDGATE_SEAL_H

#include <stddef.h>

/* What every sealed token starts with: the format's version. */
#define SEAL_PREFIX "v1."
#define SEAL_PREFIX_LEN 3

/* Seals plain under key with additional data aad: SEAL_PREFIX base64url(iv|ct|tag). */
int seal(const unsigned char key[32], const char *aad, const unsigned char *plain,
    size_t len, char **out);
/* Opens a sealed token; *plain is malloc'd (wipe with eg_freezero). EG_OK or EG_ERR_PARSE. */
int unseal(const unsigned char key[32], const char *aad, const char *token,
    unsigned char **plain, size_t *len);

struct session_key;
/* The derived key that seals login challenges (session.c owns the key layout). */
const unsigned char *session_key_challenge(const struct session_key *k);

#endif
