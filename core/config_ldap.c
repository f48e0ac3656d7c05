/*
 * config_ldap.c - the [ldap] rules that span several keys (config.h, config_check_ldap):
 * which directory URIs are reached over TLS, that those have a CA to check the
 * directory's certificate against, and that no configuration sends the bind password
 * and the users' roles in clear over a network (issue 13 §4). Roles decide who may read
 * which dossier: a directory answer that can be read or changed on the way is as bad as
 * a leaked password, so the rule holds for anonymous binds too.
 *
 * Static and pure (no connection, no libldap: core/ is linked into eidgate-login too).
 * At run time directory/ldapconn.c decides StartTLS by the address it actually reached;
 * these rules only make sure that whatever it decides can be done safely.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "eidgate/config.h"

struct uri_parts {
	char scheme[8];                 /* "ldap", "ldaps", "ldapi"; "" when unknown */
	char host[256];                 /* without brackets or port; "" when absent */
};

int
config_ldap_next_uri(const char **list, char *out, size_t outlen)
{
	const char *p = *list + strspn(*list, " \t,");
	size_t n = strcspn(p, " \t,");

	if (n == 0 || n >= outlen)
		return 0;
	*list = p + n;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

/* Scheme and host of "scheme://host[:port][/...]"; the host of "[::1]" is "::1". 0, or
 * -1 when the scheme is not one of libldap's or the host is malformed. */
static int
split_uri(const char *uri, struct uri_parts *u)
{
	static const char *const schemes[] = { "ldap", "ldaps", "ldapi" };
	const char *sep = strstr(uri, "://"), *h, *end;
	size_t i, n;

	memset(u, 0, sizeof(*u));
	if (sep == NULL)
		return -1;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if ((size_t)(sep - uri) == strlen(schemes[i]) &&
		    strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
			memcpy(u->scheme, schemes[i], strlen(schemes[i]) + 1);
	if (u->scheme[0] == '\0')
		return -1;
	h = sep + 3;
	if (*h == '[') {
		if ((end = strchr(++h, ']')) == NULL)
			return -1;
	} else {
		end = h + strcspn(h, ":/?");
	}
	n = (size_t)(end - h);
	if (n >= sizeof(u->host))
		return -1;
	memcpy(u->host, h, n);
	u->host[n] = '\0';
	return 0;
}

/* 1 for a host that is this machine by construction: 127.0.0.0/8, ::1, localhost, or
 * none (libldap's default host is localhost). A name that merely resolves to loopback
 * does not count: the rules must not depend on DNS. */
static int
host_is_loopback(const char *host)
{
	unsigned char a[16];

	if (host[0] == '\0' || strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	return inet_pton(AF_INET6, host, a) == 1 && memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
}

/* 1 when a connection to u may be TLS under mode: ldaps://, or ldap:// with StartTLS on,
 * or auto (decided on the address reached, so a non-loopback host may need it). */
static int
uri_may_use_tls(const struct uri_parts *u, enum cfg_starttls mode)
{
	if (strcmp(u->scheme, "ldaps") == 0)
		return 1;
	if (strcmp(u->scheme, "ldapi") == 0 || mode == CFG_STARTTLS_OFF)
		return 0;
	return mode == CFG_STARTTLS_ON || !host_is_loopback(u->host);
}

/* One PEM certificate at least in file; else what is wrong, into why. */
static int
ca_file_usable(const char *file, char *why, size_t whylen)
{
	FILE *f = fopen(file, "r");
	X509 *x;

	if (f == NULL) {
		snprintf(why, whylen, "ca_file %s: %s", file, strerror(errno));
		return 0;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(why, whylen, "ca_file %s holds no PEM certificate", file);
		return 0;
	}
	X509_free(x);
	return 1;
}

struct ldap_check {
	const struct eg_config *cfg;
	void (*report)(void *arg, const char *key, const char *msg);
	void *arg;
	int problems;
	int tls;                        /* some URI may be reached over TLS */
};

static void
problem(struct ldap_check *c, const char *key, const char *msg)
{
	c->problems++;
	c->report(c->arg, key, msg);
}

/* The rules for one URI of the list. */
static void
check_uri(struct ldap_check *c, const char *uri)
{
	char msg[512];
	struct uri_parts u;

	if (split_uri(uri, &u) != 0) {
		snprintf(msg, sizeof(msg), "uri \"%.200s\" is not an ldap://, ldaps:// or ldapi:// "
		    "URI", uri);
		problem(c, "uri", msg);
		return;
	}
	if (strcmp(u.scheme, "ldap") == 0 && c->cfg->ldap_starttls == CFG_STARTTLS_OFF &&
	    !host_is_loopback(u.host)) {
		snprintf(msg, sizeof(msg), "starttls = off would send the bind password and every "
		    "role in clear to %.200s: use ldaps:// or starttls = auto", u.host);
		problem(c, "starttls", msg);
	}
	if (!uri_may_use_tls(&u, c->cfg->ldap_starttls))
		return;
	c->tls = 1;
	if (u.host[0] == '\0' || strcmp(u.host, "localhost") == 0) {
		snprintf(msg, sizeof(msg), "uri \"%.200s\": for \"localhost\" libldap checks the "
		    "certificate against this machine's host name; write 127.0.0.1 (or ::1) and give "
		    "the directory's certificate that address", uri);
		problem(c, "uri", msg);
	}
}

int
config_check_ldap(const struct eg_config *cfg,
    void (*report)(void *arg, const char *key, const char *msg), void *arg)
{
	struct ldap_check c = { cfg, report, arg, 0, 0 };
	const char *list = cfg->ldap_uri;
	char uri[sizeof(cfg->ldap_uri)], why[1200];
	int n = 0;

	for (; config_ldap_next_uri(&list, uri, sizeof(uri)); n++)
		check_uri(&c, uri);
	if (n == 0)
		problem(&c, "uri", "uri names no directory");
	if (cfg->ldap_ca_file[0] != '\0' && !ca_file_usable(cfg->ldap_ca_file, why, sizeof(why)))
		problem(&c, "ca_file", why);
	else if (c.tls && cfg->ldap_ca_file[0] == '\0')
		problem(&c, "ca_file", "ca_file is required: the directory is reached over TLS "
		    "and its certificate must chain to a CA named here");
	return c.problems;
}
