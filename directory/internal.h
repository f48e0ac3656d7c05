
#ifndef EIDGATE_DIRECTORY_INTERNAL_H
#define EIDGATE_DIRECTORY_INTERNAL_H

/* ldap_int.h - policy/ only: what the read-only resolver (directory.c) and the rights
 * writer (dirwconn.c, dirquery.c, dirpeople.c, dirwrite.c) share about talking to LDAP:
 * the connection settings and bind, the retry rule, filter escaping and entry values. */

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
	LDAPDN base_dn;                 /* base, parsed once (NULL when it does not parse) */
	char *password;                 /* NULL when no bind_password_file; wiped on free */
	size_t password_len;
	int64_t timeout_ms;
	int starttls;                   /* enum cfg_starttls */
	char ca_file[1024];             /* "" when none: then TLS trusts nothing */
};

/* Copies uri, base, bind DN and timeout from cfg and reads the bind password file (at
 * most EG_MAX_PASSWORD_FILE bytes; a trailing line end is not part of the password).
 * EG_OK, or EG_ERR_CONFIG (logged) when the password file cannot be read. On error the
 * caller still calls ldapc_free(). */
int ldapc_init(struct ldapc *c, const struct eg_config *cfg);
/* Wipes and frees the password, frees base_dn. c itself is the caller's. */
void ldapc_free(struct ldapc *c);
/* Sets base and base_dn (ldapc_init does; a fuzz target without a configuration too). */
void ldapc_set_base(struct ldapc *c, const char *base);
/*
 * A DN from the directory, parsed (ldap_str2dn, LDAPv3): LDAP_SUCCESS only when it has at
 * least one RDN and every attribute type and value in it is non-empty, so that callers
 * may compare them as C strings. A DN a server hands over is outside input: libldap
 * leaves an empty value ("ou=") NULL, and the empty DN is no RDN at all. Free with
 * ldap_dnfree.
 */
int ldapc_str2dn(const char *dn, LDAPDN *out);
/* 1 when the RDNs of dn from index `from` on are exactly those of c's base (types and
 * values compared without case, as LDAP compares these), so an entry of the right shape
 * in another place (a copy of ou=people below an organisation) is not taken for one. */
int ldapc_below(LDAPDN dn, int from, const struct ldapc *c);
/* What an entry below the base is by its DN alone, parsed once (ldapc_str2dn):
 *   LDAPC_DN_PERSON       uid=<11 digits>,ou=people,<base>       (nrn set)
 *   LDAPC_DN_GRANT        cn=<name>,uid=<11 digits>,ou=people,<base> (nrn, name set;
 *                         name is the grant entry's cn, not yet checked: dirgrant.c)
 *   LDAPC_DN_SESSION_END  cn=<...>,ou=ended-sessions,<base>
 *   LDAPC_DN_OTHER        anything else, anywhere else.
 * Pure; fuzzed (tests/fuzz/fuzz_dn.c). */
enum ldapc_dn_kind { LDAPC_DN_OTHER, LDAPC_DN_PERSON, LDAPC_DN_GRANT, LDAPC_DN_SESSION_END };
enum ldapc_dn_kind ldapc_dn_kind(const char *dn, const struct ldapc *c,
    char nrn[EG_NRN_LEN + 1], char name[DIR_AS_MAX]);
/* timeout_ms as a timeval, for searches and the network options. */
void ldapc_timeout(const struct ldapc *c, struct timeval *tv);
/* Opens a handle to c->uri (LDAPv3, network and operation timeouts, no referrals, over
 * TLS as ldapc_secure() requires) and binds simply as c->bind_dn (anonymously when
 * empty). On LDAP_SUCCESS *out is the bound handle, the caller's to ldap_unbind_ext_s();
 * otherwise *out is NULL and why holds the reason, for the caller to log or show with
 * the URI (a refused directory certificate is explained: ldapc_tls_explain()). Returns
 * the LDAP result code. */
int ldapc_connect(const struct ldapc *c, LDAP **out, char *why, size_t whylen);
/* ldapc_connect, and *index (may be NULL) = the position in c->uri of the URI that
 * answered (0: the first). */
int ldapc_connect_at(const struct ldapc *c, LDAP **out, int *index, char *why,
    size_t whylen);
/* The connection of ldapc_connect() to one URI, without the bind: TCP, then TLS for
 * ldaps:// (ldapc_tls_start) or ldapc_secure() for the others. verify = 0 accepts any
 * certificate: only for fetching one to explain a refusal, never followed by a bind.
 * On failure *out may be a handle to unbind, and why holds the reason. */
int ldapc_open(const struct ldapc *c, const char *uri, int verify, LDAP **out, char *why,
    size_t whylen);

/* ldaptls.c. The handle's own TLS context: trust c->ca_file only (the CA directory of
 * ldap.conf cleared), a certificate valid for the URI's host demanded (verify = 1) or
 * not asked for (0). Set before the connect. */
int ldapc_tls_options(LDAP *ld, const struct ldapc *c, int verify, char *why, size_t whylen);
/* TLS on the handle's connection, the handshake bounded by the network timeout:
 * StartTLS (starttls = 1) or TLS from the first byte (ldaps://, 0). LDAP_CONNECT_ERROR
 * when the handshake failed (a refused certificate among others),
 * LDAP_CONFIDENTIALITY_REQUIRED when it settled on less than TLS 1.2 with AEAD. */
int ldapc_tls_start(LDAP *ld, int starttls, char *why, size_t whylen);
/* After the connect of an ldap:// or ldapi:// URI, before any bind: nothing to do on a
 * local socket; StartTLS unless the peer is a loopback address and [ldap] starttls is
 * not "on"; LDAP_CONFIDENTIALITY_REQUIRED (no bind in clear) with starttls = off to a
 * peer off this machine. A failed StartTLS is never followed by a bind. */
int ldapc_secure(LDAP *ld, const struct ldapc *c, char *why, size_t whylen);
/* Why uri's TLS handshake failed: fetches its certificate without a bind and checks it
 * with OpenSSL against ca_file and the host; overwrites why with the finding (unknown
 * issuer, name mismatch, expired...), or leaves it when the server does not answer. */
void ldapc_tls_explain(const struct ldapc *c, const char *uri, char *why, size_t whylen);
/* 1 when rc means the server went away (a restarted slapd leaves every handle dead),
 * so one retry on a fresh connection may succeed; 0 otherwise. */
int ldapc_is_down(int rc);

/* directory.c, for the change feed (dirfeed.c). dir_drop_all empties the resolver's
 * caches; dir_drop_entry drops what the changed entry e (DN dn; its attributes, when
 * the feed sent them, for a group its members) may have made stale: a person (also
 * when a grant entry dating one of their roles changed), the people holding or now
 * named in a role group, an organisation, a facility and the list it is in. Both make searches already under way not cache their answers.
 * dir_drop_entry returns how many cache entries it dropped. Any thread. */
void dir_drop_all(struct dir_resolver *d);
size_t dir_drop_entry(struct dir_resolver *d, LDAP *ld, LDAPMessage *e, const char *dn);

/* LDAP GeneralizedTime "YYYYMMDDHHMMSSZ" (what eidgate writes) from and to seconds since
 * the epoch: ldapc_gentime_parse returns -1 for any other text; ldapc_gentime writes
 * "" when t cannot be written so. */
int64_t ldapc_gentime_parse(const char *s);
void ldapc_gentime(int64_t t, char out[16]);

/* dirgrant.c. The provenance attributes of an eidgateGrant entry into p (known = 1; an
 * end that does not parse is taken as passed). ldapc_grant_entry: 0 when dn is a grant
 * entry (cn=<role>@<kind>:<id>,uid=<nrn>,ou=people,<base>), then nrn, g (without org)
 * and p are set; -1 for any other entry. dir_grant_same: same role, kind and scope id. */
void ldapc_prov_parse(LDAP *ld, LDAPMessage *e, struct dir_provenance *p);
int ldapc_grant_entry(LDAP *ld, LDAPMessage *e, const char *dn, const struct ldapc *c,
    char nrn[EG_NRN_LEN + 1], struct eg_grant *g, struct dir_provenance *p);
/* 0 when dn is a person entry where one belongs (LDAPC_DN_PERSON), with the number in
 * nrn; -1 for any other DN. */
int ldapc_person_dn(const char *dn, const struct ldapc *c, char nrn[EG_NRN_LEN + 1]);
int dir_grant_same(const struct eg_grant *a, const struct eg_grant *b);
/* The attributes to ask for when reading grant entries (NULL-terminated). */
extern char *const ldapc_grant_attrs[];

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

/* dirw_int.h - shared by dirwrite.c and dirquery.c only: the writer's connection, DN
 * building (filter escaping and entry values: ldap_int.h). */

#include <stddef.h>
#include <stdint.h>

#include <ldap.h>

#include "eidgate/directory.h"

struct dir_writer {
	struct ldapc lc;                /* settings and password, as the resolver's */
	LDAP *ld;                       /* NULL until first use, and after a failure */
	int uri_index;                  /* which URI of [ldap] uri ld is connected to */
	int64_t connected_ms;           /* when (eg_mono_ms) */
	char conn_error[768];           /* why the last connect of this change failed */
	char last_error[1024];
	int last_access;
};

/* One LDAP operation; returns an LDAP result code. */
typedef int (*dirw_op_fn)(struct dir_writer *w, LDAP *ld, void *arg);

/* Runs op on the writer's connection, connecting first, and once more on a fresh
 * connection when the server went away. Returns op's LDAP result code. */
int dirw_run(struct dir_writer *w, dirw_op_fn op, void *arg);
/* A dirw_op_fn deleting the entry whose DN is arg (dirwrite.c). */
int dirw_op_delete(struct dir_writer *w, LDAP *ld, void *arg);
/* Connects and binds when w has no connection; LDAP_SUCCESS, or the result code with
 * the reason in conn_error (dirw_fail reports it). */
int dirw_connect(struct dir_writer *w);
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
int dirw_scope_dn(const struct dir_writer *w, const struct dir_scope *s, char *out,
    size_t outlen);
int dirw_group_dn(const struct dir_writer *w, const struct dir_scope *s, const char *role,
    char *out, size_t outlen);
/* cn=<role>@<kind>:<id>,uid=<nrn>,ou=people,<base>: the grant entry of nrn's role on s. */
int dirw_grant_dn(const struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, char *out, size_t outlen);
/* The national number of a member DN "uid=<11 digits>,ou=people,..." into out (12
 * bytes); 0 or -1 when the DN has another shape. */
int dirw_member_nrn(const char *dn, char *out);
/* A role group's grant from its DN (dir_dn_grant), its identifiers also checked as the
 * directory's vocabulary wants them (a hand-made group with a bad id is no grant); 0 or
 * -1. For the readers of whole subtrees: the people list and the access reviews. */
int dirw_group_grant(const char *dn, struct eg_grant *g);
/* Calls fn for each member value of the group entry e, with the member's national number,
 * or NULL when the value is not a person's DN (uid=<number>,ou=people,...); stops at the
 * first return other than EG_OK and returns it. */
typedef int (*dirw_member_fn)(void *arg, const char *nrn);
int dirw_each_member(LDAP *ld, LDAPMessage *e, dirw_member_fn fn, void *arg);
/* directory.c: a role group's DN (cn=ROLE,o=ORG | cn=ROLE,ou=FAC,o=ORG below
 * ou=organisations, cn=ROLE,ou=REGION,ou=regions) as a grant; 0, or -1 for any other DN.
 * The values are as stored: callers that did not write them check them. */
int dir_dn_grant(const char *dn, struct eg_grant *g);

#endif
