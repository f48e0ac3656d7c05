/*
 * intent.c - `eidgate-login sign`: a card-signed intent for one request to a `signed`
 * route (auth.h "Signed intent"), printed as the header line to add to it:
 *     X-Eidgate-Intent: v1;t=...;alg=...;sig=...
 * The signature is made like the login's (sig.c: DigestInfo + CKM_RSA_PKCS, or
 * CKM_ECDSA on SHA-384 and r||s turned into DER) and checked locally before it is
 * printed. Nothing is sent: the origin is the one of --url, as for the login, and the
 * time is this machine's (the gateway allows EG_INTENT_WINDOW seconds either way).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "eidgate/auth.h"
#include "eidgate/util.h"
#include "login/internal.h"

/* The body is hashed, never held: any size the backend takes can be signed. */
static int
hash_file(const char *path, unsigned char out[32])
{
	unsigned char buf[16384];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *f = NULL;
	size_t n;
	int ret = -1;

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		login_errx("hashing the body failed");
		goto out;
	}
	if (path != NULL && (f = fopen(path, "rb")) == NULL) {
		login_errx("--body-file %s: %s", path, strerror(errno));
		goto out;
	}
	while (f != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(c, buf, n) != 1)
			goto out;
	if (f != NULL && ferror(f)) {
		login_errx("--body-file %s: read failed", path);
		goto out;
	}
	ret = EVP_DigestFinal_ex(c, out, NULL) == 1 ? 0 : -1;
out:
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(c);
	return ret;
}

/* The header's value for sig (and cert when asked), printed on stdout. */
static int
print_header(int64_t t, enum login_alg alg, const unsigned char *sig, size_t siglen,
    X509 *cert, int with_cert)
{
	char sigb[2 * LOGIN_MAX_SIG], certb[2 * LOGIN_MAX_CERT];
	unsigned char *der = NULL;
	int dlen = 0;

	eg_b64url(sig, siglen, sigb);
	certb[0] = '\0';
	if (with_cert) {
		if ((dlen = i2d_X509(cert, &der)) <= 0 || (size_t)dlen > LOGIN_MAX_CERT) {
			login_errx("encoding the certificate failed");
			OPENSSL_free(der);
			return -1;
		}
		eg_b64url(der, (size_t)dlen, certb);
		OPENSSL_free(der);
	}
	if (printf("%s: v1;t=%lld;alg=%s;sig=%s%s%s\n", EG_INTENT_HEADER, (long long)t,
	    login_alg_name(alg), sigb, with_cert ? ";cert=" : "", certb) < 0 ||
	    fflush(stdout) != 0) {
		login_errx("writing to stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
login_intent_sign(const struct login_intent_req *q, struct login_p11 *p,
    enum login_alg alg, X509 *cert)
{
	char msg[EG_INTENT_MAX_MSG];
	unsigned char body[32], tbs[64], sig[LOGIN_MAX_SIG];
	size_t msglen, tbslen, siglen;
	int64_t t = (int64_t)time(NULL);

	if (hash_file(q->li_body_file, body) < 0)
		return -1;
	if (auth_intent_message(q->li_origin, q->li_method, q->li_path, NULL, t, body, msg,
	    sizeof(msg), &msglen) != 0) {
		login_errx("--path too long");
		return -1;
	}
	if (login_sig_tbs(alg, (unsigned char *)msg, msglen, tbs, &tbslen) < 0 ||
	    login_p11_sign(p, alg, tbs, tbslen, sig, &siglen, sizeof(sig)) < 0 ||
	    login_sig_to_wire(alg, cert, sig, &siglen, sizeof(sig)) < 0 ||
	    login_sig_verify(cert, alg, (unsigned char *)msg, msglen, sig, siglen) < 0)
		return -1;
	return print_header(t, alg, sig, siglen, cert, q->li_with_cert);
}

int
login_intent_check(const struct login_intent_req *q)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH",
		"DELETE", "OPTIONS" };
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(q->li_method, methods[i]) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0])) {
		login_errx("--method %s: one of GET HEAD POST PUT PATCH DELETE OPTIONS",
		    q->li_method);
		return -1;
	}
	/* The gateway signs over the target as it normalises it: a client that sent
	 * another spelling would sign for a request that never arrives. */
	if (q->li_path[0] != '/' || strstr(q->li_path, "//") != NULL ||
	    strstr(q->li_path, "/./") != NULL || strstr(q->li_path, "/../") != NULL ||
	    strpbrk(q->li_path, " \t\r\n#") != NULL) {
		login_errx("--path %s: give the normalised target (/a/b?query), as the "
		    "gateway's 401 answer names it", q->li_path);
		return -1;
	}
	return 0;
}
