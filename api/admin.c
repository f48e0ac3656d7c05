/*
 * admin.c - the rights management API under /eidgate/admin/api/ (PRODUCT.md §8):
 *   GET  scope                           what the caller may administer and grant
 *   GET  people?scope=S[&role=R][&q=T]   who holds which role in S
 *   POST grants       {nrn,name,role,scope}   201 granted, 200 already held
 *   POST revocations  {nrn,role,scope}        204 revoked, 404 not held
 * Refusals: 400 malformed (the field named), 403 outside the caller's rights (§4, rules
 * in directory/rights.c), 409 the last VTE. Every change, refusal and people listing is an
 * access-log record of kind "rights"; a change whose record cannot be written is undone
 * and answered 503 (nothing changes unlogged).
 *
 * The route table (request/routes.c) calls these once the body is complete, after it
 * checked that the user is authenticated and, for POST without a Bearer token, the CSRF
 * header.
 *
 * Directory access: one writer connection (directory/dirwconn.c) shared by all threads
 * and used under the writer's mutex, so admin calls run one at a time. Rights changes are rare; the
 * serialisation makes "count the VTEs, then remove one" and "delete the group with its
 * last member" free of races inside this gateway. Reads go through the same connection
 * because an administrator must see the directory as it is now, not as cached.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/api.h"
#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "api/internal.h"

/* The rights API's directory writer: one connection, one change at a time, so "count
 * the VTEs, then remove one" cannot race within a gateway. */
struct api_writer {
	pthread_mutex_t mu;
	struct dir_writer *w;           /* guarded by mu */
	char key[6144];                 /* the [ldap] settings w was made from */
};

int
api_writer_new(struct api_writer **out)
{
	static const struct api_writer unused = { PTHREAD_MUTEX_INITIALIZER, NULL, "" };

	if ((*out = malloc(sizeof(**out))) == NULL)
		return EG_ERR_NOMEM;
	**out = unused;
	return EG_OK;
}

void
api_writer_free(struct api_writer *aw)
{
	if (aw == NULL)
		return;
	dir_writer_close(aw->w);
	pthread_mutex_destroy(&aw->mu);
	free(aw);
}

/*
 * The writer for the current configuration, made on first use and again when a reload
 * changed [ldap]. Called with the writer's mutex held, so no other thread uses the old
 * one.
 */
static struct dir_writer *
writer_get(struct api_writer *aw, const struct eg_config *cfg)
{
	char key[sizeof(aw->key)];

	snprintf(key, sizeof(key), "%s\n%s\n%s\n%s\n%lld\n%d\n%s", cfg->ldap_uri, cfg->ldap_base,
	    cfg->ldap_bind_dn, cfg->ldap_password_file, (long long)cfg->ldap_timeout_ms,
	    (int)cfg->ldap_starttls, cfg->ldap_ca_file);
	if (aw->w != NULL && strcmp(key, aw->key) == 0)
		return aw->w;
	dir_writer_close(aw->w);
	aw->w = NULL;
	if (dir_writer_open(cfg, &aw->w) != EG_OK) {
		log_warnx("admin: cannot use [ldap] of %s for rights changes", cfg->path);
		return NULL;
	}
	eg_strlcpy(aw->key, key, sizeof(aw->key));
	return aw->w;
}

enum MHD_Result
admin_reply(struct request *r, unsigned status, json_t *j)
{
	return respond_json_obj(r, status, j);
}

/* An error answer naming the field at fault (field may be NULL), in the user's
 * language: the shape of respond_error's, with the field. */
enum MHD_Result
admin_error(struct request *r, unsigned status, const char *reason, const char *msgid,
    const char *field)
{
	const char *message = i18n_message(r, msgid, reason, status);

	return admin_reply(r, status, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "reason",
	    reason, "message", message, "error", message, "lang", i18n_code(i18n_lang_of(r)),
	    "request_id", r->id, "field", field));
}

enum MHD_Result
admin_refuse(struct request *r, const struct admin_op *op, unsigned status,
    const char *reason, const char *msgid, const char *field)
{
	if (record_rights(r, 0, reason, op->action, op->target, op->role,
	    op->scope_text[0] ? op->scope_text : NULL) != EG_OK)
		return respond_audit_unavailable(r);
	return admin_error(r, status, reason, msgid, field);
}

enum MHD_Result
admin_directory_down(struct request *r, const struct admin_op *op)
{
	return admin_refuse(r, op, 503, "directory-unavailable", NULL, NULL);
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
		if (dir_facility_owner(w, op->scope.id, op->scope.org, sizeof(op->scope.org)) != EG_OK)
			return 503;
		return op->scope.org[0] != '\0' ? 0 : 400;
	}
	if (op->scope.kind == EG_SCOPE_ORGANISATION) {
		if (dir_org_read(w, op->scope.id, &o) != EG_OK)
			return 503;
		return o.found ? 0 : 400;
	}
	return 0;
}

int
api_people_named(struct request *r, const char *org, const char *q,
    char (*out)[EG_NRN_LEN + 1], size_t max, size_t *n)
{
	struct api_writer *aw = r->gw->writer;
	struct dir_scope s = { EG_SCOPE_ORGANISATION, "", "" };
	struct dir_writer *w;
	struct dir_people pl;
	size_t i, k;
	int rc = -1;

	*n = 0;
	if (!dir_valid_name(q))
		return 0;       /* no name holds what q holds */
	eg_strlcpy(s.id, org, sizeof(s.id));
	eg_strlcpy(s.org, org, sizeof(s.org));
	pthread_mutex_lock(&aw->mu);
	if ((w = writer_get(aw, &r->snap->cfg)) != NULL &&
	    dir_list_people(w, &s, NULL, q, &pl) == EG_OK) {
		for (i = 0; i < pl.n && *n < max; i++) {
			for (k = 0; k < *n && strcmp(out[k], pl.h[i].nrn) != 0; k++)
				;
			if (k == *n)
				eg_strlcpy(out[(*n)++], pl.h[i].nrn, EG_NRN_LEN + 1);
		}
		dir_people_free(&pl);
		rc = 0;
	}
	pthread_mutex_unlock(&aw->mu);
	return rc;
}

/* One call of the API, with the writer, one call at a time (the route row's op says
 * which). */
enum MHD_Result
api_admin(struct request *r)
{
	struct api_writer *aw = r->gw->writer;
	struct dir_writer *w;
	enum MHD_Result ret;
	int op = r->route->op;

	if (r->user.person == NULL)
		return admin_error(r, 401, "no-certificate", NULL, NULL);
	pthread_mutex_lock(&aw->mu);
	w = writer_get(aw, &r->snap->cfg);
	if (w == NULL)
		ret = admin_error(r, 503, "directory-unavailable", NULL, NULL);
	else if (op == API_SCOPE)
		ret = admin_scope(r, w);
	else if (op == API_PEOPLE)
		ret = admin_people(r, w);
	else if (op == API_END_SESSIONS)
		ret = admin_end_sessions(r, w);
	else
		ret = admin_change(r, w, op == API_GRANT ? DIR_GRANT : DIR_REVOKE);
	pthread_mutex_unlock(&aw->mu);
	return ret;
}

enum MHD_Result
api_admin_wrong_method(struct request *r)
{
	return admin_error(r, 405, "method-not-allowed", (r->route->methods & RM_GET) ?
	    "msg.use-get" : "msg.use-post", NULL);
}

enum MHD_Result
api_admin_not_found(struct request *r)
{
	return admin_error(r, 404, "not-found", NULL, NULL);
}
