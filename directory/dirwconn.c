/*
 * dirwconn.c - the rights writer's own LDAP connection (directory.h, struct dir_writer):
 * connect and bind as the service account, retry once on a dead connection, and build
 * every DN and filter value with escaping, so nothing an administrator types can change
 * the structure of a DN (RFC 4514) or a filter (RFC 4515).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "directory/internal.h"

int
dir_writer_open(const struct eg_config *cfg, struct dir_writer **out)
{
	struct dir_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return EG_ERR_NOMEM;
	if (ldapc_init(&w->lc, cfg) != EG_OK) {
		dir_writer_close(w);
		return EG_ERR_CONFIG;
	}
	if (w->lc.timeout_ms <= 0)
		w->lc.timeout_ms = 2000;
	*out = w;
	return EG_OK;
}

void
dir_writer_close(struct dir_writer *w)
{
	if (w == NULL)
		return;
	if (w->ld != NULL)
		ldap_unbind_ext_s(w->ld, NULL, NULL);
	ldapc_free(&w->lc);
	free(w);
}

const char *
dir_writer_error(const struct dir_writer *w)
{
	return w->last_error[0] ? w->last_error : "no error";
}

int
dir_writer_denied(const struct dir_writer *w)
{
	return w->last_access;
}

/* How long a writer that failed over stays on a later directory of [ldap] uri before
 * it tries the first again. */
#define DIRW_PREFER_FIRST_MS 5000

int
dirw_connect(struct dir_writer *w)
{
	int rc;

	/* Changes go to one directory at a time, the first of the list that answers, so a
	 * conditional change (remove this VTE while another remains, RFC 4528) is decided
	 * in one place by every instance; replication carries it to the others. A writer
	 * that failed over returns to the first once it answers again. */
	if (w->ld != NULL && w->uri_index > 0 &&
	    eg_mono_ms() - w->connected_ms >= DIRW_PREFER_FIRST_MS) {
		ldap_unbind_ext_s(w->ld, NULL, NULL);
		w->ld = NULL;
	}
	if (w->ld != NULL)
		return LDAP_SUCCESS;
	rc = ldapc_connect_at(&w->lc, &w->ld, &w->uri_index, w->conn_error,
	    sizeof(w->conn_error));
	w->connected_ms = eg_mono_ms();
	return rc;
}

int
dirw_run(struct dir_writer *w, dirw_op_fn op, void *arg)
{
	int attempt, rc = LDAP_SERVER_DOWN;

	w->last_error[0] = '\0';
	w->conn_error[0] = '\0';
	w->last_access = 0;
	/* A restarted slapd leaves the handle dead: one retry on a fresh connection. A
	 * fresh connection that fails (down, refused certificate, bad credentials) would
	 * fail again. */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = dirw_connect(w)) != LDAP_SUCCESS)
			return rc;
		rc = op(w, w->ld, arg);
		if (!ldapc_is_down(rc))
			return rc;
		ldap_unbind_ext_s(w->ld, NULL, NULL);
		w->ld = NULL;
	}
	return rc;
}

int
dirw_fail(struct dir_writer *w, int rc, const char *what)
{
	/* A failed connect says more than its result code (a refused certificate...). */
	snprintf(w->last_error, sizeof(w->last_error), "%s: %s", what,
	    w->ld == NULL && w->conn_error[0] ? w->conn_error : ldap_err2string(rc));
	w->last_access = rc == LDAP_INSUFFICIENT_ACCESS || rc == LDAP_STRONG_AUTH_REQUIRED ||
	    rc == LDAP_INVALID_CREDENTIALS;
	log_warnx("ldap %s: %s", w->lc.uri, w->last_error);
	return EG_ERR_DIRECTORY;
}

struct search_op {
	const char *base;
	int scope;
	const char *filter;
	char **attrs;
	int sizelimit;
	dirw_parse_fn parse;
	void *arg;
	int parse_ret;
};

static int
op_search(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct search_op *so = arg;
	struct timeval tv;
	LDAPMessage *res = NULL;
	int rc;

	ldapc_timeout(&w->lc, &tv);
	rc = ldap_search_ext_s(ld, so->base, so->scope, so->filter, so->attrs, 0, NULL, NULL,
	    &tv, so->sizelimit, &res);
	/* A missing base is an empty answer: the scope or group simply does not exist. */
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_SIZELIMIT_EXCEEDED)
		so->parse_ret = so->parse(ld, rc == LDAP_NO_SUCH_OBJECT ? NULL : res, so->arg);
	ldap_msgfree(res);
	return rc == LDAP_NO_SUCH_OBJECT ? LDAP_SUCCESS : rc;
}

int
dirw_search(struct dir_writer *w, const char *base, int scope, const char *filter,
    char **attrs, int sizelimit, dirw_parse_fn parse, void *arg, const char *what)
{
	struct search_op so = { base, scope, filter, attrs, sizelimit, parse, arg, EG_OK };
	int rc = dirw_run(w, op_search, &so);

	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
		return dirw_fail(w, rc, what);
	return so.parse_ret;
}

/* RFC 4514 §2.4: any character may be written as a backslash and two hex digits, so
 * everything but letters, digits and '-' is, and no value can close an RDN early. */
int
dirw_dn_value(const char *v, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (v == NULL || v[0] == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-';
		if (o + (plain ? 1 : 3) >= outlen)
			return -1;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

static int
fits(int n, size_t outlen)
{
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int
dirw_person_dn(const struct dir_writer *w, const char *nrn, char *out, size_t outlen)
{
	char v[3 * EG_MAX_ID];

	if (dirw_dn_value(nrn, v, sizeof(v)) != 0)
		return -1;
	return fits(snprintf(out, outlen, "uid=%s,ou=people,%s", v, w->lc.base), outlen);
}

int
dirw_org_dn(const struct dir_writer *w, const char *org, char *out, size_t outlen)
{
	char v[3 * EG_MAX_ID];

	if (dirw_dn_value(org, v, sizeof(v)) != 0)
		return -1;
	return fits(snprintf(out, outlen, "o=%s,ou=organisations,%s", v, w->lc.base), outlen);
}

int
dirw_scope_dn(const struct dir_writer *w, const struct dir_scope *s, char *out,
    size_t outlen)
{
	char v[3 * EG_MAX_ID], org[1024];

	if (dirw_dn_value(s->id, v, sizeof(v)) != 0)
		return -1;
	switch (s->kind) {
	case EG_SCOPE_ORGANISATION:
		return dirw_org_dn(w, s->id, out, outlen);
	case EG_SCOPE_FACILITY:
		if (dirw_org_dn(w, s->org, org, sizeof(org)) != 0)
			return -1;
		return fits(snprintf(out, outlen, "ou=%s,%s", v, org), outlen);
	case EG_SCOPE_REGION:
		return fits(snprintf(out, outlen, "ou=%s,ou=regions,%s", v, w->lc.base), outlen);
	}
	return -1;
}

int
dirw_group_dn(const struct dir_writer *w, const struct dir_scope *s, const char *role,
    char *out, size_t outlen)
{
	char v[3 * EG_MAX_ID], parent[1200];

	if (dirw_dn_value(role, v, sizeof(v)) != 0 || dirw_scope_dn(w, s, parent, sizeof(parent)) != 0)
		return -1;
	return fits(snprintf(out, outlen, "cn=%s,%s", v, parent), outlen);
}

int
dirw_grant_dn(const struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, char *out, size_t outlen)
{
	char name[DIR_AS_MAX], v[3 * DIR_AS_MAX], person[1024];

	if (dir_grant_name(role, s->kind, s->id, name, sizeof(name)) != 0 ||
	    dirw_dn_value(name, v, sizeof(v)) != 0 ||
	    dirw_person_dn(w, nrn, person, sizeof(person)) != 0)
		return -1;
	return fits(snprintf(out, outlen, "cn=%s,%s", v, person), outlen);
}

int
dirw_member_nrn(const char *dn, char *out)
{
	LDAPDN parsed = NULL;
	const struct berval *t, *v;
	int ok = 0;
	size_t i;

	if (ldapc_str2dn(dn, &parsed) != LDAP_SUCCESS)
		return -1;
	if (parsed[0] != NULL && parsed[0][1] == NULL && parsed[1] != NULL &&
	    parsed[1][1] == NULL) {
		t = &parsed[0][0]->la_attr;
		v = &parsed[0][0]->la_value;
		ok = strcasecmp(t->bv_val, "uid") == 0 && v->bv_len == EG_NRN_LEN &&
		    strcasecmp(parsed[1][0]->la_attr.bv_val, "ou") == 0 &&
		    strcasecmp(parsed[1][0]->la_value.bv_val, "people") == 0;
		for (i = 0; ok && i < EG_NRN_LEN; i++)
			ok = v->bv_val[i] >= '0' && v->bv_val[i] <= '9';
		if (ok) {
			memcpy(out, v->bv_val, EG_NRN_LEN);
			out[EG_NRN_LEN] = '\0';
		}
	}
	ldap_dnfree(parsed);
	return ok ? 0 : -1;
}

int
dirw_group_grant(const char *dn, struct eg_grant *g)
{
	int ok;

	if (dir_dn_grant(dn, g) != 0)
		return -1;
	switch (g->kind) {
	case EG_SCOPE_ORGANISATION:
		ok = dir_valid_org_number(g->scope);
		break;
	case EG_SCOPE_FACILITY:
		ok = dir_valid_facility_id(g->scope) && dir_valid_org_number(g->org);
		break;
	case EG_SCOPE_REGION:
		ok = dir_valid_region(g->scope);
		break;
	default:
		ok = 0;
	}
	return ok && dir_role_on(g->role, g->kind) ? 0 : -1;
}

int
dirw_each_member(LDAP *ld, LDAPMessage *e, dirw_member_fn fn, void *arg)
{
	struct berval **vals = e != NULL ? ldap_get_values_len(ld, e, "member") : NULL;
	char dn[1024], nrn[EG_NRN_LEN + 1];
	size_t i;
	int r = EG_OK;

	for (i = 0; vals != NULL && vals[i] != NULL && r == EG_OK; i++) {
		if (vals[i]->bv_len >= sizeof(dn))
			continue;
		memcpy(dn, vals[i]->bv_val, vals[i]->bv_len);
		dn[vals[i]->bv_len] = '\0';
		r = fn(arg, dirw_member_nrn(dn, nrn) == 0 ? nrn : NULL);
	}
	ldap_value_free_len(vals);
	return r;
}
