/*
 * session.h - sealed sessions and login challenges (PRODUCT.md §6).
 *
 * A session is not stored on the server: its content is sealed with AES-256-GCM under a
 * key derived from [session] key_file (by the keys, keys.h: the key never leaves them),
 * so any instance sharing the key accepts it, and nobody without the key can read or
 * forge one. It is bound to the SHA-256 fingerprint of the certificate that created it.
 *
 * Login challenges (for eidgate-login) are sealed the same way under a second derived key,
 * carry their origin and expiry, and are single-use: a challenge_store remembers the ones
 * already used until they expire.
 *
 * Thread safety: a challenge_store is internally locked. All functions may be called
 * from any thread.
 */
#ifndef EIDGATE_SESSION_H
#define EIDGATE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "eidgate/limits.h"

struct keys;

struct eg_session {
	char nrn[EG_NRN_LEN + 1];
	char fingerprint[65];           /* certificate the session is bound to */
	char name[EG_MAX_NAME], given[EG_MAX_NAME], surname[EG_MAX_NAME];
	char facility[EG_MAX_ID];       /* facility acted for, "" if none chosen */
	char org[EG_MAX_ID];
	int64_t created, last_seen;     /* seconds since the epoch */
	char id[33];                    /* random session id (hex) */
	char csrf[44];                  /* CSRF token (base64url) */
	int tls_bound;                  /* made by a TLS certificate login: only good on a
	                                 * connection presenting that certificate */
	/* The card's authentication certificate (base64url DER) of a session made without
	 * a TLS certificate (eidgate-login), so that its revocation can be checked again
	 * on later use; "" for TLS-bound sessions, whose card is on every connection. */
	char leaf[EG_MAX_SESSION_LEAF];
};

/* Fills id and csrf with fresh random values. */
int session_init(struct eg_session *s);

/* Seals s into a token ("v1." + base64url). *token is malloc'd. */
int session_seal(struct keys *k, const struct eg_session *s, char **token);

/* Opens a token. EG_OK, or EG_ERR_PARSE for anything malformed, forged, tampered with or
 * sealed under another key (deliberately one code: the caller learns nothing more), or
 * EG_ERR_KEYS when the keys cannot be asked. The caller checks timeouts and the
 * certificate binding. */
int session_open(struct keys *k, const char *token, struct eg_session *s);

/* Short public id of a session for logs and the assertion's sid: hex SHA-256 prefix of
 * the session id, never the token. out >= 17 bytes. */
void session_public_id(const struct eg_session *s, char *out, size_t outlen);

/* ---- sessions ended before their time (auth/ended.c) ----------------------------------
 * Times are seconds since the epoch; a session stays ended until `until` (its absolute
 * timeout). Any thread. */
struct session_ends;
int session_ends_new(struct session_ends **out);
void session_ends_free(struct session_ends *e);
/* Ends a session. EG_OK, EG_ERR_PARSE (no id), or EG_ERR_NOMEM when the set is full:
 * then the session is NOT ended and the caller must refuse what it was doing. */
int session_end(struct session_ends *e, const char *public_id, int64_t until, int64_t now);
/* 1 when the session was ended and its end has not passed. */
int session_ended(struct session_ends *e, const char *public_id, int64_t now);
/* Ends every session of nrn made (eg_session.created) at or before `before`, until
 * `until` (the last of them times out); a later `before` replaces an earlier one.
 * EG_OK, EG_ERR_PARSE, or EG_ERR_NOMEM (full: nothing ended, the caller refuses). */
int session_end_person(struct session_ends *e, const char *nrn, int64_t before,
    int64_t until, int64_t now);
/* 1 when a session of nrn made at `created` was ended by session_end_person. */
int session_ended_person(struct session_ends *e, const char *nrn, int64_t created,
    int64_t now);

struct challenge_store;
int challenge_store_new(struct challenge_store **out);
void challenge_store_free(struct challenge_store *cs);

/* Issues a challenge for origin valid ttl_s seconds: base64url, out >= 256 bytes. */
int challenge_issue(struct keys *k, const char *origin, int ttl_s, char *out,
    size_t outlen);

/* Accepts a challenge once: EG_OK, or EG_ERR_PARSE (malformed, forged, wrong origin,
 * expired or already used). */
int challenge_redeem(struct keys *k, struct challenge_store *cs,
    const char *challenge, const char *origin);

#endif
