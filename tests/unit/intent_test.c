/*
 * intent_test.c - card-signed intent (auth.h "Signed intent"): the header's parser, the
 * canonical text, and the check of a signature made here with a fresh RSA and P-384
 * key, as a card would (PKCS#1 v1.5 over SHA-256, ECDSA over SHA-384).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

static void
test_parse(void)
{
	struct auth_intent in;
	static const char *const bad[] = {
		"", "v1", "v1;", "v2;t=1;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=RSA-SHA256",
		"v1;alg=RSA-SHA256;sig=AA", "v1;t=1;sig=AA", "v1;t=01;alg=RSA-SHA256;sig=AA",
		"v1;t=-1;alg=RSA-SHA256;sig=AA", "v1;t=1x;alg=RSA-SHA256;sig=AA",
		"v1;t=1234567890123;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=MD5;sig=AA",
		"v1;t=1;alg=rsa-sha256;sig=AA", "v1;t=1;t=2;alg=RSA-SHA256;sig=AA",
		"v1;t=1;alg=RSA-SHA256;sig=AA;x=1", "v1;t=1;alg=RSA-SHA256;sig=AA;",
		"v1;t=1;alg=RSA-SHA256;sig=", "v1;t=1;alg=RSA-SHA256;sig=A",
		"v1;t=1;alg=RSA-SHA256;sig=A+", "v1;t=1;alg=RSA-SHA256;sig=AA;cert=",
		"v1; t=1;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=RSA-SHA256;sig=AA;cert=AA;cert=AA",
		"v1;t=;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=RSA-SHA256;sig=AA ",
	};
	size_t i;

	CHECK(auth_intent_parse("v1;t=1700000000;alg=RSA-SHA256;sig=AQID", &in) == EG_OK);
	CHECK(in.t == 1700000000 && strcmp(in.alg, "RSA-SHA256") == 0 && in.siglen == 3 &&
	    in.sig[2] == 3 && in.certlen == 0);
	CHECK(auth_intent_parse("v1;sig=AQID;cert=BAU;alg=ECDSA-SHA384;t=0", &in) == EG_OK);
	CHECK(in.t == 0 && strcmp(in.alg, "ECDSA-SHA384") == 0 && in.certlen == 2);
	CHECK(auth_intent_parse(NULL, &in) == EG_ERR_PARSE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = auth_intent_parse(bad[i], &in);
		if (r != EG_ERR_PARSE)
			printf("accepted: '%s'\n", bad[i]);
		CHECK(r == EG_ERR_PARSE);
	}
}

static void
test_message(void)
{
	unsigned char h[32];
	char msg[EG_INTENT_MAX_MSG], tiny[16];
	size_t len = 0;

	memset(h, 0xab, sizeof(h));
	CHECK(auth_intent_message("https://g.example", "POST", "/a/b", "x=1", 42, h, msg,
	    sizeof(msg), &len) == EG_OK);
	CHECK(len == strlen(msg));
	CHECK(strncmp(msg, "eidgate-intent-v1\nhttps://g.example\nPOST\n/a/b?x=1\n42\nabab", 57) ==
	    0 && len == 117);
	CHECK(auth_intent_message("https://g.example", "POST", "/a/b", "", 42, h, msg,
	    sizeof(msg), &len) == EG_OK && strstr(msg, "\n/a/b\n42\n") != NULL);
	CHECK(auth_intent_message("https://g.example", "POST", "/a/b", NULL, 42, h, tiny,
	    sizeof(tiny), &len) == EG_ERR_TOO_LONG);
}

/* A self-signed certificate of key k, DER into der (cap bytes). */
static size_t
cert_of(EVP_PKEY *k, unsigned char *der, size_t cap)
{
	X509 *x = X509_new();
	unsigned char *p = der;
	int n = -1;

	if (x != NULL && X509_set_version(x, 2) == 1 && X509_set_pubkey(x, k) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
	    X509_sign(x, k, EVP_sha256()) > 0 && i2d_X509(x, NULL) <= (int)cap)
		n = i2d_X509(x, &p);
	X509_free(x);
	return n > 0 ? (size_t)n : 0;
}

static size_t
sign(EVP_PKEY *k, const EVP_MD *md, const char *msg, unsigned char *sig, size_t cap)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t n = cap;

	if (c == NULL || EVP_DigestSignInit(c, NULL, md, NULL, k) != 1 ||
	    EVP_DigestSign(c, sig, &n, (const unsigned char *)msg, strlen(msg)) != 1)
		n = 0;
	EVP_MD_CTX_free(c);
	return n;
}

static void
check_key(EVP_PKEY *k, EVP_PKEY *other, const EVP_MD *md, const char *alg)
{
	unsigned char der[4096], oder[4096], h[32];
	char msg[EG_INTENT_MAX_MSG];
	struct auth_intent in;
	size_t len = 0, dlen = cert_of(k, der, sizeof(der)),
	    olen = cert_of(other, oder, sizeof(oder));
	int64_t now = 1700000000;

	CHECK(dlen > 0 && olen > 0);
	memset(&in, 0, sizeof(in));
	memset(h, 0, sizeof(h));
	in.t = now;
	eg_strlcpy(in.alg, alg, sizeof(in.alg));
	CHECK(auth_intent_message("https://g", "PUT", "/d/7", NULL, now, h, msg, sizeof(msg),
	    &len) == EG_OK);
	in.siglen = sign(k, md, msg, in.sig, sizeof(in.sig));
	CHECK(in.siglen > 0);
	CHECK(auth_intent_verify(&in, der, dlen, msg, len, now) == EG_OK);
	CHECK(auth_intent_verify(&in, der, dlen, msg, len, now + EG_INTENT_WINDOW) == EG_OK);
	CHECK(auth_intent_verify(&in, der, dlen, msg, len, now + EG_INTENT_WINDOW + 1) ==
	    EG_ERR_EXPIRED);
	CHECK(auth_intent_verify(&in, der, dlen, msg, len, now - EG_INTENT_WINDOW - 1) ==
	    EG_ERR_EXPIRED);
	/* Another card, another text, the other algorithm's name. */
	CHECK(auth_intent_verify(&in, oder, olen, msg, len, now) == EG_ERR_CRYPTO);
	msg[len - 1] ^= 1;
	CHECK(auth_intent_verify(&in, der, dlen, msg, len, now) == EG_ERR_CRYPTO);
	msg[len - 1] ^= 1;
	eg_strlcpy(in.alg, strcmp(alg, EG_LOGIN_ALG_RSA) == 0 ? EG_LOGIN_ALG_EC :
	    EG_LOGIN_ALG_RSA, sizeof(in.alg));
	CHECK(auth_intent_verify(&in, der, dlen, msg, len, now) == EG_ERR_CRYPTO);
	CHECK(auth_intent_verify(&in, der, 10, msg, len, now) == EG_ERR_CRYPTO);
}

static void
test_verify(void)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *rsa2 = EVP_RSA_gen(2048);
	EVP_PKEY *ec = EVP_EC_gen("P-384"), *ec2 = EVP_EC_gen("P-384");

	CHECK(rsa != NULL && rsa2 != NULL && ec != NULL && ec2 != NULL);
	if (rsa != NULL && rsa2 != NULL && ec != NULL && ec2 != NULL) {
		check_key(rsa, rsa2, EVP_sha256(), EG_LOGIN_ALG_RSA);
		check_key(ec, ec2, EVP_sha384(), EG_LOGIN_ALG_EC);
		check_key(rsa, ec, EVP_sha256(), EG_LOGIN_ALG_RSA);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
}

int
main(void)
{
	test_parse();
	test_message();
	test_verify();
	return check_report();
}
