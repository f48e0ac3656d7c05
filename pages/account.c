/*
 * account.c - the user's own session: who am I (whoami: name, roles with the names of
 * their places, the menus and applications the user can use), the facility to act for
 * (context), logout and login (PRODUCT.md §6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "pages/internal.h"

/* The name of a facility or organisation, "" when the directory does not have it. The
 * returned entry is released by the caller (dir_release). */
static const char *
place_name(struct request *r, enum eg_scope_kind kind, const char *id, const void **entry)
{
	const struct dir_facility *f = NULL;
	const struct dir_org *o = NULL;

	*entry = NULL;
	if (kind == EG_SCOPE_FACILITY && dir_facility(r->gw->dir, id, &f) == EG_OK) {
		*entry = f;
		return f->found ? f->name : "";
	}
	if (kind == EG_SCOPE_ORGANISATION && dir_org(r->gw->dir, id, &o) == EG_OK) {
		*entry = o;
		return o->found ? o->name : "";
	}
	return "";
}

/* The user's roles, each with the names of its place (the portal groups them). */
static json_t *
grants_json(struct request *r, const struct dir_person *p)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++) {
		const struct eg_grant *g = &p->grants[i];
		const char *org = g->kind == EG_SCOPE_ORGANISATION ? g->scope : g->org;
		const void *e1 = NULL, *e2 = NULL;
		const char *name = place_name(r, g->kind, g->scope, &e1);
		const char *oname = org[0] ? place_name(r, EG_SCOPE_ORGANISATION, org, &e2) : "";

		char until[DIR_TIME_LEN] = "";
		if (p->prov[i].until != 0)
			dir_time_format(p->prov[i].until, until);
		/* the end of a role, so that nobody learns of it when a door stays shut */
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s?}", "role",
		    g->role, "scope_kind", dir_scope_kind_name(g->kind), "scope", g->scope,
		    "scope_name", name, "organisation", org[0] ? org : NULL,
		    "organisation_name", oname, "until", until[0] ? until : NULL));
		dir_release(e1);
		dir_release(e2);
	}
	return arr;
}

/* The menus of the pages the user can use: rights management for those who administer
 * something (PRODUCT.md §4), the access log for security officers. */
static json_t *
menus_json(const struct dir_person *p)
{
	int admin = 0, audit = 0;
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++) {
		const struct eg_grant *g = &p->grants[i];
		if (g->kind == EG_SCOPE_ORGANISATION && strcmp(g->role, "security-officer") == 0)
			audit = 1;
		if ((g->kind == EG_SCOPE_ORGANISATION && (strcmp(g->role, "vte") == 0 ||
		    strcmp(g->role, "co-vte") == 0 || strcmp(g->role, "lb") == 0)) ||
		    (g->kind == EG_SCOPE_FACILITY && strcmp(g->role, "lb") == 0))
			admin = 1;
	}
	return json_pack("{s:b, s:b}", "admin", admin, "audit", audit);
}

/*
 * The applications behind the gateway the portal may offer: each link is offered only
 * when the policy would let the user follow it now, so nobody is sent to a 403. {} is
 * the facility acted for, or each region where the user holds a role.
 */
static const struct app {
	const char *id;                 /* message id of its label */
	const char *path;
	enum { APP_GENERAL, APP_FACILITY, APP_REGION } per;
} apps[] = {
	{ "app.modules", "/modules/facilities/{}/modules", APP_FACILITY },
	{ "app.intake", "/modules/facilities/{}/intake", APP_FACILITY },
	{ "app.a-documents", "/dossiers/facilities/{}/a-documents", APP_FACILITY },
	{ "app.catalog", "/modules/catalog/modules", APP_GENERAL },
	{ "app.region-a-documents", "/dossiers/regions/{}/a-documents", APP_REGION },
	{ "app.region-reports", "/dossiers/regions/{}/indication-reports", APP_REGION },
};

static void
add_app(struct request *r, json_t *arr, const struct app *a, const char *arg,
    const char *place)
{
	const char *at = strstr(a->path, "{}");
	char path[EG_MAX_PATH];
	int n = at == NULL ? snprintf(path, sizeof(path), "%s", a->path) :
	    snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - a->path), a->path, arg, at + 2);

	if (n < 0 || (size_t)n >= sizeof(path) || !req_would_allow(r, "GET", path))
		return;
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "id", a->id, "href", path,
	    "place", place));
}

static json_t *
apps_json(struct request *r)
{
	const struct dir_person *p = r->user.person;
	const char *fac = r->user.context_facility;
	json_t *arr = json_array();
	const void *e;
	size_t i, k;

	for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		if (apps[i].per == APP_GENERAL)
			add_app(r, arr, &apps[i], "", "");
		if (apps[i].per == APP_FACILITY && fac[0] != '\0') {
			add_app(r, arr, &apps[i], fac, place_name(r, EG_SCOPE_FACILITY, fac, &e));
			dir_release(e);
		}
		for (k = 0; apps[i].per == APP_REGION && p != NULL && k < p->ngrants; k++)
			if (p->grants[k].kind == EG_SCOPE_REGION)
				add_app(r, arr, &apps[i], p->grants[k].scope, p->grants[k].scope);
	}
	return arr;
}

/* Adds facility f to arr unless present: what the user may choose to act for. */
static void
add_facility(struct request *r, json_t *arr, const struct dir_facility *f)
{
	const struct dir_org *o = NULL;
	json_t *caps = json_array();
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(arr, i), "id")), f->id) == 0) {
			json_decref(caps);
			return;
		}
	if (dir_org(r->gw->dir, f->org, &o) == EG_OK && o->found)
		for (i = 0; i < o->ncapacities; i++)
			json_array_append_new(caps, json_string(o->capacities[i]));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", f->id,
	    "name", f->name, "region", f->region, "organisation", f->org, "organisation_name",
	    o != NULL && o->found ? o->name : "", "capacities", caps));
	dir_release(o);
}

/* The facilities where the user holds a role, directly or through the organisation. */
static json_t *
facilities_json(struct request *r)
{
	const struct dir_person *p = r->user.person;
	json_t *arr = json_array();
	size_t i, k;

	for (i = 0; p != NULL && i < p->ngrants; i++) {
		const struct eg_grant *g = &p->grants[i];
		if (g->kind == EG_SCOPE_FACILITY) {
			const struct dir_facility *f = NULL;
			if (dir_facility(r->gw->dir, g->scope, &f) == EG_OK && f->found)
				add_facility(r, arr, f);
			dir_release(f);
		} else if (g->kind == EG_SCOPE_ORGANISATION) {
			const struct dir_facility_list *l = NULL;
			if (dir_facilities_of(r->gw->dir, g->scope, &l) == EG_OK)
				for (k = 0; k < l->n; k++)
					add_facility(r, arr, &l->items[k]);
			dir_release(l);
		}
	}
	return arr;
}

enum MHD_Result
page_whoami(struct request *r)
{
	const struct req_user *u = &r->user;
	char masked[16];

	if (record_read(r, "whoami") != EG_OK)
		return respond_audit_unavailable(r);
	log_mask_nrn(u->id.nrn, masked, sizeof(masked));
	return respond_json_obj(r, 200, json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:s?, s:s?, s:s?, s:s, s:o, s:o}",
	    "nrn_masked", masked, "name", u->id.name, "given_name", u->id.given,
	    "family_name", u->id.surname, "card", u->id.kind == EG_CARD_FOREIGNER ?
	    "foreigner" : "citizen", "key", u->id.key_type, "roles", grants_json(r, u->person),
	    "facilities", facilities_json(r),
	    "organisation", u->context_org[0] ? u->context_org : NULL,
	    "facility", u->context_facility[0] ? u->context_facility : NULL,
	    "capacity", req_capacity(u),
	    "csrf", u->csrf[0] ? u->csrf : NULL,
	    "lang", i18n_code(i18n_lang_of(r)), "menus", menus_json(u->person),
	    "apps", apps_json(r)));
}

/* May the user act for facility f? Any role on it, or on its organisation. */
static int
holds_role_on(const struct dir_person *p, const struct dir_facility *f)
{
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++) {
		const struct eg_grant *g = &p->grants[i];
		if ((g->kind == EG_SCOPE_FACILITY && strcmp(g->scope, f->id) == 0) ||
		    (g->kind == EG_SCOPE_ORGANISATION && strcmp(g->scope, f->org) == 0))
			return 1;
	}
	return 0;
}

/* POST /eidgate/context {"facility": ID}: choose the facility to act for. */
enum MHD_Result
page_context(struct request *r)
{
	json_t *j = json_loadb(r->body ? r->body : "", r->body_size, JSON_REJECT_DUPLICATES, NULL);
	const char *fid = json_string_value(json_object_get(j, "facility"));
	const struct dir_facility *f = NULL;
	struct req_user *u = &r->user;
	char *token = NULL;
	enum MHD_Result ret;
	int err;

	if (fid == NULL) {
		json_decref(j);
		return respond_error(r, 400, "facility", NULL);
	}
	err = dir_facility(r->gw->dir, fid, &f);
	json_decref(j);
	if (err == EG_ERR_DIRECTORY)
		ret = respond_error(r, 503, "directory-unavailable", NULL);
	else if (err != EG_OK || !f->found || !holds_role_on(u->person, f))
		ret = respond_error(r, 403, "not-your-facility", NULL);
	else {
		eg_strlcpy(u->sess.facility, f->id, sizeof(u->sess.facility));
		eg_strlcpy(u->sess.org, f->org, sizeof(u->sess.org));
		eg_strlcpy(u->context_facility, f->id, sizeof(u->context_facility));
		eg_strlcpy(u->context_org, f->org, sizeof(u->context_org));
		if ((err = websession_reseal(r, &token)) != EG_OK)
			ret = err == EG_ERR_KEYS ? respond_error(r, 503, "keys-unavailable", NULL) :
			    respond_error(r, 500, "internal", NULL);
		else
			ret = respond_json_obj(r, 200, json_pack("{s:s, s:s, s:s?}", "facility", f->id,
			    "organisation", f->org, "token", u->via_bearer ? token : NULL));
	}
	if (token != NULL)
		eg_freezero(token, strlen(token));
	dir_release(f);
	return ret;
}

/* {"everywhere": true} in the body: every session of the person, not just this one. */
static int
wants_everywhere(const struct request *r)
{
	json_t *j = r->body_size > 0 ? json_loadb(r->body, r->body_size, 0, NULL) : NULL;
	int everywhere = json_is_true(json_object_get(j, "everywhere"));

	json_decref(j);
	return everywhere;
}

/*
 * POST /eidgate/logout: the session ends at the gateway, for good (its id is refused
 * until its absolute timeout, also after a restart: the logout record carries it), the
 * cookie is cleared, and the browser is marked as logged out, so that the card it still
 * presents does not log it in again on the next page (session.c). The browser keeps
 * the card's TLS session until the card is removed or the browser closed; the page says
 * so in words. With {"everywhere": true} every session of the person made until now
 * ends. The end is written to the directory too (req_end_sessions), so that every
 * instance refuses it within a second; "all_instances" in the answer says whether that
 * worked: failing it, the session has still ended here and in the access log.
 */
enum MHD_Result
page_logout(struct request *r)
{
	struct req_user *u = &r->user;
	int everywhere = u->has_session && wants_everywhere(r);
	int64_t now = eg_now_us() / 1000000, until = 0;
	int shared = 1;
	char body[64];

	if (u->has_session) {
		until = (everywhere ? now : u->sess.created) +
		    r->snap->cfg.absolute_timeout_ms / 1000;
		if (req_end_sessions(r, everywhere ? u->sess.nrn : NULL, u->session_id, now, until,
		    &shared) != EG_OK) {
			log_warnx("request %s: the ended sessions are full: logout refused", r->id);
			return respond_error(r, 503, "logout-unavailable", NULL);
		}
	}
	free(u->set_cookie);
	u->set_cookie = strdup("__Host-eidgate=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	if (record_session_end(r, REC_LOGOUT, EG_OK, until, everywhere ? u->sess.nrn : NULL) !=
	    EG_OK)
		return respond_audit_unavailable(r);
	snprintf(body, sizeof(body), "{\"logged_out\":true,\"everywhere\":%s,\"all_instances\":%s}",
	    everywhere ? "true" : "false", shared ? "true" : "false");
	return respond_buffer_cookie(r, 200, "application/json", body, strlen(body),
	    u->via_bearer ? NULL : websession_signed_out_cookie(1));
}

#define LOGIN_AGAIN "{\"login\":true}"

/* Only the gateway's own pages may log a card in again: a page elsewhere could
 * otherwise undo a logout behind the user's back. A browser says where a request comes
 * from in Sec-Fetch-Site, which no page can set; its form posts carry "Origin: null"
 * under the gateway's Referrer-Policy, so Origin counts only without it. */
static int
from_own_page(struct request *r)
{
	const char *sfs = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");

	if (sfs != NULL)
		return strcmp(sfs, "same-origin") == 0 || strcmp(sfs, "none") == 0;
	return origin == NULL || strcmp(origin, r->gw->origin) == 0;
}

/* POST /eidgate/login ("Aanmelden"): the card may log in again. The next page the
 * browser loads makes the session (and its login record), as any certificate login. A
 * form post is sent back to the portal. */
enum MHD_Result
page_login(struct request *r)
{
	const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!from_own_page(r))
		return respond_error(r, 403, "cross-site", NULL);
	if (accept == NULL || strstr(accept, "text/html") == NULL)
		return respond_buffer_cookie(r, 200, "application/json", LOGIN_AGAIN,
		    strlen(LOGIN_AGAIN), websession_signed_out_cookie(0));
	if ((resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)) == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Location", EG_GATEWAY_PREFIX "/");
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	MHD_add_response_header(resp, "Set-Cookie", websession_signed_out_cookie(0));
	respond_add_security_headers(resp);
	r->phase = REQ_RESPONDED;
	ret = MHD_queue_response(r->conn, 303, resp);
	MHD_destroy_response(resp);
	return ret;
}
