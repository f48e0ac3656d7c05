/*
 * wrk_cert.c - an LD_PRELOAD shim giving wrk (which has no such option) a TLS client
 * certificate: the first SSL_new on a context loads WRK_CERT (PEM chain) and WRK_KEY
 * into it. Built at run time by bench/connections.py into run/; not part of eidgate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

SSL *
SSL_new(SSL_CTX *ctx)
{
	static SSL *(*real)(SSL_CTX *);
	const char *cert = getenv("WRK_CERT"), *key = getenv("WRK_KEY");

	pthread_mutex_lock(&mu);
	if (real == NULL)
		real = (SSL *(*)(SSL_CTX *))dlsym(RTLD_NEXT, "SSL_new");
	if (cert != NULL && key != NULL && SSL_CTX_get0_certificate(ctx) == NULL &&
	    (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
		fprintf(stderr, "wrk_cert: cannot load %s / %s\n", cert, key);
		abort();
	}
	pthread_mutex_unlock(&mu);
	return real(ctx);
}
