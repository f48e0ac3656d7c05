/*
 * auth.h - who a user is: Belgian eID authentication certificates (PRODUCT.md §3).
 *
 * auth_ctx holds the trust anchors, configured intermediates and CRLs; it is built once
 * per configuration snapshot and then only read, so any number of threads may call
 * auth_verify() on one context concurrently.
 *
 * Checks, in this order, each with its own error code (err.h): the certificate parses;
 * it is an authentication certificate (no nonRepudiation, no "(Signature)" in the CN,
 * digitalSignature present, an eID authentication policy OID); its serialNumber is an
 * 11-digit national number with valid check digits; it chains to a configured root
 * through a configured or client-sent intermediate; it is within its validity; it is not
 * revoked (CRL from [eid] crl when configured).
 */
#ifndef EIDGATE_AUTH_H
#define EIDGATE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "eidgate/limits.h"

struct eg_config;

enum eg_card_kind { EG_CARD_UNKNOWN, EG_CARD_CITIZEN, EG_CARD_FOREIGNER };

struct eg_identity {
	char nrn[EG_NRN_LEN + 1];
	char name[EG_MAX_NAME];         /* CN without " (Authentication)" */
	char given[EG_MAX_NAME];
	char surname[EG_MAX_NAME];
	enum eg_card_kind kind;
	char key_type[32];              /* "RSA 2048", "EC P-384" */
	char policy_oid[64];
	char fingerprint[65];           /* hex SHA-256 of the leaf's DER */
	int64_t not_before, not_after;  /* seconds since the epoch */
};

struct auth_ctx;

/* Loads roots ([eid] trust_anchors, a directory of PEM files), intermediates and CRLs.
 * Errors: EG_ERR_CONFIG with a message on stderr naming the file. */
int auth_ctx_new(const struct eg_config *cfg, struct auth_ctx **out);
void auth_ctx_free(struct auth_ctx *ctx);

/*
 * Verifies a certificate chain as a login would. ders[0] is the leaf (DER), the rest is
 * what the client sent (used only as untrusted intermediates). On EG_OK, *id is filled.
 * On a refusal, *id holds whatever could be read (nrn may be empty) and the EG_ERR_*
 * code names the reason; detail (may be NULL) receives a short explanation.
 */
int auth_verify(const struct auth_ctx *ctx, const unsigned char *const *ders,
    const size_t *lens, size_t n, struct eg_identity *id, char *detail, size_t detaillen);

/* Reads what eidgate takes from a certificate (profile and national number checks, no
 * chain). Same codes as auth_verify for the profile part. */
int auth_inspect_der(const unsigned char *der, size_t len, struct eg_identity *id);

/* Checks an 11-digit national number (or BIS number). EG_OK, EG_ERR_BAD_SERIAL when it
 * is not 11 digits or its date part is impossible, EG_ERR_NRN_CHECK when the check
 * digits fail under both the pre-2000 and the 2000+ rule. */
int auth_nrn_check(const char *nrn);

/* Checks a login signature over msg by the key of the leaf certificate (DER). alg is
 * "RSA-SHA256" (PKCS#1 v1.5) or "ECDSA-SHA384" (DER ECDSA-Sig-Value) and must fit the key
 * type. EG_OK or EG_ERR_CRYPTO. */
int auth_verify_login_signature(const unsigned char *leaf_der, size_t leaf_len,
    const char *alg, const unsigned char *msg, size_t msglen, const unsigned char *sig,
    size_t siglen);

/* `eidgate cert inspect|verify ...`: argv[0] is "cert". Returns the exit code. */
int auth_cli(int argc, char **argv);

#endif
