/*
 * directory.h - the directory stage (directory/): who holds which role where, read from
 * LDAP for every request, and the rights changes local administrators make
 * (PRODUCT.md §4, §8). Everything here starts with dir_.
 *
 * What it owns: the read-only resolver and its caches (directory.c, on cache.h), the
 * vocabulary of roles, scopes and names (dirvocab.c), the rules of who may change what
 * (rights.c), the writer with its own connection (dirwconn.c, dirwrite.c, dirquery.c,
 * dirpeople.c), the LDAP connection helper they share (ldapconn.c, over TLS as
 * ldaptls.c requires) and the OpenLDAP schema (directory/schema/). What it may call:
 * libldap, OpenSSL's X.509 verification (to say why a directory certificate was
 * refused), core/ and the grant types of policy.h; nothing else.
 *
 * The resolver:
 * One search per user finds the person entry and every role group naming them; the
 * result is cached for [ldap] cache_ttl, unknown people too (negative entries).
 * Organisation and facility entries are cached the same way. Entries handed out are
 * immutable and reference-counted: a caller keeps one as long as it needs it and then
 * releases it, while the cache may already hold a newer one.
 *
 * Connections: a small pool of LDAP handles, each used by one thread at a time
 * (libldap handles are not for concurrent use), reconnected on LDAP_SERVER_DOWN or
 * LDAP_TIMEOUT; each bound only after TLS ([ldap] starttls, ca_file) unless it reached
 * a loopback address or a local socket. Every value placed in a filter is escaped.
 *
 * Fail closed: when the directory cannot be reached and the answer is not cached,
 * functions return EG_ERR_DIRECTORY and the caller refuses the request (503).
 *
 * Thread safety: all functions may be called from any thread.
 */
#ifndef EIDGATE_DIRECTORY_H
#define EIDGATE_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "eidgate/limits.h"
#include "eidgate/policy.h"

struct eg_config;
struct dir_resolver;
struct ldapc;

/*
 * Where one role held by one person came from (the eidgateGrant entry below the person,
 * directory/schema/eidgate.schema): who granted it, in which capacity, when, and until
 * when. known = 0 for a membership without such an entry (made before eidgate recorded
 * provenance, or by another tool; `eidgate directory migrate` gives each one an entry).
 */
#define DIR_BY_OPERATOR "operator"      /* eidgate directory add-vte */
#define DIR_BY_MIGRATION "migration"    /* eidgate directory migrate */
#define DIR_AS_MAX (2 * EG_MAX_ID + 16) /* "<role>@<kind>:<id>" */

struct dir_provenance {
	int known;
	char by[32];                    /* national number, DIR_BY_OPERATOR, DIR_BY_MIGRATION */
	char by_name[EG_MAX_NAME];      /* the granter's name when they granted it, or "" */
	char as[DIR_AS_MAX];            /* the granter's role that allowed it, or "" */
	int64_t at;                     /* when granted, seconds since the epoch; 0 unknown */
	int64_t until;                  /* when it stops holding; 0: until revoked */
};

struct dir_person {
	char nrn[EG_NRN_LEN + 1];
	int found;                      /* 0: no person entry (negative cache entry) */
	char name[EG_MAX_NAME];
	char given[EG_MAX_NAME];
	char surname[EG_MAX_NAME];
	/* The earliest `until` among the grants, 0 when none ends: the resolver reads the
	 * person again from then on, so an expired grant stops holding at its end even
	 * while the entry is cached. Grants whose end had passed when read are left out. */
	int64_t next_end;
	size_t ngrants;
	const struct dir_provenance *prov;      /* ngrants entries, in the order of grants */
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
/* Takes one more reference to an entry handed out above (released with dir_release). */
void dir_retain(const void *entry);

/* The facilities of an organisation, for choosing one to act for. */
struct dir_facility_list {
	size_t n;
	struct dir_facility items[];
};
int dir_facilities_of(struct dir_resolver *d, const char *org,
    const struct dir_facility_list **out);

/* For /eidgate/metrics: lookups answered from the caches and not, and searches that
 * failed, since start. */
void dir_stats(struct dir_resolver *d, unsigned long *hits, unsigned long *misses,
    unsigned long *errors);

/* Readiness: EG_OK when the directory answered a base search of [ldap] base, else
 * EG_ERR_DIRECTORY. The answer is kept two seconds, so polling costs the directory
 * at most one search per two seconds. Any thread. */
int dir_probe(struct dir_resolver *d);

/* Drops cached entries of one person (after a rights change made through eidgate). */
void dir_forget_person(struct dir_resolver *d, const char *nrn);

/* ==== The change feed (dirfeed.c) ====
 * One thread with its own connection follows the directory with the Content
 * Synchronization operation (RFC 4533, refreshAndPersist, served by slapd's syncprov
 * overlay) below [ldap] base, and drops from the resolver's caches what each change
 * made stale, so a change made through any instance (or any tool) takes effect here
 * within the time the directory takes to tell us, instead of after [ldap] cache_ttl.
 * Entries below ou=ended-sessions (dir_sessions_end below) are handed to the hooks.
 * When the feed breaks (directory gone, sync refused), the cached entries keep their
 * TTL, which alone bounds staleness again (they are emptied once the feed is back); it reconnects, through the URIs of [ldap] uri
 * in order, after 0.25 s doubling to 30 s, and says so in the log each time its state
 * changes. The refresh at each (re)connection reads the entries' names (and the
 * ended sessions) once; afterwards the directory sends only changes.
 */
struct dir_feed;

struct dir_feed_hooks {
	/* Session public_id ended until `until` (seconds since the epoch). */
	void (*session_end)(void *arg, const char *public_id, int64_t until);
	/* Every session of nrn made at or before `before` ended, until `until`. */
	void (*person_end)(void *arg, const char *nrn, int64_t before, int64_t until);
	void *arg;
};

struct dir_sessions;

/* Starts the feed thread for d (which must outlive it); sessions (may be NULL) is
 * pruned of expired entries about once a minute from that thread. EG_OK, EG_ERR_CONFIG
 * (password file), EG_ERR_NOMEM or EG_ERR_INTERNAL (no thread). */
int dir_feed_start(const struct eg_config *cfg, struct dir_resolver *d,
    struct dir_sessions *sessions, const struct dir_feed_hooks *hooks,
    struct dir_feed **out);
/* Stops the thread (within about 250 ms) and frees the feed. NULL is allowed. */
void dir_feed_stop(struct dir_feed *f);
/* For /eidgate/metrics and readiness: *up = 1 while the feed follows the directory
 * (its refresh done), changes applied since start (cache entries and sessions),
 * times it broke. f NULL: all 0. Any thread. */
void dir_feed_stats(struct dir_feed *f, int *up, unsigned long *invalidations,
    unsigned long *breaks);

/* ==== Sessions ended in the directory (dirsess.c) ====
 * ou=ended-sessions,<base>: one eidgateSessionEnd entry per session ended by a logout
 * (cn=s-<public id>) and one per person whose sessions were all ended (cn=p-<national
 * number>), each with eidgateNotAfter, the sessions' absolute timeout, after which it
 * is pruned. Written over a connection of its own, to the first directory of [ldap]
 * uri that answers (so to one provider of a replicated pair at a time); every
 * instance learns them through its change feed. Thread-safe (one mutex). */
int dir_sessions_open(const struct eg_config *cfg, struct dir_sessions **out);
void dir_sessions_close(struct dir_sessions *s);
/* Ends public_id until `until`. EG_OK or EG_ERR_DIRECTORY (logged with the LDAP text). */
int dir_sessions_end(struct dir_sessions *s, const char *public_id, int64_t until);
/* Ends every session of nrn made at or before `before`, until `until`. */
int dir_sessions_end_person(struct dir_sessions *s, const char *nrn, int64_t before,
    int64_t until);
/* Deletes the entries whose eidgateNotAfter has passed; *pruned counts them. */
int dir_sessions_prune(struct dir_sessions *s, int64_t now, size_t *pruned);
/* Directory writes of session ends that failed since start. */
unsigned long dir_sessions_failures(struct dir_sessions *s);

/* ==== Rights management (dirvocab.c, rights.c, dirwrite.c, dirquery.c, dirpeople.c).
 * Everything below is pure or uses its own connection (struct dir_writer): the resolver
 * above stays read-only. ==== */

/* A scope as written in the API and the access log: "organisation:<enterprise number>",
 * "facility:<facility id>" or "region:<region>". */
struct dir_scope {
	enum eg_scope_kind kind;
	char id[EG_MAX_ID];
	char org[EG_MAX_ID];    /* owning organisation: id itself for an organisation, the
	                         * facility's organisation (looked up by the caller), "" for
	                         * a region */
};

/* ---- dirvocab.c: the vocabulary of PRODUCT.md §4; all pure and thread-safe. ---- */

/* Parses "kind:id" with a syntactically valid id (enterprise number with valid check
 * digits, facility id [a-z0-9-]{1,63}, known region). Sets out->org for organisations.
 * EG_OK or EG_ERR_PARSE. */
int dir_scope_parse(const char *text, struct dir_scope *out);
/* "organisation:0412345614" etc. into out; the length dir_scope_parse accepts. */
void dir_scope_format(const struct dir_scope *s, char *out, size_t outlen);
/* "organisation", "facility" or "region": a scope kind's name everywhere it is shown. */
const char *dir_scope_kind_name(enum eg_scope_kind kind);
/* 1 when role is one of the roles of §4 (any scope kind), else 0. */
int dir_role_known(const char *role);
/* 1 when role can be held on that kind of scope (e.g. "vte" on an organisation). */
int dir_role_on(const char *role, enum eg_scope_kind kind);
/* NULL-terminated list of the roles that can be held on kind, in documented order. */
const char *const *dir_roles_of(enum eg_scope_kind kind);
/* Enterprise number: 10 digits, first 0 or 1, last two = 97 - (first eight mod 97). */
int dir_valid_org_number(const char *s);
/* Facility id: [a-z0-9-]{1,63}. */
int dir_valid_facility_id(const char *s);
int dir_valid_region(const char *s);
int dir_valid_sector(const char *s);
int dir_valid_capacity(const char *s);
/* A person's name as an administrator types it: valid UTF-8, 1..EG_MAX_NAME_CHARS code
 * points and < EG_MAX_NAME bytes, no leading or trailing space, no control characters (C0, DEL, C1)
 * and no bidirectional overrides (they make a name display as another). */
int dir_valid_name(const char *s);
/* Splits "Given Surname" at the FIRST space: given = first word, surname = the rest, so
 * Flemish surnames with particles ("Vanden Berge", "De Keyser") stay whole; a name
 * without a space is all surname. The name on the card, read at login, is authoritative;
 * this split only fills givenName/sn of an entry made before the person's first login. */
void dir_split_name(const char *name, char *given, size_t glen, char *surname,
    size_t slen);

/* ---- rights.c: who may change what (PRODUCT.md §4); pure, thread-safe. ---- */

enum dir_action { DIR_GRANT, DIR_REVOKE };

enum dir_verdict {
	DIR_ALLOWED = 0,
	DIR_BAD_ROLE,        /* role unknown or not held on this kind of scope: 400 */
	DIR_REGION_ROLE,          /* regional roles are not managed in the pages: 403 */
	DIR_OUTSIDE,         /* outside the caller's rights: 403 */
	DIR_SELF             /* the caller's own roles: 403 */
};

/*
 * May a caller holding grants[0..n) grant (or revoke) role on scope s for target_nrn?
 * s->org must be set. The authority is decided first, then self-change, so DIR_SELF
 * means "would be allowed, but it is the caller's own role". target_nrn NULL skips the
 * self check (used to list what a caller may grant). Rules:
 *   vte on O:    co-vte, lb, security-officer on O; revokes (never grants) vte on O;
 *                plus all of co-vte and lb on O.
 *   co-vte on O: lb on O; lb on each facility of O; plus all of lb on O.
 *   lb on O:     member, moduleerder, insisto-aanmelder, insisto-raadpleger on each
 *                facility of O.
 *   lb on F:     the same four roles on F only.
 * A VTE appointing another VTE is the platform operator's job (eidgate directory
 * add-vte); a VTE may revoke another VTE, so that 409 protects the last one.
 */
enum dir_verdict dir_rights_check(const struct eg_grant *grants, size_t n,
    const char *caller_nrn, enum dir_action action, const char *target_nrn,
    const char *role, const struct dir_scope *s);
/* 1 when the caller may see and manage people in s (vte, co-vte, lb on s->org, or lb on
 * the facility s). */
int dir_may_administer(const struct eg_grant *grants, size_t n,
    const struct dir_scope *s);
/* Fills out[0..max) with the roles the caller may grant (or revoke) on s, in documented
 * order (pointers to static strings); returns how many. */
size_t dir_allowed_roles(const struct eg_grant *grants, size_t n,
    enum dir_action action, const struct dir_scope *s, const char **out, size_t max);
/* Which of the caller's grants allows granting role on s: the index in grants of the
 * strongest (vte, then co-vte, then lb; an organisation's before a facility's), or -1
 * when none does. It names the capacity in the grant's provenance, and its end bounds
 * the new grant's (nobody delegates longer than they hold). */
int dir_rights_authority(const struct eg_grant *grants, size_t n, const char *role,
    const struct dir_scope *s);
/* 1 when the caller holds role on organisation org. */
int dir_holds_org(const struct eg_grant *grants, size_t n, const char *role,
    const char *org);

/* ---- dirwrite.c / dirquery.c: reads and writes over a connection of their own. ---- */

/*
 * One LDAP connection with the service account of [ldap], for rights changes and the
 * uncached reads they need (an administrator must see the directory as it is now, not
 * as cached for request decisions). Reconnects once when the server went away.
 * Not thread-safe: one thread at a time per writer (the admin API serialises its calls,
 * which also keeps "delete the group with its last member" free of races inside one
 * gateway). Errors: EG_ERR_DIRECTORY (unreachable, refused, or an LDAP error: logged
 * with the LDAP text), EG_ERR_PARSE (a value failed validation), EG_ERR_NOMEM.
 */
struct dir_writer;

int dir_writer_open(const struct eg_config *cfg, struct dir_writer **out);
void dir_writer_close(struct dir_writer *w);
/* The LDAP text of the last failure (for CLI messages); never NULL. */
const char *dir_writer_error(const struct dir_writer *w);
/* 1 when the last failure was the server refusing access (insufficient access). */
int dir_writer_denied(const struct dir_writer *w);

/* *exists = 1 when the entry at the DN of scope s exists (facility: under s->org). */
int dir_scope_exists(struct dir_writer *w, const struct dir_scope *s, int *exists);
/* Finds the organisation owning facility id (*org_out "" when there is none). */
int dir_facility_owner(struct dir_writer *w, const char *facility, char *org_out,
    size_t orglen);
/* *count = entries named ou=<facility> anywhere below ou=organisations (uniqueness). */
int dir_facility_count(struct dir_writer *w, const char *facility, int *count);
int dir_person_exists(struct dir_writer *w, const char *nrn, int *exists);
/* Creates uid=<nrn>,ou=people with cn = name and givenName/sn per dir_split_name.
 * EG_OK also when it appeared meanwhile (*created = 0). */
int dir_person_create(struct dir_writer *w, const char *nrn, const char *name,
    int *created);
/* Adds nrn to cn=<role> below s, creating the group when absent, after writing the
 * grant entry pv when it is not NULL (dir_grant_write: the entry before the membership).
 * *added = 0 when the person already held the role. */
int dir_add_member(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *pv, int *added);
/* Removes nrn from cn=<role> below s; deletes the group when it was the last member.
 * *removed = 0 when the person did not hold the role. The grant entry goes after the
 * membership, and only the version read before the removal (an assertion on its
 * entryCSN, RFC 4528): a grant made again meanwhile, through another administrator or
 * instance, keeps the entry it wrote for the membership it adds. The same holds for
 * dir_remove_member_while. */
int dir_remove_member(struct dir_writer *w, const struct dir_scope *s,
    const char *role, const char *nrn, int *removed);
/* Members of cn=<role> below s: *count, and *holds = 1 when nrn is one of them (nrn
 * may be NULL); other (EG_NRN_LEN + 1 bytes, may be NULL) receives the national number
 * of a member other than nrn, "" when there is none. Counts VTEs before one is removed. */
int dir_members(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, size_t *count, int *holds, char *other);
/* Removes nrn from cn=<role> below s only while keep is still a member, decided by the
 * directory itself (the assertion control of RFC 4528), so two administrators removing
 * each other at the same moment, through any gateways, never both succeed. *removed = 1
 * when removed; *keep_gone = 1 when keep was no longer a member (nothing changed: read
 * again). EG_OK or EG_ERR_DIRECTORY / EG_ERR_PARSE. */
int dir_remove_member_while(struct dir_writer *w, const struct dir_scope *s,
    const char *role, const char *nrn, const char *keep, int *removed, int *keep_gone);

/* Bootstrap writes (eidgate directory ...). *created = 0 when the entry already existed
 * (nothing is changed then). dir_base_ou makes ou=<ou>,<base>, or ou=<ou>,ou=regions,
 * <base> when in_regions. The organisation/facility must not exist; values are
 * validated by the caller (dirvocab.c). */
int dir_base_ou(struct dir_writer *w, const char *ou, int in_regions,
    const char *description, int *created);
int dir_org_create(struct dir_writer *w, const char *number, const char *name,
    const char *const *capacities, size_t ncap, int *created);
int dir_facility_create(struct dir_writer *w, const char *org, const char *id,
    const char *name, const char *sector, const char *region, int *created);

/* One role held by one person, as dir_list_people reports it. */
struct dir_holding {
	char nrn[EG_NRN_LEN + 1];
	char name[EG_MAX_NAME];         /* cn of the person entry, "" when it has none */
	struct eg_grant grant;
	struct dir_provenance prov;
};

struct dir_people {
	size_t n;
	int truncated;                  /* more than EG_MAX_DIR_LISTED holdings */
	struct dir_holding *h;          /* sorted by name, then nrn, then scope and role */
};

/* Lists who holds which role in s: for an organisation its own roles and those on its
 * facilities; for a facility the roles on it. role (NULL: any) keeps one role; q (NULL:
 * any) keeps people whose name contains q (case-insensitive; escaped for the filter).
 * *out is freed with dir_people_free. */
int dir_list_people(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *q, struct dir_people *out);
void dir_people_free(struct dir_people *p);

/* ---- dirgrant.c: delegation provenance (the eidgateGrant entries) ---- */

/* "<role>@<kind>:<id>": the name (cn) of a grant entry and the form of eidgateGrantedAs.
 * 0, or -1 when it does not fit outlen (DIR_AS_MAX always fits). */
int dir_grant_name(const char *role, enum eg_scope_kind kind, const char *id, char *out,
    size_t outlen);
/* The reverse: role, kind and scope id (g->org stays ""), each checked against the
 * vocabulary (dirvocab.c) and the role against the kind. 0 or -1. */
int dir_grant_name_parse(const char *name, struct eg_grant *g);
/*
 * The end of a grant as an administrator gives it: "YYYY-MM-DD" (the grant holds through
 * that day in Belgium, Europe/Brussels, until the next midnight there) or
 * "YYYY-MM-DDTHH:MM:SSZ" (that moment, UTC). It must lie after now and before now plus
 * EG_MAX_GRANT_YEARS years. EG_OK or EG_ERR_PARSE.
 */
#define EG_MAX_GRANT_YEARS 10
int dir_until_parse(const char *text, int64_t now, int64_t *until);
/* t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ", how the API, the records and
 * the assertion write a grant's dates; "" when t cannot be written so. */
#define DIR_TIME_LEN 21
void dir_time_format(int64_t t, char out[DIR_TIME_LEN]);
/* 1 when p still holds at now (no end, or an end after now). */
int dir_prov_holds(const struct dir_provenance *p, int64_t now);

/* Writes the grant entry of nrn's role on s, replacing one that is there: p->by and
 * p->at are required; a role given again with another end (dir_add_member writes it for
 * a new one). The person entry must exist. dir_grant_add only adds: *added = 0 and
 * nothing changes when an entry is there. */
int dir_grant_write(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *p);
int dir_grant_add(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *p, int *added);
/* Reads it; out->known = 0 when there is none. csn (DIR_CSN_MAX bytes, may be NULL)
 * receives its entryCSN, the version of the entry, "" when there is none. */
#define DIR_CSN_MAX 64
int dir_grant_read(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, struct dir_provenance *out, char *csn);

/*
 * eidgate directory migrate: gives every role group membership that has no grant entry
 * one (by DIR_BY_MIGRATION, now, no end), reading the directory in pages like
 * dir_read_all. It only adds: an entry written meanwhile (by an administrator granting
 * with an end) is kept. With dry_run nothing is written. Running it again changes
 * nothing. EG_OK, or the first error (the entries written before it stay:
 * run it again).
 */
struct dir_migration {
	size_t memberships;             /* role group memberships seen */
	size_t dated;                   /* of them, already with a grant entry */
	size_t written;                 /* entries written (or, dry run, to write) */
	size_t no_person;               /* memberships of a person without person entry */
};
int dir_migrate(struct dir_writer *w, int dry_run, int64_t now, struct dir_migration *m);

/* ---- dirall.c: the whole directory, for access reviews (eidgate access ...) ---- */

struct dir_all_name {
	char nrn[EG_NRN_LEN + 1];
	char name[EG_MAX_NAME];
};
/* A person holding at least one role: grants[first .. first + n) of struct dir_all. */
struct dir_all_person {
	char nrn[EG_NRN_LEN + 1];
	char name[EG_MAX_NAME];         /* cn, "" when the person entry has none */
	size_t first, n;
};
struct dir_all {
	struct dir_org *orgs;           /* sorted by id; capacity_ptrs set */
	size_t norgs, cap_orgs;
	struct dir_facility *facilities;        /* sorted by id */
	size_t nfacilities, cap_fac;
	struct dir_holding *holdings;   /* every role held, sorted by nrn */
	size_t nholdings, cap_hold;
	struct eg_grant *grants;        /* holdings' grants, in the same order */
	struct dir_all_name *names;     /* every person entry, sorted by nrn */
	size_t nnames, cap_names;
	struct dir_all_person *people;  /* sorted by nrn */
	size_t npeople, cap_people;
	const struct ldapc *lc;         /* the reader's [ldap] settings, while reading */
	struct dir_holding *dated;      /* the grant entries, while reading */
	size_t ndated, cap_dated;
	size_t nexpired;                /* memberships left out: their grant had ended */
};
/* Reads organisations, facilities, role groups, the grant entries that have an end, and
 * people names in pages (RFC 2696), so no server size limit cuts the answer short.
 * Memberships whose grant has ended (at the time of reading) are left out; a holding's
 * prov is known only when its grant has an end. dir_read_all_dated reads every grant
 * entry whole, so every holding's prov is complete (eidgate directory migrate). EG_OK, EG_ERR_NOMEM or
 * EG_ERR_DIRECTORY (dir_writer_error says why). *a is freed with dir_all_free. */
int dir_read_all(struct dir_writer *w, struct dir_all *a);
int dir_read_all_dated(struct dir_writer *w, struct dir_all *a);
void dir_all_free(struct dir_all *a);
/* Lookups in *a by id or national number; NULL when absent. */
const struct dir_facility *dir_all_facility(const struct dir_all *a, const char *id);
const struct dir_org *dir_all_org(const struct dir_all *a, const char *id);
const struct dir_all_person *dir_all_person(const struct dir_all *a, const char *nrn);
/* The facilities of organisation org (*out malloc'd, *n entries, found = 1 each). */
int dir_list_facilities(struct dir_writer *w, const char *org, struct dir_facility **out,
    size_t *n);
/* Reads organisation org (out->found = 0 when absent). */
int dir_org_read(struct dir_writer *w, const char *org, struct dir_org *out);


#endif
