/*
 * admin.c - the rights management API under /eidgate/admin/api/ (PRODUCT.md §8):
 *   GET  scope                           what the caller may administer and grant
 *   GET  people?scope=S[&role=R][&q=T]   who holds which role in S
 *   POST grants       {nrn,name,role,scope}   201 granted, 200 already held
 *   POST revocations  {nrn,role,scope}        204 revoked, 404 not held
 * Refusals: 400 malformed (the field named), 403 outside the caller's rights (§4, rules
 * in policy/rights.c), 409 the last VTE. Every change, refusal and people listing is an
 * access-log record of kind "rights"; a change whose record cannot be written is undone
 * and answered 503 (nothing changes unlogged).
 *
 * builtin.c calls admin_api() once the body is complete, after it checked that the user
 * is authenticated and, for POST without a Bearer token, the CSRF header.
 *
 * Directory access: one writer connection (policy/dirwconn.c) shared by all threads and
 * used under the gateway's admin mutex, so admin calls run one at a time. Rights changes are rare; the
 * serialisation makes "count the VTEs, then remove one" and "delete the group with its
 * last member" free of races inside this gateway. Reads go through the same connection
 * because an administrator must see the directory as it is now, not as cached.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "api/internal.h"

/*
 * The writer for the current configuration, made on first use and again when a reload
 * changed [ldap]. Called with the gateway's admin mutex held, so no other thread uses
 * the old one.
 */
static struct dir_writer *
writer_get(struct admin_writer *aw, const struct eg_config *cfg)
{
	char key[sizeof(aw->key)];

	snprintf(key, sizeof(key), "%s\n%s\n%s\n%s\n%lld", cfg->ldap_uri, cfg->ldap_base,
	    cfg->ldap_bind_dn, cfg->ldap_password_file, (long long)cfg->ldap_timeout_ms);
	if (aw->w != NULL && strcmp(key, aw->key) == 0)
		return aw->w;
	dirw_close(aw->w);
	aw->w = NULL;
	if (dirw_open(cfg, &aw->w) != EG_OK) {
		log_warnx("admin: cannot use [ldap] of %s for rights changes", cfg->path);
		return NULL;
	}
	eg_strlcpy(aw->key, key, sizeof(aw->key));
	return aw->w;
}

void
admin_writer_close(struct admin_writer *aw)
{
	dirw_close(aw->w);
	aw->w = NULL;
}

enum MHD_Result
admin_reply(struct request *r, unsigned status, json_t *j)
{
	return respond_json_obj(r, status, j);
}

/* An error answer naming the field at fault (field may be NULL). */
enum MHD_Result
admin_error(struct request *r, unsigned status, const char *reason, const char *message,
    const char *field)
{
	return admin_reply(r, status, json_pack("{s:s, s:s, s:s, s:s?}", "error", message,
	    "reason", reason, "request_id", r->id, "field", field));
}

enum MHD_Result
admin_refuse(struct request *r, const struct admin_op *op, unsigned status,
    const char *reason, const char *message, const char *field)
{
	if (req_audit_rights(r, 0, reason, op->action, op->target, op->role,
	    op->scope_text[0] ? op->scope_text : NULL) != EG_OK)
		return respond_audit_unavailable(r);
	return admin_error(r, status, reason, message, field);
}

enum MHD_Result
admin_directory_down(struct request *r, const struct admin_op *op)
{
	return admin_refuse(r, op, 503, "directory-unavailable",
	    "The directory is unavailable; please try again later.", NULL);
}

/*
 * Completes op->scope: a facility must exist and its organisation decides who may act;
 * an organisation must exist. Returns 0, or the HTTP status of the refusal to send
 * (400 unknown scope, 503 directory); regions are checked by the caller.
 */
int
admin_resolve_scope(struct dir_writer *w, struct admin_op *op)
{
	struct dir_org o;

	if (op->scope.kind == EG_SCOPE_FACILITY) {
		if (dirw_facility_org(w, op->scope.id, op->scope.org, sizeof(op->scope.org)) != EG_OK)
			return 503;
		return op->scope.org[0] != '\0' ? 0 : 400;
	}
	if (op->scope.kind == EG_SCOPE_ORGANISATION) {
		if (dirw_org(w, op->scope.id, &o) != EG_OK)
			return 503;
		return o.found ? 0 : 400;
	}
	return 0;
}

static int
path_is(const struct request *r, const char *leaf)
{
	static const char prefix[] = "/eidgate/admin/api/";

	return strncmp(r->path, prefix, sizeof(prefix) - 1) == 0 &&
	    strcmp(r->path + sizeof(prefix) - 1, leaf) == 0;
}

static enum MHD_Result
route(struct request *r, struct dir_writer *w, const char *body, size_t len)
{
	int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;

	if (path_is(r, "scope"))
		return get ? admin_scope(r, w) :
		    admin_error(r, 405, "method-not-allowed", "Use GET here.", NULL);
	if (path_is(r, "people"))
		return get ? admin_people(r, w) :
		    admin_error(r, 405, "method-not-allowed", "Use GET here.", NULL);
	if (path_is(r, "grants"))
		return post ? admin_change(r, w, RIGHTS_GRANT, body, len) :
		    admin_error(r, 405, "method-not-allowed", "Use POST here.", NULL);
	if (path_is(r, "revocations"))
		return post ? admin_change(r, w, RIGHTS_REVOKE, body, len) :
		    admin_error(r, 405, "method-not-allowed", "Use POST here.", NULL);
	return admin_error(r, 404, "not-found", "There is nothing here.", NULL);
}

enum MHD_Result
admin_api(struct request *r, const char *body, size_t len)
{
	struct dir_writer *w;
	enum MHD_Result ret;

	if (!r->user.authenticated || r->user.person == NULL)
		return admin_error(r, 401, "no-certificate", "Please log in with your eID card.",
		    NULL);
	pthread_mutex_lock(&r->gw->admin.mu);
	w = writer_get(&r->gw->admin, &r->snap->cfg);
	if (w == NULL)
		ret = admin_error(r, 503, "directory-unavailable",
		    "The directory is unavailable; please try again later.", NULL);
	else
		ret = route(r, w, body, len);
	pthread_mutex_unlock(&r->gw->admin.mu);
	return ret;
}
