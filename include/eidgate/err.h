/*
 * err.h - one list of error codes for all of eidgate.
 *
 * Every fallible function returns EG_OK (0) or a negative EG_ERR_* code. Refusals of a
 * login carry their own code so that the access log, `eidgate cert verify` and the HTTP
 * layer all name the same reason. eg_err() gives a short English text; eg_err_code()
 * gives the stable machine name written into the access log's `reason` field.
 *
 * Thread safety: both functions return pointers to static strings and may be called from
 * any thread.
 */
#ifndef EIDGATE_ERR_H
#define EIDGATE_ERR_H

#define EG_ERR_LIST(X)                                                               \
	X(EG_OK, 0, "ok", "success")                                                  \
	X(EG_ERR_INTERNAL, -1, "internal", "internal error")                          \
	X(EG_ERR_NOMEM, -2, "nomem", "out of memory")                                 \
	X(EG_ERR_IO, -3, "io", "input/output error")                                  \
	X(EG_ERR_CONFIG, -4, "config", "invalid configuration")                       \
	X(EG_ERR_USAGE, -5, "usage", "bad usage")                                     \
	X(EG_ERR_TOO_LONG, -6, "too-long", "input too long")                          \
	X(EG_ERR_PARSE, -7, "parse", "malformed input")                               \
	X(EG_ERR_EXISTS, -8, "exists", "already present")                             \
	X(EG_ERR_FULL, -9, "full", "no room left")                                    \
	X(EG_ERR_NO_CERT, -20, "no-certificate", "no client certificate")             \
	X(EG_ERR_CERT_PARSE, -21, "bad-certificate", "certificate cannot be parsed")  \
	X(EG_ERR_SIGNATURE_CERT, -22, "signature-certificate",                        \
	  "signature certificate, not an authentication certificate")                 \
	X(EG_ERR_NO_SERIAL, -23, "no-national-number",                                \
	  "certificate has no serialNumber")                                         \
	X(EG_ERR_BAD_SERIAL, -24, "malformed-national-number",                        \
	  "serialNumber is not an 11-digit national number")                         \
	X(EG_ERR_NRN_CHECK, -25, "national-number-check",                             \
	  "national number check digits do not match")                               \
	X(EG_ERR_EXPIRED, -26, "expired", "certificate expired")                      \
	X(EG_ERR_NOT_YET_VALID, -27, "not-yet-valid", "certificate not yet valid")    \
	X(EG_ERR_UNKNOWN_ROOT, -28, "unknown-root",                                   \
	  "certificate does not chain to a trusted root")                            \
	X(EG_ERR_CHAIN, -29, "broken-chain", "certificate chain is broken")           \
	X(EG_ERR_REVOKED, -30, "revoked", "certificate revoked")                      \
	X(EG_ERR_OCSP_UNAVAILABLE, -31, "ocsp-unavailable",                           \
	  "revocation status could not be obtained")                                 \
	X(EG_ERR_CRL_EXPIRED, -32, "crl-expired", "CRL expired")                      \
	X(EG_ERR_PROFILE, -33, "not-eid-auth",                                        \
	  "certificate is not a Belgian eID authentication certificate")             \
	X(EG_ERR_ROGUE_ROOT, -37, "rogue-root",                                       \
	  "chain names a trusted root but is not signed by it")                       \
	X(EG_ERR_WEAK_CRYPTO, -38, "weak-crypto",                                     \
	  "key or signature algorithm below the security level")                      \
	X(EG_ERR_CRL_MISSING, -39, "crl-missing",                                     \
	  "no CRL for the issuing CA")                                                \
	X(EG_ERR_ROGUE_CA, -90, "rogue-ca",                                           \
	  "chain names a configured CA but is not signed by it")                      \
	X(EG_ERR_CRL_INVALID, -91, "crl-invalid",                                     \
	  "CRL cannot be used (bad signature or not yet valid)")                      \
	X(EG_ERR_OCSP_UNKNOWN, -92, "ocsp-unknown",                                   \
	  "OCSP responder does not know the certificate")                             \
	X(EG_ERR_OCSP_INVALID, -93, "ocsp-invalid-response",                          \
	  "OCSP response failed verification")                                        \
	X(EG_ERR_SESSION, -34, "bad-session", "session token invalid")               \
	X(EG_ERR_SESSION_EXPIRED, -35, "session-expired", "session expired")          \
	X(EG_ERR_SESSION_CERT, -36, "session-certificate-mismatch",                   \
	  "session belongs to another certificate")                                  \
	X(EG_ERR_SESSION_ENDED, -47, "session-ended",                           \
	  "session ended by a logout")                                               \
	X(EG_ERR_SESSION_UNCHECKED, -48, "session-unchecked",                        \
	  "the session's card cannot be checked again")                               \
	X(EG_ERR_CSRF, -45, "csrf", "missing or wrong CSRF token")                    \
	X(EG_ERR_CROSS_SITE, -46, "cross-site",                                       \
	  "state-changing request from another site")                                 \
	X(EG_ERR_DIRECTORY, -40, "directory-unavailable", "directory unavailable")    \
	X(EG_ERR_NOT_FOUND, -41, "not-found", "not found")                            \
	X(EG_ERR_POLICY, -50, "policy", "invalid policy")                             \
	X(EG_ERR_BAD_PATH, -51, "bad-path", "request path cannot be normalised")      \
	X(EG_ERR_BAD_FRAMING, -54, "bad-framing",                                     \
	  "request length or transfer coding is ambiguous")                           \
	X(EG_ERR_METHOD_OVERRIDE, -55, "method-override",                             \
	  "request asks a backend to take another method")                            \
	X(EG_ERR_INTENT_REQUIRED, -56, "intent-required",                             \
	  "the route needs a card-signed intent")                                     \
	X(EG_ERR_INTENT_INVALID, -57, "intent-invalid",                               \
	  "the card-signed intent is malformed, stale, reused or not the card's")     \
	X(EG_ERR_DENIED, -52, "denied", "denied by policy")                           \
	X(EG_ERR_NO_RULE, -53, "no-rule", "no rule allows this request")              \
	X(EG_ERR_AUDIT, -60, "audit-unavailable", "access log cannot be written")     \
	X(EG_ERR_UPSTREAM, -70, "upstream-unreachable", "backend unreachable")        \
	X(EG_ERR_UPSTREAM_TIMEOUT, -71, "upstream-timeout", "backend timed out")      \
	X(EG_ERR_TOO_BIG, -72, "body-too-large", "request body too large")            \
	X(EG_ERR_CRYPTO, -80, "crypto", "cryptographic operation failed")             \
	X(EG_ERR_KEYS, -81, "keys-unavailable", "the key process does not answer")

enum eg_err {
#define EG_ERR_ENUM(name, val, code, text) name = val,
	EG_ERR_LIST(EG_ERR_ENUM)
#undef EG_ERR_ENUM
};

/* Human-readable text for `err`; "unknown error" for a value not in the list. */
const char *eg_err(int err);

/* Stable short name for `err` (e.g. "signature-certificate"), used in log records. */
const char *eg_err_code(int err);

#endif
