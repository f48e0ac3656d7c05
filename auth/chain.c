/*
 * chain.c - path validation of client certificates against the configured Belgian eID
 * roots, with configured and client-sent intermediates, and CRLs.
 *
 * libmicrohttpd (GnuTLS) never verifies the client certificate (LIBNOTES.md): a chain
 * from any CA completes the handshake, so this file is where trust is decided.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "auth/internal.h"

struct auth_ctx {
	X509_STORE *store;              /* roots (+ CRLs when configured) */
	STACK_OF(X509) *intermediates;  /* configured, untrusted */
	int have_crls;
};

/* Adds every certificate of a PEM file: to the store (roots) or the stack. */
static int
load_pem_certs(const char *file, X509_STORE *store, STACK_OF(X509) *sk)
{
	FILE *f = fopen(file, "r");
	X509 *x;
	int n = 0;

	if (f == NULL) {
		log_warn("cannot open %s", file);
		return -1;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		int ok = store != NULL ? X509_STORE_add_cert(store, x) : sk_X509_push(sk, x) > 0;
		if (store != NULL || !ok)
			X509_free(x);
		if (!ok) {
			fclose(f);
			return -1;
		}
		n++;
	}
	ERR_clear_error();
	fclose(f);
	return n;
}

static int
load_pem_crls(const char *file, X509_STORE *store)
{
	FILE *f = fopen(file, "r");
	X509_CRL *crl;
	int n = 0;

	if (f == NULL)
		return -1;
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			fclose(f);
			return -1;
		}
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	fclose(f);
	return n;
}

enum load_kind { LOAD_ROOTS, LOAD_INTERMEDIATES, LOAD_CRLS };

/* Loads every regular *.pem / *.crt / *.crl file of dir. Returns the number of objects. */
static int
load_dir(struct auth_ctx *ctx, const char *dir, enum load_kind kind)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[2048];
	int total = 0, n;

	if (d == NULL) {
		log_warn("cannot open directory %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (kind == LOAD_CRLS)
			n = load_pem_crls(path, ctx->store);
		else
			n = load_pem_certs(path, kind == LOAD_ROOTS ? ctx->store : NULL,
			    ctx->intermediates);
		if (n < 0) {
			log_warnx("%s: cannot load", path);
			closedir(d);
			return -1;
		}
		total += n;
	}
	closedir(d);
	return total;
}

int
auth_ctx_new(const struct eg_config *cfg, struct auth_ctx **out)
{
	struct auth_ctx *ctx = calloc(1, sizeof(*ctx));
	int n;

	*out = NULL;
	if (ctx == NULL)
		return EG_ERR_NOMEM;
	ctx->store = X509_STORE_new();
	ctx->intermediates = sk_X509_new_null();
	if (ctx->store == NULL || ctx->intermediates == NULL)
		goto fail;
	if ((n = load_dir(ctx, cfg->trust_anchors, LOAD_ROOTS)) <= 0) {
		log_warnx("[eid] trust_anchors %s: no root certificates", cfg->trust_anchors);
		goto fail;
	}
	if (cfg->intermediates[0] != '\0' &&
	    load_dir(ctx, cfg->intermediates, LOAD_INTERMEDIATES) < 0)
		goto fail;
	if (cfg->crl_dir[0] != '\0') {
		if ((n = load_dir(ctx, cfg->crl_dir, LOAD_CRLS)) < 0)
			goto fail;
		ctx->have_crls = n > 0;
	}
	*out = ctx;
	return EG_OK;
fail:
	auth_ctx_free(ctx);
	return EG_ERR_CONFIG;
}

void
auth_ctx_free(struct auth_ctx *ctx)
{
	if (ctx == NULL)
		return;
	X509_STORE_free(ctx->store);
	sk_X509_pop_free(ctx->intermediates, X509_free);
	free(ctx);
}

static int
map_verify_error(int verr)
{
	switch (verr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return EG_ERR_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return EG_ERR_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return EG_ERR_REVOKED;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return EG_ERR_CRL_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return EG_ERR_OCSP_UNAVAILABLE;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return EG_ERR_UNKNOWN_ROOT;
	default:
		return EG_ERR_CHAIN;
	}
}

/* Decodes the client's DER certificates; the leaf must be a single exact DER object. */
static int
decode_chain(const unsigned char *const *ders, const size_t *lens, size_t n, X509 **leaf,
    STACK_OF(X509) *untrusted)
{
	size_t i;

	for (i = 0; i < n && i < EG_MAX_CHAIN; i++) {
		const unsigned char *p = ders[i];
		X509 *x = d2i_X509(NULL, &p, (long)lens[i]);
		if (x == NULL || p != ders[i] + lens[i]) {
			X509_free(x);
			return EG_ERR_CERT_PARSE;
		}
		if (i == 0) {
			*leaf = x;
		} else if (sk_X509_push(untrusted, x) <= 0) {
			X509_free(x);
			return EG_ERR_NOMEM;
		}
	}
	return n > EG_MAX_CHAIN ? EG_ERR_CHAIN : EG_OK;
}

static int
verify_path(const struct auth_ctx *ctx, X509 *leaf, STACK_OF(X509) *untrusted,
    char *detail, size_t detaillen)
{
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	int i, r = EG_ERR_NOMEM, verr;

	if (sctx == NULL)
		return EG_ERR_NOMEM;
	for (i = 0; i < sk_X509_num(ctx->intermediates); i++)
		if (sk_X509_push(untrusted, X509_dup(sk_X509_value(ctx->intermediates, i))) <= 0)
			goto out;
	if (X509_STORE_CTX_init(sctx, ctx->store, leaf, untrusted) != 1)
		goto out;
	X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SSL_CLIENT);
	if (ctx->have_crls)
		X509_STORE_CTX_set_flags(sctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	if (X509_verify_cert(sctx) == 1) {
		r = EG_OK;
		goto out;
	}
	verr = X509_STORE_CTX_get_error(sctx);
	r = map_verify_error(verr);
	if (detail != NULL)
		snprintf(detail, detaillen, "%s (depth %d)", X509_verify_cert_error_string(verr),
		    X509_STORE_CTX_get_error_depth(sctx));
out:
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return r;
}

int
auth_verify(const struct auth_ctx *ctx, const unsigned char *const *ders, const size_t *lens,
    size_t n, struct eg_identity *id, char *detail, size_t detaillen)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *leaf = NULL;
	int r;

	memset(id, 0, sizeof(*id));
	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';
	if (n == 0) {
		sk_X509_free(untrusted);
		return EG_ERR_NO_CERT;
	}
	if (untrusted == NULL)
		return EG_ERR_NOMEM;
	r = decode_chain(ders, lens, n, &leaf, untrusted);
	if (r == EG_OK)
		r = auth_profile(leaf, id);
	if (r == EG_OK)
		r = verify_path(ctx, leaf, untrusted, detail, detaillen);
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	return r;
}
