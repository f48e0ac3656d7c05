
#ifndef EIDGATE_AUTH_INTERNAL_H
#define EIDGATE_AUTH_INTERNAL_H

/* internal.h - shared between the files of auth/ only (and the auth unit tests). */

#include <stdint.h>

#include <openssl/x509.h>

#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/limits.h"

/*
 * Timing and tuning of the auth module. Its caps on input (EG_MAX_OCSP_CACHE,
 * EG_MAX_OCSP_RESPONSE, EG_MAX_CRL_FILES, EG_MAX_EXTRA_OIDS) are in limits.h.
 */
/* Clock skew tolerated between us and an OCSP responder (thisUpdate in the future). */
#define AUTH_OCSP_LEEWAY_S 300
/* After a responder gave no answer, logins go without asking it for this long instead of
 * each blocking an HTTP worker for ocsp_timeout (prefer: fall back; require: refuse). */
#define AUTH_OCSP_BACKOFF_MS 5000
/* Distinct responder URLs remembered as down (the Belgian PKI has one or two). */
#define AUTH_OCSP_DOWN_MAX 8
/* The CRL directory is looked at no more often than this on the verify path. */
#define AUTH_CRL_CHECK_MS 1000

/* Leaf CRL outcome of the path check, input to the revocation decision. */
enum crl_leaf {
	CRL_LEAF_NONE,          /* no [eid] crl configured */
	CRL_LEAF_GOOD,          /* a current CRL of the leaf's issuer does not list it */
	CRL_LEAF_MISSING,       /* CRLs configured, but none from the leaf's issuer */
};

struct crl_state;
struct ocsp_cache;

struct auth_ctx {
	STACK_OF(X509) *roots;          /* trust anchors, immutable after load */
	STACK_OF(X509) *intermediates;  /* configured, untrusted, immutable after load */
	struct crl_state *crl;          /* the X509_STORE (roots + CRLs), swapped on reload */
	struct ocsp_cache *ocsp;        /* internally locked */
	enum cfg_ocsp ocsp_mode;
	int64_t ocsp_timeout_ms, ocsp_cache_ms;
	int auth_level;
	int n_extra_oids;
	char extra_oids[EG_MAX_EXTRA_OIDS][64];
};

/* What the path check hands to the revocation step. */
struct path_result {
	X509 *issuer;                   /* the leaf's issuer from the verified chain (ref'd) */
	STACK_OF(X509) *chain;          /* the verified chain (ref'd), leaf first */
	enum crl_leaf crl;
};

/* Profile checks and identity extraction of a leaf; see auth.h for the order. extra is
 * a list of n additional accepted policy OIDs (test hierarchies), may be NULL. at: the
 * verification time for the leaf's dates (0 = now, < 0 = no date check). */
int auth_profile(X509 *x, const char (*extra)[64], int n, int64_t at,
    struct eg_identity *id);

/* Path validation of leaf with untrusted intermediates at time `at` (0 = now) against
 * store. purpose is an X509_PURPOSE_* (SSL_CLIENT for logins). On EG_OK, res (may be
 * NULL) receives the chain; free it with path_result_clear. */
int auth_path_verify(const struct auth_ctx *ctx, X509_STORE *store, X509 *leaf,
    STACK_OF(X509) *untrusted, int64_t at, int purpose, struct path_result *res,
    char *detail, size_t detaillen);
void path_result_clear(struct path_result *res);

/* crl.c: the store of roots and CRLs of [eid] crl, re-read when the directory changes.
 * crl_state_get returns a reference the caller must X509_STORE_free. */
int crl_state_new(const char *dir, STACK_OF(X509) *roots, struct crl_state **out);
void crl_state_free(struct crl_state *cs);
/* How many times the CRLs were reloaded (looking at the directory when due). */
uint64_t crl_state_generation(struct crl_state *cs);
/* When the CRLs in use were loaded (0: none configured) and their earliest nextUpdate
 * (0: none), seconds since the epoch. */
void crl_state_times(struct crl_state *cs, int64_t *loaded_s, int64_t *next_update_s);
X509_STORE *crl_state_get(struct crl_state *cs);
int crl_state_configured(const struct crl_state *cs);

/* ocsp_cache.c: verified OCSP answers per (issuer, serial). */
struct ocsp_answer {
	int status;                     /* V_OCSP_CERTSTATUS_GOOD/REVOKED/UNKNOWN */
	int reason;                     /* CRL reason when revoked, else -1 */
	int64_t next_update;            /* seconds since the epoch, 0 = none given */
	/* "ocsp:<hex SHA-256 of the DER response> <thisUpdate>": the evidence a decision
	 * keeps (eg_identity revocation) */
	char evidence[EG_MAX_REVOCATION];
};
int ocsp_cache_new(size_t max, struct ocsp_cache **out);
void ocsp_cache_free(struct ocsp_cache *c);
int ocsp_cache_get(struct ocsp_cache *c, const unsigned char key[32], struct ocsp_answer *a);
void ocsp_cache_put(struct ocsp_cache *c, const unsigned char key[32],
    const struct ocsp_answer *a, int64_t ttl_ms);
void ocsp_down_mark(struct ocsp_cache *c, const char *url);
/* Answers found in the cache and not, and responders that failed, since start. */
void ocsp_cache_stats(struct ocsp_cache *c, unsigned long *hits, unsigned long *misses,
    unsigned long *errors);
int64_t ocsp_down_left(struct ocsp_cache *c, const char *url);

/* ocsp.c: status of leaf from the responder in its AIA (or the cache). EG_OK (good),
 * EG_ERR_REVOKED, EG_ERR_OCSP_UNKNOWN, EG_ERR_OCSP_UNAVAILABLE or EG_ERR_OCSP_INVALID.
 * *cached is set when the answer came from the cache. */
int auth_ocsp_status(const struct auth_ctx *ctx, X509_STORE *store, X509 *leaf,
    const struct path_result *pr, int *cached, char *evidence, char *detail,
    size_t detaillen);

/* revocation.c: combines the CRL outcome and OCSP per [eid] ocsp; 
evidence (EG_MAX_REVOCATION bytes) receives what the verdict rested on (eg_identity
 * revocation): the OCSP answer's hash and time, or the CRL of pr's issuer in store. */
int auth_revocation(const struct auth_ctx *ctx, X509_STORE *store, X509 *leaf,
    const struct path_result *pr, int64_t at, char *evidence, char *detail,
    size_t detaillen);
/* A time as ISO 8601 UTC ("2026-12-02T10:00:00Z") into out (at least 21 bytes). */
void auth_asn1_time_iso(const ASN1_TIME *t, char *out, size_t outlen);

/* One-line "CN (serialNumber)" of a name for details and log lines. */
void auth_name_short(const X509_NAME *name, char *out, size_t outlen);

#endif
