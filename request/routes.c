/*
 * builtin.c - the gateway's own endpoints under /eidgate/ and the JWK set
 * (PRODUCT.md §6): health, metrics, who am I, and the PKCS#11 login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/session.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "eidgate/request.h"

struct builtin_state {
	char *body;
	size_t len;
	int too_big;
};

static enum MHD_Result
serve_jwks(struct request *r)
{
	return respond_json(r, 200, signer_jwks(r->snap->signer));
}

static enum MHD_Result
serve_metrics(struct request *r)
{
	unsigned long reqs = 0, conns = 0, hits = 0, misses = 0;
	long active = 0;
	char body[2048];

	upstream_stats(r->gw->upstream, &active, &reqs, &conns);
	assertion_cache_stats(r->gw->assertions, &hits, &misses);
	snprintf(body, sizeof(body),
	    "# TYPE eidgate_requests_allowed_total counter\neidgate_requests_allowed_total %lu\n"
	    "# TYPE eidgate_requests_denied_total counter\neidgate_requests_denied_total %lu\n"
	    "# TYPE eidgate_upstream_errors_total counter\neidgate_upstream_errors_total %lu\n"
	    "# TYPE eidgate_upstream_active gauge\neidgate_upstream_active %ld\n"
	    "# TYPE eidgate_upstream_requests_total counter\neidgate_upstream_requests_total %lu\n"
	    "# TYPE eidgate_upstream_connections_total counter\n"
	    "eidgate_upstream_connections_total %lu\n"
	    "# TYPE eidgate_assertions_reused_total counter\neidgate_assertions_reused_total %lu\n"
	    "# TYPE eidgate_assertions_signed_total counter\neidgate_assertions_signed_total %lu\n",
	    atomic_load(&r->gw->stat_allowed), atomic_load(&r->gw->stat_denied),
	    atomic_load(&r->gw->stat_upstream_errors), active, reqs, conns, hits, misses);
	return respond_buffer(r, 200, "text/plain; version=0.0.4", body, strlen(body));
}

static json_t *
grants_json(const struct dir_person *p)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?}", "role",
		    p->grants[i].role, "scope_kind", rights_scope_kind_name(p->grants[i].kind),
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

static enum MHD_Result
serve_whoami(struct request *r)
{
	const struct req_user *u = &r->user;
	char masked[16];

	if (!u->authenticated)
		return respond_error(r, 401, "no-certificate", "Please log in with your eID card.");
	if (req_audit_builtin(r, "whoami") != EG_OK)
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

static enum MHD_Result
serve_challenge(struct request *r)
{
	char ch[512];

	if (challenge_issue(r->snap->session, r->gw->origin, 60, ch, sizeof(ch)) != EG_OK)
		return respond_error(r, 500, "internal", "No challenge could be made.");
	return respond_json_obj(r, 200, json_pack("{s:s, s:s, s:i}", "challenge", ch,
	    "origin", r->gw->origin, "expires_in", 60));
}

/* Decodes the base64url certificates of a token request into DER buffers. */
static int
decode_chain(json_t *chain, unsigned char **ders, size_t *lens, size_t *n)
{
	size_t i;

	*n = 0;
	if (!json_is_array(chain) || json_array_size(chain) == 0 ||
	    json_array_size(chain) > EG_MAX_CHAIN)
		return -1;
	for (i = 0; i < json_array_size(chain); i++) {
		const char *b = json_string_value(json_array_get(chain, i));
		size_t blen = b != NULL ? strlen(b) : 0;
		if (b == NULL || (ders[i] = malloc(blen)) == NULL)
			return -1;
		(*n)++;
		if (eg_b64url_decode(b, blen, ders[i], blen, &lens[i]) != EG_OK)
			return -1;
	}
	return 0;
}

static int
check_login_signature(struct request *r, json_t *j, const unsigned char *leaf, size_t leaflen)
{
	const char *ch = json_string_value(json_object_get(j, "challenge"));
	const char *alg = json_string_value(json_object_get(j, "alg"));
	const char *sigb = json_string_value(json_object_get(j, "signature"));
	unsigned char sig[1024];
	char msg[2048];
	size_t siglen = 0;
	int n;

	if (ch == NULL || alg == NULL || sigb == NULL ||
	    eg_b64url_decode(sigb, strlen(sigb), sig, sizeof(sig), &siglen) != EG_OK)
		return EG_ERR_PARSE;
	n = snprintf(msg, sizeof(msg), EG_LOGIN_MSG_PREFIX "%s\n%s", r->gw->origin, ch);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return EG_ERR_PARSE;
	/* The signature first: only a card holder's valid answer uses up a challenge, so
	 * junk signatures cannot fill the store of used challenges. */
	if (auth_verify_login_signature(leaf, leaflen, alg, (unsigned char *)msg, (size_t)n,
	    sig, siglen) != EG_OK)
		return EG_ERR_CRYPTO;
	return challenge_redeem(r->snap->session, r->gw->challenges, ch, r->gw->origin);
}

/* A session for eidgate-login: the same sealed session, handed over as a Bearer token. */
static enum MHD_Result
issue_session(struct request *r)
{
	struct req_user *u = &r->user;
	char *token = NULL;
	enum MHD_Result ret;

	/* The new session is the signer's alone: nothing of whoever this connection
	 * identified before (certificate, cookie) may carry over into it. */
	dir_release(u->person);
	dir_release(u->org);
	u->person = NULL;
	u->org = NULL;
	u->context_facility[0] = u->context_org[0] = '\0';
	r->user.authenticated = 1;
	if (websession_issue(r, 0) != EG_OK)
		return respond_error(r, 500, "internal", "No session could be made.");
	free(u->set_cookie);
	u->set_cookie = NULL;
	u->via_bearer = 1;
	if (websession_reseal(r, &token) != EG_OK)
		return respond_error(r, 500, "internal", "No session could be made.");
	if (req_audit(r, "login", 1, EG_OK, NULL, 0, 0) != EG_OK) {
		eg_freezero(token, strlen(token));
		return respond_audit_unavailable(r);
	}
	ret = respond_json_obj(r, 200, json_pack("{s:s, s:I, s:s}", "token", token, "expires_in",
	    (json_int_t)(r->snap->cfg.absolute_timeout_ms / 1000), "name", u->id.name));
	eg_freezero(token, strlen(token));
	return ret;
}

static enum MHD_Result
serve_token(struct request *r, struct builtin_state *st)
{
	unsigned char *ders[EG_MAX_CHAIN] = { NULL };
	size_t lens[EG_MAX_CHAIN], n = 0, i;
	json_t *j = json_loadb(st->body, st->len, JSON_REJECT_DUPLICATES, NULL);
	const char *origin = json_string_value(json_object_get(j, "origin"));
	enum MHD_Result ret;
	int err;

	if (j == NULL || decode_chain(json_object_get(j, "chain"), ders, lens, &n) != 0) {
		ret = req_refuse(r, "login-refused", 403, EG_ERR_PARSE,
		    "The login request is malformed.");
		goto out;
	}
	err = auth_verify(r->snap->auth, (const unsigned char *const *)ders, lens, n,
	    &r->user.id, r->user.auth_detail, sizeof(r->user.auth_detail));
	if (err != EG_OK) {
		ret = req_refuse(r, "login-refused", 403, err,
		    "Your certificate is not accepted for login.");
		goto out;
	}
	if (origin == NULL || strcmp(origin, r->gw->origin) != 0 ||
	    check_login_signature(r, j, ders[0], lens[0]) != EG_OK) {
		ret = req_refuse(r, "login-refused", 403, EG_ERR_CRYPTO,
		    "The challenge is unknown, expired, already used or wrongly signed.");
		goto out;
	}
	ret = issue_session(r);
out:
	for (i = 0; i < n; i++)
		free(ders[i]);
	json_decref(j);
	return ret;
}

/* Collects a small request body; returns 1 once it is complete. */
static int
collect_body(struct request *r, const char *upload, size_t *upload_size)
{
	struct builtin_state *st = r->builtin;
	char *nb;

	if (*upload_size == 0)
		return 1;
	if (st->len + *upload_size > EG_MAX_BUILTIN_BODY) {
		st->too_big = 1;
	} else if ((nb = realloc(st->body, st->len + *upload_size + 1)) != NULL) {
		memcpy(nb + st->len, upload, *upload_size);
		st->body = nb;
		st->len += *upload_size;
		st->body[st->len] = '\0';
	} else {
		st->too_big = 1;
	}
	*upload_size = 0;
	return 0;
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
static enum MHD_Result
serve_context(struct request *r, struct builtin_state *st)
{
	json_t *j = json_loadb(st->body ? st->body : "", st->len, JSON_REJECT_DUPLICATES, NULL);
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
		if (websession_reseal(r, &token) != EG_OK)
			ret = respond_error(r, 500, "internal", "The session could not be updated.");
		else
			ret = respond_json_obj(r, 200, json_pack("{s:s, s:s, s:s?}", "facility", f->id,
			    "organisation", f->org, "token", u->via_bearer ? token : NULL));
	}
	if (token != NULL)
		eg_freezero(token, strlen(token));
	dir_release(f);
	return ret;
}

/* POST /eidgate/logout: the cookie is cleared; sealed tokens cannot be recalled, so the
 * browser forgetting it is what ends the session (the idle timeout bounds the rest). */
static enum MHD_Result
serve_logout(struct request *r)
{
	free(r->user.set_cookie);
	r->user.set_cookie = strdup("__Host-eidgate=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	if (req_audit(r, "logout", 1, EG_OK, NULL, 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_json_obj(r, 200, json_pack("{s:b}", "logged_out", 1));
}

/* Pages: the portal, rights management and audit, and their assets. */
static enum MHD_Result
route_page(struct request *r)
{
	const char *p = r->path;

	if (strcmp(p, "/eidgate") == 0 || strcmp(p, "/eidgate/") == 0)
		return static_serve(r, "portal/index.html");
	if (strcmp(p, "/eidgate/admin/") == 0 || strcmp(p, "/eidgate/admin") == 0)
		return static_serve(r, "admin/index.html");
	if (strcmp(p, "/eidgate/audit/") == 0 || strcmp(p, "/eidgate/audit") == 0)
		return static_serve(r, "audit/index.html");
	if (strncmp(p, "/eidgate/static/", 16) == 0)
		return static_serve(r, p + 16);
	return respond_error(r, 404, "not-found", "There is nothing here.");
}

static enum MHD_Result
route_get(struct request *r)
{
	const char *p = r->path;

	if (strcmp(p, "/.well-known/eidgate-jwks.json") == 0)
		return serve_jwks(r);
	if (strcmp(p, "/eidgate/healthz") == 0)
		return respond_json_obj(r, 200, json_pack("{s:s}", "status", "ok"));
	if (strcmp(p, "/eidgate/metrics") == 0)
		return serve_metrics(r);
	if (strcmp(p, "/eidgate/whoami") == 0)
		return serve_whoami(r);
	if (strncmp(p, "/eidgate/audit/api/", 19) == 0) {
		if (!r->user.authenticated)
			return respond_error(r, 401, "no-certificate", "Please log in with your eID card.");
		return audit_api(r);
	}
	return route_page(r);
}

/* Endpoints that need no login: the two steps of the PKCS#11 login. */
static int
is_login_endpoint(const char *p)
{
	return strcmp(p, "/eidgate/auth/challenge") == 0 || strcmp(p, "/eidgate/auth/token") == 0;
}

static enum MHD_Result
route_authenticated(struct request *r, struct builtin_state *st)
{
	const char *p = r->path;

	if (!r->user.authenticated)
		return respond_error(r, 401, "no-certificate", "Please log in with your eID card.");
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	    !websession_csrf_ok(r)) {
		return req_refuse(r, "request", 403, EG_ERR_CSRF, "The request lacks its CSRF token.");
	}
	if (strncmp(p, "/eidgate/admin/api/", 19) == 0)
		return admin_api(r, st->body != NULL ? st->body : "", st->len);
	if (strcmp(r->method, "POST") == 0 && strcmp(p, "/eidgate/context") == 0)
		return serve_context(r, st);
	if (strcmp(r->method, "POST") == 0 && strcmp(p, "/eidgate/logout") == 0)
		return serve_logout(r);
	return respond_error(r, 404, "not-found", "There is nothing here.");
}

static int
is_api(const char *p)
{
	return strncmp(p, "/eidgate/admin/api/", 19) == 0;
}

enum MHD_Result
builtin_handle(struct request *r, const char *upload, size_t *upload_size)
{
	struct builtin_state *st = r->builtin;

	if (r->phase == REQ_RESPONDED) {
		*upload_size = 0;
		return MHD_YES;
	}
	if ((strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) && !is_api(r->path))
		return route_get(r);
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		r->builtin = st;
		return MHD_YES;
	}
	if (!collect_body(r, upload, upload_size))
		return MHD_YES;
	if (st->too_big)
		return respond_error(r, 413, "body-too-large", "The request body is too large.");
	if (strcmp(r->method, "POST") == 0 && strcmp(r->path, "/eidgate/auth/challenge") == 0)
		return serve_challenge(r);
	if (strcmp(r->method, "POST") == 0 && strcmp(r->path, "/eidgate/auth/token") == 0)
		return serve_token(r, st);
	if (is_login_endpoint(r->path))
		return respond_error(r, 405, "method-not-allowed", "This method is not allowed here.");
	return route_authenticated(r, st);
}

void
builtin_request_done(struct request *r)
{
	struct builtin_state *st = r->builtin;

	if (st == NULL)
		return;
	free(st->body);
	free(st);
	r->builtin = NULL;
}
