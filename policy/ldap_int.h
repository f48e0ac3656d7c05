/* ldap_int.h - policy/ only: what the read-only resolver (directory.c) and the rights
 * writer (dirwconn.c, dirquery.c, dirpeople.c, dirwrite.c) share about talking to LDAP:
 * the connection settings and bind, the retry rule, filter escaping and entry values. */
#ifndef EIDGATE_LDAP_INT_H
#define EIDGATE_LDAP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <ldap.h>

#include "eidgate/directory.h"

struct eg_config;

/* The [ldap] settings one connection needs. Each of the resolver and the writer holds
 * its own copy (and its own handles): the resolver stays read-only. */
struct ldapc {
	char uri[1024], base[512], bind_dn[512];
	char *password;                 /* NULL when no bind_password_file; wiped on free */
	size_t password_len;
	int64_t timeout_ms;
};

/* Copies uri, base, bind DN and timeout from cfg and reads the bind password file (at
 * most EG_MAX_PASSWORD_FILE bytes; a trailing line end is not part of the password).
 * EG_OK, or EG_ERR_CONFIG (logged) when the password file cannot be read. On error the
 * caller still calls ldapc_free(). */
int ldapc_init(struct ldapc *c, const struct eg_config *cfg);
/* Wipes and frees the password. c itself is the caller's. */
void ldapc_free(struct ldapc *c);
/* timeout_ms as a timeval, for searches and the network options. */
void ldapc_timeout(const struct ldapc *c, struct timeval *tv);
/* Opens a handle to c->uri (LDAPv3, network and operation timeouts, no referrals) and
 * binds simply as c->bind_dn (anonymously when empty). On LDAP_SUCCESS *out is the
 * bound handle, the caller's to ldap_unbind_ext_s(); otherwise *out is NULL and, when
 * log_failure, the reason is logged. Returns the LDAP result code. */
int ldapc_connect(const struct ldapc *c, LDAP **out, int log_failure);
/* 1 when rc means the server went away (a restarted slapd leaves every handle dead),
 * so one retry on a fresh connection may succeed; 0 otherwise. */
int ldapc_is_down(int rc);

/* RFC 4515 escaping of a filter value (ldap_bv2escaped_filter_value). 0, or -1 when
 * the escaped value does not fit outlen. */
int ldapc_filter_value(const char *value, char *out, size_t outlen);
/* First value of attr into out, control characters replaced by '?'; when cut, cut
 * before a whole UTF-8 sequence (the text ends up in JSON). "" when absent. */
void ldapc_entry_value(LDAP *ld, LDAPMessage *e, const char *attr, char *out,
    size_t outlen);
/* Fills o (found, name, capacities) from the first entry of res (an eidgateOrganisation
 * read with "description" and "eidgateCapacity"); leaves it untouched when res is NULL
 * or empty. Always EG_OK: a dir_parse callback. */
int ldapc_org_parse(LDAP *ld, LDAPMessage *res, void *arg);
/* Fills f's name, sector and region from an eidgateFacility entry. */
void ldapc_facility_attrs(LDAP *ld, LDAPMessage *e, struct dir_facility *f);

#endif
