/*
 * policy-bench.c - decisions per second of policy_decide() at 10, 1,000 and 100,000 rules
 * (issue 5, item 5), to show that the compiled trie keeps the cost of a decision flat as
 * a policy grows.
 *
 * The generated policies look like a large deployment's: the seven rules of the example
 * in PRODUCT.md §5 (wildcard rules: `{f}`, `**`, `*` methods, a deny), then per-facility
 * rules for many facilities: read, write, dossier read and an archive deny, each naming
 * its facility literally. Requests are a fixed mix: the user's own facilities (allowed),
 * other facilities (denied), the catalog, deep paths, deletes caught by the deny, and
 * paths no rule knows.
 *
 * usage: policy-bench [-n SECONDS_PER_SIZE] [SIZE...]      (default: 10 1000 100000)
 * Prints one line per size: rules, load time, decisions per second, allowed share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"

#define NREQ 4096

static const char example[] =
    "backend modules  http://127.0.0.1:9101\n"
    "backend dossiers http://127.0.0.1:9102\n"
    "allow catalog      GET,HEAD  /modules/catalog/**  -> modules  when authenticated\n"
    "allow module-read  GET,HEAD  /modules/facilities/{f}/** -> modules  when role member "
    "on facility {f} or role moduleerder on facility {f}\n"
    "allow module-write POST,PUT,PATCH,DELETE /modules/facilities/{f}/** -> modules when "
    "role moduleerder on facility {f}\n"
    "allow a-doc-submit POST /dossiers/a-documents -> dossiers when role insisto-aanmelder "
    "on facility context\n"
    "allow a-doc-read GET /dossiers/facilities/{f}/** -> dossiers when role "
    "insisto-aanmelder on facility {f} or role insisto-raadpleger on facility {f}\n"
    "allow itp * /dossiers/regions/{r}/** -> dossiers when role indicatiesteller on region "
    "{r} or role jeugdhulpregisseur on region {r}\n"
    "deny no-delete DELETE /dossiers/**\n";

#define NFIXED 7

/* Per-facility rule number k (k = 0..3) for facility i. */
static int
facility_rule(FILE *f, size_t i, unsigned k)
{
	switch (k) {
	case 0:
		return fprintf(f, "allow f%zu-read GET,HEAD /modules/facilities/fac-%zu/** -> "
		    "modules when role member on facility fac-%zu or role moduleerder on "
		    "facility fac-%zu\n", i, i, i, i);
	case 1:
		return fprintf(f, "allow f%zu-write POST,PUT,PATCH /modules/facilities/fac-%zu/"
		    "modules/* -> modules when role moduleerder on facility fac-%zu and "
		    "capacity gezinsondersteuning\n", i, i, i);
	case 2:
		return fprintf(f, "allow f%zu-dossier GET /dossiers/facilities/fac-%zu/** -> "
		    "dossiers when role insisto-raadpleger on facility fac-%zu\n", i, i, i);
	default:
		return fprintf(f, "deny f%zu-archive DELETE /modules/facilities/fac-%zu/archive/"
		    "** when authenticated\n", i, i);
	}
}

/* Writes a policy of exactly n rules (n >= NFIXED) to a temporary file. */
static int
write_policy(size_t n, char *name, size_t namelen)
{
	FILE *f;
	size_t k;
	int fd;

	eg_strlcpy(name, "/tmp/policy-bench-XXXXXX", namelen);
	if ((fd = mkstemp(name)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("policy-bench: temporary policy");
		return -1;
	}
	fputs(example, f);
	for (k = 0; k + NFIXED < n; k++)
		if (facility_rule(f, k / 4, (unsigned)(k % 4)) < 0)
			break;
	if (fclose(f) != 0 || k + NFIXED < n) {
		perror("policy-bench: writing the policy");
		unlink(name);
		return -1;
	}
	return 0;
}

struct req {
	const char *method;
	char path[96];
};

/* The request mix: facilities are drawn from those the policy names. */
static void
make_requests(struct req *r, size_t nfac)
{
	static const char *const methods[] = { "GET", "GET", "POST", "DELETE", "HEAD" };
	unsigned long x = 12345;
	size_t i, fac;

	for (i = 0; i < NREQ; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		fac = (i % 4 == 0) ? (i / 4) % 4 : (size_t)(x >> 33) % (nfac ? nfac : 1);
		r[i].method = methods[(x >> 20) % 5];
		switch ((x >> 40) % 6) {
		case 0:
			snprintf(r[i].path, sizeof(r[i].path), "/modules/catalog/modules/%zu", i);
			break;
		case 1:
			snprintf(r[i].path, sizeof(r[i].path), "/modules/facilities/fac-%zu/"
			    "modules/m%zu", fac, i);
			break;
		case 2:
			snprintf(r[i].path, sizeof(r[i].path), "/dossiers/facilities/fac-%zu/a/b/"
			    "c/d", fac);
			break;
		case 3:
			snprintf(r[i].path, sizeof(r[i].path), "/modules/facilities/fac-%zu/"
			    "archive/2024", fac);
			break;
		case 4:
			snprintf(r[i].path, sizeof(r[i].path), "/dossiers/regions/limburg/x");
			break;
		default:
			snprintf(r[i].path, sizeof(r[i].path), "/unknown/%zu", i);
			break;
		}
	}
}

static const char *
owner(void *arg, const char *facility)
{
	(void)arg;
	(void)facility;
	return "0412345614";
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct eg_grant grants[] = {
	{ "member", EG_SCOPE_FACILITY, "fac-0", "0412345614" },
	{ "moduleerder", EG_SCOPE_FACILITY, "fac-1", "0412345614" },
	{ "insisto-raadpleger", EG_SCOPE_FACILITY, "fac-2", "0412345614" },
	{ "indicatiesteller", EG_SCOPE_REGION, "limburg", "" },
};
static const char *const caps[] = { "gezinsondersteuning" };

/* Times policy_decide over the request mix for about `secs` seconds. */
static int
bench(size_t nrules, double secs, struct req *reqs)
{
	const struct eg_subject s = { 1, grants, 4, "fac-1", "0412345614", caps, 1, owner,
	    NULL };
	struct policy_decision d;
	struct policy *p = NULL;
	char name[64];
	double t0, t1, tl;
	unsigned long n = 0, allowed = 0;
	size_t i;
	int r;

	if (write_policy(nrules, name, sizeof(name)) != 0)
		return -1;
	t0 = now_s();
	r = policy_load(name, &p, NULL);
	tl = now_s() - t0;
	unlink(name);
	if (r != EG_OK) {
		fprintf(stderr, "policy-bench: generated policy does not load: %s\n", eg_err(r));
		return -1;
	}
	make_requests(reqs, nrules > NFIXED ? (nrules - NFIXED + 3) / 4 : 1);
	t0 = now_s();
	do {
		for (i = 0; i < NREQ; i++) {
			policy_decide(p, reqs[i].method, reqs[i].path, &s, &d);
			allowed += (unsigned long)d.allow;
		}
		n += NREQ;
		t1 = now_s();
	} while (t1 - t0 < secs);
	printf("%7zu rules: load %7.1f ms, %10.0f decisions/s, %4.1f%% allowed\n", nrules,
	    tl * 1e3, (double)n / (t1 - t0), 100.0 * (double)allowed / (double)n);
	policy_free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 10, 1000, 100000 };
	struct req *reqs = calloc(NREQ, sizeof(*reqs));
	double secs = 1.0;
	long long v;
	int i = 1, bad = 0;

	if (reqs == NULL)
		return 1;
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		if (eg_strtonum(argv[2], 1, 60, &v) != EG_OK) {
			fprintf(stderr, "eidgate: policy-bench: -n takes 1..60 seconds\n");
			free(reqs);
			return 2;
		}
		secs = (double)v;
		i = 3;
	}
	printf("policy_decide, one thread, %d-request mix, %.0f s per size\n", NREQ, secs);
	if (i == argc)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			bad |= bench(sizes[k], secs, reqs);
	for (; i < argc; i++) {
		if (eg_strtonum(argv[i], NFIXED, EG_MAX_RULES, &v) != EG_OK) {
			fprintf(stderr, "eidgate: policy-bench: size %s: %d..%d rules\n", argv[i],
			    NFIXED, EG_MAX_RULES);
			free(reqs);
			return 2;
		}
		bad |= bench((size_t)v, secs, reqs);
	}
	free(reqs);
	return bad ? 1 : 0;
}
