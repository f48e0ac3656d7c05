/*
 * replay-gen - writes an access log of N request records decided by a policy, each
 * with what its decision depended on, as the gateway writes them (record.h,
 * "Replaying"), for bench/replay.sh and the replay tests.
 *
 * usage: replay-gen DIR N POLICY [PEOPLE] [FACILITIES]
 * The people hold random facility roles (member, moduleerder, insisto-aanmelder,
 * insisto-raadpleger) on 1-3 of FACILITIES facilities in 20 organisations, and request
 * module and dossier paths of random facilities (often their own). Records start at
 * 2026-11-01T00:00:00Z, one per 10 ms. Prints the policy version.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/util.h"

#define T0 1793491200000000LL
#define NORGS 20

static const char *const roles[] = { "member", "moduleerder", "insisto-aanmelder",
	"insisto-raadpleger" };

struct person {
	char nrn[EG_NRN_LEN + 1];
	struct eg_grant g[3];
	size_t ng;
	char grants[512];
};

/* A small deterministic generator: the same N gives the same log. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
make_people(struct person *pp, long long n, long long nfac, uint64_t *rng)
{
	long long i;
	size_t k;

	for (i = 0; i < n; i++) {
		struct person *p = &pp[i];
		struct rec_text t = REC_TEXT(p->grants);
		snprintf(p->nrn, sizeof(p->nrn), "85%09lld", i);
		p->ng = 1 + next(rng) % 3;
		for (k = 0; k < p->ng; k++) {
			long long f = (long long)(next(rng) % (uint64_t)nfac);
			memset(&p->g[k], 0, sizeof(p->g[k]));
			eg_strlcpy(p->g[k].role, roles[next(rng) % 4], EG_MAX_ID);
			p->g[k].kind = EG_SCOPE_FACILITY;
			snprintf(p->g[k].scope, EG_MAX_ID, "fac%lld", f);
			snprintf(p->g[k].org, EG_MAX_ID, "org%lld", f % NORGS);
		}
		(void)record_text_grants(&t, 1, p->g, p->ng);
	}
}

static void
make_path(char *path, size_t len, const struct person *p, long long nfac, uint64_t *rng,
    const char **method)
{
	uint64_t r = next(rng);
	const char *fac = p->g[r % p->ng].scope;
	char other[EG_MAX_ID];

	if ((r >> 8) % 4 == 0) {
		snprintf(other, sizeof(other), "fac%lld", (long long)((r >> 16) % (uint64_t)nfac));
		fac = other;
	}
	*method = (r >> 24) % 5 == 0 ? "POST" : (r >> 24) % 17 == 0 ? "DELETE" : "GET";
	if ((r >> 32) % 2 == 0)
		snprintf(path, len, "/modules/facilities/%s/modules/%u", fac,
		    (unsigned)((r >> 40) % 1000));
	else
		snprintf(path, len, "/dossiers/facilities/%s/%u", fac, (unsigned)((r >> 40) % 1000));
}

struct ctx {
	struct audit_log *log;
	const struct policy *pol;
	struct person *pp;
	long long npeople, nfac;
	uint64_t rng;
};

static int
one(struct ctx *c, long long i)
{
	struct person *p = &c->pp[next(&c->rng) % (uint64_t)c->npeople];
	char path[256], ctxbuf[2 * EG_MAX_ID + 8], facorgs[256], fac[EG_MAX_ID];
	struct rec_text ct = REC_TEXT(ctxbuf), fo = REC_TEXT(facorgs);
	struct policy_decision d;
	struct eg_subject s;
	struct audit_record r;
	const char *method, *f;

	make_path(path, sizeof(path), p, c->nfac, &c->rng, &method);
	memset(&s, 0, sizeof(s));
	s.authenticated = 1;
	s.grants = p->g;
	s.ngrants = p->ng;
	s.context_facility = p->g[0].scope;
	s.context_org = p->g[0].org;
	policy_decide(c->pol, method, path, &s, &d);
	(void)record_text_context(&ct, p->g[0].scope, p->g[0].org);
	f = strstr(path, "/facilities/");
	if (f != NULL && sscanf(f, "/facilities/%63[^/]", fac) == 1) {
		char org[EG_MAX_ID];
		snprintf(org, sizeof(org), "org%lld", strtoll(fac + 3, NULL, 10) % NORGS);
		(void)record_text_pair(&fo, fac, org);
	}
	memset(&r, 0, sizeof(r));
	r.time_us = T0 + i * 10000;
	r.kind = "request";
	r.request_id = "replay-gen";
	r.client = "192.0.2.10";
	r.nrn = p->nrn;
	r.method = method;
	r.path = path;
	r.org = p->g[0].org;
	r.facility = p->g[0].scope;
	r.rule = d.rule;
	r.decision = d.allow ? "allow" : "deny";
	r.reason = eg_err_code(d.reason);
	r.backend = d.backend != NULL ? d.backend->name : NULL;
	r.policy_version = policy_version(c->pol);
	r.grants = p->grants;
	r.context = ctxbuf;
	r.capacities = "jeugdhulp";
	r.facility_orgs = facorgs;
	r.revocation = "crl:Citizen CA#42 2026-11-01T00:00:00Z";
	return audit_append(c->log, &r, NULL);
}

int
main(int argc, char **argv)
{
	struct audit_options ao;
	struct ctx c;
	struct policy *pol = NULL;
	long long n, i;

	memset(&c, 0, sizeof(c));
	c.npeople = 5000;
	c.nfac = 500;
	if (argc < 4 || eg_strtonum(argv[2], 1, LLONG_MAX, &n) != EG_OK ||
	    (argc > 4 && eg_strtonum(argv[4], 1, 10000000, &c.npeople) != EG_OK) ||
	    (argc > 5 && eg_strtonum(argv[5], 1, 1000000, &c.nfac) != EG_OK)) {
		fprintf(stderr, "usage: replay-gen DIR N POLICY [PEOPLE] [FACILITIES]\n");
		return 2;
	}
	if (policy_load(argv[3], &pol, NULL) != EG_OK) {
		fprintf(stderr, "replay-gen: %s does not load\n", argv[3]);
		return 1;
	}
	c.rng = 88172645463325252ULL;
	c.pol = pol;
	if ((c.pp = calloc((size_t)c.npeople, sizeof(*c.pp))) == NULL)
		return 1;
	make_people(c.pp, c.npeople, c.nfac, &c.rng);
	memset(&ao, 0, sizeof(ao));
	ao.dir = argv[1];
	ao.sync = AUDIT_SYNC_NONE;
	ao.batch_records = 10000;
	ao.batch_ms = 50;
	if (audit_open(&ao, &c.log) != EG_OK)
		return 1;
	if (record_policy(c.log, pol, "start") != EG_OK)
		return 1;
	for (i = 0; i < n; i++)
		if (one(&c, i) != EG_OK) {
			fprintf(stderr, "replay-gen: append %lld failed\n", i);
			return 1;
		}
	audit_close(c.log);
	printf("%s\n", policy_version(pol));
	policy_free(pol);
	free(c.pp);
	return 0;
}
