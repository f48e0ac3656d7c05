/*
 * pathval.c - X.509 path validation of a client chain and the reason it failed.
 *
 * OpenSSL stops at the first problem in its own order (chain, purpose, security level,
 * CRLs, then signatures and dates), which would call an expired SHA-1 card "weak" and an
 * expired revoked one "revoked". The callback below lets the validation run to the end,
 * records the first error of each kind, and the verdict is then taken in the order of
 * auth.h: trust (rogue/unknown root, broken chain), dates, security level, revocation.
 * Whatever the callback let pass, any recorded error refuses the login.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "auth/internal.h"

/* Kinds of verification error, in the order they decide the verdict. */
enum vcat {
	VC_TRUST, VC_CHAIN, VC_NOTYET, VC_EXPIRED, VC_WEAK, VC_REVOKED, VC_CRL_EXPIRED,
	VC_CRL_INVALID, VC_CRL_MISSING, VC_ARL_MISSING, VC_N
};

struct vrec {
	unsigned mask;
	int err[VC_N], depth[VC_N];
	char name[VC_N][96];            /* CA at the error depth ("" for the leaf) */
};

static enum vcat
classify_crl(int err, int depth)
{
	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
		return VC_REVOKED;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return VC_CRL_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		/* Root CAs' CRLs (ARLs) are checked when present, not required (auth.h). */
		return depth == 0 ? VC_CRL_MISSING : VC_ARL_MISSING;
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
	case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
		return VC_CRL_INVALID;
	default:
		return VC_CHAIN;
	}
}

static enum vcat
classify(int err, int depth)
{
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return VC_TRUST;
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
		return VC_NOTYET;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return VC_EXPIRED;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return VC_WEAK;
	default:
		return classify_crl(err, depth);
	}
}

static int
record_cb(int ok, X509_STORE_CTX *sctx)
{
	struct vrec *v = X509_STORE_CTX_get_app_data(sctx);
	int err = X509_STORE_CTX_get_error(sctx);
	int depth = X509_STORE_CTX_get_error_depth(sctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(sctx);
	enum vcat c;

	if (ok)
		return 1;
	c = classify(err, depth);
	if (!(v->mask & (1u << c))) {
		v->mask |= 1u << c;
		v->err[c] = err;
		v->depth[c] = depth;
		v->name[c][0] = '\0';
		/* The leaf's subject is a person: only CA names go into details. */
		if (depth > 0 && cur != NULL)
			auth_name_short(X509_get_subject_name(cur), v->name[c], sizeof(v->name[c]));
	}
	return 1;       /* go on collecting; the verdict is taken from v afterwards */
}

/* -1: no certificate of list has the name of top's issuer; 1: some have, none signed top
 * (an impostor); 0: one of them did sign top. */
static int
named_but_unsigned(STACK_OF(X509) *list, X509 *top, int self_signed)
{
	const X509_NAME *want = self_signed ? X509_get_subject_name(top) :
	    X509_get_issuer_name(top);
	int i, named = 0;

	for (i = 0; i < sk_X509_num(list); i++) {
		X509 *c = sk_X509_value(list, i);
		if (X509_NAME_cmp(X509_get_subject_name(c), want) != 0)
			continue;
		named = 1;
		if (!self_signed && X509_verify(top, X509_get0_pubkey(c)) == 1)
			return 0;
	}
	ERR_clear_error();
	return named ? 1 : -1;
}

/* The chain did not reach a trust anchor: unknown root, impostor, or a missing link. */
static int
trust_verdict(const struct auth_ctx *ctx, STACK_OF(X509) *chain, char *detail, size_t dlen)
{
	X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
	int self = X509_self_signed(top, 0) == 1;
	char name[96];

	auth_name_short(self ? X509_get_subject_name(top) : X509_get_issuer_name(top), name,
	    sizeof(name));
	if (named_but_unsigned(ctx->roots, top, self) == 1) {
		snprintf(detail, dlen, "'%s' has the name of a trusted root but %s", name,
		    self ? "not its key" : "did not sign the chain");
		return EG_ERR_ROGUE_ROOT;
	}
	if (!self && named_but_unsigned(ctx->intermediates, top, 0) == 1) {
		snprintf(detail, dlen, "'%s' has the name of a configured CA but did not sign "
		    "the chain", name);
		return EG_ERR_ROGUE_CA;
	}
	if (!self && sk_X509_num(chain) == 1) {
		snprintf(detail, dlen, "issuer '%s' not found (intermediate missing)", name);
		return EG_ERR_CHAIN;
	}
	snprintf(detail, dlen, "%s '%s' is not a trusted root", self ? "root" : "issuer", name);
	return EG_ERR_UNKNOWN_ROOT;
}

/* Refusal codes of the kinds that refuse here; a missing leaf CRL is decided later, with
 * OCSP (revocation.c), and a missing ARL never refuses. */
static const int vcat_code[VC_CRL_MISSING] = {
	[VC_TRUST] = EG_ERR_UNKNOWN_ROOT, [VC_CHAIN] = EG_ERR_CHAIN,
	[VC_NOTYET] = EG_ERR_NOT_YET_VALID, [VC_EXPIRED] = EG_ERR_EXPIRED,
	[VC_WEAK] = EG_ERR_WEAK_CRYPTO, [VC_REVOKED] = EG_ERR_REVOKED,
	[VC_CRL_EXPIRED] = EG_ERR_CRL_EXPIRED, [VC_CRL_INVALID] = EG_ERR_CRL_INVALID,
};

static int
verdict(const struct auth_ctx *ctx, X509_STORE_CTX *sctx, const struct vrec *v,
    char *detail, size_t dlen)
{
	int c;

	for (c = 0; c < VC_CRL_MISSING; c++) {
		if (!(v->mask & (1u << c)))
			continue;
		if (c == VC_TRUST)
			return trust_verdict(ctx, X509_STORE_CTX_get0_chain(sctx), detail, dlen);
		if (v->depth[c] == 0)
			snprintf(detail, dlen, "%s", X509_verify_cert_error_string(v->err[c]));
		else
			snprintf(detail, dlen, "%s (CA '%s')",
			    X509_verify_cert_error_string(v->err[c]), v->name[c]);
		return vcat_code[c];
	}
	return EG_OK;
}

static void
setup(const struct auth_ctx *ctx, X509_STORE_CTX *sctx, struct vrec *v, int64_t at,
    int purpose)
{
	X509_STORE_CTX_set_app_data(sctx, v);
	X509_STORE_CTX_set_verify_cb(sctx, record_cb);
	X509_STORE_CTX_set_purpose(sctx, purpose);
	X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(sctx), ctx->auth_level);
	if (at != 0)
		X509_STORE_CTX_set_time(sctx, 0, (time_t)at);
	if (crl_state_configured(ctx->crl))
		X509_STORE_CTX_set_flags(sctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
}

/* Hands the verified chain and the leaf's issuer to the revocation step. */
static int
take_chain(X509_STORE_CTX *sctx, const struct vrec *v, int crl_on, struct path_result *res)
{
	res->chain = X509_STORE_CTX_get1_chain(sctx);
	if (res->chain == NULL || sk_X509_num(res->chain) < 2)
		return EG_ERR_CHAIN;
	res->issuer = sk_X509_value(res->chain, 1);
	X509_up_ref(res->issuer);
	res->crl = !crl_on ? CRL_LEAF_NONE :
	    (v->mask & (1u << VC_CRL_MISSING)) ? CRL_LEAF_MISSING : CRL_LEAF_GOOD;
	return EG_OK;
}

int
auth_path_verify(const struct auth_ctx *ctx, X509_STORE *store, X509 *leaf,
    STACK_OF(X509) *untrusted, int64_t at, int purpose, struct path_result *res,
    char *detail, size_t detaillen)
{
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	struct vrec v;
	char scratch[8];
	int r = EG_ERR_NOMEM, ok;

	if (detail == NULL || detaillen == 0) {
		detail = scratch;
		detaillen = sizeof(scratch);
	}
	memset(&v, 0, sizeof(v));
	if (sctx == NULL || X509_STORE_CTX_init(sctx, store, leaf, untrusted) != 1)
		goto out;
	setup(ctx, sctx, &v, at, purpose);
	ok = X509_verify_cert(sctx);
	r = verdict(ctx, sctx, &v, detail, detaillen);
	if (r == EG_OK && ok != 1) {
		/* Failed without telling the callback: never an acceptance. */
		snprintf(detail, detaillen, "verification failed: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
		r = EG_ERR_CHAIN;
	}
	if (r == EG_OK && res != NULL)
		r = take_chain(sctx, &v, crl_state_configured(ctx->crl), res);
out:
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return r;
}

void
path_result_clear(struct path_result *res)
{
	if (res == NULL)
		return;
	X509_free(res->issuer);
	sk_X509_pop_free(res->chain, X509_free);
	res->issuer = NULL;
	res->chain = NULL;
}
