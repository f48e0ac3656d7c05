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

#include <openssl/x509.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "auth/internal.h"

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
    const struct path_result *pr, int64_t at, char *detail, size_t detaillen)
{
	char scratch[256];
	int r, cached;

	if (detail == NULL || detaillen == 0) {
		detail = scratch;
		detaillen = sizeof(scratch);
	}
	detail[0] = '\0';
	if (ctx->ocsp_mode == CFG_OCSP_OFF || at != 0)
		return crl_only(pr, at, detail, detaillen);
	r = auth_ocsp_status(ctx, store, leaf, pr, &cached, detail, detaillen);
	if (r == EG_OK || r == EG_ERR_REVOKED || r == EG_ERR_OCSP_UNKNOWN || r == EG_ERR_NOMEM)
		return r;
	if (ctx->ocsp_mode == CFG_OCSP_REQUIRE)
		return r;
	return fall_back(pr, r, detail, detaillen);
}
