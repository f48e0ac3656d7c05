/*
 * cli.c - `eidgate cert inspect FILE` and `eidgate cert verify -c CONFIG CERT`.
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

static const char cert_usage[] =
    "usage: eidgate cert inspect FILE\n"
    "       eidgate cert verify -c CONFIG CERT\n"
    "FILE and CERT are PEM (leaf first; further certificates are used as intermediates)\n"
    "or a single DER certificate.\n";

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
		fprintf(stderr, "eidgate: %s: %s\n", file, eg_err(r));
		return 1;
	}
	printf("%-16s%s\n", "profile", "Belgian eID authentication certificate");
	return 0;
}

static int
cmd_verify(const char *config, const char *file)
{
	unsigned char *ders[EG_MAX_CHAIN];
	size_t lens[EG_MAX_CHAIN], n;
	struct eg_config cfg;
	struct auth_ctx *ctx;
	struct eg_identity id;
	char detail[256];
	int r;

	if (config_load(config, &cfg, NULL) != EG_OK || auth_ctx_new(&cfg, &ctx) != EG_OK)
		return 1;
	if (read_chain(file, ders, lens, &n) != 0) {
		fprintf(stderr, "eidgate: %s: no certificate found\n", file);
		auth_ctx_free(ctx);
		return 1;
	}
	r = auth_verify(ctx, (const unsigned char *const *)ders, lens, n, &id, detail,
	    sizeof(detail));
	free_chain(ders, n);
	auth_ctx_free(ctx);
	if (r != EG_OK) {
		printf("refused: %s (%s)%s%s\n", eg_err(r), eg_err_code(r), detail[0] ? ": " : "",
		    detail);
		fprintf(stderr, "eidgate: %s: refused: %s\n", file, eg_err(r));
		return 1;
	}
	print_identity(&id);
	printf("accepted\n");
	return 0;
}

int
auth_cli(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		fputs(cert_usage, stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "inspect") == 0)
		return cmd_inspect(argv[2]);
	if (argc == 5 && strcmp(argv[1], "verify") == 0 && strcmp(argv[2], "-c") == 0)
		return cmd_verify(argv[3], argv[4]);
	fputs(cert_usage, stderr);
	return 2;
}
