/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share (one target per fuzz_*.c, the
 * OpenSSH regress/misc/fuzz-harness way: small, one parser each).
 *
 * Beyond crashes and sanitizer reports, each target checks a few invariants of its parser
 * (a round trip, agreement between two ways of feeding it, what a success promises) with
 * FUZZ_ASSERT: a broken one aborts, and libFuzzer keeps the input as a crash.
 */
#ifndef EIDGATE_FUZZ_H
#define EIDGATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "policy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                            \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,   \
			    __LINE__, #cond);                                        \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* The LLVMFuzzerInitialize of a target that needs nothing but fuzz_quiet(). */
#define FUZZ_QUIET_INIT                                                              \
	int                                                                          \
	LLVMFuzzerInitialize(int *argc, char ***argv)                                \
	{                                                                            \
		(void)argc;                                                          \
		(void)argv;                                                          \
		fuzz_quiet();                                                        \
		return 0;                                                            \
	}

/* data as a NUL-terminated string in a buffer of exactly size + 1 bytes, so that
 * AddressSanitizer sees a read past its end. The parsers take C strings: an embedded
 * NUL ends the string as it would in the gateway. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A copy of data in a buffer of exactly size bytes (one byte when size is 0). */
static inline unsigned char *
fuzz_dup(const void *data, size_t size)
{
	unsigned char *p = malloc(size > 0 ? size : 1);

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

/* 1 when the fixed-size string field s (n bytes) is NUL-terminated. */
#define FUZZ_TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

/* The operational log stays quiet: millions of inputs, most of them refused. */
static inline void
fuzz_quiet(void)
{
	log_init("eidgate-fuzz", LOG_LVL_ERROR);
}

/* ---- decisions (fuzz_path.c, fuzz_policy.c) ------------------------------------------ */

/* The subjects of tests/unit/policy_test.c: anonymous, authenticated, a facility role,
 * an organisation role whose facilities a callback knows, a facility chosen, a region. */
static const struct eg_grant fuzz_g_fac[] = {
	{ "moduleerder", EG_SCOPE_FACILITY, "fA", "o1" },
	{ "insisto-aanmelder", EG_SCOPE_FACILITY, "fA", "o1" },
	{ "member", EG_SCOPE_FACILITY, "f", "o1" },
};
static const struct eg_grant fuzz_g_org[] = {
	{ "moduleerder", EG_SCOPE_ORGANISATION, "o1", "" },
	{ "indicatiesteller", EG_SCOPE_REGION, "limburg", "" },
};

static inline const char *
fuzz_owner_of(void *arg, const char *facility)
{
	(void)arg;
	return strcmp(facility, "fC") == 0 || strcmp(facility, "f") == 0 ? "o1" : NULL;
}

/* Does rule r match the segments ps? Read straight from PRODUCT.md §5, rule by rule: the
 * reference the trie (policy/trie.c) must agree with. */
static inline int
fuzz_rule_matches(const struct policy_rule *r, const struct path_segs *ps)
{
	size_t i;

	for (i = 0; i < r->nsegs; i++) {
		const struct policy_seg *g = &r->segs[i];
		if (g->kind == SEG_GLOB)
			return 1;       /* zero or more further segments */
		if (i >= ps->n || i >= ps->stored)
			return 0;
		if (g->kind == SEG_LITERAL && (strlen(g->text) != ps->len[i] ||
		    memcmp(g->text, ps->ptr[i], ps->len[i]) != 0))
			return 0;
		if (g->kind != SEG_LITERAL && ps->len[i] == 0)
			return 0;       /* {param} and * take one non-empty segment */
	}
	return r->nsegs == ps->n;
}

/* The decision by a walk over every rule in file order: a holding deny wins, else the
 * first holding allow. Returns the deciding rule's index, or -1. */
static inline long
fuzz_reference(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, int *allow)
{
	unsigned bit = policy_method_bit(method, strlen(method));
	struct path_segs ps;
	long first_allow = -1;
	size_t i;

	*allow = 0;
	policy_split_path(path, &ps);
	for (i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if ((r->methods & bit) == 0 || !fuzz_rule_matches(r, &ps) ||
		    !policy_cond_holds(r, &ps, s))
			continue;
		if (r->deny)
			return (long)i;
		if (first_allow < 0)
			first_allow = (long)i;
	}
	*allow = first_allow >= 0;
	return first_allow;
}

/*
 * Decides method + path (normalised) for each subject and checks the decision against
 * fuzz_reference (the trie finds the rules a walk over all of them finds) and against
 * policy_explain (same verdict, rule and backend), and that it is sound. out: an open
 * stream for the explanations (/dev/null), or NULL to skip them.
 */
static inline void
fuzz_decide_all(const struct policy *p, const char *method, const char *path, FILE *out)
{
	const struct eg_subject subjects[] = {
		{ 0, NULL, 0, NULL, NULL, NULL, 0, NULL, NULL },
		{ 1, NULL, 0, NULL, NULL, NULL, 0, NULL, NULL },
		{ 1, fuzz_g_fac, 3, "fA", "o1", NULL, 0, NULL, NULL },
		{ 1, fuzz_g_org, 2, NULL, NULL, NULL, 0, fuzz_owner_of, NULL },
	};
	struct policy_decision d, e;
	size_t i;
	long ref;
	int r, ref_allow;

	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		policy_decide(p, method, path, &subjects[i], &d);
		FUZZ_ASSERT(d.allow == 0 || d.allow == 1);
		FUZZ_ASSERT(!d.allow || (d.backend != NULL && d.rule != NULL && d.reason == EG_OK));
		FUZZ_ASSERT(d.allow || d.reason == EG_ERR_DENIED || d.reason == EG_ERR_NO_RULE);
		FUZZ_ASSERT((d.reason == EG_ERR_NO_RULE) == (d.rule == NULL));
		FUZZ_ASSERT(!d.scope.set || (FUZZ_TERMINATED(d.scope.id) &&
		    FUZZ_TERMINATED(d.scope.org)));
		ref = fuzz_reference(p, method, path, &subjects[i], &ref_allow);
		FUZZ_ASSERT(ref_allow == d.allow);
		FUZZ_ASSERT(ref < 0 ? d.rule == NULL : d.rule == p->rules[ref].id);
		if (out == NULL)
			continue;
		r = policy_explain(p, method, path, &subjects[i], POLICY_EXPLAIN_VERBOSE, out, &e);
		FUZZ_ASSERT(r == EG_OK);
		FUZZ_ASSERT(d.allow == e.allow && d.rule == e.rule && d.backend == e.backend &&
		    d.reason == e.reason);
	}
}

#endif
