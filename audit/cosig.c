/*
 * cosig.c - witness cosignatures: an instance vouches that it saw a peer's checkpoint and
 * that it extends every checkpoint of that peer it cosigned before (mirror.c checks that).
 *
 * The signed bytes, fixed for version 1:
 *   "eidgate-audit-witness-v1" || len(instance) (1 byte) || instance || seq (8 BE) ||
 *   hash (32) || time_us (8 BE) || the origin's checkpoint key id (32)
 * The instance name is inside, so a cosignature of A's checkpoint cannot be passed off as
 * one of B's; the origin key id too, so it names which signature it vouches for.
 *
 * Stored in a mirror's "cosigs" DBI, key: seq (8 BE), value:
 *   version (1) || time_us (8 BE) || hash (32) || origin key id (32) || witness key id (32)
 *   || len(instance) (1) || instance || DER ECDSA signature
 */
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit/internal.h"

#define COSIG_DOMAIN "eidgate-audit-witness-v1"
#define COSIG_VERSION 1
#define COSIG_FIXED (1 + 8 + AUDIT_HASH_LEN + 2 * AUDIT_KEYID_LEN + 1)

static size_t
cosig_message(const struct audit_cosig *c, unsigned char *out)
{
	size_t n = sizeof(COSIG_DOMAIN) - 1, il = strlen(c->instance);
	unsigned char *p = out;

	memcpy(p, COSIG_DOMAIN, n);
	p += n;
	*p++ = (unsigned char)il;
	memcpy(p, c->instance, il);
	p += il;
	audit_be64_put(p, c->seq);
	memcpy(p + 8, c->hash, AUDIT_HASH_LEN);
	audit_be64_put(p + 8 + AUDIT_HASH_LEN, (uint64_t)c->time_us);
	memcpy(p + 16 + AUDIT_HASH_LEN, c->origin_key_id, AUDIT_KEYID_LEN);
	return (size_t)(p - out) + 16 + AUDIT_HASH_LEN + AUDIT_KEYID_LEN;
}

int
audit_cosig_sign(const struct audit_key *witness, struct audit_cosig *c)
{
	unsigned char msg[AUDIT_COSIG_MSG_MAX];
	size_t len;

	if (!audit_instance_valid(c->instance))
		return EG_ERR_PARSE;
	len = cosig_message(c, msg);
	memcpy(c->witness_key_id, audit_key_id(witness), AUDIT_KEYID_LEN);
	c->sig_len = sizeof(c->sig);
	if (audit_key_sign_msg(witness, msg, len, c->sig, &c->sig_len) != EG_OK) {
		c->sig_len = 0;
		return EG_ERR_CRYPTO;
	}
	return EG_OK;
}

int
audit_cosig_check(const struct audit_key *witness, const struct audit_cosig *c)
{
	unsigned char msg[AUDIT_COSIG_MSG_MAX];
	size_t len;

	if (memcmp(c->witness_key_id, audit_key_id(witness), AUDIT_KEYID_LEN) != 0)
		return 1;
	if (!audit_instance_valid(c->instance))
		return 2;
	len = cosig_message(c, msg);
	return audit_key_verify_msg(witness, msg, len, c->sig, c->sig_len) ? 0 : 2;
}

size_t
audit_cosig_encode(const struct audit_cosig *c, unsigned char *out)
{
	size_t il = strlen(c->instance);
	unsigned char *p = out;

	*p++ = COSIG_VERSION;
	audit_be64_put(p, (uint64_t)c->time_us);
	p += 8;
	memcpy(p, c->hash, AUDIT_HASH_LEN);
	p += AUDIT_HASH_LEN;
	memcpy(p, c->origin_key_id, AUDIT_KEYID_LEN);
	p += AUDIT_KEYID_LEN;
	memcpy(p, c->witness_key_id, AUDIT_KEYID_LEN);
	p += AUDIT_KEYID_LEN;
	*p++ = (unsigned char)il;
	memcpy(p, c->instance, il);
	p += il;
	memcpy(p, c->sig, c->sig_len);
	return (size_t)(p - out) + c->sig_len;
}

int
audit_cosig_decode(const unsigned char *key, size_t klen, const unsigned char *val,
    size_t vlen, struct audit_cosig *c)
{
	const unsigned char *p = val;
	size_t il;

	memset(c, 0, sizeof(*c));
	if (klen != 8 || vlen < COSIG_FIXED || p[0] != COSIG_VERSION)
		return -1;
	il = p[COSIG_FIXED - 1];
	if (il == 0 || il > AUDIT_INSTANCE_MAX || vlen - COSIG_FIXED < il ||
	    vlen - COSIG_FIXED - il == 0 || vlen - COSIG_FIXED - il > AUDIT_SIG_MAX)
		return -1;
	c->seq = audit_be64_get(key);
	c->time_us = (int64_t)audit_be64_get(p + 1);
	memcpy(c->hash, p + 9, AUDIT_HASH_LEN);
	memcpy(c->origin_key_id, p + 9 + AUDIT_HASH_LEN, AUDIT_KEYID_LEN);
	memcpy(c->witness_key_id, p + 9 + AUDIT_HASH_LEN + AUDIT_KEYID_LEN, AUDIT_KEYID_LEN);
	memcpy(c->instance, p + COSIG_FIXED, il);
	c->instance[il] = '\0';
	if (strlen(c->instance) != il || !audit_instance_valid(c->instance))
		return -1;
	c->sig_len = vlen - COSIG_FIXED - il;
	memcpy(c->sig, p + COSIG_FIXED + il, c->sig_len);
	return 0;
}
