/*
 * admin_list.c - GET /eidgate/admin/api/scope and /people (PRODUCT.md §8): what the
 * caller may administer, and who holds which role there. Listing people discloses
 * national numbers, so every listing (and every refused one) is an access-log record of
 * kind "rights", action "list".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "api/internal.h"

static json_t *
text(const char *s)
{
	json_t *j = json_string(s);

	/* Only text from the directory gets here; should it not be UTF-8, say so plainly. */
	return j != NULL ? j : json_string("?");
}

static json_t *
roles_json(const struct dir_person *p, enum dir_action a, const struct dir_scope *s)
{
	const char *roles[16];
	size_t i, n = dir_allowed_roles(p->grants, p->ngrants, a, s, roles, 16);
	json_t *arr = json_array();

	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_string(roles[i]));
	return arr;
}

static json_t *
scope_json(const struct dir_person *p, const struct dir_scope *s, const char *name)
{
	char st[EG_MAX_ID + 16];

	dir_scope_format(s, st, sizeof(st));
	return json_pack("{s:s, s:o, s:s, s:o, s:o}", "id", s->id, "name", text(name), "scope", st,
	    "grantable", roles_json(p, DIR_GRANT, s), "revocable",
	    roles_json(p, DIR_REVOKE, s));
}

/* One organisation with the facilities the caller may administer in it. */
static int
org_json(const struct dir_person *p, struct dir_writer *w, const char *org, json_t *out)
{
	struct dir_scope os = { EG_SCOPE_ORGANISATION, "", "" }, fs;
	struct dir_facility *fac = NULL;
	struct dir_org o;
	json_t *obj, *facs, *f;
	size_t i, nf = 0;

	eg_strlcpy(os.id, org, sizeof(os.id));
	eg_strlcpy(os.org, org, sizeof(os.org));
	if (dir_org_read(w, org, &o) != EG_OK || dir_list_facilities(w, org, &fac, &nf) != EG_OK)
		return EG_ERR_DIRECTORY;
	if (!o.found) {
		free(fac);
		return EG_OK;   /* a grant on an organisation that is gone: nothing to show */
	}
	obj = scope_json(p, &os, o.name);
	facs = json_array();
	for (i = 0; obj != NULL && facs != NULL && i < nf; i++) {
		fs = os;
		fs.kind = EG_SCOPE_FACILITY;
		eg_strlcpy(fs.id, fac[i].id, sizeof(fs.id));
		if (!dir_may_administer(p->grants, p->ngrants, &fs))
			continue;
		f = scope_json(p, &fs, fac[i].name);
		json_object_set_new(f, "sector", text(fac[i].sector));
		json_object_set_new(f, "region", text(fac[i].region));
		json_array_append_new(facs, f);
	}
	free(fac);
	json_object_set_new(obj, "administer", json_boolean(dir_may_administer(p->grants,
	    p->ngrants, &os)));
	json_object_set_new(obj, "facilities", facs);
	json_array_append_new(out, obj);
	return EG_OK;
}

/* Organisation of a grant that lets its holder administer something, or NULL. */
static const char *
admin_org_of(const struct eg_grant *g)
{
	if (g->kind == EG_SCOPE_ORGANISATION && (strcmp(g->role, "vte") == 0 ||
	    strcmp(g->role, "co-vte") == 0 || strcmp(g->role, "lb") == 0))
		return g->scope;
	if (g->kind == EG_SCOPE_FACILITY && strcmp(g->role, "lb") == 0)
		return g->org;
	return NULL;
}

enum MHD_Result
admin_scope(struct request *r, struct dir_writer *w)
{
	const struct dir_person *p = r->user.person;
	json_t *orgs = json_array();
	size_t i, k;

	for (i = 0; orgs != NULL && i < p->ngrants; i++) {
		const char *org = admin_org_of(&p->grants[i]);
		if (org == NULL || org[0] == '\0')
			continue;
		for (k = 0; k < i; k++)         /* seen already? */
			if (admin_org_of(&p->grants[k]) != NULL &&
			    strcmp(admin_org_of(&p->grants[k]), org) == 0)
				break;
		if (k < i)
			continue;
		if (org_json(p, w, org, orgs) != EG_OK) {
			json_decref(orgs);
			return admin_error(r, 503, "directory-unavailable",
			    "The directory is unavailable; please try again later.", NULL);
		}
	}
	return admin_reply(r, 200, json_pack("{s:o}", "organisations", orgs));
}

/* A query parameter, decoded by libmicrohttpd. 0 (absent: *out NULL, or present), -1
 * when it holds a NUL byte (%00): nothing with one reaches a filter. */
static int
query_param(struct request *r, const char *key, const char **out)
{
	const char *v = NULL;
	size_t n = 0;

	*out = NULL;
	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v,
	    &n) != MHD_YES || v == NULL)
		return 0;
	if (strlen(v) != n)
		return -1;
	*out = v[0] != '\0' ? v : NULL;
	return 0;
}

static json_t *
people_json(const struct dir_people *pl, const char *self)
{
	json_t *arr = json_array(), *person = NULL, *roles = NULL;
	char st[EG_MAX_ID + 16];
	size_t i;

	for (i = 0; arr != NULL && i < pl->n; i++) {
		const struct dir_holding *h = &pl->h[i];
		struct dir_scope s = { h->grant.kind, "", "" };
		if (i == 0 || strcmp(h->nrn, pl->h[i - 1].nrn) != 0) {
			roles = json_array();
			person = json_pack("{s:s, s:o, s:b, s:o}", "nrn", h->nrn, "name",
			    text(h->name), "self", strcmp(h->nrn, self) == 0, "roles", roles);
			json_array_append_new(arr, person);
		}
		eg_strlcpy(s.id, h->grant.scope, sizeof(s.id));
		dir_scope_format(&s, st, sizeof(st));
		json_array_append_new(roles, json_pack("{s:s, s:s}", "role", h->grant.role,
		    "scope", st));
	}
	return arr;
}

/* Reads and checks the parameters; NULL or the name of the one at fault. */
static const char *
people_params(struct request *r, struct admin_op *op, const char **role, const char **q)
{
	const char *scope;

	if (query_param(r, "scope", &scope) != 0 || scope == NULL ||
	    dir_scope_parse(scope, &op->scope) != EG_OK)
		return "scope";
	dir_scope_format(&op->scope, op->scope_text, sizeof(op->scope_text));
	if (query_param(r, "role", role) != 0 || (*role != NULL && !dir_role_known(*role)))
		return "role";
	op->role = *role;
	if (query_param(r, "q", q) != 0 || (*q != NULL && (strlen(*q) > EG_MAX_ADMIN_Q ||
	    !dir_valid_name(*q))))
		return "q";
	return NULL;
}

enum MHD_Result
admin_people(struct request *r, struct dir_writer *w)
{
	const struct dir_person *p = r->user.person;
	struct admin_op op;
	struct dir_people pl;
	const char *role = NULL, *q = NULL, *field;
	json_t *j;
	int st;

	memset(&op, 0, sizeof(op));
	op.action = "list";
	if ((field = people_params(r, &op, &role, &q)) != NULL) {
		if (strcmp(field, "scope") == 0)
			op.scope_text[0] = '\0';
		op.role = strcmp(field, "role") == 0 ? NULL : op.role;
		return admin_refuse(r, &op, 400, "malformed", strcmp(field, "scope") == 0 ?
		    "scope must be organisation:<number> or facility:<id>." :
		    strcmp(field, "role") == 0 ? "role is not a known role." :
		    "q must be 1-256 bytes of text without control characters.", field);
	}
	if ((st = admin_resolve_scope(w, &op)) != 0)
		return st == 503 ? admin_directory_down(r, &op) :
		    admin_refuse(r, &op, 400, "unknown-scope", "There is no such scope.", "scope");
	if (!dir_may_administer(p->grants, p->ngrants, &op.scope))
		return admin_refuse(r, &op, 403, op.scope.kind == EG_SCOPE_REGION ?
		    "region-scope" : "outside-rights", "You do not administer this scope.", NULL);
	if (dir_list_people(w, &op.scope, role, q, &pl) != EG_OK)
		return admin_directory_down(r, &op);
	j = json_pack("{s:s, s:o, s:b}", "scope", op.scope_text, "people",
	    people_json(&pl, r->user.id.nrn), "truncated", pl.truncated);
	dir_people_free(&pl);
	if (record_rights(r, 1, "listed", op.action, NULL, op.role, op.scope_text) != EG_OK) {
		json_decref(j);
		return respond_audit_unavailable(r);
	}
	return admin_reply(r, 200, j);
}
