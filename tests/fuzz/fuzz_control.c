/*
 * fuzz_control.c - the control socket's message (server/control_msg.c, control_parse):
 * a rights change by the platform operator, or an officer's pseudonym lookup (eidgate
 * access pseudonym), one JSON line from a local process.
 *
 * Input: the line, as control.c hands it over (bytes and length).
 * Invariants: an accepted rights message names a known kind, decision, action, role and
 * reason, an "op-" hex request id, an operator actor, a valid national number and a
 * scope that parses, all within their lengths; an accepted pseudonym lookup the same
 * request id, actor and national number, a backend name and at most an 8-hex key id.
 */
#include "fuzz.h"
#include "eidgate/auth.h"
#include "eidgate/directory.h"
#include "eidgate/util.h"
#include "server/internal.h"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_msg m;
	struct dir_scope sc;
	char why[128];
	int r;

	if (size >= EG_MAX_CONTROL_LINE)
		return 0;               /* control.c refuses a longer line unread */
	r = control_parse((const char *)data, size, &m, why, sizeof(why));
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_PARSE);
	if (r == EG_OK && m.is_pseudonym) {
		const struct rec_lookup *l = &m.lookup;
		FUZZ_ASSERT(l->request_id != NULL && strncmp(l->request_id, "op-", 3) == 0 &&
		    eg_all_hex(l->request_id + 3) && strlen(l->request_id) <= 40);
		FUZZ_ASSERT(l->actor != NULL && strncmp(l->actor, "operator:", 9) == 0 &&
		    strlen(l->actor) <= 64);
		FUZZ_ASSERT(l->backend != NULL && l->backend[0] != '\0' &&
		    strlen(l->backend) < EG_MAX_ID);
		FUZZ_ASSERT(l->target != NULL && auth_nrn_check(l->target) == EG_OK);
		FUZZ_ASSERT(l->key_id == NULL || (strlen(l->key_id) == 8 && eg_all_hex(l->key_id)));
	} else if (r == EG_OK) {
		const struct rec_operator *op = &m.op;
		FUZZ_ASSERT(op->request_id != NULL && strncmp(op->request_id, "op-", 3) == 0 &&
		    eg_all_hex(op->request_id + 3) && strlen(op->request_id) <= 40);
		FUZZ_ASSERT(op->actor != NULL && strncmp(op->actor, "operator:", 9) == 0 &&
		    strlen(op->actor) <= 64);
		FUZZ_ASSERT(op->action != NULL && (strcmp(op->action, "grant") == 0 ||
		    strcmp(op->action, "revoke") == 0));
		FUZZ_ASSERT(op->target != NULL && auth_nrn_check(op->target) == EG_OK);
		FUZZ_ASSERT(op->role != NULL && dir_role_known(op->role));
		FUZZ_ASSERT(op->scope != NULL && dir_scope_parse(op->scope, &sc) == EG_OK);
		FUZZ_ASSERT(op->reason != NULL);
	} else {
		FUZZ_ASSERT(FUZZ_TERMINATED(why) && why[0] != '\0');
	}
	control_msg_free(&m);
	return 0;
}
