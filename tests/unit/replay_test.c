/*
 * replay_test.c - replayable decisions (issue 16 item 1): the dependency texts of a
 * record and their parser, the recorded verdict, the policy versions kept in the log,
 * and rule-by-rule results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "audit/internal.h"
#include "tests/unit/check.h"
#include "tests/unit/tamper.h"

static const char policy_a[] =
    "backend modules http://127.0.0.1:9101\n"
    "allow catalog GET /modules/catalog/** -> modules when authenticated\n"
    "allow module-read GET /modules/facilities/{f}/** -> modules when role member on "
    "facility {f} or role moduleerder on facility {f}\n"
    "allow ctx POST /modules/submit -> modules when role member on facility context and "
    "capacity jeugdhulp\n"
    "deny no-delete DELETE /modules/**\n";

static const char policy_b[] =
    "backend modules http://127.0.0.1:9101\n"
    "allow module-read GET /modules/facilities/{f}/** -> modules when role moduleerder on "
    "facility {f}\n";

static struct policy *
load(const char *text)
{
	struct policy *p = NULL;

	CHECK(policy_load_text("t.policy", text, strlen(text), &p, NULL) == EG_OK);
	return p;
}

static void
grant(struct eg_grant *g, const char *role, enum eg_scope_kind k, const char *scope,
    const char *org)
{
	memset(g, 0, sizeof(*g));
	eg_strlcpy(g->role, role, sizeof(g->role));
	g->kind = k;
	eg_strlcpy(g->scope, scope, sizeof(g->scope));
	eg_strlcpy(g->org, org, sizeof(g->org));
}

/* Texts written and read back give the same subject, separators in ids included. */
static void
test_texts(void)
{
	char gb[1024], cb[256], kb[256], fb[256];
	struct rec_text g = REC_TEXT(gb), c = REC_TEXT(cb), k = REC_TEXT(kb), f = REC_TEXT(fb);
	struct eg_grant gr[3];
	const char *caps[] = { "jeugdhulp", "ggz" };
	struct audit_record rec;
	struct rec_subject *rs = malloc(sizeof(*rs));

	grant(&gr[0], "member", EG_SCOPE_FACILITY, "f,1 @x", "o=1");
	grant(&gr[1], "vte", EG_SCOPE_ORGANISATION, "0123456789", "0123456789");
	grant(&gr[2], "indicatiesteller", EG_SCOPE_REGION, "limburg", "");
	CHECK(record_text_grants(&g, 1, gr, 3) == 0);
	CHECK(strcmp(gb, "member facility:f%2C1%20%40x@o%3D1,vte organisation:0123456789,"
	    "indicatiesteller region:limburg") == 0);
	CHECK(record_text_context(&c, "f,1 @x", "o=1") == 0);
	CHECK(record_text_list(&k, caps, 2) == 0 && strcmp(kb, "jeugdhulp,ggz") == 0);
	CHECK(record_text_pair(&f, "f2", "o2") == 0 && record_text_pair(&f, "f3", NULL) == 0);
	CHECK(strcmp(fb, "f2=o2,f3=") == 0);

	memset(&rec, 0, sizeof(rec));
	rec.policy_version = "0011223344556677";
	rec.method = "GET";
	rec.path = "/x";
	CHECK(record_subject_load(rs, &rec) == EG_ERR_NOT_FOUND);
	rec.grants = gb;
	rec.context = cb;
	rec.capacities = kb;
	rec.facility_orgs = fb;
	CHECK(record_subject_load(rs, &rec) == EG_OK);
	CHECK(rs->s.authenticated && rs->s.ngrants == 3);
	CHECK(strcmp(rs->grants[0].scope, "f,1 @x") == 0 && strcmp(rs->grants[0].org, "o=1") == 0);
	CHECK(rs->grants[1].kind == EG_SCOPE_ORGANISATION &&
	    strcmp(rs->grants[1].org, "0123456789") == 0);
	CHECK(rs->grants[2].kind == EG_SCOPE_REGION);
	CHECK(strcmp(rs->s.context_facility, "f,1 @x") == 0 && strcmp(rs->s.context_org, "o=1") == 0);
	CHECK(rs->s.ncapacities == 2 && strcmp(rs->s.capacities[1], "ggz") == 0);
	CHECK(strcmp(rs->s.facility_org(rs->s.facility_org_arg, "f2"), "o2") == 0);
	CHECK(rs->s.facility_org(rs->s.facility_org_arg, "f3") == NULL);
	CHECK(strcmp(rs->s.facility_org(rs->s.facility_org_arg, "f,1 @x"), "o=1") == 0);
	CHECK(rs->s.facility_org(rs->s.facility_org_arg, "nowhere") == NULL);

	/* Not logged in; no grants; malformed texts are refused, not guessed. */
	CHECK(record_text_grants(&g, 0, gr, 3) == 0 && strcmp(gb, "-") == 0);
	CHECK(record_subject_load(rs, &rec) == EG_OK && !rs->s.authenticated);
	CHECK(record_text_grants(&g, 1, NULL, 0) == 0 && strcmp(gb, "") == 0);
	CHECK(record_subject_load(rs, &rec) == EG_OK && rs->s.authenticated &&
	    rs->s.ngrants == 0);
	rec.grants = "member nowhere:f1";
	CHECK(record_subject_load(rs, &rec) == EG_ERR_PARSE);
	rec.grants = "member facility:f%4";
	CHECK(record_subject_load(rs, &rec) == EG_ERR_PARSE);
	rec.grants = "member facility:f1";
	rec.context = "no-at-sign";
	CHECK(record_subject_load(rs, &rec) == EG_ERR_PARSE);
	/* A text that does not fit is refused whole. */
	{
		char small[8];
		struct rec_text t = REC_TEXT(small);
		CHECK(record_text_grants(&t, 1, gr, 3) == -1);
	}
	free(rs);
}

static void
test_verdict(void)
{
	struct audit_record r;

	memset(&r, 0, sizeof(r));
	r.decision = "allow";
	CHECK(record_policy_verdict(&r) == 1);
	r.decision = "deny";
	r.reason = "no-rule";
	CHECK(record_policy_verdict(&r) == 0);
	r.reason = "denied";
	CHECK(record_policy_verdict(&r) == 0);
	r.reason = "cross-site";        /* the policy allowed; the gateway refused */
	CHECK(record_policy_verdict(&r) == 1);
}

/* The replayed subject decides as the original one did. */
static void
test_decide_again(void)
{
	struct policy *p = load(policy_a);
	struct eg_grant gr[1];
	struct eg_subject s;
	struct policy_decision d1, d2;
	char gb[256], cb[256], kb[64];
	struct rec_text g = REC_TEXT(gb), c = REC_TEXT(cb), k = REC_TEXT(kb);
	const char *caps[] = { "jeugdhulp" };
	struct audit_record rec;
	struct rec_subject *rs = malloc(sizeof(*rs));

	grant(&gr[0], "member", EG_SCOPE_FACILITY, "f1", "o1");
	memset(&s, 0, sizeof(s));
	s.authenticated = 1;
	s.grants = gr;
	s.ngrants = 1;
	s.context_facility = "f1";
	s.context_org = "o1";
	s.capacities = caps;
	s.ncapacities = 1;
	policy_decide(p, "POST", "/modules/submit", &s, &d1);
	CHECK(d1.allow && strcmp(d1.rule, "ctx") == 0);
	(void)record_text_grants(&g, 1, gr, 1);
	(void)record_text_context(&c, "f1", "o1");
	(void)record_text_list(&k, caps, 1);
	memset(&rec, 0, sizeof(rec));
	rec.policy_version = policy_version(p);
	rec.method = "POST";
	rec.path = "/modules/submit";
	rec.grants = gb;
	rec.context = cb;
	rec.capacities = kb;
	CHECK(record_subject_load(rs, &rec) == EG_OK);
	policy_decide(p, rec.method, rec.path, &rs->s, &d2);
	CHECK(d2.allow && strcmp(d2.rule, "ctx") == 0);
	/* Without the capacity it would not hold: the capacity is part of the facts. */
	rec.capacities = "";
	CHECK(record_subject_load(rs, &rec) == EG_OK);
	policy_decide(p, rec.method, rec.path, &rs->s, &d2);
	CHECK(!d2.allow);
	free(rs);
	policy_free(p);
}

struct results {
	char seen[256];
};

static void
note(void *arg, const char *rule, int deny, int holds)
{
	struct results *r = arg;
	size_t n = strlen(r->seen);

	snprintf(r->seen + n, sizeof(r->seen) - n, "%s%s:%d:%d", n ? " " : "", rule, deny, holds);
}

static void
test_rule_results(void)
{
	struct policy *p = load(policy_a);
	struct eg_grant gr[1];
	struct eg_subject s;
	struct results r;

	grant(&gr[0], "member", EG_SCOPE_FACILITY, "f1", "o1");
	memset(&s, 0, sizeof(s));
	s.authenticated = 1;
	s.grants = gr;
	s.ngrants = 1;
	memset(&r, 0, sizeof(r));
	CHECK(policy_rule_results(p, "GET", "/modules/facilities/f1/a", &s, note, &r) == EG_OK);
	CHECK(strcmp(r.seen, "module-read:0:1") == 0);
	memset(&r, 0, sizeof(r));
	CHECK(policy_rule_results(p, "DELETE", "/modules/facilities/f2/a", &s, note, &r) == EG_OK);
	CHECK(strcmp(r.seen, "no-delete:1:1") == 0);
	policy_free(p);
}

/* ---- the log side ---------------------------------------------------------------- */

struct kept {
	int n;
	char versions[4][EG_MAX_ID];
	size_t lens[4];
	int text_ok;
};

static int
kept_cb(const char *version, const char *text, size_t len, void *arg)
{
	struct kept *k = arg;

	if (k->n < 4) {
		eg_strlcpy(k->versions[k->n], version, EG_MAX_ID);
		k->lens[k->n] = len;
		k->n++;
	}
	if ((len == strlen(policy_a) && memcmp(text, policy_a, len) == 0) ||
	    (len == strlen(policy_b) && memcmp(text, policy_b, len) == 0))
		k->text_ok++;
	return 0;
}

struct got {
	int n;
	char grants[128], kind[32], sha[80], facorgs[64];
};

static int
got_cb(const struct audit_record *r, void *arg)
{
	struct got *g = arg;

	g->n++;
	eg_strlcpy(g->kind, r->kind ? r->kind : "", sizeof(g->kind));
	eg_strlcpy(g->grants, r->grants ? r->grants : "", sizeof(g->grants));
	eg_strlcpy(g->sha, r->policy_sha256 ? r->policy_sha256 : "", sizeof(g->sha));
	eg_strlcpy(g->facorgs, r->facility_orgs ? r->facility_orgs : "", sizeof(g->facorgs));
	return 0;
}

static void
test_log(void)
{
	char dir[] = "/tmp/eidgate-replay-test-XXXXXX", err[256];
	struct policy *a = load(policy_a), *b = load(policy_b);
	struct audit_options ao;
	struct audit_log *log = NULL;
	struct audit_record rec;
	struct kept k;
	struct got g;

	CHECK(mkdtemp(dir) != NULL);
	memset(&ao, 0, sizeof(ao));
	ao.dir = dir;
	ao.sync = AUDIT_SYNC_FULL;
	CHECK(audit_open(&ao, &log) == EG_OK);
	/* The same version twice (a reload of the same file) keeps one text. */
	CHECK(record_policy(log, a, "start") == EG_OK);
	CHECK(record_policy(log, a, "reload") == EG_OK);
	CHECK(record_policy(log, b, "reload") == EG_OK);
	memset(&rec, 0, sizeof(rec));
	rec.kind = "request";
	rec.method = "GET";
	rec.path = "/modules/facilities/f1/x";
	rec.decision = "allow";
	rec.policy_version = policy_version(a);
	rec.grants = "member facility:f1@o1";
	rec.context = "f1@o1";
	rec.capacities = "jeugdhulp";
	rec.facility_orgs = "f1=o1";
	rec.revocation = "ocsp:00ff 2026-12-01T10:00:00Z";
	CHECK(audit_append(log, &rec, NULL) == EG_OK);
	audit_close(log);

	memset(&k, 0, sizeof(k));
	CHECK(audit_policies(dir, kept_cb, &k, err, sizeof(err)) == EG_OK);
	CHECK(k.n == 2 && k.text_ok == 2);
	memset(&g, 0, sizeof(g));
	CHECK(audit_record_at(dir, 1, got_cb, &g, err, sizeof(err)) == EG_OK);
	CHECK(g.n == 1 && strcmp(g.kind, "policy") == 0 && strlen(g.sha) == 64);
	CHECK(strncmp(g.sha, policy_version(a), 16) == 0);
	memset(&g, 0, sizeof(g));
	CHECK(audit_record_at(dir, 4, got_cb, &g, err, sizeof(err)) == EG_OK);
	CHECK(strcmp(g.grants, "member facility:f1@o1") == 0 && strcmp(g.facorgs, "f1=o1") == 0);
	CHECK(audit_record_at(dir, 5, got_cb, &g, err, sizeof(err)) == EG_ERR_NOT_FOUND);
	/* The chain still verifies with the new fields and the policy store beside it. */
	{
		struct audit_verify_result vr;
		CHECK(audit_verify(dir, NULL, &vr, err, sizeof(err)) == EG_OK);
		CHECK(vr.records == 4);
	}
	check_rm_tree(dir);
	policy_free(a);
	policy_free(b);
}

/* verify's outcome on dir: fail kind, bad seq and whether why contains want. */
static void
check_verify(const char *dir, enum audit_vfail want, uint64_t seq, const char *want_why)
{
	struct audit_verify_result vr;
	char err[256];
	int rc = audit_verify(dir, NULL, &vr, err, sizeof(err));

	CHECK(rc == (want == AUDIT_VF_NONE ? EG_OK : EG_ERR_AUDIT));
	CHECK(vr.fail == want);
	if (want != AUDIT_VF_NONE) {
		CHECK(vr.bad_seq == seq);
		CHECK(strstr(vr.why, want_why) != NULL);
	}
}

/* `audit verify` holds the kept policy texts to the SHA-256 their records name. */
static void
test_verify_policy_texts(void)
{
	char dir[] = "/tmp/eidgate-replay-test-XXXXXX", changed[sizeof(policy_a) + 1];
	struct policy *a = load(policy_a), *b = load(policy_b);
	struct audit_options ao;
	struct audit_log *log = NULL;

	CHECK(mkdtemp(dir) != NULL);
	memset(&ao, 0, sizeof(ao));
	ao.dir = dir;
	ao.sync = AUDIT_SYNC_FULL;
	CHECK(audit_open(&ao, &log) == EG_OK);
	CHECK(record_policy(log, a, "start") == EG_OK);
	CHECK(record_policy(log, b, "reload") == EG_OK);
	CHECK(record_policy(log, a, "reload") == EG_OK);
	audit_close(log);
	check_verify(dir, AUDIT_VF_NONE, 0, NULL);

	/* One byte of a's text: the first record naming it fails. */
	eg_strlcpy(changed, policy_a, sizeof(changed));
	changed[0] = 'B';
	check_tamper_policy(dir, policy_version(a), changed);
	check_verify(dir, AUDIT_VF_POLICY, 1, "(policy text changed)");
	/* b's text removed. */
	check_tamper_policy(dir, policy_version(a), policy_a);
	check_verify(dir, AUDIT_VF_NONE, 0, NULL);
	check_tamper_policy(dir, policy_version(b), NULL);
	check_verify(dir, AUDIT_VF_POLICY, 2, "(policy text removed)");
	check_tamper_policy(dir, policy_version(b), policy_b);
	check_verify(dir, AUDIT_VF_NONE, 0, NULL);
	/* A text no record names. */
	check_tamper_policy(dir, "00000000deadbeef", "deny all GET /**\n");
	check_verify(dir, AUDIT_VF_POLICY, 0, "(version 00000000deadbeef) is kept that no "
	    "policy record announces");
	check_rm_tree(dir);
	policy_free(a);
	policy_free(b);
}

/* Field ids may have gaps (25 belongs to another branch): decoding finds them. */
static void
test_field_ids(void)
{
	CHECK(audit_field_by_id(24) != NULL && strcmp(audit_field_by_id(24)->name, "key") == 0);
	CHECK(audit_field_by_id(26) != NULL && strcmp(audit_field_by_id(26)->name, "grants") == 0);
	CHECK(audit_field_by_id(31) != NULL &&
	    strcmp(audit_field_by_id(31)->name, "policy_sha256") == 0);
	CHECK(audit_field_by_id(0) == NULL && audit_field_by_id(200) == NULL);
	CHECK(audit_field_by_id(1) != NULL && audit_field_by_id(1)->id == 1);
}

int
main(void)
{
	test_texts();
	test_verdict();
	test_decide_again();
	test_rule_results();
	test_log();
	test_verify_policy_texts();
	test_field_ids();
	return check_report();
}
