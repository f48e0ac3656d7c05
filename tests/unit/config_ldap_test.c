/*
 * config_ldap_test.c - core/config_ldap.c through config_load(): which [ldap] settings
 * are refused and where (file:line), so that no configuration binds in clear to a
 * directory off this machine or speaks TLS without a CA to check the directory against.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "check.h"

static char dir[] = "/tmp/eidgate-config-ldap-XXXXXX";
static char ca_pem[600], not_pem[600];

/* Everything but [ldap] as a configuration needs it (paths are not opened). */
static const char base_conf[] =
    "[listen]\naddress = 127.0.0.1:8443\ntls_cert = s.pem\ntls_key = s.key\n"
    "[eid]\ntrust_anchors = roots\n[session]\nkey_file = session.key\n"
    "[policy]\nfile = p.policy\n[audit]\ndb = audit\n[assertion]\nsigning_key = a.key\n";

struct seen {
	int n;
	int line;                       /* of the first problem */
	char msg[1024];                 /* the first problem */
};

static void
collect(void *arg, const char *file, int line, const char *msg)
{
	struct seen *s = arg;

	(void)file;
	if (s->n++ == 0) {
		s->line = line;
		snprintf(s->msg, sizeof(s->msg), "%s", msg);
	}
}

/* The line in which load() puts the first line of its argument. */
#define L 17

/* Loads base_conf followed by the [ldap] section with base and then ldap. */
static struct seen
load(const char *ldap)
{
	struct config_diag diag;
	struct eg_config *cfg = malloc(sizeof(*cfg));
	struct seen s = { 0, 0, "" };
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/eidgate.conf", dir);
	if (cfg == NULL || (f = fopen(path, "w")) == NULL) {
		s.n = -1;
		free(cfg);
		return s;
	}
	fprintf(f, "%s[ldap]\nbase = dc=x\n%s", base_conf, ldap);
	fclose(f);
	diag.emit = collect;
	diag.arg = &s;
	if (config_load(path, cfg, &diag) == EG_OK && s.n != 0)
		s.n = -2;               /* problems reported, yet loaded */
	free(cfg);
	return s;
}

static int
ok(const char *ldap)
{
	struct seen s = load(ldap);

	if (s.n != 0)
		printf("  refused: %s\n    %d: %s\n", ldap, s.line, s.msg);
	return s.n == 0;
}

/* Refused once, at line, with a message containing want. */
static int
refused(const char *ldap, int line, const char *want)
{
	struct seen s = load(ldap);

	if (s.n != 1 || s.line != line || strstr(s.msg, want) == NULL) {
		printf("  %s\n    gave %d problem(s), first at line %d: %s\n", ldap, s.n, s.line,
		    s.msg);
		return 0;
	}
	return 1;
}

/* A self-signed certificate in PEM at path, made now (no certificate lives in git). */
static int
write_certificate(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f = NULL;
	int ok = 0;

	if (key != NULL && x != NULL && X509_set_version(x, 2) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"test directory CA", -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 &&
	    X509_set_pubkey(x, key) == 1 && X509_sign(x, key, EVP_sha256()) > 0 &&
	    (f = fopen(path, "w")) != NULL)
		ok = PEM_write_X509(f, x) == 1;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

static void
uri_list(void)
{
	const char *list = " ldap://a:1, ldaps://b ,ldapi://%2Frun%2Fs  ";
	char out[1024];

	CHECK(config_ldap_next_uri(&list, out, sizeof(out)) && strcmp(out, "ldap://a:1") == 0);
	CHECK(config_ldap_next_uri(&list, out, sizeof(out)) && strcmp(out, "ldaps://b") == 0);
	CHECK(config_ldap_next_uri(&list, out, sizeof(out)) &&
	    strcmp(out, "ldapi://%2Frun%2Fs") == 0);
	CHECK(!config_ldap_next_uri(&list, out, sizeof(out)));
	list = "ldap://a";
	CHECK(!config_ldap_next_uri(&list, out, 5));
}

/* Over loopback nothing crosses a network: no TLS needed, and off is allowed. */
static void
loopback(void)
{
	CHECK(ok("uri = ldap://127.0.0.1:3890\n"));
	CHECK(ok("uri = ldap://127.0.0.1:3890\nstarttls = off\n"));
	CHECK(ok("uri = ldap://127.8.9.10\nstarttls = off\n"));
	CHECK(ok("uri = ldap://[::1]:389\nstarttls = off\n"));
	CHECK(ok("uri = ldap://localhost:389\n"));
	CHECK(ok("uri = ldapi://%2Frun%2Fslapd%2Fldapi\nstarttls = off\n"));
	CHECK(ok("uri = ldapi://%2Frun%2Fslapd%2Fldapi\nstarttls = on\n"));
}

/* A directory off this machine: TLS with a CA, never in clear. */
static void
network(void)
{
	char conf[1400];

	CHECK(refused("uri = ldap://ldap.example.org\n", L, "ca_file is required"));
	CHECK(refused("uri = ldap://ldap.example.org\nstarttls = off\n", L + 1,
	    "starttls = off would send the bind password and every role in clear to "
	    "ldap.example.org"));
	CHECK(refused("uri = ldap://10.1.2.3:389\nstarttls = off\n", L + 1, "in clear to 10.1.2.3"));
	CHECK(refused("uri = ldap://[2001:db8::1]:389\nstarttls = off\n", L + 1, "2001:db8::1"));
	CHECK(refused("uri = ldaps://127.0.0.1:636\n", L, "ca_file is required"));
	CHECK(refused("uri = ldap://127.0.0.1\nstarttls = on\n", L, "ca_file is required"));
	snprintf(conf, sizeof(conf), "uri = ldap://ldap.example.org\nca_file = %s\n", ca_pem);
	CHECK(ok(conf));
	snprintf(conf, sizeof(conf), "uri = ldaps://10.1.2.3:636\nca_file = %s\n", ca_pem);
	CHECK(ok(conf));
	snprintf(conf, sizeof(conf), "uri = ldap://127.0.0.1\nstarttls = on\nca_file = %s\n",
	    ca_pem);
	CHECK(ok(conf));
	/* Where "localhost" would be checked against this machine's name by libldap. */
	snprintf(conf, sizeof(conf), "uri = ldaps://localhost\nca_file = %s\n", ca_pem);
	CHECK(refused(conf, L, "write 127.0.0.1"));
	snprintf(conf, sizeof(conf), "uri = ldap:///\nstarttls = on\nca_file = %s\n", ca_pem);
	CHECK(refused(conf, L, "for \"localhost\" libldap checks"));
}

/* Every URI of a list gets the same rules. */
static void
lists(void)
{
	char conf[1400];

	CHECK(refused("uri = ldap://127.0.0.1 ldap://ldap.example.org\nstarttls = off\n", L + 1,
	    "in clear to ldap.example.org"));
	CHECK(refused("uri = ldap://127.0.0.1, ldaps://ldap.example.org\n", L,
	    "ca_file is required"));
	snprintf(conf, sizeof(conf), "uri = ldap://127.0.0.1 ldaps://ldap.example.org\n"
	    "ca_file = %s\n", ca_pem);
	CHECK(ok(conf));
	CHECK(refused("uri = ldap://127.0.0.1 http://ldap.example.org\n", L,
	    "\"http://ldap.example.org\" is not an ldap://"));
	CHECK(refused("uri = 127.0.0.1:389\n", L, "is not an ldap://"));
	CHECK(refused("uri = ldaps://[::1\n", L, "is not an ldap://"));
	CHECK(refused("uri = \n", L, "names no directory"));
}

static void
ca_files(void)
{
	char conf[1400];

	snprintf(conf, sizeof(conf), "uri = ldaps://10.1.2.3\nca_file = %s/missing.pem\n", dir);
	CHECK(refused(conf, L + 1, "No such file"));
	snprintf(conf, sizeof(conf), "uri = ldaps://10.1.2.3\nca_file = %s\n", not_pem);
	CHECK(refused(conf, L + 1, "holds no PEM certificate"));
	/* Set but unused (the directory is on loopback): still checked. */
	snprintf(conf, sizeof(conf), "uri = ldap://127.0.0.1\nca_file = %s\n", not_pem);
	CHECK(refused(conf, L + 1, "holds no PEM certificate"));
	CHECK(refused("uri = ldap://127.0.0.1\nstarttls = maybe\n", L + 1, "unknown value"));
}

int
main(void)
{
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
	snprintf(not_pem, sizeof(not_pem), "%s/not.pem", dir);
	CHECK(write_certificate(ca_pem));
	if ((f = fopen(not_pem, "w")) != NULL) {
		fputs("not a certificate\n", f);
		fclose(f);
	}
	uri_list();
	loopback();
	network();
	lists();
	ca_files();
	unlink(ca_pem);
	unlink(not_pem);
	snprintf(ca_pem, sizeof(ca_pem), "%s/eidgate.conf", dir);
	unlink(ca_pem);
	rmdir(dir);
	return check_report();
}
