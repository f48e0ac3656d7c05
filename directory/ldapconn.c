/*
 * ldapconn.c - LDAP helpers shared by the resolver and the rights writer (ldap_int.h):
 * one way to read the bind password, connect and bind, escape a filter value and read
 * an entry, so the two connections cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "directory/internal.h"

static int
read_password(struct ldapc *c, const char *file)
{
	size_t len;

	if (file[0] == '\0')
		return EG_OK;
	if (eg_read_file(file, EG_MAX_PASSWORD_FILE, &c->password, &len) != EG_OK) {
		log_warn("[ldap] bind_password_file %s", file);
		return EG_ERR_CONFIG;
	}
	/* A trailing line end (echo secret > file) is not part of the password. */
	while (len > 0 && (c->password[len - 1] == '\n' || c->password[len - 1] == '\r'))
		c->password[--len] = '\0';
	c->password_len = len;
	return EG_OK;
}

int
ldapc_init(struct ldapc *c, const struct eg_config *cfg)
{
	eg_strlcpy(c->uri, cfg->ldap_uri, sizeof(c->uri));
	eg_strlcpy(c->base, cfg->ldap_base, sizeof(c->base));
	eg_strlcpy(c->bind_dn, cfg->ldap_bind_dn, sizeof(c->bind_dn));
	c->timeout_ms = cfg->ldap_timeout_ms;
	return read_password(c, cfg->ldap_password_file);
}

void
ldapc_free(struct ldapc *c)
{
	eg_freezero(c->password, c->password_len);
	c->password = NULL;
	c->password_len = 0;
}

void
ldapc_timeout(const struct ldapc *c, struct timeval *tv)
{
	tv->tv_sec = (time_t)(c->timeout_ms / 1000);
	tv->tv_usec = (suseconds_t)(c->timeout_ms % 1000) * 1000;
}

int
ldapc_connect(const struct ldapc *c, LDAP **out, int log_failure)
{
	struct timeval tv;
	struct berval cred;
	int v3 = LDAP_VERSION3, r;
	LDAP *ld = NULL;

	*out = NULL;
	if ((r = ldap_initialize(&ld, c->uri)) != LDAP_SUCCESS) {
		if (log_failure)
			log_warnx("ldap %s: %s", c->uri, ldap_err2string(r));
		return r;
	}
	ldapc_timeout(c, &tv);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	cred.bv_val = c->password;
	cred.bv_len = c->password_len;
	r = ldap_sasl_bind_s(ld, c->bind_dn[0] ? c->bind_dn : NULL, LDAP_SASL_SIMPLE,
	    c->password ? &cred : NULL, NULL, NULL, NULL);
	if (r != LDAP_SUCCESS) {
		if (log_failure)
			log_warnx("ldap %s: bind as %s: %s", c->uri, c->bind_dn, ldap_err2string(r));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return r;
	}
	*out = ld;
	return LDAP_SUCCESS;
}

int
ldapc_is_down(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR;
}

int
ldapc_filter_value(const char *value, char *out, size_t outlen)
{
	struct berval in, esc = { 0, NULL };
	int ok;

	in.bv_val = (char *)(uintptr_t)value;
	in.bv_len = strlen(value);
	if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
		return -1;
	ok = eg_strlcpy(out, esc.bv_val, outlen) < outlen;
	ber_memfree(esc.bv_val);
	return ok ? 0 : -1;
}

void
ldapc_entry_value(LDAP *ld, LDAPMessage *e, const char *attr, char *out, size_t outlen)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	size_t i, n;

	out[0] = '\0';
	if (vals != NULL && vals[0] != NULL) {
		n = vals[0]->bv_len < outlen - 1 ? vals[0]->bv_len : outlen - 1;
		/* When cut, cut before a whole UTF-8 sequence: the text ends up in JSON. */
		while (n < vals[0]->bv_len && n > 0 &&
		    ((unsigned char)vals[0]->bv_val[n] & 0xc0) == 0x80)
			n--;
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)vals[0]->bv_val[i];
			out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
		}
		out[n] = '\0';
	}
	ldap_value_free_len(vals);
}

int
ldapc_org_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct dir_org *o = arg;
	LDAPMessage *e = res != NULL ? ldap_first_entry(ld, res) : NULL;
	struct berval **vals;
	size_t i;

	if (e == NULL)
		return EG_OK;
	o->found = 1;
	ldapc_entry_value(ld, e, "description", o->name, sizeof(o->name));
	vals = ldap_get_values_len(ld, e, "eidgateCapacity");
	for (i = 0; vals != NULL && vals[i] != NULL && o->ncapacities < 8; i++) {
		if (vals[i]->bv_len == 0 || vals[i]->bv_len >= EG_MAX_ID)
			continue;
		memcpy(o->capacities[o->ncapacities], vals[i]->bv_val, vals[i]->bv_len);
		o->capacities[o->ncapacities][vals[i]->bv_len] = '\0';
		o->capacity_ptrs[o->ncapacities] = o->capacities[o->ncapacities];
		o->ncapacities++;
	}
	ldap_value_free_len(vals);
	return EG_OK;
}

void
ldapc_facility_attrs(LDAP *ld, LDAPMessage *e, struct dir_facility *f)
{
	ldapc_entry_value(ld, e, "description", f->name, sizeof(f->name));
	ldapc_entry_value(ld, e, "eidgateSector", f->sector, sizeof(f->sector));
	ldapc_entry_value(ld, e, "eidgateRegion", f->region, sizeof(f->region));
}
