/*
 * pseudonym_test.c - pseudonymous subjects (issue 16 item 5): the value (HMAC-SHA256
 * under a per-backend key, checked against an independent computation), its key id, the
 * ring of previous keys, the same answers from the key process as from local keys, the
 * policy's subject= option, and the control socket's pseudonym message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"
#include "server/internal.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/eidgate-pseudonym-XXXXXX";
static char conf[600];

static void
put(const char *name, const unsigned char *b, size_t n)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "wb")) == NULL)
		return;
	fwrite(b, 1, n, f);
	fclose(f);
	chmod(p, 0600);
}

static void
write_config(const char *pseudo, const char *previous)
{
	FILE *f = fopen(conf, "w");

	if (f == NULL)
		return;
	fprintf(f, "[listen]\naddress = 127.0.0.1:1\ntls_cert = x\ntls_key = x\n"
	    "[eid]\ntrust_anchors = x\n[ldap]\nuri = ldap://127.0.0.1:1\nbase = o=x\n"
	    "[policy]\nfile = x\n[audit]\ndb = x\n"
	    "[session]\nkey_file = %s/s.key\n[assertion]\nsigning_key =\n"
	    "pseudonym_key_file = %s\npseudonym_previous_key_files = %s\n",
	    dir, pseudo, previous);
	fclose(f);
}

/* What a backend's operator can compute with the master key, independently. */
static void
expected(const unsigned char *master, size_t mlen, const char *backend, const char *nrn,
    char out[64])
{
	unsigned char bk[32], mac[32];
	char msg[128];
	unsigned int l = 0;

	snprintf(msg, sizeof(msg), "eidgate-pseudonym-v1:%s", backend);
	HMAC(EVP_sha256(), master, (int)mlen, (unsigned char *)msg, strlen(msg), bk, &l);
	HMAC(EVP_sha256(), bk, 32, (const unsigned char *)nrn, 11, mac, &l);
	eg_b64url(mac, 32, out);
}

static struct keys *
open_keys(int remote)
{
	struct eg_config cfg;
	struct keys *k = NULL;

	if (remote)
		return keys_spawn(conf, 1, &k) == EG_OK ? k : NULL;
	if (config_load(conf, &cfg, NULL) != EG_OK)
		return NULL;
	return keys_open_local(&cfg, &k) == EG_OK ? k : NULL;
}

static void
test_values(int remote)
{
	unsigned char m1[32], m2[32];
	char p1[600], p2[600], kid[KEYS_PSEUDONYM_KID + 1], kid2[KEYS_PSEUDONYM_KID + 1];
	char ps[KEYS_PSEUDONYM_LEN + 1], ps2[KEYS_PSEUDONYM_LEN + 1], want[64];
	struct keys *k;

	memset(m1, 0x5a, sizeof(m1));
	memset(m2, 0xa5, sizeof(m2));
	snprintf(p1, sizeof(p1), "%s/p1.key", dir);
	snprintf(p2, sizeof(p2), "%s/p2.key", dir);
	write_config(p2, p1);           /* p2 in use, p1 before the rotation */
	CHECK((k = open_keys(remote)) != NULL);
	if (k == NULL)
		return;
	CHECK(keys_pseudonym(k, NULL, "dossiers", "85073003328", kid, ps) == EG_OK);
	expected(m2, 32, "dossiers", "85073003328", want);
	CHECK(strcmp(ps, want) == 0 && strlen(ps) == KEYS_PSEUDONYM_LEN);
	CHECK(strlen(kid) == 8 && eg_all_hex(kid));
	/* Stable; another backend or person gets another value. */
	CHECK(keys_pseudonym(k, NULL, "dossiers", "85073003328", kid2, ps2) == EG_OK &&
	    strcmp(ps, ps2) == 0 && strcmp(kid, kid2) == 0);
	CHECK(keys_pseudonym(k, NULL, "modules", "85073003328", kid2, ps2) == EG_OK &&
	    strcmp(ps, ps2) != 0);
	CHECK(keys_pseudonym(k, NULL, "dossiers", "85073003427", kid2, ps2) == EG_OK &&
	    strcmp(ps, ps2) != 0);
	/* A key id nobody has is refused, not answered with the current key. */
	CHECK(keys_pseudonym(k, "00000000", "dossiers", "85073003328", kid2, ps2) ==
	    EG_ERR_NOT_FOUND);
	/* Malformed input is refused, not hashed. */
	CHECK(keys_pseudonym(k, NULL, "dossiers", "123", kid, ps) == EG_ERR_PARSE);
	CHECK(keys_pseudonym(k, NULL, "", "85073003328", kid, ps) == EG_ERR_PARSE);
	keys_close(k);
}

static void
test_previous_key_id(void)
{
	unsigned char m1[32];
	char p1[600], kid[KEYS_PSEUDONYM_KID + 1], kid1[KEYS_PSEUDONYM_KID + 1];
	char ps[KEYS_PSEUDONYM_LEN + 1], want[64];
	struct keys *k;

	memset(m1, 0x5a, sizeof(m1));
	snprintf(p1, sizeof(p1), "%s/p1.key", dir);
	write_config(p1, "");           /* p1 alone: learn its id */
	CHECK((k = open_keys(0)) != NULL);
	if (k == NULL)
		return;
	CHECK(keys_pseudonym(k, NULL, "dossiers", "85073003328", kid1, ps) == EG_OK);
	keys_close(k);
	snprintf(p1, sizeof(p1), "%s/p2.key", dir);
	{
		char prev[600];
		snprintf(prev, sizeof(prev), "%s/p1.key", dir);
		write_config(p1, prev);
	}
	CHECK((k = open_keys(1)) != NULL);
	if (k == NULL)
		return;
	expected(m1, 32, "dossiers", "85073003328", want);
	CHECK(keys_pseudonym(k, kid1, "dossiers", "85073003328", kid, ps) == EG_OK);
	CHECK(strcmp(kid, kid1) == 0 && strcmp(ps, want) == 0);
	keys_close(k);
}

static void
test_no_key(void)
{
	char kid[KEYS_PSEUDONYM_KID + 1], ps[KEYS_PSEUDONYM_LEN + 1];
	struct keys *k;

	write_config("", "");
	CHECK((k = open_keys(0)) != NULL);
	if (k != NULL)
		CHECK(keys_pseudonym(k, NULL, "dossiers", "85073003328", kid, ps) ==
		    EG_ERR_NOT_FOUND);
	keys_close(k);
	/* A key file others may read, or of the wrong size, is refused. */
	{
		char p[600];
		unsigned char small[8] = { 0 };
		put("short.key", small, sizeof(small));
		snprintf(p, sizeof(p), "%s/short.key", dir);
		write_config(p, "");
		CHECK(open_keys(0) == NULL);
		snprintf(p, sizeof(p), "%s/p1.key", dir);
		chmod(p, 0644);
		write_config(p, "");
		CHECK(open_keys(0) == NULL);
		chmod(p, 0600);
	}
}

static void
test_policy_option(void)
{
	static const char ok[] = "backend d http://127.0.0.1:1 subject=pseudonym\n"
	    "backend m http://127.0.0.1:2\n";
	static const char bad[] = "backend d http://127.0.0.1:1 subject=name\n";
	static const char hdr[] = "backend d http://127.0.0.1:1 subject=pseudonym "
	    "identity=headers\n";
	struct policy *p = NULL;

	CHECK(policy_load_text("t", ok, strlen(ok), &p, NULL) == EG_OK);
	if (p != NULL) {
		CHECK(policy_backend_find(p, "d")->subject == POLICY_SUBJECT_PSEUDONYM);
		CHECK(policy_backend_find(p, "m")->subject == POLICY_SUBJECT_NRN);
	}
	policy_free(p);
	CHECK(policy_load_text("t", bad, strlen(bad), &p, NULL) == EG_ERR_POLICY);
	CHECK(policy_load_text("t", hdr, strlen(hdr), &p, NULL) == EG_ERR_POLICY);
}

static void
test_control_message(void)
{
	static const char good[] = "{\"kind\":\"pseudonym\",\"request_id\":\"op-0011aabb\","
	    "\"actor\":\"operator:root\",\"backend\":\"dossiers\",\"target\":\"85073003328\"}";
	static const char with_kid[] = "{\"kind\":\"pseudonym\",\"request_id\":\"op-00\","
	    "\"actor\":\"operator:root\",\"backend\":\"d\",\"target\":\"85073003328\","
	    "\"key_id\":\"0a1b2c3d\"}";
	static const char *const bad[] = {
		"{\"kind\":\"pseudonym\",\"request_id\":\"op-00\",\"actor\":\"operator:root\","
		"\"backend\":\"d e\",\"target\":\"85073003328\"}",
		"{\"kind\":\"pseudonym\",\"request_id\":\"op-00\",\"actor\":\"operator:root\","
		"\"backend\":\"d\",\"target\":\"85073003329\"}",
		"{\"kind\":\"pseudonym\",\"request_id\":\"op-00\",\"actor\":\"root\","
		"\"backend\":\"d\",\"target\":\"85073003328\"}",
		"{\"kind\":\"pseudonym\",\"request_id\":\"op-00\",\"actor\":\"operator:root\","
		"\"backend\":\"d\",\"target\":\"85073003328\",\"key_id\":\"zz\"}",
		"{\"kind\":\"pseudonym\",\"request_id\":\"op-00\",\"actor\":\"operator:root\","
		"\"backend\":\"d\",\"target\":\"85073003328\",\"extra\":\"x\"}",
	};
	struct control_msg m;
	char why[160];
	size_t i;

	CHECK(control_parse(good, strlen(good), &m, why, sizeof(why)) == EG_OK);
	CHECK(m.is_pseudonym && strcmp(m.lookup.backend, "dossiers") == 0 &&
	    m.lookup.key_id == NULL);
	control_msg_free(&m);
	CHECK(control_parse(with_kid, strlen(with_kid), &m, why, sizeof(why)) == EG_OK);
	CHECK(m.is_pseudonym && strcmp(m.lookup.key_id, "0a1b2c3d") == 0);
	control_msg_free(&m);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(control_parse(bad[i], strlen(bad[i]), &m, why, sizeof(why)) == EG_ERR_PARSE);
		control_msg_free(&m);
	}
}

int
main(void)
{
	unsigned char b[32];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(conf, sizeof(conf), "%s/keys.conf", dir);
	memset(b, 0x11, sizeof(b));
	put("s.key", b, sizeof(b));
	memset(b, 0x5a, sizeof(b));
	put("p1.key", b, sizeof(b));
	memset(b, 0xa5, sizeof(b));
	put("p2.key", b, sizeof(b));
	test_values(0);
	test_values(1);
	test_previous_key_id();
	test_no_key();
	test_policy_option();
	test_control_message();
	check_rm_tree(dir);
	return check_report();
}
