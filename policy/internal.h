/*
 * policy_int.h - what the files of policy/ share and nobody else may see: the compiled
 * form of a policy. Everything here is private to policy/; the public contract is
 * include/eidgate/policy.h.
 */
#ifndef EIDGATE_POLICY_INT_H
#define EIDGATE_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "eidgate/policy.h"

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_STAR, SEG_GLOB };

struct policy_seg {
	enum seg_kind kind;
	char *text;                 /* literal, or param name without braces; else NULL */
};

enum term_kind { TERM_AUTHENTICATED, TERM_ROLE, TERM_CAPACITY };
enum term_scope { SCOPE_ANY, SCOPE_PARAM, SCOPE_CONTEXT, SCOPE_LITERAL };

struct policy_term {
	enum term_kind kind;
	int or_start;               /* 1: this term opens a new `or` alternative */
	char name[EG_MAX_ID];       /* role or capacity */
	enum term_scope scope;
	enum eg_scope_kind scope_kind;
	unsigned param;             /* SCOPE_PARAM: index of the captured path segment */
	char literal[EG_MAX_ID];    /* SCOPE_LITERAL */
};

struct policy_rule {
	char id[EG_MAX_ID];
	int deny;
	int line;
	unsigned methods;
	size_t backend;             /* index into backends; allow rules only */
	char backend_name[EG_MAX_ID];
	int signed_intent;          /* `signed`: requests need a card-signed intent */
	struct policy_seg *segs;
	size_t nsegs;
	struct policy_term *terms;  /* none: the rule holds for every request */
	size_t nterms;
};

/* Trie of path patterns (see trie.c). */
struct trie_node;

struct policy {
	char version[17];
	char *text;                 /* the file's bytes, as hashed into version: the access
	                             * log keeps them for replays (policy_text) */
	size_t text_len, text_cap;
	struct policy_backend *backends;
	size_t nbackends;
	struct policy_rule *rules;
	size_t nrules;
	size_t caprules;
	struct trie_node *root;
};

/* A request path cut into segments; pointers into the caller's string. */
struct path_segs {
	const char *ptr[EG_MAX_SEGMENTS];
	size_t len[EG_MAX_SEGMENTS];
	size_t n;                   /* all segments, may exceed EG_MAX_SEGMENTS */
	size_t stored;              /* min(n, EG_MAX_SEGMENTS) */
};

/* Called for every rule whose pattern matches, in no particular order. */
typedef void (*trie_visit_fn)(void *arg, uint32_t rule);

struct trie_node *trie_new(void);
void trie_free(struct trie_node *root);
/* Builds the trie for all rules of p: EG_OK or EG_ERR_NOMEM. */
int trie_build(struct policy *p);
void trie_match(const struct trie_node *root, const struct path_segs *ps,
    trie_visit_fn fn, void *arg);

/* Checks a condition against subject and the request's segments (eval.c). */
int policy_cond_holds(const struct policy_rule *r, const struct path_segs *ps,
    const struct eg_subject *s);

/* Why a term held or not (eval.c fills it, explain.c words it). */
enum term_why_code {
	WHY_NOT_LOGGED_IN,      /* every term needs a login */
	WHY_LOGGED_IN,          /* held: `authenticated` */
	WHY_CAPACITY,           /* held: the acting organisation (org) has the capacity */
	WHY_NO_CAPACITY,        /* not held; org is the acting organisation or NULL */
	WHY_GRANT,              /* held: grant names the scope itself (or any, no `on`) */
	WHY_ORG_GRANT,          /* held: grant is on org, which owns the facility */
	WHY_NO_GRANT,           /* not held; for a facility, org owns it (NULL: unknown) */
	WHY_NO_CONTEXT,         /* not held: `context` but no facility is acted for */
	WHY_NO_SEGMENT          /* not held: the parameter's segment is beyond the limit */
};

struct term_why {
	enum term_why_code code;
	const struct eg_grant *grant;   /* the grant that held, else NULL */
	const char *value;              /* the scope checked (not NUL-terminated), or NULL */
	size_t value_len;
	const char *org;                /* see the codes; valid until the next evaluation */
};

/* Evaluates one term exactly as policy_decide() does; with why (may be NULL) also says
 * why. Returns 1 when the term holds. */
int policy_term_eval(const struct policy_term *t, const struct path_segs *ps,
    const struct eg_subject *s, struct term_why *why);

/* Cuts a normalised path into segments: "/a/b/" -> "a", "b", ""; "/" -> none. */
void policy_split_path(const char *path, struct path_segs *ps);

/* Parsing context shared by parse*.c; see parse.c. */
struct pctx {
	const char *file;
	const struct policy_diag *diag;
	int nerrors;
	int nwarnings;
	int line;
	struct policy *p;
	uint32_t *idset;            /* open-addressing set of rule indices + 1, by id */
	size_t idcap;
};

/* Report at the current line; returns -1 so callers can `return pctx_error(...)`. */
int pctx_error(struct pctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pctx_warn_at(struct pctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A statement's words; the strings point into the (modified) line. */
struct words {
	char **w;
	size_t n;
};

int parse_backend(struct pctx *c, const struct words *ws);
int parse_rule(struct pctx *c, const struct words *ws);
/* Parses the words after `when` into r->terms. */
int parse_cond(struct pctx *c, char **w, size_t n, struct policy_rule *r,
    int pattern_ok);
/* 1 if s is a non-empty [A-Za-z0-9_.-]+ shorter than EG_MAX_ID. */
int policy_valid_name(const char *s);

/* Warnings that need the whole policy (lint.c). */
void policy_lint(struct pctx *c);

void policy_rule_clear(struct policy_rule *r);

/* routes.c: a rule's pattern as written ("/modules/facilities/{f}/" and so on, with
 * its parameters and wildcards), cut to len. */
void policy_pattern_text(const struct policy_rule *r, char *out, size_t len);

#endif
