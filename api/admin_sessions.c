/*
 * admin_sessions.c - POST /eidgate/admin/api/sessions/end {"nrn", "scope"}: an
 * administrator ends every session of someone who holds a role where the administrator
 * administers (a lost card, a worker who left). The sessions end here at once and, through
 * the directory (dirsess.c), on every instance within a second of its change feed.
 *
 * Order of checks as for the rights changes (admin_change.c): body (400) -> scope exists
 * (400) -> the caller administers the scope (403) -> the person holds a role there (404)
 * -> not the caller (403: logging oneself out is POST /eidgate/logout) -> the decision
 * record -> the end -> the outcome record.
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "api/internal.h"

const char *
admin_end_sessions_parse(json_t *j, const char **nrn, const char **scope)
{
	void *it;

	if (!json_is_object(j))
		return "body";
	for (it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it)) {
		const char *key = json_object_iter_key(it);
		if (strcmp(key, "nrn") != 0 && strcmp(key, "scope") != 0)
			return "body";
	}
	*nrn = json_string_value(json_object_get(j, "nrn"));
	if (*nrn == NULL || auth_nrn_check(*nrn) != EG_OK)
		return "nrn";
	*scope = json_string_value(json_object_get(j, "scope"));
	return *scope == NULL ? "scope" : NULL;
}

/* 1 when one of the person's roles is held in s: on the organisation or one of its
 * facilities for an organisation, on the facility itself for a facility. */
static int
holds_in(const struct dir_person *p, const struct dir_scope *s)
{
	size_t i;

	for (i = 0; i < p->ngrants; i++) {
		const struct eg_grant *g = &p->grants[i];
		if (s->kind == EG_SCOPE_ORGANISATION && strcmp(g->org, s->org) == 0)
			return 1;
		if (s->kind == EG_SCOPE_FACILITY && g->kind == EG_SCOPE_FACILITY &&
		    strcmp(g->scope, s->id) == 0)
			return 1;
	}
	return 0;
}

/* Ends them here and in the directory; the outcome record, then the answer. */
static enum MHD_Result
end_sessions(struct request *r, const struct admin_op *op)
{
	int64_t now = eg_now_us() / 1000000;
	int64_t until = now + r->snap->cfg.absolute_timeout_ms / 1000;
	int shared;

	if (req_end_sessions(r, op->target, NULL, now, until, &shared) != EG_OK) {
		(void)record_rights_outcome(r, "ends-full", 503, op->action, op->target, NULL,
		    op->scope_text);
		return admin_error(r, 503, "logout-unavailable", NULL, NULL);
	}
	(void)record_rights_outcome(r, shared ? "ended" : "ended-here-only", 200, op->action,
	    op->target, NULL, op->scope_text);
	return admin_reply(r, 200, json_pack("{s:b,s:b}", "ended", 1, "all_instances", shared));
}

enum MHD_Result
admin_end_sessions(struct request *r, struct dir_writer *w)
{
	const struct dir_person *me = r->user.person, *p = NULL;
	json_t *j = json_loadb(r->body != NULL ? r->body : "", r->body_size,
	    JSON_REJECT_DUPLICATES, NULL);
	const char *field, *nrn = NULL, *scope = NULL;
	struct admin_op op;
	enum MHD_Result ret;
	int st;

	memset(&op, 0, sizeof(op));
	op.action = "end-sessions";
	if ((field = admin_end_sessions_parse(j, &nrn, &scope)) != NULL) {
		ret = admin_refuse(r, &op, 400, "malformed", strcmp(field, "body") == 0 ?
		    "field.body" : strcmp(field, "nrn") == 0 ? "field.nrn" : "field.scope", field);
		goto out;
	}
	op.target = nrn;
	if (dir_scope_parse(scope, &op.scope) != EG_OK) {
		ret = admin_refuse(r, &op, 400, "malformed", "field.scope", "scope");
		goto out;
	}
	dir_scope_format(&op.scope, op.scope_text, sizeof(op.scope_text));
	if ((st = admin_resolve_scope(w, &op)) != 0) {
		ret = st == 503 ? admin_directory_down(r, &op) :
		    admin_refuse(r, &op, 400, "unknown-scope", NULL, "scope");
		goto out;
	}
	if (op.scope.kind == EG_SCOPE_REGION ||
	    !dir_may_administer(me->grants, me->ngrants, &op.scope)) {
		ret = admin_refuse(r, &op, 403, "outside-rights", NULL, NULL);
		goto out;
	}
	if (dir_person(r->gw->dir, nrn, &p) != EG_OK) {
		ret = admin_directory_down(r, &op);
		goto out;
	}
	if (!p->found || !holds_in(p, &op.scope))
		ret = admin_refuse(r, &op, 404, "not-held", NULL, NULL);
	else if (strcmp(nrn, r->user.id.nrn) == 0)
		ret = admin_refuse(r, &op, 403, "self-change", NULL, NULL);
	else if (record_rights(r, 1, "permitted", op.action, op.target, NULL,
	    op.scope_text) != EG_OK)
		ret = respond_audit_unavailable(r);
	else
		ret = end_sessions(r, &op);
	dir_release(p);
out:
	json_decref(j);
	return ret;
}
