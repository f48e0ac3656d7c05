/*
 * ldaptls.c - the directory over TLS (issue 13 §4; internal.h): each LDAP handle gets a
 * TLS context of its own that trusts [ldap] ca_file and nothing else, demands a valid
 * certificate for the host in the URI, and accepts TLS 1.2 or newer with an AEAD cipher;
 * StartTLS runs before any bind; and when libldap refuses a certificate, this file finds
 * out why.
 *
 * libldap pitfalls met here (OpenLDAP 2.5, built with GnuTLS on Debian):
 * - A handle inherits TLS_REQCERT from ldap.conf or LDAPTLS_REQCERT, but not the CA
 *   paths; without LDAP_OPT_X_TLS_NEWCTX it uses the process-wide context built from
 *   ldap.conf. So every option that decides trust is set on the handle, then NEWCTX.
 * - The GnuTLS backend ignores LDAP_OPT_X_TLS_PROTOCOL_MIN, and Debian's GnuTLS "NORMAL"
 *   still offers TLS 1.0 and 1.1. Its cipher-suite option (a GnuTLS priority string)
 *   would do, but leaks the context's first priority cache, 8 KiB per connection made
 *   (tls_g.c, tlsg_parse_ciphers, unchanged in OpenLDAP 2.6). So the version and cipher
 *   are checked once the handshake is done, before anything is sent over it.
 * - A refused certificate leaves "(unknown error code)" as the diagnostic message (the
 *   GnuTLS text of libldap's own -1), so the reason is found by ldapc_tls_explain().
 * - The TLS handshake ignores LDAP_OPT_NETWORK_TIMEOUT unless LDAP_OPT_CONNECT_ASYNC is
 *   on, and spins on a non-blocking socket instead: a server that accepts and stays
 *   silent costs a core for good (measured: 90 s of it, 19 s of CPU, and counting). But
 *   CONNECT_ASYNC for the connect itself gives up trying a name's other addresses and
 *   the other URIs of a list. So the connect stays synchronous (ldaps:// connects as
 *   ldap://, ldapconn.c) and ldapc_tls_start() turns CONNECT_ASYNC on for the handshake.
 * - The first TLS context of a process initialises libldap's TLS layer without a lock;
 *   ctx_mu serialises NEWCTX, so pooled connections opening at once cannot race there.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "eidgate/config.h"
#include "eidgate/util.h"
#include "directory/internal.h"

static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;

int
ldapc_tls_options(LDAP *ld, const struct ldapc *c, int verify, char *why, size_t whylen)
{
	int req = verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	int min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, client = 0, r;

	/* "" clears: the CA directory of ldap.conf must not widen the trust. The minimum
	 * version holds for an OpenSSL libldap; with GnuTLS, tls_acceptable() sees to it. */
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, "") != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min) != LDAP_OPT_SUCCESS) {
		snprintf(why, whylen, "TLS: libldap refused the TLS options");
		return LDAP_LOCAL_ERROR;
	}
	pthread_mutex_lock(&ctx_mu);
	r = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client);
	pthread_mutex_unlock(&ctx_mu);
	if (r != LDAP_OPT_SUCCESS) {
		snprintf(why, whylen, "TLS: cannot make a TLS context with [ldap] ca_file %s",
		    c->ca_file[0] ? c->ca_file : "(none)");
		return LDAP_LOCAL_ERROR;
	}
	return LDAP_SUCCESS;
}

enum peer { PEER_NETWORK, PEER_LOOPBACK, PEER_LOCAL_SOCKET };

/* Where the handle's connection goes. Anything unclear counts as the network, so the
 * password is never sent in clear on a guess. */
static enum peer
peer_of(LDAP *ld)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
	int fd = -1;

	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0 ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return PEER_NETWORK;
	switch (ss.ss_family) {
	case AF_UNIX:
		return PEER_LOCAL_SOCKET;
	case AF_INET:
		return (ntohl(((const struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127 ?
		    PEER_LOOPBACK : PEER_NETWORK;
	case AF_INET6:
		return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) &&
		    a6->s6_addr[12] == 127) ? PEER_LOOPBACK : PEER_NETWORK;
	default:
		return PEER_NETWORK;
	}
}

/* libldap's diagnostic message for the last operation into buf, or "". */
static void
diagnostic(LDAP *ld, char *buf, size_t len)
{
	char *msg = NULL;

	buf[0] = '\0';
	if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
	    msg != NULL) {
		snprintf(buf, len, "%s", msg);
		ldap_memfree(msg);
	}
}

/*
 * TLS 1.2 or newer with an AEAD cipher (GCM, CCM, ChaCha20-Poly1305), as negotiated:
 * GnuTLS names them "TLS1.2" and "AES-256-GCM", OpenSSL "TLSv1.2" and
 * "ECDHE-RSA-AES256-GCM-SHA384". Anything else, or nothing, is refused.
 */
static int
tls_acceptable(LDAP *ld, char *why, size_t whylen)
{
	char *version = NULL, *cipher = NULL;
	const char *v = NULL;
	int ok;

	ldap_get_option(ld, LDAP_OPT_X_TLS_VERSION, &version);
	ldap_get_option(ld, LDAP_OPT_X_TLS_CIPHER, &cipher);
	if (version != NULL && (v = strstr(version, "TLS")) != NULL)
		v += v[3] == 'v' ? 4 : 3;
	ok = v != NULL && ((v[0] == '1' && v[1] == '.' && v[2] >= '2' && v[2] <= '9') ||
	    (v[0] >= '2' && v[0] <= '9')) && cipher != NULL &&
	    (strstr(cipher, "GCM") != NULL || strstr(cipher, "CCM") != NULL ||
	    strstr(cipher, "POLY1305") != NULL);
	if (!ok)
		snprintf(why, whylen, "TLS: the directory settled on %s with %s; TLS 1.2 or newer "
		    "with an AEAD cipher is required", version != NULL ? version : "?",
		    cipher != NULL ? cipher : "?");
	ldap_memfree(version);
	ldap_memfree(cipher);
	return ok ? LDAP_SUCCESS : LDAP_CONFIDENTIALITY_REQUIRED;
}

/* O_NONBLOCK on or off for the handle's socket. */
static int
set_nonblock(LDAP *ld, int on)
{
	int fd = -1, fl;

	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

int
ldapc_tls_start(LDAP *ld, int starttls, char *why, size_t whylen)
{
	char diag[256];
	int r;

	/* The handshake polls with the network timeout only in async mode, on a
	 * non-blocking socket; the rest of the handle's life is synchronous again. */
	if (set_nonblock(ld, 1) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON) != LDAP_OPT_SUCCESS) {
		snprintf(why, whylen, "TLS: cannot prepare the connection");
		return LDAP_LOCAL_ERROR;
	}
	r = starttls ? ldap_start_tls_s(ld, NULL, NULL) : ldap_install_tls(ld);
	if (ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    set_nonblock(ld, 0) != 0)
		r = r == LDAP_SUCCESS ? LDAP_LOCAL_ERROR : r;
	if (r == LDAP_SUCCESS)
		return tls_acceptable(ld, why, whylen);
	diagnostic(ld, diag, sizeof(diag));
	if (r == LDAP_CONNECT_ERROR)
		snprintf(why, whylen, "TLS handshake failed%s%s", diag[0] ? ": " : "", diag);
	else if (r == LDAP_TIMEOUT)
		snprintf(why, whylen, "TLS: no answer within [ldap] timeout%s",
		    starttls ? " to StartTLS" : "");
	else
		snprintf(why, whylen, "TLS: %s failed, so no bind: %s%s%s",
		    starttls ? "StartTLS" : "TLS", ldap_err2string(r), diag[0] ? ": " : "", diag);
	return r;
}

int
ldapc_secure(LDAP *ld, const struct ldapc *c, char *why, size_t whylen)
{
	enum peer peer = peer_of(ld);

	if (peer == PEER_LOCAL_SOCKET ||
	    (peer == PEER_LOOPBACK && c->starttls != CFG_STARTTLS_ON))
		return LDAP_SUCCESS;            /* nothing crosses a network */
	if (c->starttls == CFG_STARTTLS_OFF) {
		snprintf(why, whylen, "refusing to bind in clear: [ldap] starttls = off and the "
		    "directory is not on a loopback address");
		return LDAP_CONFIDENTIALITY_REQUIRED;
	}
	return ldapc_tls_start(ld, 1, why, whylen);
}

/* A distinguished name as one line of text (RFC 2253, control characters escaped). */
static void
name_text(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_read(b, out, (int)outlen - 1)) > 0)
		out[n] = '\0';
	BIO_free(b);
}

/*
 * Checks the certificate libldap refused, with OpenSSL, against ca_file and the URI's
 * host, and says what is wrong with it. Only the server's own certificate is at hand
 * (LDAP_OPT_X_TLS_PEERCERT), not the intermediates it may have sent.
 */
static void
describe(const struct berval *der, const char *ca_file, const char *host, char *why,
    size_t whylen)
{
	const unsigned char *p = (const unsigned char *)der->bv_val;
	X509 *x = d2i_X509(NULL, &p, (long)der->bv_len);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	char subject[256], issuer[256];

	if (x == NULL || st == NULL || ctx == NULL || X509_STORE_load_file(st, ca_file) != 1 ||
	    X509_STORE_CTX_init(ctx, st, x, NULL) != 1)
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	if (host[0] != '\0' && X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
		(void)X509_VERIFY_PARAM_set1_host(param, host, 0);
	name_text(X509_get_subject_name(x), subject, sizeof(subject));
	name_text(X509_get_issuer_name(x), issuer, sizeof(issuer));
	if (X509_verify_cert(ctx) == 1)
		snprintf(why, whylen, "TLS handshake failed, though the directory's certificate "
		    "\"%s\" chains to [ldap] ca_file and names %s", subject, host);
	else
		snprintf(why, whylen, "TLS: refusing the directory's certificate for %s: %s "
		    "(subject \"%s\", issuer \"%s\", checked against [ldap] ca_file %s)", host,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)), subject, issuer,
		    ca_file);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
}

/* The certificate the server at uri presents, fetched without checking it and without
 * a bind; 1 when *der holds it (ber_memfree(der->bv_val) after use). */
static int
probe_certificate(const struct ldapc *c, const char *uri, struct berval *der)
{
	char ignored[256];
	LDAP *ld = NULL;
	int ok;

	der->bv_val = NULL;
	der->bv_len = 0;
	ok = ldapc_open(c, uri, 0, &ld, ignored, sizeof(ignored)) == LDAP_SUCCESS &&
	    ldap_tls_inplace(ld) &&
	    ldap_get_option(ld, LDAP_OPT_X_TLS_PEERCERT, der) == LDAP_OPT_SUCCESS &&
	    der->bv_val != NULL;
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return ok;
}

void
ldapc_tls_explain(const struct ldapc *c, const char *uri, char *why, size_t whylen)
{
	LDAPURLDesc *u;
	struct berval der;

	if (ldap_url_parse(uri, &u) != LDAP_URL_SUCCESS)
		return;
	if (probe_certificate(c, uri, &der)) {
		describe(&der, c->ca_file, u->lud_host != NULL ? u->lud_host : "", why, whylen);
		ber_memfree(der.bv_val);
	}
	ldap_free_urldesc(u);
}
