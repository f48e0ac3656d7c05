/*
 * fuzz_audit_cosig.c - a stored witness cosignature: audit_cosig_decode() (audit/cosig.c),
 * as `eidgate audit verify` reads it from another instance's mirror (DIR/peers/NAME),
 * a file an attacker on that machine may have edited.
 *
 * Input: first byte: the key's length (0..15, as LMDB hands it), then the key, then the
 * value.
 * Invariants: an accepted cosignature has a valid instance name and a signature that
 * fits; encoded again it is the same bytes.
 */
#include "fuzz.h"
#include "eidgate/audit.h"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char again[AUDIT_COSIG_VAL_MAX];
	struct audit_cosig c;
	size_t klen;

	if (size < 1)
		return 0;
	klen = data[0] & 15;
	if (size - 1 < klen)
		return 0;
	if (audit_cosig_decode(data + 1, klen, data + 1 + klen, size - 1 - klen, &c) != 0)
		return 0;
	FUZZ_ASSERT(klen == 8 && audit_instance_valid(c.instance));
	FUZZ_ASSERT(c.sig_len > 0 && c.sig_len <= sizeof(c.sig));
	FUZZ_ASSERT(audit_cosig_encode(&c, again) == size - 1 - klen &&
	    memcmp(again, data + 1 + klen, size - 1 - klen) == 0);
	return 0;
}
