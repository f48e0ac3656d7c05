/*
 * routes.c - the gateway's own paths (PRODUCT.md §6): one table says, for each, which
 * methods it serves, whether it needs a login and a CSRF token, whether its body is
 * collected first, and who answers it (pages/ or api/). The checks are made here, once,
 * in the same order for every route, so no handler can forget one.
 *
 * A path that matches no row answers 404; a row whose path matches but not its method
 * answers 405 (the row's own wording, or the generic one), after the same checks.
 * Messages are named by id (pages.h, i18n): the user reads them in their language.
 * Unknown paths with an unsafe method are checked like a logged-in, CSRF-protected
 * route before their 404, so that a cross-site request is recorded as such.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/api.h"
#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "request/internal.h"

#define P EG_GATEWAY_PREFIX
#define ADMIN_API P "/admin/api/"
#define AUDIT_API P "/audit/api/"

/* An API row: a collected JSON body, a login, and the CSRF token for changes. */
#define R_API (R_BODY | R_LOGIN | R_CSRF)

static const struct route routes[] = {
	{ RM_READ, EG_JWKS_PATH, 0, page_jwks, NULL, 0 },
	{ RM_READ, P "/healthz", R_MACHINE, page_healthz, NULL, 0 },
	{ RM_READ, P "/readyz", R_MACHINE, page_readyz, NULL, 0 },
	{ RM_READ, P "/metrics", R_MACHINE, page_metrics, NULL, 0 },
	{ RM_GET, P "/audit/peer/feed", R_MACHINE, api_audit_feed, NULL, 0 },
	{ RM_READ, P "/whoami", R_LOGIN, page_whoami, NULL, 0 },
	{ RM_POST, P "/auth/challenge", R_BODY, page_challenge, NULL, 0 },
	{ RM_POST, P "/auth/token", R_BODY, page_token, NULL, 0 },
	{ RM_POST, P "/context", R_API, page_context, NULL, 0 },
	{ RM_POST, P "/logout", R_API, page_logout, NULL, 0 },
	{ RM_POST, P "/login", R_BODY, page_login, NULL, 0 },

	{ RM_GET, ADMIN_API "scope", R_API, api_admin, api_admin_wrong_method, API_SCOPE },
	{ RM_GET, ADMIN_API "people", R_API, api_admin, api_admin_wrong_method, API_PEOPLE },
	{ RM_POST, ADMIN_API "people", R_API, api_admin, api_admin_wrong_method, API_PEOPLE },
	{ RM_POST, ADMIN_API "grants", R_API, api_admin, api_admin_wrong_method, API_GRANT },
	{ RM_POST, ADMIN_API "revocations", R_API, api_admin, api_admin_wrong_method,
	    API_REVOKE },
	{ RM_POST, ADMIN_API "sessions/end", R_API, api_admin, api_admin_wrong_method,
	    API_END_SESSIONS },
	{ RM_ANY, ADMIN_API, R_API | R_PREFIX, api_admin_not_found, NULL, 0 },

	{ RM_GET, AUDIT_API "receipt", R_MACHINE, api_audit_receipt, NULL, 0 },
	{ RM_GET, AUDIT_API "scope", R_LOGIN, api_audit_scope, NULL, 0 },
	{ RM_GET, AUDIT_API "records", R_LOGIN, api_audit_records, NULL, 0 },
	{ RM_POST, AUDIT_API "records", R_API, api_audit_records, NULL, 0 },
	{ RM_GET, AUDIT_API "stats", R_LOGIN, api_audit_stats, NULL, 0 },
	{ RM_POST, AUDIT_API "stats", R_API, api_audit_stats, NULL, 0 },
	{ RM_GET, AUDIT_API "verify", R_LOGIN, api_audit_verify, NULL, 0 },
	{ RM_POST, AUDIT_API "who-can", R_API, api_audit_who_can, NULL, 0 },
	{ RM_POST, AUDIT_API "what-can", R_API, api_audit_what_can, NULL, 0 },
	{ RM_GET, AUDIT_API "review", R_LOGIN, api_audit_review, NULL, 0 },
	{ RM_POST, AUDIT_API "review", R_API, api_audit_review, NULL, 0 },
	{ RM_POST, AUDIT_API "pseudonym", R_API, api_audit_pseudonym, NULL, 0 },
	{ RM_GET, AUDIT_API, R_LOGIN | R_PREFIX, page_not_found, NULL, 0 },

	{ RM_READ, P, 0, page_portal, NULL, 0 },
	{ RM_READ, P "/", 0, page_portal, NULL, 0 },
	{ RM_READ, P "/admin", 0, page_admin, NULL, 0 },
	{ RM_READ, P "/admin/", 0, page_admin, NULL, 0 },
	{ RM_READ, P "/audit", 0, page_audit, NULL, 0 },
	{ RM_READ, P "/audit/", 0, page_audit, NULL, 0 },
	{ RM_READ, P "/static/", R_PREFIX, page_static, NULL, 0 },
	{ RM_READ, P "/js/", R_PREFIX, page_system_js, NULL, 0 },
};

/* Paths outside the prefix that browsers ask every site for on their own: answered by
 * the gateway when no rule routes them, so they are neither a denial in the log nor a
 * red bar in the officers' chart. */
static const struct route unrouted[] = {
	{ RM_READ, "/favicon.ico", 0, page_favicon, NULL, 0 },
};

/* No row's path: a read is simply not there; anything else is checked as a change. */
static const struct route unknown_read = { RM_ANY, NULL, 0, page_not_found, NULL, 0 };
static const struct route unknown_change = { RM_ANY, NULL, R_API, page_not_found, NULL, 0 };

static int
path_matches(const struct route *rt, const char *path)
{
	size_t n = strlen(rt->path);

	if (rt->flags & R_PREFIX)
		return strncmp(path, rt->path, n) == 0;
	return strcmp(path, rt->path) == 0;
}

/* The row answering r: the first whose path and methods match; else the first whose
 * path matches, with r->wrong_method set. Rows of one path come before the prefix row
 * of their area. */
static const struct route *
route_find(struct request *r)
{
	const struct route *by_path = NULL;
	unsigned m = policy_method_bit(r->method, strlen(r->method));
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		/* A path of its own row is never taken by a prefix row for another method. */
		if (!path_matches(&routes[i], r->path) ||
		    (by_path != NULL && (routes[i].flags & R_PREFIX)))
			continue;
		if (routes[i].methods & m)
			return &routes[i];
		if (by_path == NULL)
			by_path = &routes[i];
	}
	if (by_path != NULL) {
		r->wrong_method = 1;
		return by_path;
	}
	return (m & RM_READ) ? &unknown_read : &unknown_change;
}

int
route_for_machines(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if ((routes[i].flags & R_MACHINE) && path_matches(&routes[i], path))
			return 1;
	return 0;
}

int
route_unrouted(struct request *r)
{
	unsigned m = policy_method_bit(r->method, strlen(r->method));
	size_t i;

	for (i = 0; i < sizeof(unrouted) / sizeof(unrouted[0]); i++)
		if ((unrouted[i].methods & m) && strcmp(r->path, unrouted[i].path) == 0) {
			r->route = &unrouted[i];
			return 1;
		}
	return 0;
}

static int
is_safe(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The checks of the row, in this order: body size, login, CSRF; then its handler. */
static enum MHD_Result
answer(struct request *r, const struct route *rt)
{
	if (r->body_too_big)
		return respond_error(r, 413, "body-too-large", NULL);
	if ((rt->flags & R_LOGIN) && !r->user.authenticated)
		return respond_error(r, 401, "no-certificate", NULL);
	if ((rt->flags & R_CSRF) && !is_safe(r->method) && !websession_csrf_ok(r))
		return respond_refused(r, REC_REQUEST, 403, EG_ERR_CSRF, NULL);
	if (r->wrong_method)
		return rt->wrong_method != NULL ? rt->wrong_method(r) : page_method_not_allowed(r);
	return rt->handler(r);
}

enum MHD_Result
route_request(struct request *r, const char *upload, size_t *upload_size)
{
	if (r->phase == REQ_RESPONDED) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->route == NULL) {
		r->route = route_find(r);
		/* A body is read on the calls that follow this one. */
		if (r->route->flags & R_BODY)
			return MHD_YES;
	}
	if ((r->route->flags & R_BODY) &&
	    !req_collect_body(r, upload, upload_size, EG_MAX_BUILTIN_BODY))
		return MHD_YES;
	return answer(r, r->route);
}
