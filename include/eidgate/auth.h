/*
 * auth.h - who a user is: Belgian eID authentication certificates (PRODUCT.md §3).
 *
 * auth_ctx holds the trust anchors, configured intermediates, the CRL store and the OCSP
 * cache. It is built once per configuration snapshot; after that, any number of threads
 * may call auth_verify()/auth_verify_at() on one context concurrently (see "Threads").
 *
 * Checks, in this order, each with its own error code (err.h): the certificate parses;
 * it is not a signature certificate (no nonRepudiation, no "(Signature)" in the CN) and
 * has digitalSignature (and clientAuth when it has an extended key usage); the leaf is
 * within its dates (reported before the rest: it is what a card holder can act on); its
 * serialNumber is an 11-digit national number with valid check digits; it carries an eID
 * authentication policy OID (PRODUCT §3; the "eID TEST EC" specimens carry the production
 * citizen OID and pass as they are); then path validation, where every
 * problem OpenSSL finds is collected and the verdict is the first of: rogue-root /
 * rogue-ca / unknown-root / broken-chain, not-yet-valid / expired, weak-crypto, revoked
 * (CRL), crl-expired, crl-invalid; then revocation per [eid] ocsp (below).
 *
 * Security level: verification runs at OpenSSL auth_level 1 (AUTH_DEFAULT_LEVEL): keys of
 * at least 80 bits of security (RSA >= 1024, so the older RSA-1024 cards of PRODUCT §3
 * pass), and no SHA-1 certificate signatures ("weak-crypto"). Every Belgian certificate
 * signed with SHA-1 (Root CA, CA2, CA3 hierarchies) has expired by now; old cards are
 * reported as "expired" because expiry ranks before weak-crypto. Level 2 would also refuse
 * RSA-1024 keys, which the product contract still names. A caller may lower the level
 * (auth_options) only to examine old certificates with a time override.
 *
 * Revocation:
 * - CRLs: every file in [eid] crl (PEM, several CRLs per file allowed) is loaded into the
 *   X509_STORE with the roots. On the verify path the directory listing (names, sizes,
 *   mtimes, inodes) is compared at most once per second; on change a new store is built
 *   off to the side and swapped in under a mutex; readers hold a reference
 *   (X509_STORE_up_ref), so a verification in flight keeps the store it started with. A
 *   directory that cannot be read completely keeps the previous store (logged, retried).
 *   A CRL of the leaf's issuer that lists it: "revoked". An expired CRL anywhere in the
 *   chain: "crl-expired", always, whatever OCSP says. Root CAs' CRLs (ARLs) are checked
 *   when present and not required.
 * - A leaf whose issuer has no CRL while [eid] crl is set: with ocsp = off, refused
 *   ("crl-missing": the operator chose CRLs as the only source and this CA is not
 *   covered); with prefer or require OCSP decides, and under prefer a failed responder
 *   then means "accepted, logged as unchecked".
 * - OCSP (prefer | require): to the first http:// OCSP URL of the leaf's AIA, with a
 *   nonce, OSSL_HTTP_transfer with [eid] ocsp_timeout (rounded up to whole seconds, the
 *   resolution of OpenSSL's HTTP client). The response must be successful, carry our nonce,
 *   verify (OCSP_basic_verify against the roots, no CRL flag), name this certificate and
 *   be within thisUpdate/nextUpdate (300 s leeway). good: accepted; revoked: "revoked";
 *   unknown: "ocsp-unknown" (a genuine card is always known to its CA's responder).
 *   Verified answers are cached per (issuer, serial) until min(nextUpdate, now +
 *   ocsp_cache); ocsp_cache = 0 disables the cache. No answer (network, timeout, HTTP
 *   error, tryLater): prefer falls back to the CRL result (or to no check) with a warning
 *   on the log; require refuses with "ocsp-unavailable". A response that fails
 *   verification (signature, nonce, validity): prefer falls back likewise, require
 *   refuses with "ocsp-invalid-response". A responder that gave no answer is not asked
 *   again for 5 s (AUTH_OCSP_BACKOFF_MS): those logins fall back (prefer) or are refused
 *   (require) at once instead of each holding an HTTP worker for ocsp_timeout.
 * - auth_verify_at() with a time override verifies path, profile and CRLs as of that time
 *   and never asks OCSP (a responder answers for the present only).
 *
 * Threads: auth_ctx_new/auth_ctx_free are not thread-safe against other calls on the same
 * context (the gateway frees a context only when its snapshot's last reference goes).
 * auth_verify/auth_verify_at may run concurrently on one context: the roots and
 * intermediates are immutable; the CRL store pointer is swapped under a mutex and
 * reference-counted; the OCSP cache has its own mutex, held only for lookups and inserts,
 * never across network I/O. auth_verify may block its thread for up to ocsp_timeout on a
 * cache miss (two parallel misses for one certificate both ask the responder).
 * auth_inspect_der, auth_nrn_check and auth_verify_login_signature are pure.
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
	/* What the revocation check rested on, kept with each decision so it can be
	 * replayed (record.h): "ocsp:<hex SHA-256 of the DER response> <thisUpdate>",
	 * "crl:<issuer CN>#<crlNumber> <thisUpdate>", or "none" (no check configured, or a
	 * time override); thisUpdate as ISO 8601 UTC. "" before a chain was verified. */
	char revocation[EG_MAX_REVOCATION];
};

struct auth_ctx;

/* The OpenSSL security level auth_verify uses; see the top of this file for why. */
#define AUTH_DEFAULT_LEVEL 1

/* Options beyond the configuration file. */
struct auth_options {
	int auth_level;                 /* OpenSSL security level, 0..5 */
	/* NULL-terminated list of extra certificate policy OIDs accepted as authentication
	 * policies, for test hierarchies whose leaves carry test OIDs (the old "eID test
	 * Root CA" cards use 2.16.56.1.40.40.40.1). The card kind of such a leaf comes from
	 * its issuer's CN ("Foreigner" -> foreigner, else citizen). NULL: none. Production
	 * gateways leave this empty. At most 16 entries. */
	const char *const *extra_policy_oids;
};

/* Fills *o with the defaults: AUTH_DEFAULT_LEVEL, no extra OIDs. */
void auth_options_default(struct auth_options *o);

/* Loads roots ([eid] trust_anchors, a directory of PEM files), intermediates and CRLs.
 * Errors: EG_ERR_CONFIG with a message on stderr naming the file. auth_ctx_new uses
 * auth_options_default. */
int auth_ctx_new(const struct eg_config *cfg, struct auth_ctx **out);
int auth_ctx_new_opts(const struct eg_config *cfg, const struct auth_options *opt,
    struct auth_ctx **out);
void auth_ctx_free(struct auth_ctx *ctx);

/*
 * Verifies a certificate chain as a login would. ders[0] is the leaf (DER), the rest is
 * what the client sent (used only as untrusted intermediates). On EG_OK, *id is filled.
 * On a refusal, *id holds whatever could be read (nrn may be empty) and the EG_ERR_*
 * code names the reason; detail (may be NULL) receives a short explanation. On EG_OK,
 * detail says how revocation was checked ("OCSP good (cached)", "CRL", ...).
 */
int auth_verify(const struct auth_ctx *ctx, const unsigned char *const *ders,
    const size_t *lens, size_t n, struct eg_identity *id, char *detail, size_t detaillen);

/* auth_verify as of time `at` (seconds since the epoch; 0 = now). With a time given,
 * OCSP is not consulted. For `eidgate cert verify --at` and tests. */
int auth_verify_at(const struct auth_ctx *ctx, const unsigned char *const *ders,
    const size_t *lens, size_t n, int64_t at, struct eg_identity *id, char *detail,
    size_t detaillen);

/* A number that changes whenever the revocation data a verdict was made under may have
 * changed: +1 each time the CRL directory was reloaded (it is looked at, at most once a
 * second, by this call too). A cached verdict made under another number is stale. Any
 * thread. */
uint64_t auth_revocation_generation(const struct auth_ctx *ctx);

/* For /eidgate/metrics: OCSP answers from the cache and not, responders that failed;
 * when the CRLs in use were loaded (0: none configured) and their earliest nextUpdate
 * (0: none), seconds since the epoch. Any thread. */
struct auth_stats {
	unsigned long ocsp_hits, ocsp_misses, ocsp_errors;
	int64_t crl_loaded, crl_next_update;
};
void auth_stats(const struct auth_ctx *ctx, struct auth_stats *st);

/* Reads what eidgate takes from a certificate (profile and national number checks, no
 * chain). Same codes as auth_verify for the profile part. policy_oid is filled with the
 * first policy OID even when it is not an eID authentication policy. */
int auth_inspect_der(const unsigned char *der, size_t len, struct eg_identity *id);

/* Checks an 11-digit national number (or BIS number). EG_OK, EG_ERR_BAD_SERIAL when it
 * is not 11 digits or its date part is impossible, EG_ERR_NRN_CHECK when the check
 * digits fail under both the pre-2000 and the 2000+ rule. */
int auth_nrn_check(const char *nrn);

/*
 * The PKCS#11 login's wire format, shared by the gateway and eidgate-login: the signed
 * message is EG_LOGIN_MSG_PREFIX "<origin>\n<challenge>" (the prefix versions the format
 * so that a signature for it can never be mistaken for one of any other protocol), and
 * the signature algorithm is named by one of the EG_LOGIN_ALG_ strings.
 */
#define EG_LOGIN_MSG_PREFIX "eidgate-login-v1\n"
#define EG_LOGIN_ALG_RSA "RSA-SHA256"           /* PKCS#1 v1.5 */
#define EG_LOGIN_ALG_EC "ECDSA-SHA384"          /* DER ECDSA-Sig-Value */

/* Checks a login signature over msg by the key of the leaf certificate (DER). alg is
 * EG_LOGIN_ALG_RSA or EG_LOGIN_ALG_EC and must fit the key type. EG_OK or
 * EG_ERR_CRYPTO. */
int auth_verify_login_signature(const unsigned char *leaf_der, size_t leaf_len,
    const char *alg, const unsigned char *msg, size_t msglen, const unsigned char *sig,
    size_t siglen);

/*
 * Signed intent (policy `signed` rules; README "Signed intent"). A request to such a
 * route carries, in the header EG_INTENT_HEADER,
 *     v1;t=<unix seconds>;alg=RSA-SHA256|ECDSA-SHA384;sig=<base64url>[;cert=<base64url DER>]
 * a signature by the card's authentication key (the login's algorithms and wire
 * formats, EG_LOGIN_ALG_*) over the canonical text
 *     EG_INTENT_MSG_PREFIX <origin> "\n" <METHOD> "\n" <target> "\n" <t> "\n" <body>
 * where origin is the gateway's ([listen] origin), target the normalised path with
 * "?" and the query as received when there is one, t the decimal time of the header and
 * body the lower-case hex SHA-256 of the request body (of nothing when it has none).
 * The prefix versions the format, so that no login signature can pass for an intent
 * and no intent for a login.
 */
#define EG_INTENT_HEADER "X-Eidgate-Intent"
#define EG_INTENT_MSG_PREFIX "eidgate-intent-v1\n"
/* How far t may be from the gateway's clock, either way, in seconds. */
#define EG_INTENT_WINDOW 60
/* Caps of the header's parts: signatures as the login's (RSA 4096 = 512 bytes), the
 * certificate as a Bearer session's. */
#define EG_INTENT_MAX_SIG 1024
#define EG_INTENT_MAX_CERT 2048
#define EG_INTENT_MAX_HEADER (EG_MAX_SESSION_LEAF + 1500)
/* The canonical text: prefix, origin, method, target (path and query), time, hash. */
#define EG_INTENT_MAX_MSG (2 * EG_MAX_PATH + 700)

struct auth_intent {
	int64_t t;
	char alg[16];                   /* EG_LOGIN_ALG_RSA or EG_LOGIN_ALG_EC */
	unsigned char sig[EG_INTENT_MAX_SIG];
	size_t siglen;
	unsigned char cert[EG_INTENT_MAX_CERT];  /* cert=, when given */
	size_t certlen;                 /* 0: none given */
};

/* Parses a header value, strictly: "v1" first, then t, alg and sig each exactly once,
 * cert at most once, no other key, no empty part, no spaces. EG_OK or EG_ERR_PARSE
 * (*out then undefined). Reads at most EG_INTENT_MAX_HEADER bytes of hostile input. */
int auth_intent_parse(const char *value, struct auth_intent *out);

/* Writes the canonical text into out (core/intent.c, which eidgate-login links too) (outlen bytes, NUL-terminated) and its length into
 * *len. query NULL or "" means none. EG_OK or EG_ERR_TOO_LONG. */
int auth_intent_message(const char *origin, const char *method, const char *path,
    const char *query, int64_t t, const unsigned char body_sha256[32], char *out,
    size_t outlen, size_t *len);

/* Checks in's signature over msg with the key of the card certificate leaf (DER), and
 * that t is within EG_INTENT_WINDOW of now. EG_OK, EG_ERR_EXPIRED (time) or
 * EG_ERR_CRYPTO (signature, algorithm or key type). */
int auth_intent_verify(const struct auth_intent *in, const unsigned char *leaf,
    size_t leaflen, const char *msg, size_t msglen, int64_t now);


#endif
