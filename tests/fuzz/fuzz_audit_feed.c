/*
 * fuzz_audit_feed.c - a peer's feed answer: audit_feed_parse() (audit/feed.c), what a
 * witness reads from another instance over HTTPS before replaying it onto its mirror.
 *
 * Input: the answer's bytes (any, not NUL-terminated).
 * Invariants: a refusal says why; an accepted feed has a valid instance name, records
 * that decode with seqs after + 1, after + 2, ..., checkpoints in increasing order, and
 * each record's stored length within the feed's size.
 */
#include "fuzz.h"
#include "eidgate/audit.h"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_feed f;
	char err[256];
	size_t i;

	err[0] = '\0';
	if (audit_feed_parse((const char *)data, size, &f, err, sizeof(err)) != EG_OK) {
		FUZZ_ASSERT(err[0] != '\0' && FUZZ_TERMINATED(err));
		FUZZ_ASSERT(f.nrec == 0 && f.rec == NULL && f.ckpt == NULL);
		return 0;
	}
	FUZZ_ASSERT(audit_instance_valid(f.instance));
	for (i = 0; i < f.nrec; i++)
		FUZZ_ASSERT(f.rec[i] != NULL && f.rec_len[i] > 0 && f.rec_len[i] <= size);
	for (i = 1; i < f.nckpt; i++)
		FUZZ_ASSERT(f.ckpt[i].seq > f.ckpt[i - 1].seq);
	audit_feed_free(&f);
	return 0;
}
