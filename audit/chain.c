/* chain.c - the hash that links each access-log record to the one before it, and the
 * stored records read back by seq with it. */
#include <openssl/evp.h>

#include "eidgate/err.h"
#include "audit/internal.h"

/*
 * The stored value already starts with the previous record's hash, so hashing the whole
 * value is SHA-256(prev_hash || encoded record): changing, removing or reordering any
 * record changes every hash after it.
 */
int
audit_chain_hash(const void *value, size_t len, unsigned char out[AUDIT_HASH_LEN])
{
	unsigned int outlen = 0;

	if (EVP_Digest(value, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != AUDIT_HASH_LEN)
		return EG_ERR_CRYPTO;
	return EG_OK;
}

int
audit_chain_hex(const void *value, size_t len, char hex[AUDIT_HEX_LEN])
{
	unsigned char hash[AUDIT_HASH_LEN];
	int rc = audit_chain_hash(value, len, hash);

	if (rc == EG_OK)
		eg_hex(hash, sizeof(hash), hex);
	return rc;
}

int
audit_hash_at(MDB_txn *txn, MDB_dbi log, uint64_t seq, unsigned char out[AUDIT_HASH_LEN])
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	audit_be64_put(key, seq);
	if ((rc = mdb_get(txn, log, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? EG_ERR_NOT_FOUND : EG_ERR_AUDIT;
	return audit_chain_hash(v.mv_data, v.mv_size, out);
}

int
audit_record_get(MDB_txn *txn, MDB_dbi log, uint64_t seq, struct audit_record *r,
    struct audit_strbuf *b, unsigned char hash[AUDIT_HASH_LEN], const char **why)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	audit_be64_put(key, seq);
	if ((rc = mdb_get(txn, log, &k, &v)) != 0)
		return rc;
	*why = "sequence mismatch";
	if (audit_record_decode_buf(v.mv_data, v.mv_size, r, b, why) != 0 || r->seq != seq ||
	    audit_chain_hash(v.mv_data, v.mv_size, hash) != EG_OK)
		return AUDIT_CORRUPT;
	return 0;
}
