/*
 * ocsp.c - asks the OCSP responder named in a leaf's AIA whether it is revoked, verifies
 * the answer, and caches verified answers (ocsp_cache.c).
 *
 * The request goes out with OSSL_HTTP_transfer, whose timeout bounds the whole exchange
 * (OCSP_sendreq_bio has none, LIBNOTES.md). This blocks the calling HTTP worker for up to
 * ocsp_timeout on a cache miss; the proxy keeps each connection's verdict, and the cache
 * keeps repeated logins off the network.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "auth/internal.h"

/* The first http:// OCSP URL of the AIA. eID responders speak plain HTTP (the response
 * is signed); https would need a TLS trust setup of its own. */
static int
ocsp_url(X509 *leaf, char *out, size_t outlen)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
	int i, found = 0;

	for (i = 0; i < sk_OPENSSL_STRING_num(urls) && !found; i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);
		if (strncmp(u, "http://", 7) == 0 && eg_strlcpy(out, u, outlen) < outlen)
			found = 1;
	}
	X509_email_free(urls);
	return found ? 0 : -1;
}

/* POSTs req to url; *resp is the parsed answer. Timeout in whole seconds (rounded up). */
static int
ocsp_send(const char *url, OCSP_REQUEST *req, int64_t timeout_ms, OCSP_RESPONSE **resp)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int use_ssl = 0, timeout_s = (int)((timeout_ms + 999) / 1000);
	BIO *reqbio = NULL, *rspbio = NULL;

	*resp = NULL;
	if (OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1 ||
	    use_ssl)
		goto out;
	if ((reqbio = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST),
	    (const ASN1_VALUE *)req)) == NULL)
		goto out;
	/* proxy NULL: http_proxy/no_proxy from the environment, as curl does. */
	rspbio = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL,
	    NULL, 0, NULL, "application/ocsp-request", reqbio, "application/ocsp-response", 1,
	    EG_MAX_OCSP_RESPONSE, timeout_s < 1 ? 1 : timeout_s, 0);
	if (rspbio != NULL)
		*resp = ASN1_item_d2i_bio(ASN1_ITEM_rptr(OCSP_RESPONSE), rspbio, NULL);
out:
	BIO_free(rspbio);
	BIO_free(reqbio);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return *resp != NULL ? 0 : -1;
}

/* "ocsp:<hex SHA-256 of the DER response> <thisUpdate>": a replayed decision can name
 * the very answer it rested on (the response itself is not kept: it may be large). */
static void
ocsp_evidence(OCSP_RESPONSE *resp, const ASN1_GENERALIZEDTIME *thisupd, char *out)
{
	unsigned char *der = NULL, md[32];
	char hex[65], when[32];
	int len = i2d_OCSP_RESPONSE(resp, &der);

	if (len <= 0 || SHA256(der, (size_t)len, md) == NULL) {
		snprintf(out, EG_MAX_REVOCATION, "ocsp:? ?");
		OPENSSL_free(der);
		return;
	}
	OPENSSL_free(der);
	eg_hex(md, sizeof(md), hex);
	auth_asn1_time_iso(thisupd, when, sizeof(when));
	snprintf(out, EG_MAX_REVOCATION, "ocsp:%s %s", hex, when);
}

/* Everything a response must satisfy before its status counts. The store has no CRL
 * flag, so the responder certificate needs no CRL of its own (LIBNOTES.md). */
static int
ocsp_check(OCSP_RESPONSE *resp, OCSP_REQUEST *req, OCSP_CERTID *id, X509_STORE *store,
    const struct path_result *pr, struct ocsp_answer *a, char *detail, size_t dlen)
{
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL, *rev = NULL;
	int st = OCSP_response_status(resp), r = EG_ERR_OCSP_INVALID;
	struct tm tm;

	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(detail, dlen, "responder answered '%s'", OCSP_response_status_str(st));
		return EG_ERR_OCSP_UNAVAILABLE;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		snprintf(detail, dlen, "no basic response");
	else if (OCSP_check_nonce(req, bs) != 1)
		snprintf(detail, dlen, "nonce missing or wrong (replayed response?)");
	else if (OCSP_basic_verify(bs, pr->chain, store, 0) <= 0)
		snprintf(detail, dlen, "response signature does not verify");
	else if (OCSP_resp_find_status(bs, id, &a->status, &a->reason, &rev, &thisupd,
	    &nextupd) != 1)
		snprintf(detail, dlen, "response does not name this certificate");
	else if (OCSP_check_validity(thisupd, nextupd, AUTH_OCSP_LEEWAY_S, -1) != 1)
		snprintf(detail, dlen, "response outside its thisUpdate/nextUpdate");
	else
		r = EG_OK;
	a->next_update = 0;
	if (r == EG_OK)
		ocsp_evidence(resp, thisupd, a->evidence);
	if (r == EG_OK && nextupd != NULL && ASN1_TIME_to_tm(nextupd, &tm) == 1)
		a->next_update = (int64_t)timegm(&tm);
	OCSP_BASICRESP_free(bs);
	ERR_clear_error();
	return r;
}

/* Asks the responder: EG_OK with *a filled, or why not (unavailable / invalid). */
static int
ocsp_ask(const struct auth_ctx *ctx, X509_STORE *store, const char *url, OCSP_CERTID *id,
    const struct path_result *pr, struct ocsp_answer *a, char *detail, size_t dlen)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *idcopy = OCSP_CERTID_dup(id);
	OCSP_RESPONSE *resp = NULL;
	int r = EG_ERR_NOMEM;

	if (req == NULL || idcopy == NULL || OCSP_request_add0_id(req, idcopy) == NULL) {
		OCSP_CERTID_free(idcopy);
		goto out;
	}
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1)
		goto out;
	if (ocsp_send(url, req, ctx->ocsp_timeout_ms, &resp) != 0) {
		snprintf(detail, dlen, "no answer from %s within %lld ms", url,
		    (long long)ctx->ocsp_timeout_ms);
		ocsp_down_mark(ctx->ocsp, url);
		r = EG_ERR_OCSP_UNAVAILABLE;
		goto out;
	}
	r = ocsp_check(resp, req, id, store, pr, a, detail, dlen);
out:
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return r;
}

static int
cache_key(OCSP_CERTID *id, unsigned char key[32])
{
	unsigned char *der = NULL;
	int len = i2d_OCSP_CERTID(id, &der);
	int ok = len > 0 && EVP_Digest(der, (size_t)len, key, NULL, EVP_sha256(), NULL) == 1;

	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* Cache lifetime: until nextUpdate, at most ocsp_cache. */
static int64_t
cache_ttl(const struct auth_ctx *ctx, const struct ocsp_answer *a)
{
	int64_t ttl = ctx->ocsp_cache_ms, now = eg_now_us() / 1000000;

	if (a->next_update != 0 && (a->next_update - now) * 1000 < ttl)
		ttl = (a->next_update - now) * 1000;
	return ttl;
}

static int
answer_code(const struct ocsp_answer *a, int cached, char *detail, size_t dlen)
{
	const char *src = cached ? " (cached)" : "";

	switch (a->status) {
	case V_OCSP_CERTSTATUS_GOOD:
		snprintf(detail, dlen, "OCSP good%s", src);
		return EG_OK;
	case V_OCSP_CERTSTATUS_REVOKED:
		snprintf(detail, dlen, "OCSP: revoked%s%s%s", a->reason >= 0 ? ", " : "",
		    a->reason >= 0 ? OCSP_crl_reason_str(a->reason) : "", src);
		return EG_ERR_REVOKED;
	default:
		snprintf(detail, dlen, "OCSP: certificate unknown to the responder%s", src);
		return EG_ERR_OCSP_UNKNOWN;
	}
}

int
auth_ocsp_status(const struct auth_ctx *ctx, X509_STORE *store, X509 *leaf,
    const struct path_result *pr, int *cached, char *evidence, char *detail,
    size_t detaillen)
{
	OCSP_CERTID *id = NULL;
	struct ocsp_answer a;
	unsigned char key[32];
	char url[512];
	int64_t left;
	int r;

	*cached = 0;
	if (ocsp_url(leaf, url, sizeof(url)) != 0) {
		snprintf(detail, detaillen, "certificate names no http OCSP responder");
		return EG_ERR_OCSP_UNAVAILABLE;
	}
	if ((id = OCSP_cert_to_id(EVP_sha1(), leaf, pr->issuer)) == NULL ||
	    cache_key(id, key) != 0) {
		OCSP_CERTID_free(id);
		ERR_clear_error();
		return EG_ERR_NOMEM;
	}
	if (ocsp_cache_get(ctx->ocsp, key, &a)) {
		*cached = 1;
	} else if ((left = ocsp_down_left(ctx->ocsp, url)) > 0) {
		snprintf(detail, detaillen, "%s did not answer recently; not asked again for "
		    "%lld ms", url, (long long)left);
		OCSP_CERTID_free(id);
		return EG_ERR_OCSP_UNAVAILABLE;
	} else if ((r = ocsp_ask(ctx, store, url, id, pr, &a, detail, detaillen)) != EG_OK) {
		OCSP_CERTID_free(id);
		return r;
	} else {
		ocsp_cache_put(ctx->ocsp, key, &a, cache_ttl(ctx, &a));
	}
	OCSP_CERTID_free(id);
	eg_strlcpy(evidence, a.evidence, EG_MAX_REVOCATION);
	return answer_code(&a, *cached, detail, detaillen);
}
