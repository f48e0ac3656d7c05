/*
 * admin_change.c - POST /eidgate/admin/api/grants and /revocations (PRODUCT.md §8).
 *
 * Order of checks: the body and every field (400, field named) -> the scope exists (400)
 * -> the caller's authority over that role and scope (403, directory/rights.c) -> for a
 * revocation, that the role is held (404) and, for a VTE, that another remains (409) ->
 * the caller's own roles (403) -> the decision record -> the directory change -> the
 * outcome record. Authority comes before 409 so that nobody outside the organisation
 * learns whether someone is its last VTE; 409 before self-change so that the last VTE
 * trying to step down hears the real reason.
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
admin_change_parse(json_t *j, enum dir_action action, int64_t now,
    struct admin_change_req *c)
{
	const char *key;
	json_t *v;
	void *it;

	memset(c, 0, sizeof(*c));
	c->action = action;
	if (!json_is_object(j))
		return "body";
	/* (an explicit iterator: cppcheck cannot parse json_object_foreach) */
	for (it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it)) {
		int known;
		key = json_object_iter_key(it);
		known = strcmp(key, "nrn") == 0 || strcmp(key, "role") == 0 ||
		    strcmp(key, "scope") == 0 ||
		    (action == DIR_GRANT && (strcmp(key, "name") == 0 ||
		    strcmp(key, "until") == 0));
		if (!known)
			return strlen(key) <= 32 ? key : "body";
	}
	c->nrn = json_string_value(json_object_get(j, "nrn"));
	if (c->nrn == NULL || auth_nrn_check(c->nrn) != EG_OK)
		return "nrn";
	c->role = json_string_value(json_object_get(j, "role"));
	if (c->role == NULL || !dir_role_known(c->role))
		return "role";
	c->scope = json_string_value(json_object_get(j, "scope"));
	if (c->scope == NULL)
		return "scope";
	v = json_object_get(j, "name");
	if (v != NULL && !json_is_null(v)) {
		c->name = json_string_value(v);
		if (c->name == NULL || !dir_valid_name(c->name))
			return "name";
	}
	v = json_object_get(j, "until");
	if (v != NULL && !json_is_null(v) &&
	    dir_until_parse(json_string_value(v), now, &c->until) != EG_OK)
		return "until";
	return NULL;
}

/* The message of a field at fault: "field.<name>", or one for fields not expected. */
static const char *
field_message(const char *field)
{
	static const char *const known[] = { "nrn", "role", "scope", "name", "until", "body" };
	static const char *const ids[] = { "field.nrn", "field.role", "field.scope",
	    "field.name", "field.until", "field.body" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(field, known[i]) == 0)
			return ids[i];
	return "field.unexpected";
}

/* What the directory said to a revocation: is the role held, and by whom else. */
struct holding {
	int holds;
	char other[EG_NRN_LEN + 1];     /* another holder of the role, "" when none */
};

/*
 * Checks authority, what the target holds and self-change, in the order of the comment
 * at the top; 1 when the change may go ahead, else 0 and it has answered with *ret.
 */
static int
permitted(struct request *r, struct dir_writer *w, struct admin_op *op,
    enum dir_action action, struct holding *h, enum MHD_Result *ret)
{
	const struct dir_person *p = r->user.person;
	enum dir_verdict v = dir_rights_check(p->grants, p->ngrants, r->user.id.nrn, action,
	    op->target, op->role, &op->scope);
	size_t count;

	if (v == DIR_BAD_ROLE) {
		*ret = admin_refuse(r, op, 400, "malformed", "field.role-scope", "role");
		return 0;
	}
	if (v == DIR_REGION_ROLE || v == DIR_OUTSIDE) {
		*ret = admin_refuse(r, op, 403, v == DIR_REGION_ROLE ? "region-scope" :
		    "outside-rights", NULL, NULL);
		return 0;
	}
	if (action == DIR_REVOKE) {
		if (dir_members(w, &op->scope, op->role, op->target, &count, &h->holds,
		    h->other) != EG_OK) {
			*ret = admin_directory_down(r, op);
			return 0;
		}
		if (!h->holds) {
			*ret = admin_refuse(r, op, 404, "not-held", NULL, NULL);
			return 0;
		}
		if (strcmp(op->role, "vte") == 0 && h->other[0] == '\0') {
			*ret = admin_refuse(r, op, 409, "last-vte", NULL, NULL);
			return 0;
		}
	}
	if (v == DIR_SELF) {
		*ret = admin_refuse(r, op, 403, "self-change", NULL, NULL);
		return 0;
	}
	return 1;
}

/* How a change ended: the outcome record after the decision, then the answer. */
struct result {
	const char *reason;             /* granted, already-held, revoked, not-held, ... */
	unsigned status;
};

static enum MHD_Result
answer(struct request *r, const struct admin_op *op, const struct result *res,
    const char *until)
{
	dir_forget_person(r->gw->dir, op->target);
	(void)record_rights_outcome(r, res->reason, (int)res->status, op->action, op->target,
	    op->role, op->scope_text);
	if (res->status == 204)
		return respond_buffer(r, 204, "application/json", "", 0);
	if (res->status == 409 || res->status == 404)
		return admin_error(r, res->status, res->reason, NULL, NULL);
	if (res->status >= 500)
		return admin_error(r, 503, "directory-unavailable", NULL, NULL);
	return admin_reply(r, res->status, json_pack("{s:s, s:s, s:s, s:s, s:o}", "status",
	    res->reason, "nrn", op->target, "role", op->role, "scope", op->scope_text,
	    "until", until != NULL ? json_string(until) : json_null()));
}

/*
 * What the grant will say of where it came from: the caller, by number and by the name
 * on their card, the role of theirs that allows it (directory/rights.c), now, and its
 * end: the one asked for, which may not lie beyond the end of that role of theirs, or
 * when none was asked, that role's end (nobody delegates longer than they hold).
 * 0, or -1 with *msgid the field message.
 */
static int
provenance(const struct request *r, const struct admin_op *op, int64_t asked, int64_t now,
    struct dir_provenance *pv, const char **msgid)
{
	const struct dir_person *p = r->user.person;
	int i = dir_rights_authority(p->grants, p->ngrants, op->role, &op->scope);
	int64_t own;

	memset(pv, 0, sizeof(*pv));
	*msgid = "field.until";
	if (i < 0)
		return -1;      /* permitted() said yes: not reached */
	pv->known = 1;
	eg_strlcpy(pv->by, r->user.id.nrn, sizeof(pv->by));
	eg_strlcpy(pv->by_name, r->user.id.name[0] ? r->user.id.name : p->name,
	    sizeof(pv->by_name));
	(void)dir_grant_name(p->grants[i].role, p->grants[i].kind, p->grants[i].scope, pv->as,
	    sizeof(pv->as));
	pv->at = now;
	pv->until = asked;
	own = p->prov[i].until;
	if (own != 0 && asked == 0)
		pv->until = own;
	else if (own != 0 && asked > own) {
		*msgid = "field.until-beyond-own";
		return -1;
	}
	return 0;
}

/*
 * A role already held is granted again: the same end changes nothing; another end (or
 * a membership that had no provenance) replaces its grant entry, "renewed".
 */
static void
grant_again(struct dir_writer *w, struct admin_op *op, const struct dir_provenance *pv,
    struct result *res)
{
	struct dir_provenance had;

	if (dir_grant_read(w, &op->scope, op->role, op->target, &had, NULL) != EG_OK)
		return;
	if (had.known && had.until == pv->until) {
		res->reason = "already-held";
		res->status = 200;
		return;
	}
	if (dir_grant_write(w, &op->scope, op->role, op->target, pv) != EG_OK)
		return;
	res->reason = "renewed";
	res->status = 200;
}

static void
do_grant(struct dir_writer *w, struct admin_op *op, const char *name, int exists,
    const struct dir_provenance *pv, struct result *res)
{
	size_t count;
	int created, added, holds = 0;

	res->reason = "directory-unavailable";
	res->status = 503;
	/* An existing entry keeps its name: the card's name, read at login, is the truth. */
	if (!exists && dir_person_create(w, op->target, name, &created) != EG_OK)
		return;
	if (exists && dir_members(w, &op->scope, op->role, op->target, &count, &holds,
	    NULL) != EG_OK)
		return;
	if (holds) {
		grant_again(w, op, pv, res);
		return;
	}
	if (dir_add_member(w, &op->scope, op->role, op->target, pv, &added) != EG_OK)
		return;
	res->reason = added ? "granted" : "renewed";
	res->status = added ? 201 : 200;
}

/*
 * Removes a VTE only while another one remains (PRODUCT.md §4: the last VTE cannot be
 * removed in the web pages). The directory decides, atomically: the removal carries an
 * assertion that the other VTE read just before is still a member, so two VTEs removing
 * each other at once, through two gateways, cannot both succeed. When that other one
 * left meanwhile, read again.
 */
static void
revoke_vte(struct dir_writer *w, struct admin_op *op, struct holding *h, struct result *res)
{
	size_t count;
	int removed, gone, attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		if (!h->holds || h->other[0] == '\0') {
			res->reason = h->holds ? "last-vte" : "not-held";
			res->status = h->holds ? 409 : 404;
			return;
		}
		if (dir_remove_member_while(w, &op->scope, "vte", op->target, h->other, &removed,
		    &gone) != EG_OK)
			return;
		if (!gone) {
			res->reason = removed ? "revoked" : "not-held";
			res->status = removed ? 204 : 404;
			return;
		}
		if (dir_members(w, &op->scope, "vte", op->target, &count, &h->holds,
		    h->other) != EG_OK)
			return;
	}
}

static void
do_revoke(struct dir_writer *w, struct admin_op *op, struct holding *h, struct result *res)
{
	int removed;

	res->reason = "directory-unavailable";
	res->status = 503;
	if (strcmp(op->role, "vte") == 0) {
		revoke_vte(w, op, h, res);
		return;
	}
	if (dir_remove_member(w, &op->scope, op->role, op->target, &removed) != EG_OK)
		return;
	res->reason = removed ? "revoked" : "not-held";
	res->status = removed ? 204 : 404;
}

/*
 * Makes a change that is permitted: its decision record first (PRODUCT.md §7: a change
 * reaches the directory only after its record is in the log; 503 and nothing changes
 * when it cannot be written), then the directory, then the outcome record.
 */
static enum MHD_Result
change(struct request *r, struct dir_writer *w, struct admin_op *op,
    const struct admin_change_req *c, struct holding *h)
{
	struct dir_provenance pv;
	struct result res;
	char until[DIR_TIME_LEN] = "";
	const char *msgid;
	int exists = 1, rc;

	if (c->action == DIR_GRANT) {
		if (provenance(r, op, c->until, eg_now_us() / 1000000, &pv, &msgid) != 0)
			return admin_refuse(r, op, 400, "malformed", msgid, "until");
		if (pv.until != 0)
			dir_time_format(pv.until, until);
		if (dir_person_exists(w, op->target, &exists) != EG_OK)
			return admin_directory_down(r, op);
		if (!exists && c->name == NULL)
			return admin_refuse(r, op, 400, "malformed", "field.name-required", "name");
		rc = record_grant(r, op->target, op->role, op->scope_text,
		    until[0] ? until : NULL, pv.as);
	} else {
		rc = record_rights(r, 1, "permitted", op->action, op->target, op->role,
		    op->scope_text);
	}
	if (rc != EG_OK)
		return respond_audit_unavailable(r);
	if (c->action == DIR_GRANT)
		do_grant(w, op, c->name, exists, &pv, &res);
	else
		do_revoke(w, op, h, &res);
	return answer(r, op, &res, until[0] ? until : NULL);
}

/* Validates the scope text and finds its organisation; 1 to go on, 0 when answered. */
static int
resolve(struct request *r, struct dir_writer *w, struct admin_op *op, const char *scope,
    enum MHD_Result *ret)
{
	int st;

	if (dir_scope_parse(scope, &op->scope) != EG_OK) {
		*ret = admin_refuse(r, op, 400, "malformed", field_message("scope"), "scope");
		return 0;
	}
	dir_scope_format(&op->scope, op->scope_text, sizeof(op->scope_text));
	if ((st = admin_resolve_scope(w, op)) == 0)
		return 1;
	if (st == 503)
		*ret = admin_directory_down(r, op);
	else
		*ret = admin_refuse(r, op, 400, "unknown-scope", NULL, "scope");
	return 0;
}

enum MHD_Result
admin_change(struct request *r, struct dir_writer *w, enum dir_action action)
{
	struct admin_op op;
	struct admin_change_req c;
	struct holding h;
	const char *field;
	json_t *j = json_loadb(r->body != NULL ? r->body : "", r->body_size,
	    JSON_REJECT_DUPLICATES, NULL);
	enum MHD_Result ret;

	memset(&op, 0, sizeof(op));
	op.action = action == DIR_GRANT ? "grant" : "revoke";
	if ((field = admin_change_parse(j, action, eg_now_us() / 1000000, &c)) != NULL) {
		/* only values that passed their check go into the log record */
		op.target = strcmp(field, "nrn") != 0 && strcmp(field, "body") != 0 ? c.nrn : NULL;
		ret = admin_refuse(r, &op, 400, "malformed", field_message(field), field);
		json_decref(j);
		return ret;
	}
	op.target = c.nrn;
	op.role = c.role;
	memset(&h, 0, sizeof(h));
	if (resolve(r, w, &op, c.scope, &ret) && permitted(r, w, &op, action, &h, &ret))
		ret = change(r, w, &op, &c, &h);
	json_decref(j);
	return ret;
}
