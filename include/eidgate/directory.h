/*
 * directory.h - the LDAP resolver: who holds which role where (PRODUCT.md §4).
 *
 * One search per user finds the person entry and every role group naming them; the
 * result is cached for [ldap] cache_ttl, unknown people too (negative entries).
 * Organisation and facility entries are cached the same way. Entries handed out are
 * immutable and reference-counted: a caller keeps one as long as it needs it and then
 * releases it, while the cache may already hold a newer one.
 *
 * Connections: a small pool of LDAP handles, each used by one thread at a time
 * (libldap handles are not for concurrent use), reconnected on LDAP_SERVER_DOWN or
 * LDAP_TIMEOUT. Every value placed in a filter is escaped.
 *
 * Fail closed: when the directory cannot be reached and the answer is not cached,
 * functions return EG_ERR_DIRECTORY and the caller refuses the request (503).
 *
 * Thread safety: all functions may be called from any thread.
 */
#ifndef EIDGATE_DIRECTORY_H
#define EIDGATE_DIRECTORY_H

#include <stddef.h>

#include "eidgate/limits.h"
#include "eidgate/policy.h"

struct eg_config;
struct dir_resolver;

struct dir_person {
	char nrn[EG_NRN_LEN + 1];
	int found;                      /* 0: no person entry (negative cache entry) */
	char name[EG_MAX_NAME];
	char given[EG_MAX_NAME];
	char surname[EG_MAX_NAME];
	size_t ngrants;
	struct eg_grant grants[];       /* ngrants entries */
};

struct dir_org {
	char id[EG_MAX_ID];             /* enterprise number */
	int found;
	char name[EG_MAX_NAME];
	size_t ncapacities;
	char capacities[8][EG_MAX_ID];
	const char *capacity_ptrs[8];   /* points into capacities, for struct eg_subject */
};

struct dir_facility {
	char id[EG_MAX_ID];
	int found;
	char org[EG_MAX_ID];
	char name[EG_MAX_NAME];
	char sector[EG_MAX_ID];
	char region[EG_MAX_ID];
};

/* Creates the resolver; does not connect yet (the directory may start later). */
int dir_open(const struct eg_config *cfg, struct dir_resolver **out);
void dir_close(struct dir_resolver *d);

/* Looks a person up by national number. On EG_OK *out holds a reference to release with
 * dir_release(). Errors: EG_ERR_DIRECTORY (unreachable, not cached), EG_ERR_PARSE (nrn is
 * not 11 digits). */
int dir_person(struct dir_resolver *d, const char *nrn, const struct dir_person **out);
int dir_org(struct dir_resolver *d, const char *id, const struct dir_org **out);
int dir_facility(struct dir_resolver *d, const char *id, const struct dir_facility **out);
void dir_release(const void *entry);

/* Drops cached entries of one person (after a rights change made through eidgate). */
void dir_forget_person(struct dir_resolver *d, const char *nrn);

#endif
