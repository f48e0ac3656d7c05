/* dirw_int.h - shared by dirwrite.c and dirquery.c only: the writer's connection, DN
 * building (filter escaping and entry values: ldap_int.h). */
#ifndef EIDGATE_DIRW_INT_H
#define EIDGATE_DIRW_INT_H

#include <stddef.h>
#include <stdint.h>

#include <ldap.h>

#include "eidgate/directory.h"
#include "policy/ldap_int.h"

struct dir_writer {
	struct ldapc lc;                /* settings and password, as the resolver's */
	LDAP *ld;                       /* NULL until first use, and after a failure */
	char last_error[256];
	int last_access;
};

/* One LDAP operation; returns an LDAP result code. */
typedef int (*dirw_op_fn)(struct dir_writer *w, LDAP *ld, void *arg);

/* Runs op on the writer's connection, connecting first, and once more on a fresh
 * connection when the server went away. Returns op's LDAP result code. */
int dirw_run(struct dir_writer *w, dirw_op_fn op, void *arg);
/* Records and logs an unexpected LDAP result for `what`; returns EG_ERR_DIRECTORY. */
int dirw_fail(struct dir_writer *w, int rc, const char *what);
/* Parses a search result; res is NULL when the base does not exist (an empty answer).
 * Returns EG_OK or an EG_ERR_* code, which dirw_search passes on. */
typedef int (*dirw_parse_fn)(LDAP *ld, LDAPMessage *res, void *arg);
/* Searches (at most sizelimit entries; more is not an error) and parses the result.
 * EG_OK, parse's error, or EG_ERR_DIRECTORY (logged as `what`). */
int dirw_search(struct dir_writer *w, const char *base, int scope, const char *filter,
    char **attrs, int sizelimit, dirw_parse_fn parse, void *arg, const char *what);
/* *exists = 1 when an entry with this DN exists. */
int dirw_dn_exists(struct dir_writer *w, const char *dn, int *exists);

/* RFC 4514: v with every byte but [A-Za-z0-9-] hex-escaped. 0, or -1 (empty, too long). */
int dirw_dn_value(const char *v, char *out, size_t outlen);
/* DNs below the base; values are RFC 4514-escaped. 0 or -1 (too long). */
int dirw_person_dn(const struct dir_writer *w, const char *nrn, char *out, size_t outlen);
int dirw_org_dn(const struct dir_writer *w, const char *org, char *out, size_t outlen);
int dirw_scope_dn(const struct dir_writer *w, const struct rights_scope *s, char *out,
    size_t outlen);
int dirw_group_dn(const struct dir_writer *w, const struct rights_scope *s, const char *role,
    char *out, size_t outlen);
/* The national number of a member DN "uid=<11 digits>,ou=people,..." into out (12
 * bytes); 0 or -1 when the DN has another shape. */
int dirw_member_nrn(const char *dn, char *out);

#endif
