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
			return admin_error(r, 503, "directory-unavailable", NULL, NULL);
		}
	}
	return admin_reply(r, 200, json_pack("{s:o}", "organisations", orgs));
}

/*
 * What a listing asks for: from the query string of a GET, or from the JSON body of a
 * POST (the pages' way, since q may be a national number, which never goes into a URL:
 * PRODUCT.md §3). q is a name fragment or a national number (11 digits, dots, dashes
 * and spaces as people write them).
 */
struct people_query {
	struct request *r;
	json_t *body;                   /* POST: the parsed object; NULL for a GET */
	const char *role, *q;
	char nrn[EG_NRN_LEN + 1];       /* q was a national number; "" otherwise */
	long long offset, limit;
};

/* A parameter: 0 (absent: *out NULL, or present), -1 when it is not text or holds a NUL
 * byte (%00): nothing with one reaches a filter. */
static int
query_param(struct people_query *pq, const char *key, const char **out)
{
	const char *v = NULL;
	size_t n = 0;
	json_t *j;

	*out = NULL;
	if (pq->body != NULL) {
		if ((j = json_object_get(pq->body, key)) == NULL || json_is_null(j))
			return 0;
		if ((v = json_string_value(j)) == NULL || strlen(v) != json_string_length(j))
			return -1;
	} else if (MHD_lookup_connection_value_n(pq->r->conn, MHD_GET_ARGUMENT_KIND, key,
	    strlen(key), &v, &n) != MHD_YES || v == NULL) {
		return 0;
	} else if (strlen(v) != n) {
		return -1;
	}
	*out = v[0] != '\0' ? v : NULL;
	return 0;
}

/* A whole number parameter within [min, max], dflt when absent; -1 when malformed. */
static int
number_param(struct people_query *pq, const char *key, long long min, long long max,
    long long dflt, long long *out)
{
	const char *v;
	json_t *j;

	*out = dflt;
	if (pq->body != NULL && (j = json_object_get(pq->body, key)) != NULL &&
	    json_is_integer(j)) {
		*out = json_integer_value(j);
		return *out >= min && *out <= max ? 0 : -1;
	}
	if (query_param(pq, key, &v) != 0)
		return -1;
	return v == NULL ? 0 : eg_strtonum(v, min, max, out) == EG_OK ? 0 : -1;
}

int
api_nrn_of(const char *q, char *nrn)
{
	size_t n = 0;

	for (; *q != '\0'; q++) {
		if (*q >= '0' && *q <= '9') {
			if (n == EG_NRN_LEN)
				return -1;
			nrn[n++] = *q;
		} else if (*q != '.' && *q != '-' && *q != ' ') {
			return -1;
		}
	}
	nrn[n] = '\0';
	return n == EG_NRN_LEN ? 0 : -1;
}

static json_t *
time_or_null(int64_t t)
{
	char text[DIR_TIME_LEN];

	if (t == 0)
		return json_null();
	dir_time_format(t, text);
	return text[0] ? json_string(text) : json_null();
}

/* Who granted a role, as the page says it: a person (by the name they had then), the
 * platform operator, the migration of an older directory, or nobody known. */
static const char *
granted_by_kind(const struct dir_provenance *p)
{
	if (!p->known)
		return "unknown";
	if (strcmp(p->by, DIR_BY_OPERATOR) == 0)
		return "operator";
	if (strcmp(p->by, DIR_BY_MIGRATION) == 0)
		return "migration";
	return "person";
}

/* One role of a person, with where it came from (directory.h dir_provenance). */
static json_t *
role_json(const struct dir_holding *h, const char *scope, int64_t now)
{
	const struct dir_provenance *p = &h->prov;
	const char *kind = granted_by_kind(p);

	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:b}", "role", h->grant.role,
	    "scope", scope,
	    "granted_by", strcmp(kind, "person") == 0 ? text(p->by_name) : json_null(),
	    "granted_by_kind", kind,
	    "granted_as", p->as[0] ? json_string(p->as) : json_null(),
	    "granted_at", time_or_null(p->at), "until", time_or_null(p->until),
	    "expired", !dir_prov_holds(p, now));
}

/*
 * The people of one page: holdings come sorted by name, then national number, so each
 * person's roles are one run; persons before offset and after offset + limit are only
 * counted (*total), and only the person with national number nrn when it is set.
 */
static json_t *
people_json(const struct dir_people *pl, const char *self, const struct people_query *pq,
    long long *total)
{
	json_t *arr = json_array(), *roles = NULL;
	char st[EG_MAX_ID + 16];
	int64_t now = eg_now_us() / 1000000;
	size_t i;
	int shown = 0;

	*total = 0;
	for (i = 0; arr != NULL && i < pl->n; i++) {
		const struct dir_holding *h = &pl->h[i];
		struct dir_scope s = { h->grant.kind, "", "" };
		if (pq->nrn[0] != '\0' && strcmp(h->nrn, pq->nrn) != 0)
			continue;
		if (i == 0 || strcmp(h->nrn, pl->h[i - 1].nrn) != 0) {
			shown = *total >= pq->offset && *total < pq->offset + pq->limit;
			(*total)++;
			roles = shown ? json_array() : NULL;
			if (shown)
				json_array_append_new(arr, json_pack("{s:s, s:o, s:b, s:o}", "nrn",
				    h->nrn, "name", text(h->name), "self", strcmp(h->nrn, self) == 0,
				    "roles", roles));
		}
		if (!shown)
			continue;
		eg_strlcpy(s.id, h->grant.scope, sizeof(s.id));
		dir_scope_format(&s, st, sizeof(st));
		json_array_append_new(roles, role_json(h, st, now));
	}
	return arr;
}

/* Reads and checks the parameters; NULL or the name of the one at fault (*reason says
 * why when it is not simply malformed). */
static const char *
people_params(struct admin_op *op, struct people_query *pq, const char **reason)
{
	const char *scope;

	*reason = "malformed";
	if (query_param(pq, "scope", &scope) != 0 || scope == NULL ||
	    dir_scope_parse(scope, &op->scope) != EG_OK)
		return "scope";
	dir_scope_format(&op->scope, op->scope_text, sizeof(op->scope_text));
	if (query_param(pq, "role", &pq->role) != 0 ||
	    (pq->role != NULL && !dir_role_known(pq->role)))
		return "role";
	op->role = pq->role;
	if (query_param(pq, "q", &pq->q) != 0 || (pq->q != NULL &&
	    (strlen(pq->q) > EG_MAX_ADMIN_Q || !dir_valid_name(pq->q))))
		return "q";
	if (pq->q != NULL && api_nrn_of(pq->q, pq->nrn) == 0) {
		if (pq->body == NULL) {
			*reason = "nrn-in-url";
			return "q";
		}
		pq->q = NULL;
	}
	if (number_param(pq, "offset", 0, EG_MAX_DIR_LISTED, 0, &pq->offset) != 0)
		return "offset";
	if (number_param(pq, "limit", 1, EG_MAX_PAGE, EG_MAX_PAGE, &pq->limit) != 0)
		return "limit";
	return NULL;
}

static const char *
people_field_message(const char *field, const char *reason)
{
	if (strcmp(reason, "nrn-in-url") == 0)
		return NULL;
	if (strcmp(field, "scope") == 0)
		return "field.scope";
	if (strcmp(field, "role") == 0)
		return "field.role";
	if (strcmp(field, "q") == 0)
		return "field.q";
	return "field.page";
}

/* Lists who holds which role in the scope of pq (op filled by people_params). */
static enum MHD_Result
list_people(struct request *r, struct dir_writer *w, struct admin_op *op,
    struct people_query *pq)
{
	const struct dir_person *p = r->user.person;
	struct dir_people pl;
	long long total = 0;
	json_t *j, *people;
	int st;

	if ((st = admin_resolve_scope(w, op)) != 0)
		return st == 503 ? admin_directory_down(r, op) :
		    admin_refuse(r, op, 400, "unknown-scope", NULL, "scope");
	if (!dir_may_administer(p->grants, p->ngrants, &op->scope))
		return admin_refuse(r, op, 403, op->scope.kind == EG_SCOPE_REGION ?
		    "region-scope" : "outside-rights", "msg.not-your-scope", NULL);
	if (dir_list_people(w, &op->scope, pq->role, pq->q, &pl) != EG_OK)
		return admin_directory_down(r, op);
	people = people_json(&pl, r->user.id.nrn, pq, &total);
	j = json_pack("{s:s, s:o, s:b, s:I, s:I, s:I}", "scope", op->scope_text, "people", people,
	    "truncated", pl.truncated, "total", (json_int_t)total, "offset",
	    (json_int_t)pq->offset, "limit", (json_int_t)pq->limit);
	dir_people_free(&pl);
	if (record_rights(r, 1, "listed", op->action, pq->nrn[0] ? pq->nrn : NULL, op->role,
	    op->scope_text) != EG_OK) {
		json_decref(j);
		return respond_audit_unavailable(r);
	}
	return admin_reply(r, 200, j);
}

enum MHD_Result
admin_people(struct request *r, struct dir_writer *w)
{
	struct people_query pq;
	struct admin_op op;
	const char *field, *reason;
	enum MHD_Result ret;

	memset(&op, 0, sizeof(op));
	memset(&pq, 0, sizeof(pq));
	op.action = "list";
	pq.r = r;
	if (strcmp(r->method, "POST") == 0 && !json_is_object(pq.body = json_loadb(r->body != NULL ?
	    r->body : "", r->body_size, JSON_REJECT_DUPLICATES, NULL))) {
		json_decref(pq.body);
		return admin_refuse(r, &op, 400, "malformed", "field.body", "body");
	}
	if ((field = people_params(&op, &pq, &reason)) != NULL) {
		if (strcmp(field, "scope") == 0)
			op.scope_text[0] = '\0';
		op.role = strcmp(field, "role") == 0 ? NULL : op.role;
		ret = admin_refuse(r, &op, 400, reason, people_field_message(field, reason), field);
	} else {
		ret = list_people(r, w, &op, &pq);
	}
	json_decref(pq.body);
	return ret;
}
