/*
 * ldapconn.c - LDAP helpers shared by the resolver and the rights writer (internal.h):
 * one way to read the bind password, connect (over TLS as ldaptls.c requires) and bind,
 * escape a filter value and read an entry, so the two connections cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

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
	ldapc_set_base(c, cfg->ldap_base);
	eg_strlcpy(c->bind_dn, cfg->ldap_bind_dn, sizeof(c->bind_dn));
	eg_strlcpy(c->ca_file, cfg->ldap_ca_file, sizeof(c->ca_file));
	c->starttls = cfg->ldap_starttls;
	c->timeout_ms = cfg->ldap_timeout_ms;
	return read_password(c, cfg->ldap_password_file);
}

void
ldapc_set_base(struct ldapc *c, const char *base)
{
	ldap_dnfree(c->base_dn);
	c->base_dn = NULL;
	eg_strlcpy(c->base, base, sizeof(c->base));
	/* a base that does not parse places nothing below it: every entry is elsewhere */
	if (ldapc_str2dn(c->base, &c->base_dn) != LDAP_SUCCESS)
		c->base_dn = NULL;
}

void
ldapc_free(struct ldapc *c)
{
	eg_freezero(c->password, c->password_len);
	c->password = NULL;
	c->password_len = 0;
	ldap_dnfree(c->base_dn);
	c->base_dn = NULL;
}

void
ldapc_timeout(const struct ldapc *c, struct timeval *tv)
{
	tv->tv_sec = (time_t)(c->timeout_ms / 1000);
	tv->tv_usec = (suseconds_t)(c->timeout_ms % 1000) * 1000;
}

/*
 * Where ldapc_open() connects for uri: the same URI, but ldaps:// as ldap:// to the same
 * host and port (636 when none is given). libldap's synchronous connect then tries every
 * address of the name within the network timeout, and TLS starts afterwards in
 * ldapc_tls_start(), whose handshake is bounded (libldap's own, inside the connect,
 * is not: ldaptls.c). *tls = 1 for ldaps://. The URI is ldap_memfree()'d by the caller.
 */
static char *
connect_uri(const char *uri, int *tls)
{
	LDAPURLDesc *u;
	char *out = NULL;

	*tls = 0;
	if (ldap_url_parse(uri, &u) != LDAP_URL_SUCCESS)
		return NULL;
	if (strcasecmp(u->lud_scheme, "ldaps") == 0) {
		*tls = 1;
		ldap_memfree(u->lud_scheme);
		u->lud_scheme = ldap_strdup("ldap");
		if (u->lud_port == 0)
			u->lud_port = LDAPS_PORT;
	}
	if (u->lud_scheme != NULL)
		out = ldap_url_desc2str(u);
	ldap_free_urldesc(u);
	return out;
}

/* ldap_connect() with its failure in why. */
static int
connect_handle(LDAP *ld, char *why, size_t whylen)
{
	char *diag = NULL;
	int r;

	if ((r = ldap_connect(ld)) == LDAP_SUCCESS)
		return r;
	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(why, whylen, "cannot connect: %s%s%s", ldap_err2string(r),
	    diag != NULL ? ": " : "", diag != NULL ? diag : "");
	ldap_memfree(diag);
	return r;
}

int
ldapc_open(const struct ldapc *c, const char *uri, int verify, LDAP **out, char *why,
    size_t whylen)
{
	struct timeval tv;
	int v3 = LDAP_VERSION3, tls, r, keep_idle = 30, keep_probes = 3, keep_interval = 10;
	char *curi = connect_uri(uri, &tls);

	*out = NULL;
	if (curi == NULL) {
		snprintf(why, whylen, "not a URI libldap reads");
		return LDAP_PARAM_ERROR;
	}
	r = ldap_initialize(out, curi);
	ldap_memfree(curi);
	if (r != LDAP_SUCCESS) {
		snprintf(why, whylen, "%s", ldap_err2string(r));
		return r;
	}
	ldapc_timeout(c, &tv);
	ldap_set_option(*out, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(*out, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(*out, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(*out, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	/* A directory that vanished without closing (a cut network) is noticed within
	 * about a minute even by a connection that only waits: the change feed's. */
	ldap_set_option(*out, LDAP_OPT_X_KEEPALIVE_IDLE, &keep_idle);
	ldap_set_option(*out, LDAP_OPT_X_KEEPALIVE_PROBES, &keep_probes);
	ldap_set_option(*out, LDAP_OPT_X_KEEPALIVE_INTERVAL, &keep_interval);
	if ((r = ldapc_tls_options(*out, c, verify, why, whylen)) != LDAP_SUCCESS ||
	    (r = connect_handle(*out, why, whylen)) != LDAP_SUCCESS)
		return r;
	return tls ? ldapc_tls_start(*out, 0, why, whylen) : ldapc_secure(*out, c, why, whylen);
}

static int
bind_simple(LDAP *ld, const struct ldapc *c, char *why, size_t whylen)
{
	struct berval cred;
	int r;

	cred.bv_val = c->password;
	cred.bv_len = c->password_len;
	r = ldap_sasl_bind_s(ld, c->bind_dn[0] ? c->bind_dn : NULL, LDAP_SASL_SIMPLE,
	    c->password ? &cred : NULL, NULL, NULL, NULL);
	if (r != LDAP_SUCCESS)
		snprintf(why, whylen, "bind as %s: %s", c->bind_dn, ldap_err2string(r));
	return r;
}

/* One URI of the list: open, explain a failed TLS handshake, bind. */
static int
connect_one(const struct ldapc *c, const char *uri, LDAP **out, char *why, size_t whylen)
{
	LDAP *ld = NULL;
	int r;

	r = ldapc_open(c, uri, 1, &ld, why, whylen);
	/* libldap says only "Connect error" for a refused certificate: ask the server. */
	if (r == LDAP_CONNECT_ERROR)
		ldapc_tls_explain(c, uri, why, whylen);
	if (r == LDAP_SUCCESS)
		r = bind_simple(ld, c, why, whylen);
	if (r != LDAP_SUCCESS) {
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
		return r;
	}
	*out = ld;
	return LDAP_SUCCESS;
}

int
ldapc_connect(const struct ldapc *c, LDAP **out, char *why, size_t whylen)
{
	return ldapc_connect_at(c, out, NULL, why, whylen);
}

int
ldapc_connect_at(const struct ldapc *c, LDAP **out, int *index, char *why, size_t whylen)
{
	const char *list = c->uri;
	char uri[sizeof(c->uri)], reason[768];
	size_t used = 0;
	int r = LDAP_PARAM_ERROR, n = 0;

	*out = NULL;
	why[0] = '\0';
	/* Each URI on its own, in order, so each is made confidential as its scheme and
	 * address require; the reasons of all that failed are kept. */
	for (; config_ldap_next_uri(&list, uri, sizeof(uri)); n++) {
		reason[0] = '\0';
		if ((r = connect_one(c, uri, out, reason, sizeof(reason))) == LDAP_SUCCESS) {
			if (index != NULL)
				*index = n;
			return r;
		}
		used += (size_t)snprintf(why + used, used < whylen ? whylen - used : 0, "%s%s: %s",
		    n > 0 ? "; " : "", uri, reason);
		if (used >= whylen)
			used = whylen;
	}
	if (n == 0)
		snprintf(why, whylen, "no URI in [ldap] uri");
	else if (n == 1)
		snprintf(why, whylen, "%s", reason);    /* the caller names the one URI */
	return r;
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

int
ldapc_str2dn(const char *dn, LDAPDN *out)
{
	LDAPDN p = NULL;
	int i, j;

	*out = NULL;
	if (ldap_str2dn(dn, &p, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return LDAP_INVALID_DN_SYNTAX;
	if (p == NULL || p[0] == NULL) {
		ldap_dnfree(p);
		return LDAP_INVALID_DN_SYNTAX;
	}
	for (i = 0; p[i] != NULL; i++)
		for (j = 0; p[i][j] != NULL; j++)
			if (p[i][j]->la_attr.bv_val == NULL || p[i][j]->la_attr.bv_len == 0 ||
			    p[i][j]->la_value.bv_val == NULL || p[i][j]->la_value.bv_len == 0) {
				ldap_dnfree(p);
				return LDAP_INVALID_DN_SYNTAX;
			}
	*out = p;
	return LDAP_SUCCESS;
}

int
ldapc_below(LDAPDN dn, int from, const struct ldapc *c)
{
	LDAPDN b = c->base_dn;
	int i;

	if (b == NULL)
		return 0;
	for (i = 0; dn[from + i] != NULL && b[i] != NULL; i++) {
		LDAPAVA *x = dn[from + i][0], *y = b[i][0];
		if (dn[from + i][1] != NULL || b[i][1] != NULL ||
		    strcasecmp(x->la_attr.bv_val, y->la_attr.bv_val) != 0 ||
		    strcasecmp(x->la_value.bv_val, y->la_value.bv_val) != 0)
			return 0;
	}
	return dn[from + i] == NULL && b[i] == NULL;
}

/* RDN i of dn is the single pair type=value (value NULL: any value); 1 or 0. dn has at
 * least i RDNs before (callers walk from 0). */
static int
rdn_is(LDAPDN dn, int i, const char *type, const char *value)
{
	return dn[i] != NULL && dn[i][1] == NULL &&
	    strcasecmp(dn[i][0]->la_attr.bv_val, type) == 0 &&
	    (value == NULL || strcasecmp(dn[i][0]->la_value.bv_val, value) == 0);
}

enum ldapc_dn_kind
ldapc_dn_kind(const char *dn, const struct ldapc *c, char nrn[EG_NRN_LEN + 1],
    char name[DIR_AS_MAX])
{
	enum ldapc_dn_kind k = LDAPC_DN_OTHER;
	LDAPDN p = NULL;
	int person_at;

	if (ldapc_str2dn(dn, &p) != LDAP_SUCCESS)
		return LDAPC_DN_OTHER;
	/* uid=<11 digits>,ou=people,<base> or cn=<name> above it */
	person_at = rdn_is(p, 0, "cn", NULL) ? 1 : 0;
	if (rdn_is(p, person_at, "uid", NULL) && rdn_is(p, person_at + 1, "ou", "people") &&
	    eg_all_digits(p[person_at][0]->la_value.bv_val, EG_NRN_LEN) &&
	    ldapc_below(p, person_at + 2, c) &&
	    (person_at == 0 || p[0][0]->la_value.bv_len < DIR_AS_MAX)) {
		memcpy(nrn, p[person_at][0]->la_value.bv_val, EG_NRN_LEN + 1);
		if (person_at == 1)
			memcpy(name, p[0][0]->la_value.bv_val, p[0][0]->la_value.bv_len + 1);
		k = person_at == 0 ? LDAPC_DN_PERSON : LDAPC_DN_GRANT;
	} else if (rdn_is(p, 0, "cn", NULL) && rdn_is(p, 1, "ou", "ended-sessions") &&
	    ldapc_below(p, 2, c)) {
		k = LDAPC_DN_SESSION_END;
	}
	ldap_dnfree(p);
	return k;
}

int64_t
ldapc_gentime_parse(const char *s)
{
	struct tm tm;
	int i;

	if (strlen(s) != 15 || s[14] != 'Z')
		return -1;
	for (i = 0; i < 14; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
	tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
	tm.tm_hour = (s[8] - '0') * 10 + (s[9] - '0');
	tm.tm_min = (s[10] - '0') * 10 + (s[11] - '0');
	tm.tm_sec = (s[12] - '0') * 10 + (s[13] - '0');
	return (int64_t)timegm(&tm);
}

void
ldapc_gentime(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 16, "%Y%m%d%H%M%SZ", &tm) != 15)
		out[0] = '\0';
}
