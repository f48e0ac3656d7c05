/*
 * revocation.c - the decision of [eid] ocsp = off | prefer | require over what the CRLs
 * (checked during path validation, pathval.c) and the OCSP responder (ocsp.c) said.
 *
 * A revoked, expired-CRL or invalid-CRL result has already refused the login before this
 * runs. What is left: the leaf's CRL was good, missing, or not configured; and OCSP.
 *   off:     CRL only. A missing CRL of the leaf's issuer refuses ("crl-missing"): the
 *            operator chose CRLs as the only source and this CA is not covered.
 *   prefer:  an OCSP answer decides (good / revoked / unknown). No usable answer: the CRL
 *            result stands, or - without a CRL - the login is accepted unchecked; either
 *            way with a warning on the log.
 *   require: an OCSP answer decides; none refuses ("ocsp-unavailable" or
 *            "ocsp-invalid-response"). A good CRL does not replace it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "auth/internal.h"

void
auth_asn1_time_iso(const ASN1_TIME *t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		eg_strlcpy(out, "?", outlen);
}

/* The CRL of the leaf's issuer that the path check used: "crl:<CN>#<crlNumber>
 * <thisUpdate>". Several CRLs of one issuer may be loaded; the newest counts, as it is
 * the one OpenSSL prefers. */
static void
crl_evidence(X509_STORE *store, const struct path_result *pr, char *out)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	const X509_NAME *issuer = pr->issuer != NULL ? X509_get_subject_name(pr->issuer) : NULL;
	X509_CRL *best = NULL;
	ASN1_INTEGER *num;
	char name[96], when[32], *dec = NULL;
	BIGNUM *bn;
	int i;

	snprintf(out, EG_MAX_REVOCATION, "none");
	if (pr->crl != CRL_LEAF_GOOD || issuer == NULL)
		return;
	for (i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
		X509_CRL *c = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		if (c == NULL || X509_NAME_cmp(X509_CRL_get_issuer(c), issuer) != 0)
			continue;
		if (best == NULL || ASN1_TIME_compare(X509_CRL_get0_lastUpdate(c),
		    X509_CRL_get0_lastUpdate(best)) > 0)
			best = c;
	}
	if (best == NULL)
		return;
	num = X509_CRL_get_ext_d2i(best, NID_crl_number, NULL, NULL);
	if (num != NULL && (bn = ASN1_INTEGER_to_BN(num, NULL)) != NULL) {
		dec = BN_bn2dec(bn);
		BN_free(bn);
	}
	ASN1_INTEGER_free(num);
	auth_name_short(issuer, name, sizeof(name));
	auth_asn1_time_iso(X509_CRL_get0_lastUpdate(best), when, sizeof(when));
	snprintf(out, EG_MAX_REVOCATION, "crl:%.60s#%s %s", name, dec != NULL ? dec : "-",
	    when);
	OPENSSL_free(dec);
}

static int
crl_only(const struct path_result *pr, int64_t at, char *detail, size_t dlen)
{
	char name[96];

	if (pr->crl == CRL_LEAF_MISSING) {
		auth_name_short(X509_get_subject_name(pr->issuer), name, sizeof(name));
		snprintf(detail, dlen, "no CRL of '%s' in the CRL directory", name);
		return EG_ERR_CRL_MISSING;
	}
	snprintf(detail, dlen, "%s%s", pr->crl == CRL_LEAF_GOOD ? "CRL" :
	    "no revocation check configured", at != 0 ? " (OCSP skipped: time override)" : "");
	return EG_OK;
}

/* prefer: the responder gave no usable answer; say so and fall back. */
static int
fall_back(const struct path_result *pr, int err, char *detail, size_t dlen)
{
	char name[96], why[200];
	const char *to = pr->crl == CRL_LEAF_GOOD ? "the CRL" : "no revocation check";

	auth_name_short(X509_get_subject_name(pr->issuer), name, sizeof(name));
	snprintf(why, sizeof(why), "%s", detail);
	log_warnx("OCSP for a certificate of '%s' failed (%s: %s); ocsp = prefer: falling "
	    "back to %s", name, eg_err_code(err), why, to);
	snprintf(detail, dlen, "OCSP failed (%s), fell back to %s", why, to);
	return EG_OK;
}

int
auth_revocation(const struct auth_ctx *ctx, X509_STORE *store, X509 *leaf,
    const struct path_result *pr, int64_t at, char *evidence, char *detail,
    size_t detaillen)
{
	char scratch[256], answer[EG_MAX_REVOCATION] = "";
	int r, cached;

	if (detail == NULL || detaillen == 0) {
		detail = scratch;
		detaillen = sizeof(scratch);
	}
	detail[0] = '\0';
	crl_evidence(store, pr, evidence);
	if (ctx->ocsp_mode == CFG_OCSP_OFF || at != 0)
		return crl_only(pr, at, detail, detaillen);
	r = auth_ocsp_status(ctx, store, leaf, pr, &cached, answer, detail, detaillen);
	if (answer[0] != '\0')
		eg_strlcpy(evidence, answer, EG_MAX_REVOCATION);
	if (r == EG_OK || r == EG_ERR_REVOKED || r == EG_ERR_OCSP_UNKNOWN || r == EG_ERR_NOMEM)
		return r;
	if (ctx->ocsp_mode == CFG_OCSP_REQUIRE)
		return r;
	return fall_back(pr, r, detail, detaillen);
}
