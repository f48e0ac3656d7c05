/*
 * login.h - private interfaces of eidgate-login, the user-side PKCS#11 client.
 *
 * Files, one concern each:
 *   main.c   options, the login flow, output (stdout token or cookie jar)
 *   url.c    the gateway URL and the origin the client signs for
 *   pin.c    reading the PIN from /dev/tty (echo off) or from stdin
 *   p11.c    module, slot/token choice, objects, C_Login, C_Sign, --list
 *   sig.c    hashing, DigestInfo, raw ECDSA -> DER, local verification
 *   http.c   the two libcurl requests and their JSON
 *   intent.c `eidgate-login sign`: a card-signed intent header for one request
 *
 * The program is single-threaded; nothing here is thread-safe. Every function that can
 * fail has already printed one "eidgate: ..." line on stderr when it returns an error,
 * so callers only propagate the code.
 */
#ifndef EIDGATE_LOGIN_H
#define EIDGATE_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

/* Exit codes of PRODUCT §1. */
#define LOGIN_EXIT_OK 0
#define LOGIN_EXIT_FAIL 1
#define LOGIN_EXIT_USAGE 2

/*
 * Caps for this client. They live here rather than in include/eidgate/limits.h because
 * they concern only the client and the client links only core/.
 */
/* A gateway URL longer than this is a typo or an attack, not a deployment. */
#define LOGIN_MAX_URL 2048
/* Origins are scheme://host[:port]; DNS names stay under 253 bytes. */
#define LOGIN_MAX_ORIGIN 300
/* Challenges are short opaque base64url strings (a few dozen bytes in practice). */
#define LOGIN_MAX_CHALLENGE 1024
/* Belgian eID PINs are 4-12 digits; anything over this is refused, not cut. */
#define LOGIN_MAX_PIN 64
/* Whole JSON reply of the gateway: a challenge or a sealed session token. */
#define LOGIN_MAX_REPLY (64 * 1024)
/* DER certificates on an eID are about 1.5 KiB; leave room for test tokens. */
#define LOGIN_MAX_CERT (16 * 1024)
/* Signatures: RSA 4096 is 512 bytes, DER ECDSA P-521 under 140. */
#define LOGIN_MAX_SIG 1024
/* PKCS#11 token labels are 32 bytes blank-padded, serials 16: +1 for the NUL. */
#define LOGIN_LABEL_LEN 33
#define LOGIN_SERIAL_LEN 17
/* Token candidates shown when the choice is ambiguous. */
#define LOGIN_MAX_SLOTS 64

/* main.c: prints "eidgate: <msg>" on stderr (PRODUCT §1: one line per error). */
void login_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies s into out (outlen bytes) replacing control characters by '?': text that came
 * from a server or a card must not drive the user's terminal. */
void login_sanitize(const char *s, char *out, size_t outlen);

/* url.c */
struct login_url {
	char lu_base[LOGIN_MAX_URL];      /* the URL without trailing '/' */
	char lu_origin[LOGIN_MAX_ORIGIN]; /* scheme://host[:port], lower case */
	char lu_host[LOGIN_MAX_ORIGIN];   /* host only (cookie jar domain) */
};
/* Parses --url. Only https, no user info, query or fragment. Returns 0 or -1 (message
 * printed). */
int login_url_parse(const char *url, struct login_url *out);

/* pin.c */
/* Reads the PIN into pin (LOGIN_MAX_PIN bytes), NUL-terminated, newline stripped, never
 * empty. from_stdin: one line from fd 0; else a prompt on /dev/tty with echo off that is
 * restored on every path, SIGINT included. Returns 0 or -1; on -1 pin is wiped. */
int login_pin_read(int from_stdin, const char *token_label, char *pin);

/* sig.c */
enum login_alg { LOGIN_ALG_RSA_SHA256, LOGIN_ALG_ECDSA_SHA384 };
const char *login_alg_name(enum login_alg alg);
/* What C_Sign gets for alg: the DER DigestInfo of SHA-256(msg) for RSA (PKCS#1 v1.5
 * with CKM_RSA_PKCS), the bare SHA-384(msg) for ECDSA. out holds >= 64 bytes. */
int login_sig_tbs(enum login_alg alg, const unsigned char *msg, size_t msglen,
    unsigned char *out, size_t *outlen);
/* Turns the token's output into the wire format in place: RSA unchanged; ECDSA raw
 * r||s (2 * field size of cert's curve) into DER ECDSA-Sig-Value. *len is the buffer's
 * content length on entry, the new length on return; cap is the buffer size. */
int login_sig_to_wire(enum login_alg alg, X509 *cert, unsigned char *sig, size_t *len,
    size_t cap);
/* Verifies the wire signature over msg with cert's public key. -1 means the key on the
 * token does not belong to the certificate (message printed). */
int login_sig_verify(X509 *cert, enum login_alg alg, const unsigned char *msg,
    size_t msglen, const unsigned char *sig, size_t siglen);
/* Refuses certificates that must never be used to log in: a non-repudiation
 * (Signature) certificate, or one whose key type does not match the token's key. */
int login_cert_check(X509 *cert, enum login_alg alg);
/* Writes the subject's CN and serialNumber attributes (or "-") for --list. */
void login_cert_names(X509 *cert, char *cn, size_t cnlen, char *sn, size_t snlen);

/* p11.c */
struct login_p11;
/* dlopen()s module (NULL: the defaults of PRODUCT §1) and C_Initialize()s it. */
int login_p11_open(const char *module, struct login_p11 **out);
void login_p11_close(struct login_p11 *p);
/* --list: slots, tokens and certificates, without logging in. */
int login_p11_list(struct login_p11 *p);
/* Chooses the token (label: --token-label or NULL) and opens a session on it. */
int login_p11_select(struct login_p11 *p, const char *label);
const char *login_p11_token_label(const struct login_p11 *p);
/* Logs in: PIN pad when the reader has one, else reads the PIN (login_pin_read) and
 * wipes it right after C_Login. */
int login_p11_login(struct login_p11 *p, int pin_stdin);
/* Finds the "Authentication" key and certificate (and a "CA" certificate if any).
 * *cert and *ca (may be NULL) are owned by the caller. */
int login_p11_find(struct login_p11 *p, enum login_alg *alg, X509 **cert, X509 **ca);
/* Signs tbs with the Authentication key; sig holds cap bytes. */
int login_p11_sign(struct login_p11 *p, enum login_alg alg, const unsigned char *tbs,
    size_t tbslen, unsigned char *sig, size_t *siglen, size_t cap);

/* http.c */
struct login_challenge {
	char lc_challenge[LOGIN_MAX_CHALLENGE + 1];
	char lc_origin[LOGIN_MAX_ORIGIN];
};
struct login_token {
	char *lt_token;      /* malloc'd; wipe with eg_freezero(lt_token, strlen + 1) */
	long long lt_expires; /* seconds */
	char lt_name[256];   /* sanitized for printing; may be empty */
};
/* Global libcurl set-up; call once before the others. */
int login_http_init(void);
void login_http_cleanup(void);
/* POST {base}/eidgate/auth/challenge. cacert may be NULL (system store). */
int login_http_challenge(const struct login_url *u, const char *cacert,
    struct login_challenge *out);
/* POST {base}/eidgate/auth/token with the signed challenge and the chain. */
int login_http_token(const struct login_url *u, const char *cacert,
    const struct login_challenge *ch, enum login_alg alg, const unsigned char *sig,
    size_t siglen, X509 *cert, X509 *ca, struct login_token *out);

/* intent.c */
struct login_intent_req {
	const char *li_origin;          /* of --url (login_url lu_origin) */
	const char *li_method;          /* --method */
	const char *li_path;            /* --path: the normalised target, query included */
	const char *li_body_file;       /* --body-file, NULL: no body */
	int li_with_cert;               /* --with-cert: add cert= */
};
/* Refuses a method the gateway does not serve and a target it would not leave as it
 * is. 0 or -1 (message printed). */
int login_intent_check(const struct login_intent_req *q);
/* Hashes the body, signs the canonical text with the Authentication key, checks the
 * signature locally and prints "X-Eidgate-Intent: <value>" on stdout. 0 or -1. */
int login_intent_sign(const struct login_intent_req *q, struct login_p11 *p,
    enum login_alg alg, X509 *cert);

#endif
