/*
 * fuzz_replay.c - what `eidgate audit replay` reads back from a record (record/replay.c,
 * record_subject_load): the grants, context, capacities and facility_orgs texts. The
 * access log is protected, but a replay must not trust a record it was asked to check.
 *
 * Input: six lines: grants, context, capacities, facility_orgs, method, path.
 * Invariants: a subject that loads writes back to texts that load to the same subject
 * (grants, context, capacities); deciding it with a fixed policy never fails.
 */
#include "fuzz.h"
#include "eidgate/audit.h"
#include "eidgate/record.h"

static struct policy *pol;
static struct rec_subject *rs, *again;

static const char replay_policy_src[] =
    "backend m http://127.0.0.1:1\n"
    "allow a GET /m/{f}/** -> m when role member on facility {f} or role vte on "
    "organisation {f}\n"
    "allow b POST /c -> m when role member on facility context and capacity ggz\n"
    "allow c * /r/{r}/** -> m when role indicatiesteller on region {r}\n"
    "deny d DELETE /**\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (policy_load_text("fuzz", replay_policy_src, strlen(replay_policy_src), &pol,
	    NULL) != EG_OK ||
	    (rs = malloc(sizeof(*rs))) == NULL || (again = malloc(sizeof(*again))) == NULL)
		abort();
	return 0;
}

static void
round_trip(const struct rec_subject *s)
{
	static char gb[65536], cb[256], kb[1024];
	struct rec_text g = REC_TEXT(gb), c = REC_TEXT(cb), k = REC_TEXT(kb);
	struct audit_record r;
	size_t i;

	if (record_text_grants(&g, s->s.authenticated, s->grants, s->ngrants) != 0 ||
	    record_text_context(&c, s->s.context_facility, s->s.context_org) != 0 ||
	    record_text_list(&k, s->cap_ptrs, s->ncaps) != 0)
		return;
	memset(&r, 0, sizeof(r));
	r.policy_version = "0";
	r.method = "GET";
	r.path = "/";
	r.grants = gb;
	r.context = cb;
	r.capacities = kb;
	FUZZ_ASSERT(record_subject_load(again, &r) == EG_OK);
	FUZZ_ASSERT(again->s.authenticated == s->s.authenticated);
	FUZZ_ASSERT(again->ngrants == s->ngrants && again->ncaps == s->ncaps);
	for (i = 0; i < s->ngrants; i++) {
		FUZZ_ASSERT(strcmp(again->grants[i].role, s->grants[i].role) == 0);
		FUZZ_ASSERT(strcmp(again->grants[i].scope, s->grants[i].scope) == 0);
		FUZZ_ASSERT(again->grants[i].kind == s->grants[i].kind);
	}
	FUZZ_ASSERT(strcmp(again->ctx_facility, s->ctx_facility) == 0);
	FUZZ_ASSERT(strcmp(again->ctx_org, s->ctx_org) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), *line[6] = { NULL }, *p = text;
	struct policy_decision d;
	struct audit_record r;
	size_t i;

	for (i = 0; i < 6; i++) {
		line[i] = p;
		if ((p = strchr(p, '\n')) == NULL) {
			free(text);
			return 0;
		}
		*p++ = '\0';
	}
	memset(&r, 0, sizeof(r));
	r.policy_version = "0";
	r.grants = line[0];
	r.context = line[1];
	r.capacities = line[2];
	r.facility_orgs = line[3];
	r.method = line[4];
	r.path = line[5];
	if (record_subject_load(rs, &r) == EG_OK) {
		policy_decide(pol, r.method, r.path, &rs->s, &d);
		FUZZ_ASSERT(!d.allow || d.rule != NULL);
		round_trip(rs);
	}
	(void)record_policy_verdict(&r);
	free(text);
	return 0;
}
