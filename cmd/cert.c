/*
 * cert.c - `eidgate cert inspect FILE` and `eidgate cert verify -c CONFIG CERT`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char cert_usage[] =
    "usage: eidgate cert inspect FILE\n"
    "       eidgate cert verify -c CONFIG [--at TIME] [--auth-level N] [--policy-oid OID]...\n"
    "                           CERT\n"
    "FILE and CERT are PEM (leaf first; further certificates are used as intermediates)\n"
    "or a single DER certificate.\n"
    "  --at TIME         verify as of TIME (YYYY-MM-DD[THH:MM[:SS]][Z], UTC); CRLs are\n"
    "                    checked at that time, OCSP is not asked\n"
    "  --auth-level N    OpenSSL security level (default 1: no SHA-1, RSA >= 1024)\n"
    "  --policy-oid OID  also accept this certificate policy (test hierarchies); repeatable\n"
    "Exit status: 0 accepted, 1 refused or failed, 2 bad usage. A refusal prints\n"
    "\"refused: TEXT (reason-code): detail\".\n";

/* Reads up to EG_MAX_CHAIN certificates from a PEM file, or one DER certificate. */
static int
read_chain(const char *file, unsigned char **ders, size_t *lens, size_t *n)
{
	FILE *f = fopen(file, "rb");
	X509 *x;
	int len;

	*n = 0;
	if (f == NULL)
		return -1;
	while (*n < EG_MAX_CHAIN && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		ders[*n] = NULL;
		len = i2d_X509(x, &ders[*n]);
		X509_free(x);
		if (len <= 0)
			break;
		lens[(*n)++] = (size_t)len;
	}
	if (*n == 0) {
		rewind(f);
		if ((x = d2i_X509_fp(f, NULL)) != NULL) {
			ders[0] = NULL;
			if ((len = i2d_X509(x, &ders[0])) > 0)
				lens[(*n)++] = (size_t)len;
			X509_free(x);
		}
	}
	fclose(f);
	return *n > 0 ? 0 : -1;
}

static void
print_time(const char *label, int64_t t)
{
	char buf[40];

	eg_format_time(t * 1000000, buf, sizeof(buf));
	printf("%-16s%s\n", label, buf);
}

static void
print_identity(const struct eg_identity *id)
{
	printf("%-16s%s\n", "national number", id->nrn[0] ? id->nrn : "-");
	printf("%-16s%s\n", "name", id->name);
	printf("%-16s%s\n", "given names", id->given);
	printf("%-16s%s\n", "surname", id->surname);
	printf("%-16s%s\n", "card", id->kind == EG_CARD_CITIZEN ? "citizen" :
	    id->kind == EG_CARD_FOREIGNER ? "foreigner" : "unknown");
	printf("%-16s%s\n", "key", id->key_type);
	printf("%-16s%s\n", "policy", id->policy_oid[0] ? id->policy_oid : "-");
	print_time("not before", id->not_before);
	print_time("not after", id->not_after);
	printf("%-16s%s\n", "sha256", id->fingerprint);
}

static void
free_chain(unsigned char **ders, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		OPENSSL_free(ders[i]);
}

static int
cmd_inspect(const char *file)
{
	unsigned char *ders[EG_MAX_CHAIN];
	size_t lens[EG_MAX_CHAIN], n;
	struct eg_identity id;
	int r;

	if (read_chain(file, ders, lens, &n) != 0) {
		fprintf(stderr, "eidgate: %s: no certificate found\n", file);
		return 1;
	}
	r = auth_inspect_der(ders[0], lens[0], &id);
	free_chain(ders, n);
	print_identity(&id);
	if (r != EG_OK) {
		printf("%-16s%s (%s)\n", "profile", eg_err(r), eg_err_code(r));
		printf("%-16s%s\n", "reason", eg_err_code(r));
		fprintf(stderr, "eidgate: %s: %s\n", file, eg_err(r));
		return 1;
	}
	printf("%-16s%s\n", "profile", "Belgian eID authentication certificate");
	return 0;
}

struct verify_args {
	const char *config, *file;
	int64_t at;                     /* seconds since the epoch, 0 = now */
	struct auth_options opt;
	const char *oids[EG_MAX_EXTRA_OIDS + 1];
	int n_oids;
};

static void
print_refusal(int r, const char *detail)
{
	printf("%-16s%s\n", "reason", eg_err_code(r));
	printf("refused: %s (%s)%s%s\n", eg_err(r), eg_err_code(r), detail[0] ? ": " : "",
	    detail);
}

static int
cmd_verify(const struct verify_args *va)
{
	unsigned char *ders[EG_MAX_CHAIN];
	size_t lens[EG_MAX_CHAIN], n;
	struct eg_config cfg;
	struct auth_ctx *ctx;
	struct eg_identity id;
	char detail[512];
	int r;

	if (config_load(va->config, &cfg, NULL) != EG_OK ||
	    auth_ctx_new_opts(&cfg, &va->opt, &ctx) != EG_OK)
		return 1;
	if (read_chain(va->file, ders, lens, &n) != 0) {
		fprintf(stderr, "eidgate: %s: no certificate found\n", va->file);
		auth_ctx_free(ctx);
		return 1;
	}
	r = auth_verify_at(ctx, (const unsigned char *const *)ders, lens, n, va->at, &id,
	    detail, sizeof(detail));
	free_chain(ders, n);
	auth_ctx_free(ctx);
	print_identity(&id);
	if (r != EG_OK) {
		print_refusal(r, detail);
		fprintf(stderr, "eidgate: %s: refused: %s (%s)\n", va->file, eg_err(r),
		    eg_err_code(r));
		return 1;
	}
	printf("%-16s%s\n", "revocation", detail[0] ? detail : "-");
	printf("accepted\n");
	return 0;
}

/* One option of `cert verify` at argv[*i]; returns 0, or 2 for bad usage. */
static int
verify_option(int argc, char **argv, int *i, struct verify_args *va)
{
	const char *o = argv[*i];
	long long lvl;
	int64_t us;

	if (*i + 1 >= argc)
		return 2;
	(*i)++;
	if (strcmp(o, "-c") == 0) {
		va->config = argv[*i];
	} else if (strcmp(o, "--at") == 0) {
		if (eg_parse_time(argv[*i], &us) != EG_OK || us <= 0) {
			fprintf(stderr, "eidgate: --at %s: not a time (YYYY-MM-DD[THH:MM[:SS]])\n",
			    argv[*i]);
			return 2;
		}
		va->at = us / 1000000;
	} else if (strcmp(o, "--auth-level") == 0) {
		if (eg_strtonum(argv[*i], 0, 5, &lvl) != EG_OK) {
			fprintf(stderr, "eidgate: --auth-level %s: not 0..5\n", argv[*i]);
			return 2;
		}
		va->opt.auth_level = (int)lvl;
	} else if (strcmp(o, "--policy-oid") == 0 && va->n_oids < EG_MAX_EXTRA_OIDS) {
		va->oids[va->n_oids++] = argv[*i];
	} else {
		return 2;
	}
	return 0;
}

static int
parse_verify(int argc, char **argv, struct verify_args *va)
{
	int i;

	memset(va, 0, sizeof(*va));
	auth_options_default(&va->opt);
	va->opt.extra_policy_oids = va->oids;
	for (i = 2; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if (verify_option(argc, argv, &i, va) != 0)
				return 2;
		} else if (va->file == NULL) {
			va->file = argv[i];
		} else {
			return 2;
		}
	}
	return va->config != NULL && va->file != NULL ? 0 : 2;
}

int
cmd_cert(int argc, char **argv)
{
	struct verify_args va;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		fputs(cert_usage, stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "inspect") == 0)
		return cmd_inspect(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0 && parse_verify(argc, argv, &va) == 0)
		return cmd_verify(&va);
	fputs(cert_usage, stderr);
	return 2;
}
