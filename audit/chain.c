/* chain.c - the hash that links each access-log record to the one before it. */
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
