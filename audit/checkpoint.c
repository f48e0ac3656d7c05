/*
 * checkpoint.c - signed checkpoints: ECDSA P-256 (SHA-256) over the chain head at a seq.
 *
 * The hash chain alone proves order and integrity only against someone who cannot
 * recompute it; anyone with write access to the files can change a record and rehash
 * everything after it. A checkpoint signs (seq, head hash, time) with a key the files do
 * not hold, so such a rewrite no longer verifies, and an exported checkpoint kept
 * elsewhere proves how long the log was (tail cuts).
 *
 * The signed bytes are fixed here and never change for version 1:
 *   "eidgate-audit-checkpoint-v1" || seq (8 bytes BE) || hash (32) || time_us (8 BE)
 * The key id is SHA-256 of the DER SubjectPublicKeyInfo, as Certificate Transparency
 * (RFC 6962 §3.2) names log keys: it needs no JWK canonicalisation.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "audit/internal.h"

struct audit_key {
	EVP_PKEY *pkey;                 /* private, or public when the keys sign (below) */
	unsigned char id[AUDIT_KEYID_LEN];
	struct keys *keys;              /* the gateway's keys (keys.h), which sign; NULL:
	                                 * this process holds the private key */
	int purpose;                    /* enum keys_sign, with keys: checkpoint or witness */
	struct audit_key *next;         /* the log's retired keys (audit_key_retire) */
};

static int
make_id(struct audit_key *k)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, ok;

	if ((len = i2d_PUBKEY(k->pkey, &der)) <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)len, k->id, &mdlen, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	return ok && mdlen == AUDIT_KEYID_LEN ? 0 : -1;
}

int
audit_key_load(const char *path, int need_private, struct audit_key **out, char *err,
    size_t errlen)
{
	struct audit_key *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		eg_errf(err, errlen, "%s: out of memory", path);
		return EG_ERR_CONFIG;
	}
	if (eg_key_load_p256(path, need_private, &k->pkey, err, errlen) != EG_OK) {
		audit_key_free(k);
		return EG_ERR_CONFIG;
	}
	if (make_id(k) != 0) {
		eg_errf(err, errlen, "%s: not an EC P-256 %s key in PEM", path,
		    need_private ? "private" : "public or private");
		audit_key_free(k);
		return EG_ERR_CONFIG;
	}
	*out = k;
	return EG_OK;
}

int
audit_key_from_keys(struct keys *keys, struct audit_key **out)
{
	return audit_key_from_keys_purpose(keys, KEYS_SIGN_CHECKPOINT, out);
}

int
audit_key_from_keys_purpose(struct keys *keys, int purpose,
    struct audit_key **out)
{
	struct keys_public pub;
	const unsigned char *spki;
	struct audit_key *k;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = keys_public(keys, &pub)) != EG_OK)
		return rc;
	for (i = 0; i < pub.n; i++)
		if ((int)pub.keys[i].purpose == purpose && pub.keys[i].signs)
			break;
	if (i == pub.n)
		return EG_OK;                   /* no checkpoint key configured */
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return EG_ERR_NOMEM;
	spki = pub.keys[i].spki;
	k->pkey = d2i_PUBKEY(NULL, &spki, (long)pub.keys[i].spki_len);
	if (k->pkey == NULL || make_id(k) != 0) {
		audit_key_free(k);
		return EG_ERR_CRYPTO;
	}
	k->keys = keys;
	k->purpose = purpose;
	*out = k;
	return EG_OK;
}

void
audit_key_free(struct audit_key *k)
{
	while (k != NULL) {
		struct audit_key *next = k->next;

		EVP_PKEY_free(k->pkey);
		free(k);
		k = next;
	}
}

void
audit_key_chain(struct audit_key **list, struct audit_key *k)
{
	if (k == NULL)
		return;
	k->next = *list;
	*list = k;
}

void
audit_key_retire(struct audit_log *log, struct audit_key *k)
{
	audit_key_chain(&log->retired, k);
}

size_t
audit_key_spki(const struct audit_key *k, unsigned char *out, size_t len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->pkey, &der);
	size_t r = 0;

	if (n > 0 && (size_t)n <= len) {
		memcpy(out, der, (size_t)n);
		r = (size_t)n;
	}
	OPENSSL_free(der);
	return r;
}

char *
audit_key_spki_b64(const struct audit_key *k)
{
	unsigned char der[200];
	size_t n = audit_key_spki(k, der, sizeof(der));
	char *out;

	if (n == 0 || (out = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	eg_b64url(der, n, out);
	return out;
}

int
audit_key_from_der(const unsigned char *der, size_t len, struct audit_key **out)
{
	const unsigned char *p = der;
	struct audit_key *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return EG_ERR_NOMEM;
	k->pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (k->pkey == NULL || p != der + len || !eg_key_is_p256(k->pkey) || make_id(k) != 0) {
		audit_key_free(k);
		return EG_ERR_PARSE;
	}
	*out = k;
	return EG_OK;
}

struct audit_key *
audit_key_from_spki_b64(const char *text)
{
	unsigned char der[200];
	struct audit_key *k = NULL;
	size_t n = 0;

	if (text == NULL || eg_b64url_decode(text, strlen(text), der, sizeof(der), &n) != EG_OK)
		return NULL;
	(void)audit_key_from_der(der, n, &k);
	return k;
}

const unsigned char *
audit_key_id(const struct audit_key *k)
{
	return k->id;
}

void
audit_ckpt_message(const struct audit_ckpt *c, unsigned char *out)
{
	size_t n = sizeof(AUDIT_CKPT_DOMAIN) - 1;

	memcpy(out, AUDIT_CKPT_DOMAIN, n);
	audit_be64_put(out + n, c->seq);
	memcpy(out + n + 8, c->hash, AUDIT_HASH_LEN);
	audit_be64_put(out + n + 8 + AUDIT_HASH_LEN, (uint64_t)c->time_us);
}

int
audit_key_sign_msg(const struct audit_key *k, const unsigned char *msg, size_t len,
    unsigned char *sig, size_t *siglen)
{
	return k->keys != NULL ? keys_sign(k->keys, (enum keys_sign)k->purpose, k->id, msg, len, sig, siglen) :
	    eg_p256_sign(k->pkey, msg, len, sig, siglen);
}

int
audit_key_verify_msg(const struct audit_key *k, const unsigned char *msg, size_t len,
    const unsigned char *sig, size_t siglen)
{
	return eg_p256_verify(k->pkey, msg, len, sig, siglen);
}

int
audit_ckpt_sign(const struct audit_key *k, struct audit_ckpt *c)
{
	unsigned char msg[AUDIT_CKPT_MSG_LEN];
	size_t len = sizeof(c->sig);
	int rc;

	audit_ckpt_message(c, msg);
	memcpy(c->key_id, k->id, AUDIT_KEYID_LEN);
	rc = audit_key_sign_msg(k, msg, sizeof(msg), c->sig, &len);
	c->sig_len = rc == EG_OK ? len : 0;
	return rc;
}

int
audit_ckpt_check(const struct audit_key *k, const struct audit_ckpt *c)
{
	unsigned char msg[AUDIT_CKPT_MSG_LEN];

	if (memcmp(c->key_id, k->id, AUDIT_KEYID_LEN) != 0)
		return 1;
	audit_ckpt_message(c, msg);
	return audit_key_verify_msg(k, msg, sizeof(msg), c->sig, c->sig_len) ? 0 : 2;
}

size_t
audit_ckpt_encode(const struct audit_ckpt *c, unsigned char *out)
{
	unsigned char *p = out;

	*p++ = AUDIT_CKPT_VERSION;
	audit_be64_put(p, (uint64_t)c->time_us);
	p += 8;
	memcpy(p, c->hash, AUDIT_HASH_LEN);
	p += AUDIT_HASH_LEN;
	memcpy(p, c->key_id, AUDIT_KEYID_LEN);
	p += AUDIT_KEYID_LEN;
	memcpy(p, c->sig, c->sig_len);
	return (size_t)(p - out) + c->sig_len;
}

int
audit_ckpt_decode(const MDB_val *k, const MDB_val *v, struct audit_ckpt *c)
{
	const unsigned char *p = v->mv_data;
	const size_t fixed = 1 + 8 + AUDIT_HASH_LEN + AUDIT_KEYID_LEN;

	memset(c, 0, sizeof(*c));
	if (k->mv_size != 8 || v->mv_size <= fixed || v->mv_size > AUDIT_CKPT_VAL_MAX ||
	    p[0] != AUDIT_CKPT_VERSION)
		return -1;
	c->seq = audit_be64_get(k->mv_data);
	c->time_us = (int64_t)audit_be64_get(p + 1);
	memcpy(c->hash, p + 9, AUDIT_HASH_LEN);
	memcpy(c->key_id, p + 9 + AUDIT_HASH_LEN, AUDIT_KEYID_LEN);
	c->sig_len = v->mv_size - fixed;
	memcpy(c->sig, p + fixed, c->sig_len);
	return 0;
}

/*
 * {"seq":N,"hash":"hex","time":"ISO","time_us":N,"signature":"b64url DER","key_id":"hex"}
 * time_us is what was signed; time is for people.
 */
char *
audit_ckpt_to_json(const struct audit_ckpt *c)
{
	char hash[AUDIT_HEX_LEN], kid[2 * AUDIT_KEYID_LEN + 1], t[40];
	char sig[4 * ((AUDIT_SIG_MAX + 2) / 3) + 1];
	json_t *o;
	char *s;

	eg_hex(c->hash, AUDIT_HASH_LEN, hash);
	eg_hex(c->key_id, AUDIT_KEYID_LEN, kid);
	eg_b64url(c->sig, c->sig_len, sig);
	eg_format_time(c->time_us, t, sizeof(t));
	o = json_pack("{s:I,s:s,s:s,s:I,s:s,s:s}", "seq", (json_int_t)c->seq, "hash", hash,
	    "time", t, "time_us", (json_int_t)c->time_us, "signature", sig, "key_id", kid);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int
audit_ckpt_from_json(const char *text, struct audit_ckpt *c, char *err, size_t errlen)
{
	json_int_t seq = 0, tus = 0;
	const char *hash = NULL, *sig = NULL, *kid = NULL;
	json_error_t je;
	json_t *o;
	int rc = EG_ERR_PARSE;

	memset(c, 0, sizeof(*c));
	if ((o = json_loads(text, JSON_DISABLE_EOF_CHECK, &je)) == NULL) {
		eg_errf(err, errlen, "not JSON: %s", je.text);
		return EG_ERR_PARSE;
	}
	if (json_unpack_ex(o, &je, 0, "{s:I,s:s,s:I,s:s,s:s}", "seq", &seq, "hash", &hash,
	    "time_us", &tus, "signature", &sig, "key_id", &kid) != 0)
		eg_errf(err, errlen, "not an exported checkpoint: %s", je.text);
	else if (seq <= 0 || eg_unhex(hash, c->hash, AUDIT_HASH_LEN) != EG_OK ||
	    eg_unhex(kid, c->key_id, AUDIT_KEYID_LEN) != EG_OK ||
	    eg_b64url_decode(sig, strlen(sig), c->sig, sizeof(c->sig), &c->sig_len) != EG_OK)
		eg_errf(err, errlen, "malformed seq, hash, key_id or signature");
	else
		rc = EG_OK;
	c->seq = (uint64_t)seq;
	c->time_us = (int64_t)tus;
	json_decref(o);
	return rc;
}

int
audit_ckpt_latest(const char *dir, struct audit_ckpt *c, char *err, size_t errlen)
{
	struct audit_dbis d;
	MDB_cursor *cur;
	MDB_env *env;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, r = EG_ERR_AUDIT;

	if (audit_env_open_ro(dir, &env, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if (audit_txn_begin_ro(env, dir, &txn, err, errlen) != EG_OK) {
		mdb_env_close(env);
		return EG_ERR_AUDIT;
	}
	rc = audit_dbis_open(txn, 0, &d);
	if (rc == MDB_NOTFOUND || (rc == 0 && !d.has_ckpt)) {
		r = EG_ERR_NOT_FOUND;
	} else if (rc == 0 && (rc = mdb_cursor_open(txn, d.ckpt, &cur)) == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		if (rc == 0)
			r = audit_ckpt_decode(&k, &v, c) == 0 ? EG_OK : EG_ERR_AUDIT;
		else if (rc == MDB_NOTFOUND)
			r = EG_ERR_NOT_FOUND;
		mdb_cursor_close(cur);
		if (rc == 0 && r != EG_OK)
			eg_errf(err, errlen, "audit log %s: latest checkpoint is malformed", dir);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		eg_errf(err, errlen, "audit log %s: checkpoints: %s", dir, mdb_strerror(rc));
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return r;
}
