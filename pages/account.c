/*
 * account.c - the user's own session: who am I (whoami), the facility to act for
 * (context) and logout (PRODUCT.md §6).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/session.h"
#include "eidgate/util.h"

static json_t *
grants_json(const struct dir_person *p)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?}", "role",
		    p->grants[i].role, "scope_kind", dir_scope_kind_name(p->grants[i].kind),
		    "scope", p->grants[i].scope, "organisation",
		    p->grants[i].org[0] ? p->grants[i].org : NULL));
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
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:s?, s:s?, s:s?}",
	    "nrn_masked", masked, "name", u->id.name, "given_name", u->id.given,
	    "family_name", u->id.surname, "card", u->id.kind == EG_CARD_FOREIGNER ?
	    "foreigner" : "citizen", "key", u->id.key_type, "roles", grants_json(u->person),
	    "facilities", facilities_json(r),
	    "organisation", u->context_org[0] ? u->context_org : NULL,
	    "facility", u->context_facility[0] ? u->context_facility : NULL,
	    "capacity", req_capacity(u),
	    "csrf", u->csrf[0] ? u->csrf : NULL));
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
		return respond_error(r, 400, "facility", "Field \"facility\" is missing.");
	}
	err = dir_facility(r->gw->dir, fid, &f);
	json_decref(j);
	if (err == EG_ERR_DIRECTORY)
		ret = respond_error(r, 503, "directory-unavailable", "The directory is unavailable.");
	else if (err != EG_OK || !f->found || !holds_role_on(u->person, f))
		ret = respond_error(r, 403, "not-your-facility",
		    "You hold no role on this facility.");
	else {
		eg_strlcpy(u->sess.facility, f->id, sizeof(u->sess.facility));
		eg_strlcpy(u->sess.org, f->org, sizeof(u->sess.org));
		eg_strlcpy(u->context_facility, f->id, sizeof(u->context_facility));
		eg_strlcpy(u->context_org, f->org, sizeof(u->context_org));
		if ((err = websession_reseal(r, &token)) != EG_OK)
			ret = err == EG_ERR_KEYS ? respond_keys_unavailable(r) :
			    respond_error(r, 500, "internal", "The session could not be updated.");
		else
			ret = respond_json_obj(r, 200, json_pack("{s:s, s:s, s:s?}", "facility", f->id,
			    "organisation", f->org, "token", u->via_bearer ? token : NULL));
	}
	if (token != NULL)
		eg_freezero(token, strlen(token));
	dir_release(f);
	return ret;
}

/* POST /eidgate/logout: the session ends at the gateway, for good (its id is refused
 * until its absolute timeout, also after a restart: the logout record carries it), and
 * the cookie is cleared. A card's TLS session lives on in the browser until the card is
 * removed or the browser closed; the page says so. */
enum MHD_Result
page_logout(struct request *r)
{
	struct req_user *u = &r->user;
	int64_t until = 0;

	if (u->has_session) {
		until = u->sess.created + r->snap->cfg.absolute_timeout_ms / 1000;
		if (session_end(r->gw->ends, u->session_id, until, eg_now_us() / 1000000) != EG_OK) {
			log_warnx("request %s: the ended sessions are full: logout refused", r->id);
			return respond_error(r, 503, "logout-unavailable",
			    "The session cannot be ended now; please close the browser.");
		}
	}
	free(u->set_cookie);
	u->set_cookie = strdup("__Host-eidgate=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	if (record_session_end(r, REC_LOGOUT, EG_OK, until) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_json_obj(r, 200, json_pack("{s:b}", "logged_out", 1));
}
