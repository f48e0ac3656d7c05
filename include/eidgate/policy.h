/*
 * policy.h - the policy language of PRODUCT.md §5: parsing, path normalisation and
 * decisions.
 *
 * A loaded struct policy is immutable: any number of threads may call policy_decide()
 * on it concurrently. A reload loads a new one and swaps it in; the old one is freed by
 * whoever drops the last reference (see request/).
 */
#ifndef EIDGATE_POLICY_H
#define EIDGATE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "eidgate/limits.h"

enum policy_identity { POLICY_IDENTITY_ASSERTION, POLICY_IDENTITY_HEADERS };
/* What the assertion's `sub` holds: the national number, or a pseudonym of it for this
 * backend (keys.h keys_pseudonym; `sub_kid` names the pseudonym key). */
enum policy_subject { POLICY_SUBJECT_NRN, POLICY_SUBJECT_PSEUDONYM };

struct policy_backend {
	char name[EG_MAX_ID];
	char url[1024];             /* base URL, no trailing slash: "http://127.0.0.1:9101" */
	int64_t timeout_ms;         /* read timeout; 0 = gateway default */
	uint64_t max_body;          /* 0 = EG_DEFAULT_MAX_BODY */
	enum policy_identity identity;
	enum policy_subject subject;        /* subject=nrn (default) | pseudonym */
	/* Sites whose pages may send state-changing requests to this backend in the card
	 * holder's name (origins=): https://host[:port] as a browser's Origin says it. */
	char origins[EG_MAX_ORIGINS][EG_MAX_ORIGIN];
	size_t norigins;
	/* The url split once, when the policy is read; the gateway connects with these. */
	int tls;                    /* https:// */
	char host[256];             /* without the brackets of an IPv6 literal */
	char port[8];               /* as written, or 80 / 443 */
	char authority[300];        /* host[:port] as written: the Host header */
	size_t path_at;             /* url + path_at: the path prefix, "" when none */
};

enum eg_scope_kind { EG_SCOPE_ORGANISATION, EG_SCOPE_FACILITY, EG_SCOPE_REGION };

/* One role a person holds, as the directory resolver reports it. */
struct eg_grant {
	char role[EG_MAX_ID];       /* "vte", "moduleerder", ... */
	enum eg_scope_kind kind;
	char scope[EG_MAX_ID];      /* enterprise number, facility id or region */
	char org[EG_MAX_ID];        /* for facility grants: the owning organisation */
};

/* What a decision is taken about: the user of the request. */
struct eg_subject {
	int authenticated;
	const struct eg_grant *grants;
	size_t ngrants;
	const char *context_facility;       /* facility acted for, NULL if none chosen */
	const char *context_org;            /* its organisation */
	const char *const *capacities;      /* capacities of context_org */
	size_t ncapacities;
	/* Owning organisation of a facility id, or NULL when unknown. Used for
	 * "role R on facility {f}" when R is held on the organisation. May be NULL. */
	const char *(*facility_org)(void *arg, const char *facility);
	void *facility_org_arg;
};

struct policy;

/* Diagnostics: each error/warning is one line "file:line: problem". */
struct policy_diag {
	void (*emit)(void *arg, int is_error, const char *file, int line, const char *msg);
	void *arg;
};

/* Parses path into a new policy. All errors are reported through diag (when not NULL)
 * before failing, then EG_ERR_POLICY is returned. On success *out owns the policy. */
int policy_load(const char *path, struct policy **out, const struct policy_diag *diag);
/* policy_load of a file's content held in memory: text[0..len) (NULs and all, read
 * exactly as policy_load reads the file, version hash included) under the name `name`
 * that messages carry. For tests and tests/fuzz/. */
int policy_load_text(const char *name, const char *text, size_t len, struct policy **out,
    const struct policy_diag *diag);
void policy_free(struct policy *p);

/* Hex SHA-256 prefix (16 chars) of the file content: names the policy in log records. */
const char *policy_version(const struct policy *p);
/* The file's content exactly as read (and hashed into the version), *len bytes, owned
 * by p: the access log keeps it so that a decision can be replayed (audit.h). */
const char *policy_text(const struct policy *p, size_t *len);

size_t policy_backend_count(const struct policy *p);
/* How many rules the policy has. */
size_t policy_rule_count(const struct policy *p);
const struct policy_backend *policy_backend_at(const struct policy *p, size_t i);
const struct policy_backend *policy_backend_find(const struct policy *p, const char *name);

/* Method bits (rules, and the gateway's route table). `*` means all of them: an unknown
 * method (TRACE, CONNECT, WebDAV...) never matches any rule, so it is always denied. */
enum {
	PM_GET = 1 << 0, PM_HEAD = 1 << 1, PM_POST = 1 << 2, PM_PUT = 1 << 3,
	PM_PATCH = 1 << 4, PM_DELETE = 1 << 5, PM_OPTIONS = 1 << 6,
	PM_ALL = (1 << 7) - 1
};

/* Returns the bit of an upper-case method name (len bytes), 0 when unknown. */
unsigned policy_method_bit(const char *m, size_t len);

/* 1 when method is one the policy language knows (GET HEAD POST PUT PATCH DELETE
 * OPTIONS, case-sensitive): the only ones the gateway serves. */
int policy_method_known(const char *method);
/* The paths the gateway keeps for itself (PRODUCT.md §5, §6): its prefix, below which
 * no rule may route, and the JWK set backends fetch the assertion key from. */
#define EG_GATEWAY_PREFIX "/eidgate"
#define EG_JWKS_PATH "/.well-known/eidgate-jwks.json"
/* 1 when a normalised path is the gateway's prefix or below it. */
int policy_path_is_gateway(const char *path);
/* 1 when a normalised path belongs to the gateway itself (below its prefix, or the JWK
 * set): no rule applies there. */
int policy_path_is_builtin(const char *path);

/*
 * The scope a request is about (PRODUCT.md §7: records name it, so that each
 * organisation's security officers see every access to their facilities; the assertion
 * names it, so a backend is never told that one organisation's roles apply to another's
 * data). It is the scope of the first role term that held in the deciding rule; for a
 * request no rule allowed, the scope the first matching rule asks about (the facility in
 * the path the user has no role on). None for rules without a scoped role term.
 */
struct policy_scope {
	int set;
	enum eg_scope_kind kind;
	char id[EG_MAX_ID];                     /* facility id, enterprise number or region */
	char org[EG_MAX_ID];                    /* the owning organisation ("" for a region,
	                                         * or when the directory does not know it) */
};

struct policy_decision {
	int allow;                              /* 1 allow, 0 deny */
	const char *rule;                       /* deciding rule id, NULL when none matched */
	const struct policy_backend *backend;   /* set when allow */
	int reason;                             /* EG_OK, EG_ERR_DENIED or EG_ERR_NO_RULE */
	int signed_intent;                      /* allowed by a `signed` rule: the request
	                                         * must carry a card-signed intent (auth.h
	                                         * "Signed intent") to be forwarded */
	struct policy_scope scope;              /* what the request is about */
};

/* Decides method + normalised path for subject. Pointers in *out point into p and stay
 * valid as long as p. Never fails: no matching allow means deny. */
void policy_decide(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, struct policy_decision *out);

/*
 * Normalises a raw request target (as received, before any decoding) into the path the
 * backend will receive and the policy will see: percent-decoding of unreserved characters,
 * removal of dot segments (RFC 3986 §5.2.4), collapsing of repeated slashes. The query
 * string (after '?') is returned separately, unchanged. Anything ambiguous (encoded '/',
 * '\\' or NUL, dot segments above the root, invalid percent-encoding, control
 * characters, non-origin-form targets) gives EG_ERR_BAD_PATH.
 */
int policy_normalise_path(const char *target, char *path, size_t pathlen, char *query,
    size_t querylen);


/*
 * The facility a user acts for before choosing one (policy/context.c): the organisation
 * when all the user's organisation and facility grants are in one, and the facility when
 * moreover all facility grants name one. Regional grants play no part. fac and org
 * (EG_MAX_ID bytes each) are set to "" when there is no such default. Returns 1 when a
 * facility was chosen, 0 otherwise. The gateway and `policy explain` both use it, so an
 * explanation shows what a fresh login gets.
 */
int policy_default_context(const struct eg_grant *grants, size_t n, char *fac, char *org);

/* ==== Routes, for access reviews (policy/routes.c, `eidgate access what-can`) ==== */

#define POLICY_ROUTE_PARAMS 8
struct policy_route {
	const char *rule;               /* id (points into the policy) */
	const char *backend;            /* allow rules: the backend's name; deny: NULL */
	int deny;
	unsigned methods;               /* PM_* */
	int signed_intent;              /* a `signed` rule: requests need a card-signed intent */
	char pattern[512];              /* as written in the rule */
	size_t nparams;                 /* {param} segments, in path order */
	struct {
		char name[EG_MAX_ID];
		int kind;               /* the enum eg_scope_kind a role term asks of it
		                         * (`on facility {f}`), or -1 when none does */
	} params[POLICY_ROUTE_PARAMS];
};
/* Rule i (0 .. policy_rule_count - 1, file order) as a route. EG_OK, or EG_ERR_NOT_FOUND. */
int policy_route(const struct policy *p, size_t i, struct policy_route *out);
/* 1 when the rule with that id is `signed` (its requests need a card-signed intent),
 * 0 when it is not or there is no such rule. */
int policy_rule_signed(const struct policy *p, const char *rule);
/* A concrete path of rule i: its k-th {param} replaced by values[k] (values or the entry
 * NULL: "x"), `*` and `**` by "x". EG_OK, EG_ERR_TOO_LONG or EG_ERR_NOT_FOUND. */
int policy_route_path(const struct policy *p, size_t i, const char *const *values,
    char *out, size_t len);


/* ==== Access reviews (policy/access.c: `eidgate access`, the officers' pages) ====
 *
 * Who could make a request, and what one person reaches, over the whole directory
 * (directory.h dir_read_all) with the same policy_decide() the gateway runs. "Could"
 * means: with any context the person may choose (no facility; each facility of their
 * facility grants; each organisation where they hold a role and each of its facilities).
 * org (NULL: every organisation) keeps only the grants whose organisation it is (a
 * facility grant's owner, an organisation grant's scope; region grants belong to none):
 * an officer reviews the rights given in their organisation, and sees no other one's.
 * Pure: reads p and a only; thread-safe for distinct callbacks.
 */
struct dir_all;
struct dir_all_person;

/* The organisation a grant belongs to, or NULL (a region grant). */
const char *policy_grant_org(const struct eg_grant *g);

enum policy_who_kind {
	POLICY_WHO_PEOPLE,              /* only the people reported may */
	POLICY_WHO_ANYONE,              /* anyone, without logging in */
	POLICY_WHO_EVERYONE,            /* everyone logged in, roles or not */
};
struct policy_who {
	const struct dir_all_person *person;
	const struct eg_grant *grant;   /* the grant that lets them alone; NULL when none does
	                                 * (the rule asks no role, or several together) */
	const char *rule;               /* the allowing rule (points into p) */
	int signed_intent;              /* it is `signed`: only with a card-signed intent */
	const char *facility, *org;     /* the context they would act for (NULL: none) */
};
/*
 * Normalises target into path (as the gateway would) and reports, through fn, each
 * person who could make method + path; *kind says whether anyone or everyone logged
 * in may (then fn is not called and *rule names the rule). EG_OK, EG_ERR_PARSE (not a
 * request the gateway would serve) or EG_ERR_NOMEM.
 */
int policy_who_can(const struct policy *p, const struct dir_all *a, const char *org,
    const char *method, const char *target, char *path, size_t pathlen,
    enum policy_who_kind *kind, const char **rule,
    void (*fn)(void *arg, const struct policy_who *w), void *arg);

/*
 * What the person with grants g[0 .. n) reaches, rule by rule (allow rules, grouped by
 * backend in the policy's order): route(arg, backend, route, kind) opens a route (kind:
 * the enum eg_scope_kind of its first scoped parameter, -1 when none), then reach(arg,
 * value) names each value of that parameter the person reaches (a facility id, an
 * organisation, a region), or once with NULL for a route without one. want (may be
 * NULL) skips values before they are decided (0: skip). EG_OK or EG_ERR_NOMEM.
 */
struct policy_what_cb {
	void (*route)(void *arg, const char *backend, const struct policy_route *rt, int kind);
	void (*reach)(void *arg, const char *value);
	int (*want)(void *arg, int kind, const char *value);
	void *arg;
};
int policy_what_can(const struct policy *p, const struct dir_all *a, const char *org,
    const struct eg_grant *g, size_t n, const struct policy_what_cb *cb);
/* "GET,POST" of PM_* bits into out ("*" for every method); parse_rule.c, beside the one
 * table of method names the parser reads. */
void policy_methods_text(unsigned methods, char *out, size_t len);
/* The name of one PM_* bit ("GET"), NULL for none. */
const char *policy_method_name(unsigned bit);

/* ==== Explanations (policy/explain.c, `eidgate policy explain`) ==== */

#include <stdio.h>

/* policy_explain() flags. */
#define POLICY_EXPLAIN_VERBOSE 1u   /* also the rules that do not match method or path */

/*
 * Writes to out, in words, how policy_decide() decides method + path (already normalised)
 * for subject s: every rule whose methods and path match, in file order, with each term of
 * its condition and why it held or not ("role moduleerder on facility f1 ({f}): not held:
 * no grant of moduleerder on f1 or its organisation o1"), then which rule decides. With
 * POLICY_EXPLAIN_VERBOSE, rules whose path matches but not the method, and rules whose
 * path does not match, are listed too.
 *
 * The same compiled matcher (trie) and the same term evaluation as policy_decide() are
 * used, and the verdict derived from the listed results is stored in *dec (pointers into
 * p, as for policy_decide). Tests and the CLI compare it with policy_decide().
 *
 * s->facility_org may be called (it may query the directory). Returns EG_OK, EG_ERR_NOMEM,
 * EG_ERR_INTERNAL (the per-term results disagree with the rule's condition: a bug) or
 * EG_ERR_IO (writing to out failed). Thread-safe as policy_decide(), for distinct out.
 */
int policy_explain(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, unsigned flags, FILE *out, struct policy_decision *dec);

/*
 * The facts policy_explain() words, for programs (`eidgate audit replay` compares two
 * policies rule by rule): cb is called for each rule whose methods and path match, in
 * file order, with its id, whether it is a deny rule, and whether its condition holds
 * for s. Same matcher and evaluation as policy_decide(). EG_OK or EG_ERR_NOMEM.
 */
int policy_rule_results(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, void (*cb)(void *arg, const char *rule, int deny, int holds),
    void *arg);

#endif
