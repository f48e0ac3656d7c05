/*
 * auth_eidpki_test.c - the public Belgian eID CA certificates and specimen cards of
 * /work/shared/eid-pki (EIDGATE_EID_PKI overrides), used as they are: never copied into
 * the repository; the trust directories of the test are symlinks in a temporary dir.
 *
 * Covers: the applet 1.8 specimens (EC and RSA leaves under the EC test hierarchy) accepted
 * today, configured or client-sent intermediate; the signature specimen refused; the old
 * SHA-1 specimens refused as expired today, and with a time override refused as
 * weak-crypto at the default level, accepted at level 0 with the test policy OID; the
 * production intermediates chaining to their roots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "auth/internal.h"

static char pki[512], tmp[256];

/* Links files of the shared PKI into tmp/<sub>/ (created). */
static void
link_into(const char *sub, const char *const *files)
{
	char dir[1024], src[1024], dst[1200];

	snprintf(dir, sizeof(dir), "%s/%s", tmp, sub);
	if (mkdir(dir, 0700) != 0)
		perror(dir);
	for (; *files != NULL; files++) {
		const char *base = strrchr(*files, '/');
		snprintf(src, sizeof(src), "%s/%s", pki, *files);
		snprintf(dst, sizeof(dst), "%s/%s", dir, base != NULL ? base + 1 : *files);
		if (symlink(src, dst) != 0)
			perror(dst);
	}
}

static struct auth_ctx *
make_ctx(const char *roots, const char *ints, int level, const char *const *oids)
{
	struct eg_config cfg;
	struct auth_options o;
	struct auth_ctx *ctx = NULL;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.trust_anchors, sizeof(cfg.trust_anchors), "%s/%s", tmp, roots);
	if (ints != NULL)
		snprintf(cfg.intermediates, sizeof(cfg.intermediates), "%s/%s", tmp, ints);
	cfg.ocsp = CFG_OCSP_OFF;
	cfg.ocsp_timeout_ms = 2000;
	cfg.ocsp_cache_ms = 600000;
	auth_options_default(&o);
	o.auth_level = level;
	o.extra_policy_oids = oids;
	if (auth_ctx_new_opts(&cfg, &o, &ctx) != EG_OK)
		printf("auth_ctx_new_opts(%s, %s) failed\n", roots, ints ? ints : "-");
	return ctx;
}

static X509 *
load(const char *rel)
{
	char path[1024];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s", pki, rel);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* Verifies leaf (+ optional sent intermediate) at time at; returns the EG code. */
static int
vfy(const struct auth_ctx *ctx, const char *leaf, const char *sent, int64_t at,
    struct eg_identity *id)
{
	unsigned char *ders[2] = { NULL, NULL };
	size_t lens[2];
	size_t n = 0;
	const char *files[2] = { leaf, sent };
	char detail[512];
	int r = EG_ERR_INTERNAL, len;

	for (n = 0; n < 2 && files[n] != NULL; n++) {
		X509 *x = load(files[n]);
		if (x == NULL || (len = i2d_X509(x, &ders[n])) <= 0) {
			X509_free(x);
			goto out;
		}
		lens[n] = (size_t)len;
		X509_free(x);
	}
	if (ctx == NULL)
		goto out;
	r = auth_verify_at(ctx, (const unsigned char *const *)ders, lens, n, at, id, detail,
	    sizeof(detail));
	printf("  %-34s %s%s%s\n", leaf, eg_err_code(r), detail[0] ? ": " : "", detail);
out:
	OPENSSL_free(ders[0]);
	OPENSSL_free(ders[1]);
	return r;
}

/* Path check of a CA certificate (as leaf, any purpose) under ctx's roots, now. */
static int
ca_chains(const struct auth_ctx *ctx, const char *ca, int64_t at)
{
	X509 *x = load(ca);
	X509_STORE *st = ctx != NULL ? crl_state_get(ctx->crl) : NULL;
	STACK_OF(X509) *u = sk_X509_new_null();
	char detail[256] = "";
	int r = EG_ERR_INTERNAL;

	if (x != NULL && st != NULL && u != NULL)
		r = auth_path_verify(ctx, st, x, u, at, X509_PURPOSE_ANY, NULL, detail,
		    sizeof(detail));
	printf("  %-34s %s%s%s\n", ca, eg_err_code(r), detail[0] ? ": " : "", detail);
	sk_X509_free(u);
	X509_STORE_free(st);
	X509_free(x);
	return r;
}

#define AT_2012 1325376000      /* 2012-01-01: old specimens within their dates */
#define AT_2014 1393632000      /* 2014-03-01 */
#define AT_2016 1451606400      /* 2016-01-01 */

static const char *const ec_roots[] = { "specimen/eid-test-ec-root-ca.pem", NULL };
static const char *const ec_ints[] = { "specimen/eid-test-ec-citizen-ca.pem", NULL };
static const char *const old_roots[] = { "specimen/eid-test-root-ca.pem", NULL };
static const char *const old_ints[] = { "specimen/eid-test-citizen-ca.pem",
	"specimen/eid-test-foreigner-ca.pem", NULL };
static const char *const prod_roots[] = { "roots/belgiumrca2.pem", "roots/belgiumrca3.pem",
	"roots/belgiumrca4.pem", "roots/belgiumrca4b.pem", "roots/belgiumrca6.pem", NULL };
/* The policy OID of the old "eID test" hierarchy's leaves (not a production OID). */
static const char *const test_oids[] = { "2.16.56.1.40.40.40.1", NULL };

static void
test_ec_specimens(void)
{
	struct auth_ctx *ctx = make_ctx("ec-roots", "ec-ints", AUTH_DEFAULT_LEVEL, NULL);
	struct auth_ctx *bare = make_ctx("ec-roots", NULL, AUTH_DEFAULT_LEVEL, NULL);
	struct eg_identity id;

	printf("applet 1.8 specimens (eID TEST EC hierarchy), now:\n");
	CHECK(vfy(ctx, "specimen/nora-specimen-auth-ec.pem", NULL, 0, &id) == EG_OK);
	CHECK(id.kind == EG_CARD_CITIZEN && strcmp(id.key_type, "EC P-384") == 0);
	CHECK(strcmp(id.policy_oid, "2.16.56.12.1.1.2.2") == 0);
	CHECK(strcmp(id.nrn, "01050399864") == 0 && strcmp(id.surname, "Specimen") == 0);
	CHECK(strcmp(id.name, "Nora Specimen") == 0);
	CHECK(vfy(ctx, "specimen/nora-specimen-auth-rsa.pem", NULL, 0, &id) == EG_OK);
	CHECK(strcmp(id.key_type, "RSA 2048") == 0);
	CHECK(vfy(ctx, "specimen/nora-specimen-sign.pem", NULL, 0, &id) ==
	    EG_ERR_SIGNATURE_CERT);
	/* The intermediate sent by the client instead of configured. */
	CHECK(vfy(bare, "specimen/nora-specimen-auth-ec.pem",
	    "specimen/eid-test-ec-citizen-ca.pem", 0, &id) == EG_OK);
	CHECK(vfy(bare, "specimen/nora-specimen-auth-ec.pem", NULL, 0, &id) == EG_ERR_CHAIN);
	auth_ctx_free(ctx);
	auth_ctx_free(bare);
}

static void
test_old_specimens(void)
{
	struct auth_ctx *dflt = make_ctx("old-roots", "old-ints", AUTH_DEFAULT_LEVEL, NULL);
	struct auth_ctx *oid1 = make_ctx("old-roots", "old-ints", AUTH_DEFAULT_LEVEL, test_oids);
	struct auth_ctx *oid0 = make_ctx("old-roots", "old-ints", 0, test_oids);
	struct eg_identity id;

	printf("old SHA-1 specimens (eID test Root CA), now and with a time override:\n");
	CHECK(vfy(dflt, "specimen/alice-specimen-auth.pem", NULL, 0, &id) == EG_ERR_EXPIRED);
	CHECK(vfy(dflt, "specimen/xyzpeeters-auth-expired.pem", NULL, 0, &id) == EG_ERR_EXPIRED);
	CHECK(strcmp(id.nrn, "80000105741") == 0);
	CHECK(vfy(dflt, "specimen/foreigner-test-auth.pem", NULL, 0, &id) == EG_ERR_EXPIRED);
	CHECK(vfy(dflt, "specimen/alice-specimen-sign.pem", NULL, 0, &id) ==
	    EG_ERR_SIGNATURE_CERT);
	CHECK(vfy(dflt, "specimen/xyzpeeters-auth-expired.pem", NULL, AT_2012, &id) ==
	    EG_ERR_PROFILE);
	CHECK(vfy(oid1, "specimen/xyzpeeters-auth-expired.pem", NULL, AT_2012, &id) ==
	    EG_ERR_WEAK_CRYPTO);
	CHECK(vfy(oid1, "specimen/alice-specimen-auth.pem", NULL, AT_2012, &id) ==
	    EG_ERR_BAD_SERIAL);
	CHECK(vfy(oid0, "specimen/xyzpeeters-auth-expired.pem", NULL, AT_2012, &id) == EG_OK);
	CHECK(id.kind == EG_CARD_CITIZEN && strcmp(id.policy_oid, "2.16.56.1.40.40.40.1") == 0);
	CHECK(vfy(oid0, "specimen/xyzpeeters-auth-expired.pem", NULL, AT_2016, &id) ==
	    EG_ERR_EXPIRED);
	CHECK(vfy(oid0, "specimen/xyzpeeters-auth-revoked.pem", NULL, AT_2016, &id) == EG_OK);
	CHECK(vfy(oid0, "specimen/foreigner-test-auth.pem", NULL, AT_2016, &id) ==
	    EG_ERR_BAD_SERIAL);
	CHECK(id.kind == EG_CARD_FOREIGNER);
	auth_ctx_free(dflt);
	auth_ctx_free(oid1);
	auth_ctx_free(oid0);
}

static void
test_production(void)
{
	struct auth_ctx *ctx = make_ctx("prod-roots", NULL, AUTH_DEFAULT_LEVEL, NULL);
	struct auth_ctx *lvl0 = make_ctx("prod-roots", NULL, 0, NULL);
	struct eg_identity id;

	printf("production intermediates under the Belgium roots:\n");
	CHECK(ca_chains(ctx, "intermediates/citizenca-202002.pem", 0) == EG_OK);
	CHECK(ca_chains(ctx, "intermediates/foreignerca-202001.pem", 0) == EG_OK);
	CHECK(ca_chains(ctx, "intermediates/citizenca-201709.pem", 0) == EG_OK);
	CHECK(ca_chains(ctx, "intermediates/citizenca-201728.pem", 0) == EG_OK);
	CHECK(ca_chains(ctx, "intermediates/citizenca-201404.pem", 0) == EG_ERR_EXPIRED);
	CHECK(ca_chains(ctx, "intermediates/citizenca-201404.pem", AT_2016) ==
	    EG_ERR_WEAK_CRYPTO);
	CHECK(ca_chains(lvl0, "intermediates/citizenca-201404.pem", AT_2016) == EG_OK);
	/* 255-byte RSA signature under a 2048-bit key: OpenSSL refuses it (README). */
	CHECK(ca_chains(lvl0, "intermediates/foreignerca-201305.pem", AT_2014) == EG_ERR_CHAIN);
	CHECK(vfy(ctx, "specimen/nora-specimen-auth-ec.pem", "specimen/eid-test-ec-citizen-ca.pem",
	    0, &id) == EG_ERR_UNKNOWN_ROOT);
	auth_ctx_free(ctx);
	auth_ctx_free(lvl0);
}

static void
test_inspect(void)
{
	struct eg_identity id;
	unsigned char *der = NULL;
	X509 *x = load("specimen/xyzpeeters-auth-expired.pem");
	int len = x != NULL ? i2d_X509(x, &der) : -1;

	CHECK(len > 0);
	if (len > 0) {
		/* No date check in inspect; the test OID is shown but not accepted. */
		CHECK(auth_inspect_der(der, (size_t)len, &id) == EG_ERR_PROFILE);
		CHECK(strcmp(id.policy_oid, "2.16.56.1.40.40.40.1") == 0);
		CHECK(strcmp(id.nrn, "80000105741") == 0);
	}
	OPENSSL_free(der);
	X509_free(x);
}

static void
cleanup(const char *dir)
{
	char cmdpath[1024];
	const char *argv[] = { "rm", "-rf", dir, NULL };
	pid_t pid;
	int st;

	snprintf(cmdpath, sizeof(cmdpath), "/bin/rm");
	if ((pid = fork()) == 0) {
		execv(cmdpath, (char *const *)argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
}

int
main(void)
{
	const char *env = getenv("EIDGATE_EID_PKI");

	snprintf(pki, sizeof(pki), "%s", env != NULL ? env : "/work/shared/eid-pki");
	snprintf(tmp, sizeof(tmp), "%s/eg-eidpki.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
	    "/tmp");
	if (access(pki, R_OK) != 0 || mkdtemp(tmp) == NULL) {
		printf("eid-pki not found at %s (set EIDGATE_EID_PKI)\n", pki);
		CHECK(0);
		return check_report();
	}
	link_into("ec-roots", ec_roots);
	link_into("ec-ints", ec_ints);
	link_into("old-roots", old_roots);
	link_into("old-ints", old_ints);
	link_into("prod-roots", prod_roots);
	test_ec_specimens();
	test_old_specimens();
	test_production();
	test_inspect();
	cleanup(tmp);
	return check_report();
}
