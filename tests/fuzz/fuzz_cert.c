/*
 * fuzz_cert.c - the certificate profile checks, DER in: auth_inspect_der() (auth/profile.c)
 * and, when the public specimen certificates of the Belgian eID test hierarchies are at
 * hand, a login's chain through auth_verify_at() (auth/chain.c, pathval.c, revocation.c)
 * against their roots, as of a date inside the leaf's validity (else a fixed one), with
 * OCSP off: no network, the same verdict on every run.
 *
 * Input: the certificates a client sends, DER, separated by the 4 bytes "EGCH" (the
 * leaf first; one certificate alone is the common case).
 * The roots: $EIDGATE_EID_PKI/specimen, else ../shared/eid-pki/specimen, the directory
 * tests/run.sh uses too; absent, only auth_inspect_der is fuzzed (said once on stderr).
 * Invariants: an accepted profile has a national number with valid check digits, a card
 * kind, a 64-digit fingerprint and a first policy OID; a chain that verifies has a
 * leaf whose profile passes, with the same identity.
 */
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "fuzz.h"
#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/util.h"

#define SEP "EGCH"
#define AT 1748736000           /* 2025-06-01: inside the EC specimens' validity */

static struct auth_ctx *ctx;

static const char *const roots[] = { "eid-test-root-ca.pem", "eid-test-ec-root-ca.pem", NULL };
static const char *const ints[] = { "eid-test-citizen-ca.pem", "eid-test-foreigner-ca.pem",
	"eid-test-ec-citizen-ca.pem", NULL };

/* Links the named files of pki into dir/sub; -1 when one is missing. */
static int
link_into(const char *pki, const char *dir, const char *sub, const char *const *files,
    char *out, size_t outlen)
{
	char src[1024], dst[1200];

	snprintf(out, outlen, "%s/%s", dir, sub);
	if (mkdir(out, 0700) != 0)
		return -1;
	for (; *files != NULL; files++) {
		snprintf(src, sizeof(src), "%s/%s", pki, *files);
		snprintf(dst, sizeof(dst), "%s/%s", out, *files);
		if (access(src, R_OK) != 0 || symlink(src, dst) != 0)
			return -1;
	}
	return 0;
}

static void
unlink_all(const char *d, const char *const *files)
{
	char p[1200];

	for (; *files != NULL; files++) {
		snprintf(p, sizeof(p), "%s/%s", d, *files);
		unlink(p);
	}
	rmdir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *env = getenv("EIDGATE_EID_PKI");
	char given[512], pki[PATH_MAX], dir[] = "/tmp/eidgate-fuzz-pki-XXXXXX";
	struct eg_config cfg;
	struct auth_options o;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(given, sizeof(given), "%s/specimen", env != NULL ? env : "../shared/eid-pki");
	if (realpath(given, pki) == NULL || mkdtemp(dir) == NULL) {
		fprintf(stderr, "fuzz_cert: no specimen PKI at %s: auth_verify not fuzzed\n",
		    given);
		return 0;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (link_into(pki, dir, "roots", roots, cfg.trust_anchors,
	    sizeof(cfg.trust_anchors)) == 0 &&
	    link_into(pki, dir, "ints", ints, cfg.intermediates,
	    sizeof(cfg.intermediates)) == 0) {
		cfg.ocsp = CFG_OCSP_OFF;
		cfg.ocsp_timeout_ms = 2000;
		auth_options_default(&o);
		if (auth_ctx_new_opts(&cfg, &o, &ctx) != EG_OK)
			ctx = NULL;
	}
	/* The context holds the certificates now: nothing is read from the files again. */
	unlink_all(cfg.trust_anchors, roots);
	unlink_all(cfg.intermediates, ints);
	rmdir(dir);
	if (ctx == NULL)
		fprintf(stderr, "fuzz_cert: specimen PKI at %s unusable: auth_verify not "
		    "fuzzed\n", pki);
	return 0;
}

static void
check_identity(const struct eg_identity *id)
{
	FUZZ_ASSERT(FUZZ_TERMINATED(id->nrn) && auth_nrn_check(id->nrn) == EG_OK);
	FUZZ_ASSERT(id->kind == EG_CARD_CITIZEN || id->kind == EG_CARD_FOREIGNER);
	FUZZ_ASSERT(strlen(id->fingerprint) == 64 && eg_all_hex(id->fingerprint));
	FUZZ_ASSERT(FUZZ_TERMINATED(id->name) && FUZZ_TERMINATED(id->given) &&
	    FUZZ_TERMINATED(id->surname) && FUZZ_TERMINATED(id->key_type) &&
	    FUZZ_TERMINATED(id->policy_oid) && id->policy_oid[0] != '\0');
	FUZZ_ASSERT(strstr(id->name, "(Signature)") == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *ders[EG_MAX_CHAIN + 1];
	size_t lens[EG_MAX_CHAIN + 1], n = 0, off = 0, i;
	struct eg_identity id, vid;
	char detail[512];
	int ri, rv;

	while (n < EG_MAX_CHAIN + 1) {
		const uint8_t *sep = size - off >= 4 ? memmem(data + off, size - off, SEP, 4) :
		    NULL;
		size_t len = sep != NULL ? (size_t)(sep - data) - off : size - off;
		ders[n] = fuzz_dup(data + off, len);
		lens[n++] = len;
		if (sep == NULL)
			break;
		off += len + 4;
	}
	ri = auth_inspect_der(ders[0], lens[0], &id);
	if (ri == EG_OK)
		check_identity(&id);
	if (ctx != NULL) {
		/* Within the leaf's own dates when it has readable ones, so that old
		 * specimens reach the path checks too; the verdict stays the same on
		 * every run. */
		int64_t at = ri != EG_ERR_CERT_PARSE && id.not_before > 0 &&
		    id.not_after > id.not_before ? id.not_before / 2 + id.not_after / 2 : AT;
		rv = auth_verify_at(ctx, (const unsigned char *const *)ders, lens, n, at, &vid,
		    detail, sizeof(detail));
		FUZZ_ASSERT(FUZZ_TERMINATED(detail));
		if (rv == EG_OK) {
			FUZZ_ASSERT(ri == EG_OK);
			check_identity(&vid);
			FUZZ_ASSERT(strcmp(id.nrn, vid.nrn) == 0 &&
			    strcmp(id.fingerprint, vid.fingerprint) == 0);
		}
	}
	for (i = 0; i < n; i++)
		free(ders[i]);
	/* OpenSSL's error queue keeps what a refused certificate or signature left (the
	 * gateway reads it only through SSL_get_error, after ERR_clear_error: conn.c); its
	 * allocations would make libFuzzer run a full leak scan after every such input. */
	ERR_clear_error();
	return 0;
}
