/*
 * chain.c - the auth context (roots, intermediates, CRL store, OCSP cache) and the login
 * verification that strings profile, path and revocation checks together.
 *
 * libmicrohttpd (GnuTLS) never verifies the client certificate (LIBNOTES.md): a chain
 * from any CA completes the handshake, so this module is where trust is decided.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
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

/* Adds every certificate of a PEM file to sk. Returns the number added, -1 on error. */
static int
load_pem_certs(const char *file, STACK_OF(X509) *sk)
{
	FILE *f = fopen(file, "r");
	X509 *x;
	int n = 0;

	if (f == NULL) {
		log_warn("cannot open %s", file);
		return -1;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			fclose(f);
			return -1;
		}
		n++;
	}
	ERR_clear_error();
	fclose(f);
	return n;
}

/* Loads every non-hidden file of dir into sk. Returns the number of certificates. */
static int
load_cert_dir(const char *dir, STACK_OF(X509) *sk)
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
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
		    (n = load_pem_certs(path, sk)) < 0) {
			log_warnx("%s/%s: cannot load certificates", dir, de->d_name);
			closedir(d);
			return -1;
		}
		total += n;
	}
	closedir(d);
	return total;
}

void
auth_options_default(struct auth_options *o)
{
	o->auth_level = AUTH_DEFAULT_LEVEL;
	o->extra_policy_oids = NULL;
}

/* Copies the extra policy OIDs, checking that each is a dotted OID OpenSSL can parse. */
static int
set_extra_oids(struct auth_ctx *ctx, const char *const *oids)
{
	ASN1_OBJECT *obj;

	for (; oids != NULL && *oids != NULL; oids++) {
		if (ctx->n_extra_oids == EG_MAX_EXTRA_OIDS) {
			log_warnx("more than %d extra policy OIDs", EG_MAX_EXTRA_OIDS);
			return -1;
		}
		if ((obj = OBJ_txt2obj(*oids, 1)) == NULL ||
		    eg_strlcpy(ctx->extra_oids[ctx->n_extra_oids], *oids, 64) >= 64) {
			ASN1_OBJECT_free(obj);
			ERR_clear_error();
			log_warnx("bad policy OID '%s'", *oids);
			return -1;
		}
		ASN1_OBJECT_free(obj);
		ctx->n_extra_oids++;
	}
	return 0;
}

static int
load_anchors(struct auth_ctx *ctx, const struct eg_config *cfg)
{
	if (load_cert_dir(cfg->trust_anchors, ctx->roots) <= 0) {
		log_warnx("[eid] trust_anchors %s: no root certificates", cfg->trust_anchors);
		return -1;
	}
	if (cfg->intermediates[0] != '\0' &&
	    load_cert_dir(cfg->intermediates, ctx->intermediates) < 0) {
		log_warnx("[eid] intermediates %s: cannot load", cfg->intermediates);
		return -1;
	}
	return 0;
}

int
auth_ctx_new_opts(const struct eg_config *cfg, const struct auth_options *opt,
    struct auth_ctx **out)
{
	struct auth_ctx *ctx = calloc(1, sizeof(*ctx));

	*out = NULL;
	if (ctx == NULL)
		return EG_ERR_NOMEM;
	ctx->roots = sk_X509_new_null();
	ctx->intermediates = sk_X509_new_null();
	ctx->ocsp_mode = cfg->ocsp;
	ctx->ocsp_timeout_ms = cfg->ocsp_timeout_ms;
	ctx->ocsp_cache_ms = cfg->ocsp_cache_ms;
	ctx->auth_level = opt->auth_level;
	if (ctx->roots == NULL || ctx->intermediates == NULL || load_anchors(ctx, cfg) != 0 ||
	    set_extra_oids(ctx, opt->extra_policy_oids) != 0)
		goto fail;
	if (crl_state_new(cfg->crl_dir, ctx->roots, &ctx->crl) != EG_OK) {
		log_warnx("[eid] crl %s: cannot load", cfg->crl_dir);
		goto fail;
	}
	if (ocsp_cache_new(EG_MAX_OCSP_CACHE, &ctx->ocsp) != EG_OK)
		goto fail;
	*out = ctx;
	return EG_OK;
fail:
	auth_ctx_free(ctx);
	return EG_ERR_CONFIG;
}

int
auth_ctx_new(const struct eg_config *cfg, struct auth_ctx **out)
{
	struct auth_options o;

	auth_options_default(&o);
	return auth_ctx_new_opts(cfg, &o, out);
}

void
auth_ctx_free(struct auth_ctx *ctx)
{
	if (ctx == NULL)
		return;
	crl_state_free(ctx->crl);
	ocsp_cache_free(ctx->ocsp);
	sk_X509_pop_free(ctx->roots, X509_free);
	sk_X509_pop_free(ctx->intermediates, X509_free);
	free(ctx);
}

/* Decodes the client's DER certificates; each must be a single exact DER object. */
static int
decode_chain(const unsigned char *const *ders, const size_t *lens, size_t n, X509 **leaf,
    STACK_OF(X509) *sent)
{
	size_t i;

	if (n > EG_MAX_CHAIN)
		return EG_ERR_CHAIN;
	for (i = 0; i < n; i++) {
		const unsigned char *p = ders[i];
		X509 *x = d2i_X509(NULL, &p, (long)lens[i]);
		if (x == NULL || p != ders[i] + lens[i]) {
			X509_free(x);
			ERR_clear_error();
			return EG_ERR_CERT_PARSE;
		}
		if (i == 0) {
			*leaf = x;
		} else if (sk_X509_push(sent, x) <= 0) {
			X509_free(x);
			return EG_ERR_NOMEM;
		}
	}
	return EG_OK;
}

/* Client-sent and configured intermediates in one borrowed-pointer stack. */
static STACK_OF(X509) *
untrusted_set(const struct auth_ctx *ctx, STACK_OF(X509) *sent)
{
	STACK_OF(X509) *u = sk_X509_dup(sent);
	int i;

	for (i = 0; u != NULL && i < sk_X509_num(ctx->intermediates); i++)
		if (sk_X509_push(u, sk_X509_value(ctx->intermediates, i)) <= 0) {
			sk_X509_free(u);
			return NULL;
		}
	return u;
}

/* Path and revocation checks of a leaf whose profile passed. */
static int
verify_trust(const struct auth_ctx *ctx, X509 *leaf, STACK_OF(X509) *sent, int64_t at,
    char *evidence, char *detail, size_t detaillen)
{
	STACK_OF(X509) *untrusted = untrusted_set(ctx, sent);
	X509_STORE *store = crl_state_get(ctx->crl);
	struct path_result pr = { NULL, NULL, CRL_LEAF_NONE };
	int r = EG_ERR_NOMEM;

	if (untrusted != NULL && store != NULL) {
		r = auth_path_verify(ctx, store, leaf, untrusted, at, X509_PURPOSE_SSL_CLIENT, &pr,
		    detail, detaillen);
		if (r == EG_OK)
			r = auth_revocation(ctx, store, leaf, &pr, at, evidence, detail,
			    detaillen);
	}
	path_result_clear(&pr);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return r;
}

int
auth_verify_at(const struct auth_ctx *ctx, const unsigned char *const *ders,
    const size_t *lens, size_t n, int64_t at, struct eg_identity *id, char *detail,
    size_t detaillen)
{
	STACK_OF(X509) *sent;
	X509 *leaf = NULL;
	int r;

	memset(id, 0, sizeof(*id));
	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';
	if (n == 0)
		return EG_ERR_NO_CERT;
	if ((sent = sk_X509_new_null()) == NULL)
		return EG_ERR_NOMEM;
	r = decode_chain(ders, lens, n, &leaf, sent);
	if (r == EG_OK)
		r = auth_profile(leaf, ctx->extra_oids, ctx->n_extra_oids, at, id);
	if (r == EG_OK)
		r = verify_trust(ctx, leaf, sent, at, id->revocation, detail, detaillen);
	X509_free(leaf);
	sk_X509_pop_free(sent, X509_free);
	return r;
}

int
auth_verify(const struct auth_ctx *ctx, const unsigned char *const *ders, const size_t *lens,
    size_t n, struct eg_identity *id, char *detail, size_t detaillen)
{
	return auth_verify_at(ctx, ders, lens, n, 0, id, detail, detaillen);
}

/* "CN" or "CN serialNumber" for CA names in details and logs. An 11-digit serialNumber is
 * a national number (personal data) and is left out. */
void
auth_name_short(const X509_NAME *name, char *out, size_t outlen)
{
	char cn[128] = "?", sn[64] = "";
	size_t i;

	X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, cn, sizeof(cn));
	X509_NAME_get_text_by_NID((X509_NAME *)name, NID_serialNumber, sn, sizeof(sn));
	ERR_clear_error();
	if (sn[0] != '\0' && strlen(sn) != EG_NRN_LEN)
		snprintf(out, outlen, "%s %s", cn, sn);
	else
		snprintf(out, outlen, "%s", cn);
	/* Names of untrusted CAs end up in log lines: no control characters. */
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

uint64_t
auth_revocation_generation(const struct auth_ctx *ctx)
{
	return crl_state_generation(ctx->crl);
}

void
auth_stats(const struct auth_ctx *ctx, struct auth_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (ctx->ocsp != NULL)
		ocsp_cache_stats(ctx->ocsp, &st->ocsp_hits, &st->ocsp_misses, &st->ocsp_errors);
	crl_state_times(ctx->crl, &st->crl_loaded, &st->crl_next_update);
}
