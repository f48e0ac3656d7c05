/*
 * policy_test.c - the policy language of PRODUCT.md §5: the example policy's decisions,
 * every class of load error with its line, and a micro-benchmark (informational).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"

#define EXAMPLE "tests/policy/example.policy"

/* Diagnostics collected from a load. */
struct diags {
	int n, nerr;
	int line[64];
	int is_error[64];
	char msg[64][512];
};

static void
collect(void *arg, int is_error, const char *file, int line, const char *msg)
{
	struct diags *d = arg;

	(void)file;
	if (is_error)
		d->nerr++;
	if (d->n < 64) {
		d->line[d->n] = line;
		d->is_error[d->n] = is_error;
		eg_strlcpy(d->msg[d->n], msg, sizeof(d->msg[0]));
		d->n++;
	}
}

/* Writes text to a fresh temporary file; returns its malloc'd name. */
static char *
write_temp(const char *text)
{
	char *name = strdup("/tmp/policy_test_XXXXXX");
	int fd = name != NULL ? mkstemp(name) : -1;
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("temp policy");
		exit(2);
	}
	close(fd);
	return name;
}

/* Loads text; returns the load result, diagnostics in *d, the policy in *out if wanted. */
static int
load_text(const char *text, struct diags *d, struct policy **out)
{
	struct policy_diag diag;
	struct policy *p = NULL;
	char *name = write_temp(text);
	int r;

	memset(d, 0, sizeof(*d));
	diag.emit = collect;
	diag.arg = d;
	r = policy_load(name, &p, &diag);
	unlink(name);
	free(name);
	if (out != NULL)
		*out = p;
	else
		policy_free(p);
	return r;
}

/* 1 if some error on `line` contains `needle`. */
static int
has_error(const struct diags *d, int line, const char *needle)
{
	int i;

	for (i = 0; i < d->n; i++)
		if (d->is_error[i] && d->line[i] == line && strstr(d->msg[i], needle) != NULL)
			return 1;
	for (i = 0; i < d->n; i++)
		printf("  diag line %d: %s\n", d->line[i], d->msg[i]);
	return 0;
}

/* --- subjects ------------------------------------------------------------------------ */

static const struct eg_grant g_mod_a[] = {
	{ "moduleerder", EG_SCOPE_FACILITY, "fA", "o1" },
};
static const struct eg_grant g_mem_a[] = {
	{ "member", EG_SCOPE_FACILITY, "fA", "o1" },
};
/* moduleerder on the organisation; the member grant tells that fA belongs to o1. */
static const struct eg_grant g_org_field[] = {
	{ "member", EG_SCOPE_FACILITY, "fA", "o1" },
	{ "moduleerder", EG_SCOPE_ORGANISATION, "o1", "" },
};
/* moduleerder on the organisation only: ownership comes from the callback. */
static const struct eg_grant g_org_cb[] = {
	{ "moduleerder", EG_SCOPE_ORGANISATION, "o1", "" },
};
static const struct eg_grant g_aanm[] = {
	{ "insisto-aanmelder", EG_SCOPE_FACILITY, "fA", "o1" },
};
static const struct eg_grant g_itp[] = {
	{ "indicatiesteller", EG_SCOPE_REGION, "limburg", "" },
};

static const char *
owner_of(void *arg, const char *facility)
{
	(void)arg;
	if (strcmp(facility, "fC") == 0)
		return "o1";
	if (strcmp(facility, "fD") == 0)
		return "o2";
	return NULL;
}

#define SUBJ(g) { 1, g, sizeof(g) / sizeof(g[0]), NULL, NULL, NULL, 0, NULL, NULL }

static const struct eg_subject s_anon = { 0, NULL, 0, NULL, NULL, NULL, 0, NULL, NULL };
static const struct eg_subject s_user = { 1, NULL, 0, NULL, NULL, NULL, 0, NULL, NULL };
static const struct eg_subject s_mod_a = SUBJ(g_mod_a);
static const struct eg_subject s_mem_a = SUBJ(g_mem_a);
static const struct eg_subject s_org_field = SUBJ(g_org_field);
static const struct eg_subject s_org_cb = { 1, g_org_cb, 1, NULL, NULL, NULL, 0, owner_of,
    NULL };
static const struct eg_subject s_aanm = SUBJ(g_aanm);
static const struct eg_subject s_aanm_ctx = { 1, g_aanm, 1, "fA", "o1", NULL, 0, NULL,
    NULL };
static const struct eg_subject s_aanm_ctx_b = { 1, g_aanm, 1, "fB", "o1", NULL, 0, NULL,
    NULL };
static const struct eg_subject s_itp = SUBJ(g_itp);
/* A grant list for an anonymous subject must not open anything. */
static const struct eg_subject s_anon_grants = { 0, g_mod_a, 1, NULL, NULL, NULL, 0, NULL,
    NULL };

struct dcase {
	const char *who;
	const struct eg_subject *s;
	const char *method, *path;
	int allow;
	const char *rule;       /* NULL: no rule */
	const char *backend;    /* NULL: none */
};

static const struct dcase example_cases[] = {
	{ "anon", &s_anon, "GET", "/modules/catalog/x", 0, NULL, NULL },
	{ "user", &s_user, "GET", "/modules/catalog/x", 1, "catalog", "modules" },
	{ "user", &s_user, "GET", "/modules/catalog/a/b/c", 1, "catalog", "modules" },
	{ "user", &s_user, "HEAD", "/modules/catalog", 1, "catalog", "modules" },
	{ "user", &s_user, "POST", "/modules/catalog/x", 0, NULL, NULL },
	{ "user", &s_user, "GET", "/modules/catalogue/x", 0, NULL, NULL },
	{ "user", &s_user, "TRACE", "/modules/catalog/x", 0, NULL, NULL },
	{ "user", &s_user, "get", "/modules/catalog/x", 0, NULL, NULL },
	{ "modA", &s_mod_a, "GET", "/modules/facilities/fA/m1", 1, "module-read", "modules" },
	{ "modA", &s_mod_a, "GET", "/modules/facilities/fA", 1, "module-read", "modules" },
	{ "modA", &s_mod_a, "POST", "/modules/facilities/fA/m1", 1, "module-write", "modules" },
	{ "modA", &s_mod_a, "DELETE", "/modules/facilities/fA/m1", 1, "module-write",
	    "modules" },
	{ "modA", &s_mod_a, "GET", "/modules/facilities/fB/m1", 0, NULL, NULL },
	{ "modA", &s_mod_a, "POST", "/modules/facilities/fB/m1", 0, NULL, NULL },
	{ "modA", &s_mod_a, "GET", "/modules/facilities/fAx/m1", 0, NULL, NULL },
	{ "memA", &s_mem_a, "GET", "/modules/facilities/fA/m1", 1, "module-read", "modules" },
	{ "memA", &s_mem_a, "HEAD", "/modules/facilities/fA/m1", 1, "module-read", "modules" },
	{ "memA", &s_mem_a, "POST", "/modules/facilities/fA/m1", 0, NULL, NULL },
	{ "memA", &s_mem_a, "PUT", "/modules/facilities/fA/m1", 0, NULL, NULL },
	{ "memA", &s_mem_a, "DELETE", "/modules/facilities/fA/m1", 0, NULL, NULL },
	{ "orgField", &s_org_field, "POST", "/modules/facilities/fA/m", 1, "module-write",
	    "modules" },
	{ "orgField", &s_org_field, "POST", "/modules/facilities/fZ/m", 0, NULL, NULL },
	{ "orgCb", &s_org_cb, "POST", "/modules/facilities/fC/m", 1, "module-write",
	    "modules" },
	{ "orgCb", &s_org_cb, "GET", "/modules/facilities/fC/m", 1, "module-read", "modules" },
	{ "orgCb", &s_org_cb, "POST", "/modules/facilities/fD/m", 0, NULL, NULL },
	{ "orgCb", &s_org_cb, "POST", "/modules/facilities/fE/m", 0, NULL, NULL },
	{ "aanm-ctx", &s_aanm_ctx, "POST", "/dossiers/a-documents", 1, "a-doc-submit",
	    "dossiers" },
	{ "aanm-noctx", &s_aanm, "POST", "/dossiers/a-documents", 0, NULL, NULL },
	{ "aanm-ctxB", &s_aanm_ctx_b, "POST", "/dossiers/a-documents", 0, NULL, NULL },
	{ "aanm-ctx", &s_aanm_ctx, "GET", "/dossiers/a-documents", 0, NULL, NULL },
	{ "aanm-ctx", &s_aanm_ctx, "POST", "/dossiers/a-documents/x", 0, NULL, NULL },
	{ "aanm", &s_aanm, "GET", "/dossiers/facilities/fA/d1", 1, "a-doc-read", "dossiers" },
	{ "aanm", &s_aanm, "HEAD", "/dossiers/facilities/fA/d1", 0, NULL, NULL },
	{ "aanm", &s_aanm, "GET", "/dossiers/facilities/fB/d1", 0, NULL, NULL },
	{ "itp", &s_itp, "GET", "/dossiers/regions/limburg/x", 1, "itp", "dossiers" },
	{ "itp", &s_itp, "POST", "/dossiers/regions/limburg/x", 1, "itp", "dossiers" },
	{ "itp", &s_itp, "OPTIONS", "/dossiers/regions/limburg", 1, "itp", "dossiers" },
	{ "itp", &s_itp, "GET", "/dossiers/regions/antwerpen/x", 0, NULL, NULL },
	{ "itp", &s_itp, "DELETE", "/dossiers/regions/limburg/x", 0, "no-delete", NULL },
	{ "user", &s_user, "DELETE", "/dossiers/regions/limburg/x", 0, "no-delete", NULL },
	{ "anon", &s_anon, "DELETE", "/dossiers/x", 0, "no-delete", NULL },
	{ "anon", &s_anon, "GET", "/dossiers/regions/limburg/x", 0, NULL, NULL },
	{ "anonGrants", &s_anon_grants, "GET", "/modules/facilities/fA/m1", 0, NULL, NULL },
	{ "user", &s_user, "GET", "/", 0, NULL, NULL },
	{ "user", &s_user, "GET", "/eidgate/whoami", 0, NULL, NULL },
};

/* policy_explain() must reach the verdict policy_decide() reaches, with the same rule
 * and backend, and print without internal disagreement. */
static int
explain_agrees(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s)
{
	struct policy_decision d, e;
	FILE *devnull = fopen("/dev/null", "w");
	int r, ok;

	if (devnull == NULL)
		return 0;
	policy_decide(p, method, path, s, &d);
	r = policy_explain(p, method, path, s, POLICY_EXPLAIN_VERBOSE, devnull, &e);
	fclose(devnull);
	ok = r == EG_OK && d.allow == e.allow && d.rule == e.rule &&
	    d.backend == e.backend && d.reason == e.reason;
	if (!ok)
		printf("  explain %s %s: r=%d decide=%d/%s explain=%d/%s\n", method, path, r,
		    d.allow, d.rule ? d.rule : "-", e.allow, e.rule ? e.rule : "-");
	return ok;
}

static int
decision_ok(const struct policy *p, const struct dcase *c)
{
	struct policy_decision d;
	int ok;

	CHECK(explain_agrees(p, c->method, c->path, c->s));
	policy_decide(p, c->method, c->path, c->s, &d);
	ok = d.allow == c->allow &&
	    ((c->rule == NULL && d.rule == NULL) ||
	    (c->rule != NULL && d.rule != NULL && strcmp(c->rule, d.rule) == 0)) &&
	    ((c->backend == NULL && d.backend == NULL) ||
	    (c->backend != NULL && d.backend != NULL &&
	    strcmp(c->backend, d.backend->name) == 0)) &&
	    d.reason == (c->allow ? EG_OK : c->rule != NULL ? EG_ERR_DENIED :
	    EG_ERR_NO_RULE);
	if (!ok)
		printf("  decision %s %s %s: got allow=%d rule=%s backend=%s reason=%d\n",
		    c->who, c->method, c->path, d.allow, d.rule ? d.rule : "-",
		    d.backend ? d.backend->name : "-", d.reason);
	return ok;
}

static void
test_version(const struct policy *p)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *buf = NULL, hex[2 * EVP_MAX_MD_SIZE + 1];
	size_t len = 0;

	CHECK(eg_read_file(EXAMPLE, 1 << 20, &buf, &len) == EG_OK);
	CHECK(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) == 1);
	eg_hex(md, mdlen, hex);
	hex[16] = '\0';
	CHECK(strcmp(policy_version(p), hex) == 0);
	free(buf);
}

/* What a decision is about: the scope of the term that held, or (denied) the one the
 * first matching rule asks about; none for rules without a scoped role. */
struct scase {
	const struct eg_subject *s;
	const char *method, *path;
	int set;
	enum eg_scope_kind kind;
	const char *id, *org;
};

static const struct scase scope_cases[] = {
	{ &s_mod_a, "GET", "/modules/facilities/fA/m1", 1, EG_SCOPE_FACILITY, "fA", "o1" },
	{ &s_mod_a, "GET", "/modules/facilities/fB/m1", 1, EG_SCOPE_FACILITY, "fB", "" },
	{ &s_org_cb, "POST", "/modules/facilities/fC/m", 1, EG_SCOPE_FACILITY, "fC", "o1" },
	{ &s_org_cb, "POST", "/modules/facilities/fD/m", 1, EG_SCOPE_FACILITY, "fD", "o2" },
	{ &s_aanm_ctx, "POST", "/dossiers/a-documents", 1, EG_SCOPE_FACILITY, "fA", "o1" },
	{ &s_itp, "GET", "/dossiers/regions/limburg/x", 1, EG_SCOPE_REGION, "limburg", "" },
	{ &s_user, "GET", "/modules/catalog/x", 0, EG_SCOPE_ORGANISATION, "", "" },
	{ &s_anon, "GET", "/modules/facilities/fA/m1", 1, EG_SCOPE_FACILITY, "fA", "" },
};

static void
test_scopes(void)
{
	struct policy *p = NULL;
	struct policy_decision d;
	size_t i;

	CHECK(policy_load(EXAMPLE, &p, NULL) == EG_OK);
	for (i = 0; p != NULL && i < sizeof(scope_cases) / sizeof(scope_cases[0]); i++) {
		const struct scase *c = &scope_cases[i];
		policy_decide(p, c->method, c->path, c->s, &d);
		CHECK(d.scope.set == c->set);
		if (c->set)
			CHECK(d.scope.kind == c->kind && strcmp(d.scope.id, c->id) == 0 &&
			    strcmp(d.scope.org, c->org) == 0);
	}
	policy_free(p);
}

static void
test_example(void)
{
	struct policy_diag diag;
	struct diags d;
	struct policy *p = NULL;
	size_t i;

	memset(&d, 0, sizeof(d));
	diag.emit = collect;
	diag.arg = &d;
	CHECK(policy_load(EXAMPLE, &p, &diag) == EG_OK);
	CHECK(d.n == 0);        /* no errors and no warnings on the contract's example */
	if (p == NULL)
		return;
	CHECK(policy_backend_count(p) == 2);
	CHECK(strcmp(policy_backend_at(p, 0)->name, "modules") == 0);
	CHECK(strcmp(policy_backend_at(p, 1)->url, "http://127.0.0.1:9102") == 0);
	CHECK(policy_backend_at(p, 2) == NULL);
	CHECK(policy_backend_find(p, "dossiers") == policy_backend_at(p, 1));
	CHECK(policy_backend_find(p, "nope") == NULL);
	CHECK(strlen(policy_version(p)) == 16);
	test_version(p);
	for (i = 0; i < sizeof(example_cases) / sizeof(example_cases[0]); i++)
		CHECK(decision_ok(p, &example_cases[i]));
	policy_free(p);
}

/* --- semantics beyond the example ---------------------------------------------------- */

static const char semantics_policy[] =
    "backend a http://127.0.0.1:1 timeout=30s max_body=10MiB identity=headers\n"
    "backend b https://backend.example:8443/base/\n"
    "allow open     GET  /open/**          -> a\n"
    "allow any-role GET  /any/**           -> a when role lb\n"
    "allow first    GET  /x/{f}            -> a when role member on facility {f}\n"
    "allow second   GET  /x/{f}            -> b when authenticated\n"
    "allow ctx      GET  /ctx              -> a when role member on context\n"
    "allow ctxorg   GET  /ctxorg           -> a when role vte on organisation context\n"
    "allow lit      GET  /lit              -> b when role lb on facility F9 and capacity ggz\n"
    "allow org      GET  /org/{o}/*        -> b when role vte on organisation {o}\n"
    "allow exact    GET  /exact/{f}/file   -> a when authenticated\n"
    "deny  sealed   GET  /x/sealed         when role member\n"
    "allow litorg   GET  /litorg           -> a when role vte on facility f1\n"
    "allow litreg   GET  /litreg           -> a when role indicatiesteller on region limburg\n"
    "allow litoname GET  /litoname         -> a when role vte on organisation o1\n"
    "allow cap      GET  /cap              -> a when capacity jeugdhulp\n"
    "allow ctxlb    GET  /ctxlb            -> a when role lb on context\n"
    "allow prec     GET  /prec/{o}         -> a when role lb and capacity handicap or "
    "role vte on organisation {o}\n"
    "allow star     GET  /star/*/end       -> b when authenticated\n"
    "allow m2       *    /m2/**            -> a when authenticated\n"
    "deny  m2del    DELETE /m2/keep        when role lb on facility F9\n";

static const struct eg_grant g_sem[] = {
	{ "member", EG_SCOPE_FACILITY, "f1", "o1" },
	{ "lb", EG_SCOPE_FACILITY, "F9", "o1" },
	{ "vte", EG_SCOPE_ORGANISATION, "o1", "" },
};
static const char *const caps_ggz[] = { "jeugdhulp", "ggz" };
static const char *const caps_other[] = { "handicap" };

static const struct eg_subject s_sem = { 1, g_sem, 3, "f1", "o1", caps_ggz, 2, NULL, NULL };
static const struct eg_subject s_sem_nocap = { 1, g_sem, 3, NULL, NULL, caps_other, 1,
    NULL, NULL };
static const struct eg_grant g_lb_org[] = { { "lb", EG_SCOPE_ORGANISATION, "o1", "" } };
static const struct eg_subject s_ctx_org_lb = { 1, g_lb_org, 1, "fQ", "o1", NULL, 0, NULL,
    NULL };
static const struct eg_subject s_ctx_org_lb2 = { 1, g_lb_org, 1, "fD", "o2", NULL, 0, NULL,
    NULL };
static const char *const caps_handicap[] = { "handicap" };
static const struct eg_subject s_lb_handicap = { 1, g_lb_org, 1, NULL, "o1", caps_handicap,
    1, NULL, NULL };
static const struct eg_subject s_lb_nocap = { 1, g_lb_org, 1, NULL, "o1", caps_ggz, 2,
    NULL, NULL };

static const struct dcase semantics_cases[] = {
	{ "anon", &s_anon, "GET", "/open/x", 1, "open", "a" },
	{ "anon", &s_anon, "GET", "/any/x", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/any/x", 1, "any-role", "a" },
	{ "user", &s_user, "GET", "/any/x", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/x/f1", 1, "first", "a" },
	{ "sem", &s_sem, "GET", "/x/f2", 1, "second", "b" },
	{ "sem", &s_sem, "GET", "/x/sealed", 0, "sealed", NULL },
	{ "user", &s_user, "GET", "/x/sealed", 1, "second", "b" },
	{ "sem", &s_sem, "GET", "/ctx", 1, "ctx", "a" },
	{ "semNoCtx", &s_sem_nocap, "GET", "/ctx", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/ctxorg", 1, "ctxorg", "a" },
	{ "semNoCtx", &s_sem_nocap, "GET", "/ctxorg", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/lit", 1, "lit", "b" },
	{ "semNoCap", &s_sem_nocap, "GET", "/lit", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/org/o1/x", 1, "org", "b" },
	{ "sem", &s_sem, "GET", "/org/o2/x", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/org/o1", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/org/o1/x/y", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/exact/f/file", 1, "exact", "a" },
	{ "sem", &s_sem, "GET", "/exact/f/file/", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/exact//file", 0, NULL, NULL },
	/* `**` matches zero segments too */
	{ "anon", &s_anon, "GET", "/open", 1, "open", "a" },
	{ "anon", &s_anon, "GET", "/open/", 1, "open", "a" },
	/* literal scopes: an organisation grant holds on a literal facility it owns */
	{ "sem", &s_sem, "GET", "/litorg", 1, "litorg", "a" },
	{ "semNoCtx", &s_sem_nocap, "GET", "/litorg", 1, "litorg", "a" },
	{ "orgCb", &s_org_cb, "GET", "/litorg", 0, NULL, NULL },
	{ "itp", &s_itp, "GET", "/litreg", 1, "litreg", "a" },
	{ "sem", &s_sem, "GET", "/litreg", 0, NULL, NULL },
	{ "sem", &s_sem, "GET", "/litoname", 1, "litoname", "a" },
	{ "orgCb", &s_org_cb, "GET", "/litoname", 0, NULL, NULL },
	/* capacity of the acting organisation; none without one */
	{ "sem", &s_sem, "GET", "/cap", 1, "cap", "a" },
	{ "semNoCap", &s_sem_nocap, "GET", "/cap", 0, NULL, NULL },
	{ "user", &s_user, "GET", "/cap", 0, NULL, NULL },
	/* `on context` with the role held on the context's organisation */
	{ "ctxOrgLb", &s_ctx_org_lb, "GET", "/ctxlb", 1, "ctxlb", "a" },
	{ "ctxOrgLbElsewhere", &s_ctx_org_lb2, "GET", "/ctxlb", 0, NULL, NULL },
	/* `and` binds tighter than `or` */
	{ "sem", &s_sem, "GET", "/prec/o1", 1, "prec", "a" },
	{ "sem", &s_sem, "GET", "/prec/o2", 0, NULL, NULL },
	{ "lbHandicap", &s_lb_handicap, "GET", "/prec/o2", 1, "prec", "a" },
	{ "lbNoCap", &s_lb_nocap, "GET", "/prec/o2", 0, NULL, NULL },
	/* `*` is exactly one non-empty segment */
	{ "user", &s_user, "GET", "/star/x/end", 1, "star", "b" },
	{ "user", &s_user, "GET", "/star/end", 0, NULL, NULL },
	{ "user", &s_user, "GET", "/star/x/y/end", 0, NULL, NULL },
	/* `*` methods; a deny names only its methods and its holders */
	{ "sem", &s_sem, "DELETE", "/m2/keep", 0, "m2del", NULL },
	{ "sem", &s_sem, "PATCH", "/m2/keep", 1, "m2", "a" },
	{ "user", &s_user, "DELETE", "/m2/keep", 1, "m2", "a" },
	{ "user", &s_user, "TRACE", "/m2/keep", 0, NULL, NULL },
};

static void
test_semantics(void)
{
	struct diags d;
	struct policy *p = NULL;
	const struct policy_backend *b;
	size_t i;

	CHECK(load_text(semantics_policy, &d, &p) == EG_OK);
	if (p == NULL)
		return;
	b = policy_backend_find(p, "a");
	CHECK(b != NULL && b->timeout_ms == 30000 && b->max_body == 10ULL << 20 &&
	    b->identity == POLICY_IDENTITY_HEADERS);
	b = policy_backend_find(p, "b");
	CHECK(b != NULL && strcmp(b->url, "https://backend.example:8443/base") == 0 &&
	    b->timeout_ms == 0 && b->max_body == 0 && b->identity == POLICY_IDENTITY_ASSERTION);
	/* Warnings only: the open rule, and first/second overlapping on different backends. */
	CHECK(d.nerr == 0 && d.n == 2);
	for (i = 0; i < sizeof(semantics_cases) / sizeof(semantics_cases[0]); i++)
		CHECK(decision_ok(p, &semantics_cases[i]));
	policy_free(p);
}

/* The backend url split once at load: what the gateway connects to and sends as Host. */
static void
test_backend_urls(void)
{
	struct diags d;
	struct policy *p = NULL;
	const struct policy_backend *b;

	CHECK(load_text("backend a http://127.0.0.1:9101\n"
	    "backend b https://modules.example/api/\n"
	    "backend c http://[::1]:8080/x\n"
	    "backend d http://backend\n", &d, &p) == EG_OK);
	if (p == NULL)
		return;
	b = policy_backend_find(p, "a");
	CHECK(b != NULL && !b->tls && strcmp(b->host, "127.0.0.1") == 0 &&
	    strcmp(b->port, "9101") == 0 && strcmp(b->authority, "127.0.0.1:9101") == 0 &&
	    strcmp(b->url + b->path_at, "") == 0);
	b = policy_backend_find(p, "b");
	CHECK(b != NULL && b->tls && strcmp(b->host, "modules.example") == 0 &&
	    strcmp(b->port, "443") == 0 && strcmp(b->authority, "modules.example") == 0 &&
	    strcmp(b->url + b->path_at, "/api") == 0);
	b = policy_backend_find(p, "c");
	CHECK(b != NULL && strcmp(b->host, "::1") == 0 && strcmp(b->port, "8080") == 0 &&
	    strcmp(b->authority, "[::1]:8080") == 0 && strcmp(b->url + b->path_at, "/x") == 0);
	b = policy_backend_find(p, "d");
	CHECK(b != NULL && strcmp(b->port, "80") == 0);
	policy_free(p);
}

/* --- explanations -------------------------------------------------------------------- */

/* The explanation of one request as text (malloc'd). */
static char *
explain_text(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, unsigned flags)
{
	struct policy_decision e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	CHECK(policy_explain(p, method, path, s, flags, f, &e) == EG_OK);
	fclose(f);
	return buf;
}

/* 1 when the explanation of the request contains every needle. */
static int
explains(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, unsigned flags, const char *const *needles)
{
	char *t = explain_text(p, method, path, s, flags);
	int ok = t != NULL;

	for (; ok && *needles != NULL; needles++)
		if (strstr(t, *needles) == NULL) {
			printf("  explain %s %s lacks \"%s\":\n%s", method, path, *needles, t);
			ok = 0;
		}
	free(t);
	return ok;
}

static void
test_explain_words(void)
{
	struct policy *p = NULL;
	struct policy_diag diag = { collect, NULL };
	struct diags d;
	static const char *const fac_grant[] = { "decision: allow by rule module-read -> "
	    "modules", "when role member on facility fA ({f}): not held: no grant of member "
	    "on facility fA or its organisation o1", "or role moduleerder on facility fA "
	    "({f}): held (facility grant)", "<- decides", NULL };
	static const char *const org_grant[] = { "role moduleerder on facility fC ({f}): "
	    "held (organisation grant on o1, which owns this facility)", NULL };
	static const char *const other_org[] = { "decision: deny (no allow rule holds",
	    "no grant of moduleerder on facility fD or its organisation o2", NULL };
	static const char *const unknown_org[] = { "no grant of moduleerder on facility fE "
	    "(its organisation is unknown to the directory)", NULL };
	static const char *const deny[] = { "decision: deny by rule no-delete",
	    "held (region grant)", "(overridden by deny no-delete)", "no 'when': holds for "
	    "every request", NULL };
	static const char *const ctx[] = { "role insisto-aanmelder on facility context: "
	    "not held: acting for no facility", NULL };
	static const char *const anon[] = { "when authenticated: not held: not logged in",
	    NULL };
	static const char *const verbose[] = { "path matches, method does not:",
	    "allow module-read (line 5) GET,HEAD /modules/facilities/{f}/** -> modules",
	    "path does not match:", "deny  no-delete (line 10) DELETE /dossiers/**", NULL };
	static const char *const none[] = { "rules whose methods and path match (0)",
	    "  none", NULL };

	memset(&d, 0, sizeof(d));
	diag.arg = &d;
	CHECK(policy_load(EXAMPLE, &p, &diag) == EG_OK);
	if (p == NULL)
		return;
	CHECK(explains(p, "GET", "/modules/facilities/fA/m", &s_mod_a, 0, fac_grant));
	CHECK(explains(p, "POST", "/modules/facilities/fC/m", &s_org_cb, 0, org_grant));
	CHECK(explains(p, "POST", "/modules/facilities/fD/m", &s_org_cb, 0, other_org));
	CHECK(explains(p, "POST", "/modules/facilities/fE/m", &s_org_cb, 0, unknown_org));
	CHECK(explains(p, "DELETE", "/dossiers/regions/limburg/x", &s_itp, 0, deny));
	CHECK(explains(p, "POST", "/dossiers/a-documents", &s_aanm, 0, ctx));
	CHECK(explains(p, "GET", "/modules/catalog/x", &s_anon, 0, anon));
	CHECK(explains(p, "POST", "/modules/facilities/fB/m", &s_mem_a, POLICY_EXPLAIN_VERBOSE,
	    verbose));
	CHECK(explains(p, "GET", "/nowhere", &s_user, 0, none));
	policy_free(p);
}

/* A small deterministic generator (xorshift): the same table on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static const char *const vocab[] = { "a", "b", "f1", "f2", "o1", "x" };
static const char *const gen_methods[] = { "GET", "POST", "DELETE", "GET,HEAD", "*" };
static const char *const gen_terms[] = {
	"authenticated", "role member on facility {p}", "role lb on organisation o1",
	"role vte on facility {p}", "capacity ggz", "role member on context",
	"role lb on facility f1", "role member",
};

/* One random rule line: literal, `{p}`, `*` and `**` segments, 0-3 terms. */
static size_t
gen_rule(char *buf, size_t cap, size_t i)
{
	size_t len, k, nseg = 1 + rnd(3), nterm = rnd(4);
	int deny = rnd(5) == 0, has_p = 0;

	len = (size_t)snprintf(buf, cap, "%s g%zu %s ", deny ? "deny" : "allow", i,
	    gen_methods[rnd(5)]);
	for (k = 0; k < nseg; k++) {
		unsigned kind = rnd(6);
		if (kind == 0 && !has_p) {
			len += (size_t)snprintf(buf + len, cap - len, "/{p}");
			has_p = 1;
		} else if (kind == 1) {
			len += (size_t)snprintf(buf + len, cap - len, "/*");
		} else if (kind == 2 && k + 1 == nseg) {
			len += (size_t)snprintf(buf + len, cap - len, "/**");
		} else {
			len += (size_t)snprintf(buf + len, cap - len, "/%s", vocab[rnd(6)]);
		}
	}
	if (!deny)
		len += (size_t)snprintf(buf + len, cap - len, " -> %s", rnd(2) ? "a" : "b");
	for (k = 0; k < nterm; k++) {
		const char *t = gen_terms[rnd(8)];
		if (!has_p && strstr(t, "{p}") != NULL)
			t = "authenticated";
		len += (size_t)snprintf(buf + len, cap - len, " %s %s", k == 0 ? "when" :
		    rnd(2) ? "and" : "or", t);
	}
	len += (size_t)snprintf(buf + len, cap - len, "\n");
	return len;
}

static const struct eg_grant g_rand[] = {
	{ "member", EG_SCOPE_FACILITY, "f1", "o1" },
	{ "lb", EG_SCOPE_ORGANISATION, "o1", "" },
	{ "vte", EG_SCOPE_ORGANISATION, "o2", "" },
	{ "member", EG_SCOPE_FACILITY, "x", "o2" },
};

/* Random policies, requests and subjects: explain and decide agree on every one. */
static void
test_explain_agrees(void)
{
	static const char *const req_methods[] = { "GET", "HEAD", "POST", "DELETE", "PUT" };
	char *text = malloc(64 * 200 + 128), path[128];
	struct eg_subject s;
	struct policy *p;
	struct diags d;
	size_t round, i, len, k, bad = 0, total = 0;

	if (text == NULL)
		return;
	for (round = 0; round < 40; round++) {
		len = (size_t)snprintf(text, 128, "backend a http://h:1\nbackend b http://h:2\n");
		for (i = 0; i < 60; i++)
			len += gen_rule(text + len, 64 * 200 + 128 - len, i);
		p = NULL;
		if (load_text(text, &d, &p) != EG_OK || p == NULL) {
			printf("  generated policy does not load:\n%s", text);
			bad++;
			continue;
		}
		for (i = 0; i < 100; i++) {
			size_t nseg = rnd(5), plen = 0;
			memset(&s, 0, sizeof(s));
			s.authenticated = rnd(8) != 0;
			s.grants = g_rand + rnd(3);
			s.ngrants = rnd(2) + 1;
			s.context_facility = rnd(2) ? "f1" : NULL;
			s.context_org = s.context_facility != NULL ? "o1" : NULL;
			s.capacities = caps_ggz;
			s.ncapacities = rnd(3);
			s.facility_org = owner_of;
			path[0] = '/';
			path[1] = '\0';
			for (k = 0; k < nseg; k++)
				plen += (size_t)snprintf(path + plen, sizeof(path) - plen, "/%s",
				    vocab[rnd(6)]);
			bad += !explain_agrees(p, req_methods[rnd(5)], path, &s);
			total++;
		}
		policy_free(p);
	}
	printf("explain: %zu random requests, %zu disagreements\n", total, bad);
	CHECK(bad == 0 && total == 4000);
	free(text);
}

/* --- load errors --------------------------------------------------------------------- */

struct ecase {
	const char *text;
	int line;
	const char *needle;
};

#define BK "backend m http://127.0.0.1:9101\n"

static const struct ecase error_cases[] = {
	{ BK "allow r GET /a -> nope when authenticated\n", 2, "unknown backend 'nope'" },
	{ BK "allow r GET /a -> m when role boss\n", 2, "unknown role 'boss'" },
	{ BK "allow r GET /a -> m when capacity rich\n", 2, "unknown capacity 'rich'" },
	{ BK "allow r GET /eidgate/x -> m when authenticated\n", 2, "/eidgate/" },
	{ BK "allow r GET /eidgate -> m when authenticated\n", 2, "/eidgate/" },
	{ BK "allow r * /EidGate/** -> m when authenticated\n", 2, "/eidgate/" },
	{ BK "allow r GET /a -> m\nallow r GET /b -> m\n", 3, "duplicate rule id 'r'" },
	{ BK "allow r GET /a/**/b -> m\n", 2, "'**' must be the last" },
	{ BK "allow r GET /a/{x} -> m when role member on facility {f}\n", 2,
	    "{f} is not captured" },
	{ BK "allow r GET,FETCH /a -> m\n", 2, "unknown method 'FETCH'" },
	{ BK "allow r get /a -> m\n", 2, "upper-case" },
	{ BK "allow r GET,,POST /a -> m\n", 2, "empty method" },
	{ BK "allow r GET /a when authenticated\n", 2, "needs '-> <backend>'" },
	{ BK "deny r GET /a -> m\n", 2, "deny rule sends nothing" },
	{ BK "frobnicate all the things\n", 2, "unknown statement" },
	{ BK "allow r GET a -> m\n", 2, "must start with '/'" },
	{ BK "allow r GET /a//b -> m\n", 2, "empty segment" },
	{ BK "allow r GET /a/ -> m\n", 2, "empty segment" },
	{ BK "allow r GET /a/{x}/{x} -> m\n", 2, "captured twice" },
	{ BK "allow r GET /a/b* -> m\n", 2, "whole segments" },
	{ BK "allow r GET /a/%2f -> m\n", 2, "upper-case %XX" },
	{ BK "allow r GET /a/%41 -> m\n", 2, "character itself" },
	{ BK "allow r GET /a/b;c -> m\n", 2, "normalised path" },
	{ BK "allow r GET /a -> m when\n", 2, "needs a condition" },
	{ BK "allow r GET /a -> m when authenticated and\n", 2, "ends with 'and'" },
	{ BK "allow r GET /a -> m when authenticated xor role lb\n", 2, "expected 'and'" },
	{ BK "allow r GET /a -> m when role lb on planet x\n", 2, "unknown scope" },
	{ BK "allow r GET /a -> m when role lb on region context\n", 2, "no region context" },
	{ BK "allow r GET /a -> m when authenticated extra\n", 2, "expected 'and'" },
	{ BK "allow r GET /a -> m trailing\n", 2, "unexpected 'trailing'" },
	{ BK "allow r! GET /a -> m\n", 2, "bad rule id" },
	{ BK "allow r GET\n", 2, "usage" },
	{ BK "backend m http://127.0.0.1:1\n", 2, "declared twice" },
	{ BK "backend x ftp://h\n", 2, "http:// or https://" },
	{ BK "backend x http://\n", 2, "no host" },
	{ BK "backend x http://h:99999\n", 2, "bad port" },
	{ BK "backend x http://u:p@h\n", 2, "user-info" },
	{ BK "backend x http://:80\n", 2, "no host" },
	{ BK "backend x http://h:\n", 2, "bad port" },
	{ BK "backend x http://h:80x\n", 2, "bad port" },
	{ BK "backend x http://h:123456\n", 2, "bad port" },
	{ BK "backend x http://[::1\n", 2, "bad IPv6 host" },
	{ BK "backend x http://h?q\n", 2, "query" },
	{ BK "backend x http://h timeout=5\n", 2, "bad timeout" },
	{ BK "backend x http://h max_body=lots\n", 2, "bad max_body" },
	{ BK "backend x http://h identity=cookie\n", 2, "bad identity" },
	{ BK "backend x http://h colour=blue\n", 2, "unknown backend option" },
	{ BK "allow r GET /a -> m\tx\001\n", 2, "control character" },
};

static void
test_errors(void)
{
	struct diags d;
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct ecase *e = &error_cases[i];
		int r = load_text(e->text, &d, NULL);
		CHECK(r == EG_ERR_POLICY);
		if (!has_error(&d, e->line, e->needle))
			printf("  expected line %d '%s' for case %zu\n", e->line, e->needle, i);
		CHECK(has_error(&d, e->line, e->needle));
	}
}

static void
test_long_line(void)
{
	static const char tail[] = " -> m\nallow s GET /b -> nope\n";
	size_t n = EG_MAX_LINE + 100;
	char *text = malloc(n + 200);
	struct diags d;

	if (text == NULL)
		return;
	memset(text, 0, n + 200);
	memcpy(text, BK "allow r GET /", sizeof(BK "allow r GET /") - 1);
	memset(text + strlen(text), 'a', n);
	memcpy(text + strlen(text), tail, sizeof(tail));
	CHECK(load_text(text, &d, NULL) == EG_ERR_POLICY);
	CHECK(has_error(&d, 2, "longer than"));
	CHECK(has_error(&d, 3, "unknown backend"));     /* parsing went on after it */
	free(text);
}

/* Several errors in one file: all are reported, each with its own line. */
static void
test_many_errors(void)
{
	static const char text[] =
	    "backend m http://127.0.0.1:9101\n"                         /* 1 */
	    "# a comment\n"                                              /* 2 */
	    "allow a GET /ok -> m when authenticated\n"                  /* 3 */
	    "allow b GET /x -> m when role boss\n"                       /* 4 */
	    "\n"                                                         /* 5 */
	    "allow a GET /y -> m when authenticated\n"                   /* 6 */
	    "deny c DELETE /eidgate/** # no\n"                           /* 7 */
	    "allow d BREW /z -> m when capacity ggz\n"                   /* 8 */
	    "allow e GET /z/{p} -> zz when role member on facility {p}\n"; /* 9 */
	struct diags d;

	CHECK(load_text(text, &d, NULL) == EG_ERR_POLICY);
	CHECK(d.nerr == 5);
	CHECK(has_error(&d, 4, "unknown role"));
	CHECK(has_error(&d, 6, "duplicate rule id"));
	CHECK(has_error(&d, 7, "/eidgate/"));
	CHECK(has_error(&d, 8, "unknown method"));
	CHECK(has_error(&d, 9, "unknown backend"));
}

static void
test_misc_load(void)
{
	struct diags d;
	struct policy *p = NULL;

	CHECK(policy_load("/nonexistent/policy", &p, NULL) != EG_OK && p == NULL);
	/* Backends may be declared after the rules that use them; CRLF is accepted. */
	CHECK(load_text("allow r GET /a -> m when authenticated\r\n"
	    "backend m http://[::1]:80\r\n", &d, NULL) == EG_OK);
	CHECK(load_text("", &d, NULL) == EG_OK);
	/* The warnings of lint.c. */
	CHECK(load_text(BK "deny all GET /s/** when authenticated\n"
	    "allow x GET /s/t -> m when role lb\n", &d, NULL) == EG_OK);
	CHECK(d.n == 1 && d.line[0] == 3 && strstr(d.msg[0], "can never allow") != NULL);
	CHECK(load_text(BK "allow x GET /s -> m when role member on region {r}\n", &d,
	    NULL) == EG_ERR_POLICY);
	CHECK(load_text(BK "allow x GET /s/{r} -> m when role member on region {r}\n", &d,
	    NULL) == EG_OK);
	CHECK(d.n == 1 && !d.is_error[0] && strstr(d.msg[0], "never holds") != NULL);
}


/* `signed` marks allow rules whose requests need a card-signed intent; the parser stays
 * strict about where it goes. */
static void
test_signed(void)
{
	struct diags d;
	struct policy *p = NULL;
	struct policy_decision dec;
	struct eg_subject s;

	memset(&s, 0, sizeof(s));
	s.authenticated = 1;
	CHECK(load_text(BK "allow w POST /s/** -> m signed when authenticated\n"
	    "allow r GET /s/** -> m when authenticated\n"
	    "allow o POST /o -> m signed\n", &d, &p) == EG_OK);
	if (p != NULL) {
		policy_decide(p, "POST", "/s/x", &s, &dec);
		CHECK(dec.allow && dec.signed_intent && strcmp(dec.rule, "w") == 0);
		policy_decide(p, "GET", "/s/x", &s, &dec);
		CHECK(dec.allow && !dec.signed_intent);
		policy_decide(p, "POST", "/o", &s, &dec);
		CHECK(dec.allow && dec.signed_intent);
		policy_decide(p, "PUT", "/s/x", &s, &dec);
		CHECK(!dec.allow && !dec.signed_intent);
		policy_free(p);
	}
	CHECK(load_text(BK "deny d POST /s signed\n", &d, NULL) == EG_ERR_POLICY);
	CHECK(d.n >= 1 && strstr(d.msg[0], "allow rules only") != NULL);
	CHECK(load_text(BK "allow w POST /s signed -> m\n", &d, NULL) == EG_ERR_POLICY);
	CHECK(load_text(BK "allow w POST /s -> m signed signed\n", &d, NULL) ==
	    EG_ERR_POLICY);
	CHECK(load_text(BK "allow w POST /s -> m when authenticated signed\n", &d, NULL) ==
	    EG_ERR_POLICY);
	CHECK(load_text(BK "allow w POST /s -> m Signed\n", &d, NULL) == EG_ERR_POLICY);
}

/* --- lint warnings (policy check) ---------------------------------------------------- */

struct wcase {
	const char *text;
	int nwarn;              /* expected number of warnings */
	int line;               /* line of the first, when nwarn > 0 */
	const char *needle;
};

static const struct wcase warn_cases[] = {
	/* admits everyone */
	{ BK "allow r GET /a -> m\n", 1, 2, "admits every request" },
	/* a term that can never hold: role on a scope kind it is never granted on */
	{ BK "allow r GET /a/{o} -> m when role member on organisation {o}\n", 1, 2,
	    "never granted on an organisation" },
	{ BK "allow r GET /a -> m when role indicatiesteller on context\n", 1, 2,
	    "never granted on a facility" },
	{ BK "allow r GET /a -> m when role vte on region limburg\n", 1, 2,
	    "never granted on a region" },
	{ BK "allow r GET /a/{f} -> m when role vte on facility {f}\n", 0, 0, NULL },
	/* always overridden by a deny */
	{ BK "deny d * /a/**\nallow r GET /a/b -> m\n", 2, 3, "admits every request" },
	{ BK "deny d GET,POST /a/**\nallow r GET /a/{x}/c -> m when role lb\n", 1, 3,
	    "deny rule 'd' (line 2) covers all its requests" },
	{ BK "allow r GET /a/b -> m when role lb\ndeny d GET /a/* when authenticated\n", 1, 2,
	    "can never allow" },
	{ BK "deny d GET /a/** when role lb\nallow r GET /a/b -> m when authenticated\n", 0, 0,
	    NULL },
	{ BK "deny d GET /a/b\nallow r GET,POST /a/b -> m when authenticated\n", 0, 0, NULL },
	{ BK "deny d GET /a/b\nallow r GET /a/* -> m when authenticated\n", 0, 0, NULL },
	{ BK "deny d GET /a/b when authenticated\nallow r GET /a/b -> m\n", 1, 3,
	    "admits every request" },
	/* two allows that send the same request to different backends */
	{ BK "backend n http://h:2\nallow r GET /a/** -> m when authenticated\n"
	    "allow s GET /a/{x} -> n when role lb\n", 1, 4, "different backends (m, n); "
	    "'r' wins" },
	{ BK "backend n http://h:2\nallow r * /a/*/c -> m when authenticated\n"
	    "allow s POST /a/b/* -> n when role lb\n", 1, 4, "different backends" },
	{ BK "backend n http://h:2\nallow r GET /a/** -> m when authenticated\n"
	    "allow s POST /a/b -> n when role lb\n", 0, 0, NULL },
	{ BK "backend n http://h:2\nallow r GET /a/b -> m when authenticated\n"
	    "allow s GET /a/c -> n when role lb\n", 0, 0, NULL },
	{ BK "backend n http://h:2\nallow r GET /a/b -> m when authenticated\n"
	    "allow s GET /a/b/c -> n when role lb\n", 0, 0, NULL },
	{ BK "allow r GET /a/** -> m when authenticated\nallow s GET /a/b -> m when role lb\n",
	    0, 0, NULL },
};

static void
test_lint(void)
{
	struct diags d;
	size_t i;

	for (i = 0; i < sizeof(warn_cases) / sizeof(warn_cases[0]); i++) {
		const struct wcase *w = &warn_cases[i];
		int ok = load_text(w->text, &d, NULL) == EG_OK && d.nerr == 0 &&
		    d.n == w->nwarn;
		int j, found = w->nwarn == 0;

		for (j = 0; j < d.n && ok && !found; j++)
			found = d.line[j] == w->line && strstr(d.msg[j], w->needle) != NULL;
		if (!ok || !found) {
			printf("  lint case %zu: %d warnings, expected %d\n", i, d.n, w->nwarn);
			for (j = 0; j < d.n; j++)
				printf("    line %d: %s\n", d.line[j], d.msg[j]);
		}
		CHECK(ok && found);
	}
}

/* Nodes with many literal children are looked up through a hash index (trie.c): names
 * that are prefixes of one another, misses and parameters beside them. */
static void
test_wide_node(void)
{
	char text[8192], path[64];
	struct policy_decision dec;
	struct policy *p = NULL;
	struct diags d;
	size_t len, i;

	len = (size_t)snprintf(text, sizeof(text), BK);
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "allow s%zu GET /w/s%zu/** -> m when authenticated\n", i, i);
	snprintf(text + len, sizeof(text) - len, "allow any GET /w/{x}/p -> m when role lb\n");
	CHECK(load_text(text, &d, &p) == EG_OK);
	if (p == NULL)
		return;
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/w/s%zu/x", i);
		policy_decide(p, "GET", path, &s_user, &dec);
		CHECK(dec.allow && strcmp(dec.rule, path + 3) != 0 && dec.rule[0] == 's' &&
		    strncmp(dec.rule, path + 3, strlen(dec.rule)) == 0 &&
		    path[3 + strlen(dec.rule)] == '/');
	}
	policy_decide(p, "GET", "/w/s100/x", &s_user, &dec);
	CHECK(!dec.allow && dec.rule == NULL);
	policy_decide(p, "GET", "/w/s/x", &s_user, &dec);
	CHECK(!dec.allow);
	policy_decide(p, "GET", "/w/s1", &s_user, &dec);
	CHECK(dec.allow && strcmp(dec.rule, "s1") == 0);
	policy_decide(p, "GET", "/w/zzz/p", &s_sem, &dec);
	CHECK(dec.allow && strcmp(dec.rule, "any") == 0);
	CHECK(explain_agrees(p, "GET", "/w/s42/p", &s_sem));
	policy_free(p);
}

/* --- micro-benchmark (informational) ------------------------------------------------- */

static void
bench(size_t nrules)
{
	size_t cap = nrules * 120 + 256, len, i;
	char *text = malloc(cap), path[128];
	struct policy *p = NULL;
	struct policy_decision dec;
	struct diags d;
	struct timespec t0, t1;
	const long iters = 200000;
	long k, allowed = 0;
	double secs;
	static const struct eg_grant g[] = { { "member", EG_SCOPE_FACILITY, "f7", "o1" } };
	static const struct eg_subject s = { 1, g, 1, NULL, NULL, NULL, 0, NULL, NULL };

	if (text == NULL)
		return;
	len = (size_t)snprintf(text, cap, "backend b http://127.0.0.1:1\n");
	for (i = 0; i < nrules; i++)
		len += (size_t)snprintf(text + len, cap - len, "allow r%zu GET,HEAD "
		    "/svc%zu/facilities/{f}/** -> b when role member on facility {f}\n", i, i);
	CHECK(load_text(text, &d, &p) == EG_OK);
	free(text);
	if (p == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < iters; k++) {
		snprintf(path, sizeof(path), "/svc%zu/facilities/f7/items/%ld",
		    (size_t)k % nrules, k & 1023);
		policy_decide(p, "GET", path, &s, &dec);
		allowed += dec.allow;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(allowed == iters);
	printf("bench: %zu rules: %.0f decisions/s\n", nrules, (double)iters / secs);
	policy_free(p);
}

int
main(void)
{
	test_example();
	test_scopes();
	test_semantics();
	test_backend_urls();
	test_explain_words();
	test_explain_agrees();
	test_errors();
	test_long_line();
	test_many_errors();
	test_misc_load();
	test_signed();
	test_lint();
	test_wide_node();
	bench(10);
	bench(1000);
	return check_report();
}
