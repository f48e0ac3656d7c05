/*
 * sig.c - what the card signs and what the gateway receives.
 *
 * Belgian eID cards sign only what they are given: RSA cards offer CKM_RSA_PKCS, so the
 * client hashes and prepends the DER DigestInfo itself (RFC 8017 §9.2); applet 1.8 EC
 * cards offer CKM_ECDSA on a hash the client computes and return raw r||s (PKCS#11 v2.40
 * §2.3.1), which the gateway expects as DER ECDSA-Sig-Value (RFC 3279 §2.2.3).
 */
#include <stdint.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "eidgate/auth.h"
#include "login/internal.h"

/* DER of DigestInfo{ AlgorithmIdentifier{ sha256, NULL }, OCTET STRING(32) }: RFC 8017
 * §9.2 note 1. */
static const unsigned char sha256_digestinfo[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* Prints what failed with OpenSSL's own reason, then clears its error queue. */
static void
sig_ossl_err(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		login_errx("%s: %s", what, buf);
	} else {
		login_errx("%s", what);
	}
	ERR_clear_error();
}

const char *
login_alg_name(enum login_alg alg)
{
	return alg == LOGIN_ALG_RSA_SHA256 ? EG_LOGIN_ALG_RSA : EG_LOGIN_ALG_EC;
}

static const EVP_MD *
sig_md(enum login_alg alg)
{
	return alg == LOGIN_ALG_RSA_SHA256 ? EVP_sha256() : EVP_sha384();
}

int
login_sig_tbs(enum login_alg alg, const unsigned char *msg, size_t msglen,
    unsigned char *out, size_t *outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t pre = 0;

	if (EVP_Digest(msg, msglen, md, &mdlen, sig_md(alg), NULL) != 1) {
		sig_ossl_err("hashing the challenge");
		return -1;
	}
	if (alg == LOGIN_ALG_RSA_SHA256) {
		pre = sizeof(sha256_digestinfo);
		memcpy(out, sha256_digestinfo, pre);
	}
	memcpy(out + pre, md, mdlen);
	*outlen = pre + mdlen;
	return 0;
}

/* Field size in bytes of cert's EC key: r and s are each exactly this long. */
static int
sig_ec_field_bytes(X509 *cert, size_t *out)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	int bits;

	if (pk == NULL || (bits = EVP_PKEY_get_bits(pk)) <= 0) {
		sig_ossl_err("reading the certificate's EC key size");
		return -1;
	}
	*out = ((size_t)bits + 7) / 8;
	return 0;
}

int
login_sig_to_wire(enum login_alg alg, X509 *cert, unsigned char *sig, size_t *len,
    size_t cap)
{
	unsigned char *der = NULL, *p;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	size_t half;
	int n, ret = -1;

	if (alg == LOGIN_ALG_RSA_SHA256)
		return 0;
	if (sig_ec_field_bytes(cert, &half) < 0)
		return -1;
	if (*len != 2 * half) {
		login_errx("the token returned a %zu-byte ECDSA signature, expected %zu (r||s "
		    "for a %zu-bit curve)", *len, 2 * half, half * 8);
		return -1;
	}
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	es = ECDSA_SIG_new();
	if (r == NULL || s == NULL || es == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		sig_ossl_err("converting the ECDSA signature");
		BN_free(r);
		BN_free(s);
		goto out;
	}
	/* es owns r and s from here on. */
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t)n > cap || (der = OPENSSL_malloc((size_t)n)) == NULL) {
		sig_ossl_err("encoding the ECDSA signature");
		goto out;
	}
	p = der;
	if (i2d_ECDSA_SIG(es, &p) != n) {
		sig_ossl_err("encoding the ECDSA signature");
		goto out;
	}
	memcpy(sig, der, (size_t)n);
	*len = (size_t)n;
	ret = 0;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ret;
}

int
login_sig_verify(X509 *cert, enum login_alg alg, const unsigned char *msg,
    size_t msglen, const unsigned char *sig, size_t siglen)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r, ret = -1;

	if (pk == NULL || ctx == NULL) {
		sig_ossl_err("reading the certificate's public key");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, sig_md(alg), NULL, pk) != 1) {
		sig_ossl_err("preparing the local signature check");
		goto out;
	}
	r = EVP_DigestVerify(ctx, sig, siglen, msg, msglen);
	if (r != 1) {
		/* The card signed, but not with the certificate's key: a gateway would
		 * refuse it too, so say what is wrong here instead of there. */
		ERR_clear_error();
		login_errx("the token's \"Authentication\" key does not match its "
		    "certificate (local signature check failed); not sending it");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

int
login_cert_check(X509 *cert, enum login_alg alg)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	uint32_t ku = X509_get_key_usage(cert);
	char cn[256], sn[64];
	int want;

	/* Defence in depth: the key is found by label, but a token whose "Authentication"
	 * is really the qualified Signature key must not sign a mere login.
	 * UINT32_MAX means the certificate has no key usage extension. */
	if (ku != UINT32_MAX && (ku & KU_NON_REPUDIATION) != 0) {
		login_errx("the \"Authentication\" certificate has the non-repudiation key "
		    "usage of a Signature certificate; refusing to log in with it");
		return -1;
	}
	login_cert_names(cert, cn, sizeof(cn), sn, sizeof(sn));
	if (strstr(cn, "(Signature)") != NULL) {
		login_errx("the \"Authentication\" certificate is a Signature certificate "
		    "(CN %s); refusing to log in with it", cn);
		return -1;
	}
	want = alg == LOGIN_ALG_RSA_SHA256 ? EVP_PKEY_RSA : EVP_PKEY_EC;
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != want) {
		ERR_clear_error();
		login_errx("the \"Authentication\" certificate's key is not %s like the "
		    "token's private key", want == EVP_PKEY_RSA ? "RSA" : "EC");
		return -1;
	}
	return 0;
}

/* UTF-8 of the first attribute nid of name, sanitized, or "-". */
static void
sig_name_entry(const X509_NAME *name, int nid, char *out, size_t outlen)
{
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int i, n;

	login_sanitize("-", out, outlen);
	i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0 || (e = X509_NAME_get_entry(name, i)) == NULL)
		return;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n < 0) {
		ERR_clear_error();
		return;
	}
	login_sanitize((const char *)utf8, out, outlen);
	OPENSSL_free(utf8);
}

void
login_cert_names(X509 *cert, char *cn, size_t cnlen, char *sn, size_t snlen)
{
	const X509_NAME *subj = X509_get_subject_name(cert);

	sig_name_entry(subj, NID_commonName, cn, cnlen);
	sig_name_entry(subj, NID_serialNumber, sn, snlen);
}
