/*
 * keys.h - the gateway's long-term secrets, and the only operations done with them.
 *
 * The secrets: the session keys ([session] key_file seals; previous_key_files only open
 * what they sealed before a rotation), the assertion signing key ([assertion]
 * signing_key; publish_keys are only published, a next key before it signs or the
 * previous one until its last assertion expired), the access log's checkpoint key
 * ([audit] signing_key), and the TLS server key ([listen] tls_key) when it is an EC
 * P-256 key (GnuTLS asks for each handshake's signature through server/tlskey.c). Nothing outside keys/ sees a private key or a session key:
 * callers hand over what is to be sealed, opened or signed and get the result.
 *
 * Two ways to hold them, one API:
 * - keys_spawn: in a key process (relayd's ca process, OpenSSH's monitor). `eidgate
 *   serve` forks it before anything else; it reads the key files itself (as root, when
 *   started as root) and answers a small fixed message set over socketpairs
 *   (public keys, seal, open, sign, reload). The process that talks to clients and
 *   backends never opens a key file and holds no key in its memory; a bug there can make
 *   the key process sign or seal while it runs, but cannot take a key away.
 * - keys_open_local: in this process, for the command-line tools and the unit tests.
 *
 * Rotation (keys_reload, on SIGHUP): the files are read again. A session key that was
 * sealing and is now listed in previous_key_files keeps opening its sessions; a signing
 * key replaced by another keeps signing for the requests still holding its key id until
 * the next reload, so no request in flight fails on a rotation.
 *
 * Every function may be called from any thread. A key process that dies or stops
 * answering (KEYS_TIMEOUT_MS) makes every call fail with EG_ERR_KEYS from then on; the
 * server notices the exit (keys_pid) and stops the gateway, so that the service manager
 * starts it again with a new key process.
 */
#ifndef EIDGATE_KEYS_H
#define EIDGATE_KEYS_H

#include <stddef.h>
#include <sys/types.h>

struct eg_config;
struct keys;

enum keys_seal { KEYS_SEAL_SESSION, KEYS_SEAL_CHALLENGE };
/* KEYS_SIGN_WITNESS: [audit] witness_key, with which this instance cosigns its peers'
 * checkpoints and signs its requests for their feeds (audit/witness.c); it signs only
 * messages starting with KEYS_WITNESS_PREFIX. Last, so older purposes keep their values. */
enum keys_sign { KEYS_SIGN_ASSERTION, KEYS_SIGN_CHECKPOINT, KEYS_SIGN_TLS, KEYS_SIGN_WITNESS };

/* A key's id: SHA-256 of its DER SubjectPublicKeyInfo (RFC 6962 §3.2 names log keys so). */
#define KEYS_ID_LEN 32
/* A P-256 SubjectPublicKeyInfo is 91 bytes. */
#define KEYS_MAX_SPKI 128
/* Session key files (one sealing, the others opening) and public keys of one purpose. */
#define KEYS_MAX_SESSION 4
/* Public keys of one purpose: enough for 20 instances of a cluster, each with its key and
 * the next one published ahead of its turn. */
#define KEYS_MAX_PUBLIC 48
/* What a checkpoint signature covers starts with this (audit/checkpoint.c): the key
 * process signs nothing else with the checkpoint key. */
#define KEYS_CHECKPOINT_PREFIX "eidgate-audit-checkpoint-"
#define KEYS_MAX_CHECKPOINT_MSG 128
/* What a witness signature covers starts with this: a cosignature
 * ("eidgate-audit-witness-v1") or a feed request ("eidgate-audit-witness-req-v1"). */
#define KEYS_WITNESS_PREFIX "eidgate-audit-witness-"
#define KEYS_MAX_WITNESS_MSG 512
/* An assertion's JWS signing input, at most. */
#define KEYS_MAX_ASSERTION 8192
/* How long a caller waits for the key process before giving up (EG_ERR_KEYS). */
#define KEYS_TIMEOUT_MS 5000

struct keys_pub {
	enum keys_sign purpose;
	int signs;                      /* 1: signs now; 0: published only (or retired) */
	unsigned char id[KEYS_ID_LEN];
	unsigned char spki[KEYS_MAX_SPKI];
	size_t spki_len;
};

struct keys_public {
	struct keys_pub keys[2 * KEYS_MAX_PUBLIC];
	size_t n;
};

/* Loads the keys cfg names into this process. EG_OK or EG_ERR_CONFIG (logged). */
int keys_open_local(const struct eg_config *cfg, struct keys **out);

/*
 * Forks the key process, which reads config_path and the keys it names, and waits for
 * its first answer. Call before any thread starts. nchan: socketpairs to open (about
 * one per thread that will call). EG_OK, or EG_ERR_CONFIG when the key process could not
 * load the keys (it says why on stderr), EG_ERR_KEYS when it could not be started.
 */
int keys_spawn(const char *config_path, int nchan, struct keys **out);

/* Reads the key files again (the key process re-reads its configuration file). EG_OK,
 * or EG_ERR_CONFIG with the keys in use unchanged. */
int keys_reload(struct keys *k);

/* The public keys now: assertion keys (the signing one and the published ones) and the
 * checkpoint key (the current one, and the one it replaced at the last reload). */
int keys_public(struct keys *k, struct keys_public *out);

/* What every sealed token starts with: the format's version. */
#define KEYS_TOKEN_PREFIX "v1."
#define KEYS_TOKEN_PREFIX_LEN 3

/* Seals plain (at most EG_MAX_SEALED bytes) with the sealing key of purpose p: a token
 * "v1." base64url(iv | ciphertext | tag), malloc'd. */
int keys_seal(struct keys *k, enum keys_seal p, const void *plain, size_t len, char **token);
/* Opens a token with any key of the ring. EG_OK with *plain malloc'd and NUL-terminated
 * (the caller wipes and frees it), EG_ERR_PARSE for anything not sealed by us, or
 * EG_ERR_KEYS. */
int keys_unseal(struct keys *k, enum keys_seal p, const char *token, unsigned char **plain,
    size_t *len);

/*
 * ECDSA P-256 / SHA-256 over msg with the private key whose id is id (a key of purpose p
 * this holds: the signing one, or the one it replaced at the last reload). The message
 * must be what that purpose signs: a JWS signing input whose header names that key
 * (assertion), a checkpoint (KEYS_CHECKPOINT_PREFIX), or for the TLS key a SHA-256
 * digest (32 bytes: GnuTLS hands over the handshake's digest, not what it covers). sig receives the DER signature;
 * *siglen is its room (72 bytes suffice) and then its length. EG_OK, EG_ERR_DENIED for a
 * message of the wrong shape or an unknown key, EG_ERR_CRYPTO, EG_ERR_KEYS.
 */
int keys_sign(struct keys *k, enum keys_sign p, const unsigned char id[KEYS_ID_LEN],
    const void *msg, size_t len, unsigned char *sig, size_t *siglen);

/*
 * Pseudonyms (keys/pseudonym.c): what a backend declared `subject=pseudonym` receives as
 * `sub`: base64url(HMAC-SHA256(per-backend key, nrn)), the per-backend key derived from
 * the master [assertion] pseudonym_key_file under the backend's name, so that one
 * backend's pseudonyms cannot be linked to another's. key_id NULL or "": the key in use;
 * else one of the previous keys (a rotation). kid receives the key's id (8 hex digits),
 * which the assertion carries as `sub_kid`. EG_OK, EG_ERR_NOT_FOUND (no pseudonym key,
 * or none with that id), EG_ERR_PARSE (not an 11-digit number), EG_ERR_KEYS.
 */
#define KEYS_PSEUDONYM_LEN 43
#define KEYS_PSEUDONYM_KID 8
int keys_pseudonym(struct keys *k, const char *key_id, const char *backend, const char *nrn,
    char kid[KEYS_PSEUDONYM_KID + 1], char out[KEYS_PSEUDONYM_LEN + 1]);

/* The key process's pid, 0 for local keys. */
pid_t keys_pid(const struct keys *k);
/* Tells the keys that the key process has gone (the server reaped it): every call fails
 * with EG_ERR_KEYS from now on, without waiting for a timeout. */
void keys_lost(struct keys *k);
/* 1 while the keys can be used. */
int keys_alive(const struct keys *k);

/* Closes the channels (the key process exits when it sees them close) or frees the
 * local keys, wiping them. */
void keys_close(struct keys *k);

#endif
