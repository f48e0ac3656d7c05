/*
 * assertion.c - the signed statement of who the user is, sent to backends as
 * X-Eidgate-Assertion (PRODUCT.md §6): an ES256 compact JWS.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "proxy/internal.h"

static const char *
scope_prefix(enum eg_scope_kind k)
{
	switch (k) {
	case EG_SCOPE_ORGANISATION:
		return "organisation";
	case EG_SCOPE_FACILITY:
		return "facility";
	default:
		return "region";
	}
}

/* The roles that matter to the backend: those in the acting organisation, and the
 * regional ones (ITP roles belong to no organisation). */
static json_t *
roles_claim(const struct req_user *u)
{
	json_t *arr = json_array();
	char scope[EG_MAX_ID + 16];
	size_t i;

	if (arr == NULL || u->person == NULL)
		return arr;
	for (i = 0; i < u->person->ngrants; i++) {
		const struct eg_grant *g = &u->person->grants[i];
		if (g->kind != EG_SCOPE_REGION &&
		    (u->context_org[0] == '\0' || strcmp(g->org, u->context_org) != 0))
			continue;
		snprintf(scope, sizeof(scope), "%s:%s", scope_prefix(g->kind), g->scope);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "role", g->role, "scope", scope));
	}
	return arr;
}

static json_t *
opt_string(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

int
assertion_make(struct request *r, const struct policy_backend *b, char **jws)
{
	const struct req_user *u = &r->user;
	int64_t now = eg_now_us() / 1000000;
	int64_t exp = now + r->snap->cfg.assertion_lifetime_ms / 1000;
	json_t *claims;
	char *payload;
	int rc;

	*jws = NULL;
	claims = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:s}",
	    "iss", r->snap->cfg.assertion_issuer, "aud", b->name, "sub", u->id.nrn,
	    "name", opt_string(u->id.name), "given_name", opt_string(u->id.given),
	    "family_name", opt_string(u->id.surname), "org", opt_string(u->context_org),
	    "facility", opt_string(u->context_facility),
	    "capacity", opt_string(u->org != NULL && u->org->ncapacities > 0 ?
	        u->org->capacities[0] : NULL),
	    "roles", roles_claim(u), "sid", opt_string(u->session_id),
	    "iat", (json_int_t)now, "exp", (json_int_t)exp, "jti", r->id);
	if (claims == NULL)
		return EG_ERR_NOMEM;
	payload = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (payload == NULL)
		return EG_ERR_NOMEM;
	rc = signer_jws(r->snap->signer, payload, jws);
	free(payload);
	return rc;
}
