/*
 * control_msg.c - the one message of the control socket (control.c): a change of rights
 * by the platform operator, as JSON. Parsed strictly: every field checked against the
 * directory's vocabulary, nothing else accepted, so a local process cannot write
 * arbitrary text into the access log through the gateway.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/auth.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "server/internal.h"

static const char *
str(json_t *j, const char *key, size_t max)
{
	const char *v = json_string_value(json_object_get(j, key));

	return v != NULL && v[0] != '\0' && strlen(v) <= max ? v : NULL;
}

/* "operator:" and a user name as getpwuid gives it. */
static int
valid_actor(const char *a)
{
	const char *p;

	if (a == NULL || strncmp(a, "operator:", 9) != 0 || a[9] == '\0')
		return 0;
	for (p = a + 9; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

static int
fail(char *why, size_t len, const char *msg)
{
	eg_strlcpy(why, msg, len);
	return EG_ERR_PARSE;
}

/* A backend name as the policy allows it: [A-Za-z0-9_.-], 1..EG_MAX_ID - 1. */
static int
valid_backend(const char *b)
{
	return b != NULL && b[0] != '\0' && strlen(b) < EG_MAX_ID &&
	    strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	    strlen(b);
}

/* {"kind":"pseudonym","request_id","actor","backend","target"[,"key_id"]} */
static int
parse_pseudonym(json_t *j, struct control_msg *m, char *why, size_t whylen)
{
	struct rec_lookup *l = &m->lookup;
	size_t n = json_object_size(j);

	m->is_pseudonym = 1;
	l->request_id = str(j, "request_id", 40);
	l->actor = str(j, "actor", 64);
	l->backend = str(j, "backend", EG_MAX_ID);
	l->target = str(j, "target", EG_NRN_LEN);
	l->key_id = str(j, "key_id", 8);
	if (n != 5 + (l->key_id != NULL))
		return fail(why, whylen, "not the fields of a pseudonym lookup");
	if (l->request_id == NULL || strncmp(l->request_id, "op-", 3) != 0 ||
	    !eg_all_hex(l->request_id + 3))
		return fail(why, whylen, "request_id");
	if (!valid_actor(l->actor))
		return fail(why, whylen, "actor");
	if (!valid_backend(l->backend))
		return fail(why, whylen, "backend");
	if (l->target == NULL || auth_nrn_check(l->target) != EG_OK)
		return fail(why, whylen, "target");
	if (l->key_id != NULL && (strlen(l->key_id) != 8 || !eg_all_hex(l->key_id)))
		return fail(why, whylen, "key_id");
	return EG_OK;
}

int
control_parse(const char *text, size_t len, struct control_msg *m, char *why, size_t whylen)
{
	static const char *const reasons[] = { "permitted", "granted", "already-held",
		"revoked", "not-held", "directory-unavailable", NULL };
	struct dir_scope sc;
	const char *kind, *decision;
	json_t *j;
	size_t i;

	memset(m, 0, sizeof(*m));
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && json_is_object(j) && (kind = str(j, "kind", 16)) != NULL &&
	    strcmp(kind, "pseudonym") == 0) {
		m->json = j;
		return parse_pseudonym(j, m, why, whylen);
	}
	if (j == NULL || !json_is_object(j) || json_object_size(j) != 9) {
		json_decref(j);
		return fail(why, whylen, "not a JSON object of the nine fields");
	}
	m->json = j;
	kind = str(j, "kind", 16);
	decision = str(j, "decision", 8);
	m->op.request_id = str(j, "request_id", 40);
	m->op.actor = str(j, "actor", 64);
	m->op.action = str(j, "action", 8);
	m->op.target = str(j, "target", EG_NRN_LEN);
	m->op.role = str(j, "role", 32);
	m->op.scope = str(j, "scope", EG_MAX_ID + 16);
	m->op.reason = str(j, "reason", 32);
	if (kind == NULL || (strcmp(kind, "rights") != 0 && strcmp(kind, "outcome") != 0))
		return fail(why, whylen, "kind");
	m->op.outcome = strcmp(kind, "outcome") == 0;
	if (decision == NULL || (strcmp(decision, "allow") != 0 && strcmp(decision, "deny") != 0))
		return fail(why, whylen, "decision");
	m->op.allow = strcmp(decision, "allow") == 0;
	if (m->op.request_id == NULL || strncmp(m->op.request_id, "op-", 3) != 0 ||
	    !eg_all_hex(m->op.request_id + 3))
		return fail(why, whylen, "request_id");
	if (!valid_actor(m->op.actor))
		return fail(why, whylen, "actor");
	if (m->op.action == NULL || (strcmp(m->op.action, "grant") != 0 &&
	    strcmp(m->op.action, "revoke") != 0))
		return fail(why, whylen, "action");
	if (m->op.target == NULL || auth_nrn_check(m->op.target) != EG_OK)
		return fail(why, whylen, "target");
	if (m->op.role == NULL || !dir_role_known(m->op.role))
		return fail(why, whylen, "role");
	if (m->op.scope == NULL || dir_scope_parse(m->op.scope, &sc) != EG_OK)
		return fail(why, whylen, "scope");
	for (i = 0; reasons[i] != NULL; i++)
		if (m->op.reason != NULL && strcmp(m->op.reason, reasons[i]) == 0)
			return EG_OK;
	return fail(why, whylen, "reason");
}

void
control_msg_free(struct control_msg *m)
{
	json_decref(m->json);
	m->json = NULL;
}
