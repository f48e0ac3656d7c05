/*
 * fuzz_receipt.c - what a backend sends to /eidgate/audit/api/receipt:
 * audit_receipt_ask_parse() (audit/receipt.c) on the query arguments instance, seq and
 * hash, then the answer audit_receipt_json() builds for it.
 *
 * Input: "name=value" pairs separated by '&' (taken as libmicrohttpd would hand them
 * over: already split, not decoded further); the last of a name counts.
 * Invariants: an accepted ask names a valid instance and a seq from 1, has a hash only
 * when one was given, and its answer is JSON with a status the API documents.
 */
#include "fuzz.h"
#include "eidgate/audit.h"

FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *inst = NULL, *seq = NULL, *hash = NULL, *why = NULL;
	struct audit_receipt_ask a;
	struct audit_receipt rc;
	char *text = fuzz_str(data, size), *save = NULL, *pair, *out;
	int status = 0;

	for (pair = strtok_r(text, "&", &save); pair != NULL;
	    pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(pair, "instance") == 0)
			inst = eq;
		else if (strcmp(pair, "seq") == 0)
			seq = eq;
		else if (strcmp(pair, "hash") == 0)
			hash = eq;
	}
	if (audit_receipt_ask_parse(inst, seq, hash, &a, &why) == EG_OK) {
		FUZZ_ASSERT(audit_instance_valid(a.instance) && a.seq >= 1);
		FUZZ_ASSERT(a.has_hash == (hash != NULL && hash[0] != '\0'));
		memset(&rc, 0, sizeof(rc));
		snprintf(rc.instance, sizeof(rc.instance), "%s", a.instance);
		rc.seq = a.seq;
		rc.covered = size > 0 && (data[0] & 1);
		out = audit_receipt_json("gw", &a, size % 2, &rc, &status);
		FUZZ_ASSERT(out != NULL && out[0] == '{');
		FUZZ_ASSERT(status == 200 || status == 202 || status == 404 || status == 409);
		free(out);
	} else {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
	}
	free(text);
	return 0;
}
