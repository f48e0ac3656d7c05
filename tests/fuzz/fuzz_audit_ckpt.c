/*
 * fuzz_audit_ckpt.c - an exported checkpoint: audit_ckpt_from_json() (audit/checkpoint.c),
 * as `eidgate audit verify --head` reads it from a file and archive.c from a trailer.
 *
 * Input: the text (read up to its first NUL, as from a C string).
 * Invariants: an accepted checkpoint has seq > 0 and a signature that fits; exported
 * again (audit_ckpt_to_json) it reads back to the same checkpoint.
 */
#include "fuzz.h"
#include "eidgate/audit.h"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), err[256], *again;
	struct audit_ckpt c, d;

	err[0] = '\0';
	if (audit_ckpt_from_json(text, &c, err, sizeof(err)) != EG_OK) {
		FUZZ_ASSERT(err[0] != '\0' && FUZZ_TERMINATED(err));
		free(text);
		return 0;
	}
	FUZZ_ASSERT(c.seq > 0 && c.sig_len <= sizeof(c.sig));
	again = audit_ckpt_to_json(&c);
	FUZZ_ASSERT(again != NULL);
	FUZZ_ASSERT(audit_ckpt_from_json(again, &d, err, sizeof(err)) == EG_OK);
	FUZZ_ASSERT(d.seq == c.seq && d.time_us == c.time_us && d.sig_len == c.sig_len &&
	    memcmp(d.hash, c.hash, sizeof(c.hash)) == 0 &&
	    memcmp(d.key_id, c.key_id, sizeof(c.key_id)) == 0 &&
	    memcmp(d.sig, c.sig, c.sig_len) == 0);
	free(again);
	free(text);
	return 0;
}
