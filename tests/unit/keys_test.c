/*
 * keys_test.c - the keys (keys/): rotation of the session ring, of the assertion key
 * (published before it signs, the old one still signing for requests that named it
 * until the next reload) and of the checkpoint key; what each key agrees to sign; the
 * key process answering the same, refusing malformed messages without dying, and a
 * dead key process failing every call with EG_ERR_KEYS.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "keys/internal.h"
#include "check.h"

static char dir[] = "/tmp/eidgate-keys-XXXXXX";
static char conf[600];
static char tls_key[600] = "x";         /* [listen] tls_key of write_config */

static void
path_of(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void
write_session_key(const char *name, unsigned char fill)
{
	unsigned char raw[32];
	char p[600];
	FILE *f;

	path_of(name, p, sizeof(p));
	memset(raw, fill, sizeof(raw));
	if ((f = fopen(p, "wb")) == NULL)
		return;
	fwrite(raw, 1, sizeof(raw), f);
	fclose(f);
	chmod(p, 0600);
}

/* An EC P-256 private key file, and its public half as name.pub. */
static void
write_ec_key(const char *name)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char p[600];
	FILE *f;

	path_of(name, p, sizeof(p));
	if (k == NULL || (f = fopen(p, "w")) == NULL)
		return;
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(p, 0600);
	snprintf(p + strlen(p), sizeof(p) - strlen(p), ".pub");
	if ((f = fopen(p, "w")) != NULL) {
		PEM_write_PUBKEY(f, k);
		fclose(f);
	}
	EVP_PKEY_free(k);
}

/* The configuration file the keys read (the key process reads nothing else). */
static void
write_config(const char *session, const char *previous, const char *assertion,
    const char *publish, const char *checkpoint)
{
	FILE *f = fopen(conf, "w");

	if (f == NULL)
		return;
	fprintf(f, "[listen]\naddress = 127.0.0.1:1\ntls_cert = x\ntls_key = %s\n"
	    "[eid]\ntrust_anchors = x\n[ldap]\nuri = ldap://127.0.0.1:1\nbase = o=x\n"
	    "[policy]\nfile = x\n[audit]\ndb = x\nsigning_key = %s\n"
	    "[session]\nkey_file = %s\nprevious_key_files = %s\n"
	    "[assertion]\nsigning_key = %s\npublish_keys = %s\n",
	    tls_key, checkpoint, session, previous, assertion, publish);
	fclose(f);
}

static struct keys *
open_local(void)
{
	struct eg_config cfg;
	struct keys *k = NULL;

	if (config_load(conf, &cfg, NULL) != EG_OK)
		return NULL;
	return keys_open_local(&cfg, &k) == EG_OK ? k : NULL;
}

/* The keys of conf in the key process (remote) or in this process; NULL reported. */
static struct keys *
open_either(int remote)
{
	struct keys *k = NULL;

	if (remote)
		CHECK(keys_spawn(conf, 2, &k) == EG_OK);
	else
		k = open_local();
	CHECK(k != NULL);
	return k;
}

static int
opens(struct keys *k, const char *token)
{
	unsigned char *plain = NULL;
	size_t len = 0;
	int rc = keys_unseal(k, KEYS_SEAL_SESSION, token, &plain, &len);

	eg_freezero(plain, plain != NULL ? len + 1 : 0);
	return rc == EG_OK;
}

/* The id of the public key of purpose p that signs (or not) now; 0 or -1. */
static int
key_id(struct keys *k, enum keys_sign p, int signs, unsigned char id[KEYS_ID_LEN])
{
	struct keys_public pub;
	size_t i;

	if (keys_public(k, &pub) != EG_OK)
		return -1;
	for (i = 0; i < pub.n; i++)
		if (pub.keys[i].purpose == p && pub.keys[i].signs == signs) {
			memcpy(id, pub.keys[i].id, KEYS_ID_LEN);
			return 0;
		}
	return -1;
}

static size_t
count_keys(struct keys *k, enum keys_sign p)
{
	struct keys_public pub;
	size_t i, n = 0;

	if (keys_public(k, &pub) != EG_OK)
		return 0;
	for (i = 0; i < pub.n; i++)
		n += pub.keys[i].purpose == p;
	return n;
}

/* A JWS signing input naming kid, as forward/assertion.c makes them (keys/jws.c). */
static void
jws_input(const char *kid, char *out, size_t len)
{
	char header[160], hb[256], pb[64];

	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	eg_b64url((const unsigned char *)header, strlen(header), hb);
	eg_b64url((const unsigned char *)"{\"sub\":\"x\"}", 11, pb);
	snprintf(out, len, "%s.%s", hb, pb);
}

static void
test_session_ring(int remote)
{
	char a[600], b[600], ak[600];
	struct keys *k = NULL;
	char *old = NULL, *fresh = NULL;

	path_of("a.session", a, sizeof(a));
	path_of("b.session", b, sizeof(b));
	path_of("assertion.key", ak, sizeof(ak));
	write_config(a, "", ak, "", "");
	if ((k = open_either(remote)) == NULL)
		return;
	CHECK(keys_seal(k, KEYS_SEAL_SESSION, "{\"i\":1}", 7, &old) == EG_OK);
	CHECK(old != NULL && opens(k, old));
	/* Rotation: b seals, a still opens what it sealed. */
	write_config(b, a, ak, "", "");
	CHECK(keys_reload(k) == EG_OK);
	CHECK(keys_seal(k, KEYS_SEAL_SESSION, "{\"i\":2}", 7, &fresh) == EG_OK);
	CHECK(old != NULL && opens(k, old));
	CHECK(fresh != NULL && opens(k, fresh));
	/* A session never passes as a challenge, nor the other way round. */
	{
		unsigned char *p = NULL;
		size_t n = 0;

		CHECK(keys_unseal(k, KEYS_SEAL_CHALLENGE, fresh, &p, &n) == EG_ERR_PARSE);
	}
	/* a retired: its sessions end. A broken configuration keeps the keys in use. */
	write_config(b, "", ak, "", "");
	CHECK(keys_reload(k) == EG_OK);
	CHECK(old != NULL && !opens(k, old));
	CHECK(fresh != NULL && opens(k, fresh));
	write_config("/nonexistent/session.key", "", ak, "", "");
	CHECK(keys_reload(k) == EG_ERR_CONFIG);
	CHECK(fresh != NULL && opens(k, fresh));
	free(old);
	free(fresh);
	keys_close(k);
}

static void
test_assertion_rotation(int remote)
{
	char s[600], k1[600], k2[600], k2pub[600], k1pub[600], input[512];
	unsigned char id1[KEYS_ID_LEN], id2[KEYS_ID_LEN], sig[80];
	struct signer *sg = NULL;
	struct keys *k = NULL;
	char *jws = NULL, kid1[48];
	size_t siglen;

	path_of("a.session", s, sizeof(s));
	path_of("k1.key", k1, sizeof(k1));
	path_of("k2.key", k2, sizeof(k2));
	path_of("k1.key.pub", k1pub, sizeof(k1pub));
	path_of("k2.key.pub", k2pub, sizeof(k2pub));
	/* 1. k1 signs; k2 is published ahead of its turn. */
	write_config(s, "", k1, k2pub, "");
	if ((k = open_either(remote)) == NULL)
		return;
	CHECK(count_keys(k, KEYS_SIGN_ASSERTION) == 2);
	CHECK(key_id(k, KEYS_SIGN_ASSERTION, 1, id1) == 0);
	CHECK(key_id(k, KEYS_SIGN_ASSERTION, 0, id2) == 0);
	CHECK(signer_new(k, &sg) == EG_OK && sg != NULL);
	if (sg != NULL) {
		CHECK(strstr(signer_jwks(sg), signer_kid(sg)) != NULL);
		CHECK(strstr(signer_jwks(sg), "},{") != NULL);         /* two keys */
		CHECK(signer_jws(sg, "{\"sub\":\"x\"}", &jws) == EG_OK && jws != NULL);
		eg_strlcpy(kid1, signer_kid(sg), sizeof(kid1));
		free(jws);
		signer_free(sg);
	}
	/* What the assertion key refuses: a message that is no JWS, a JWS naming another
	 * key, a published key without its private half, an unknown key. */
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id1, "eidgate-audit-checkpoint-v1xxxx", 31,
	    sig, &siglen) == EG_ERR_DENIED);
	jws_input("someone-else", input, sizeof(input));
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id1, input, strlen(input), sig, &siglen) ==
	    EG_ERR_DENIED);
	jws_input(kid1, input, sizeof(input));
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id1, input, strlen(input), sig, &siglen) == EG_OK);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id2, input, strlen(input), sig, &siglen) ==
	    EG_ERR_DENIED);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_CHECKPOINT, id1, input, strlen(input), sig, &siglen) ==
	    EG_ERR_DENIED);
	/* 2. k2 signs, k1 published: a request that took k1's id before still gets its
	 * signature (k1 retired, kept until the next reload). */
	write_config(s, "", k2, k1pub, "");
	CHECK(keys_reload(k) == EG_OK);
	CHECK(key_id(k, KEYS_SIGN_ASSERTION, 1, id2) == 0);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id1, input, strlen(input), sig, &siglen) == EG_OK);
	/* 3. The next reload: k1 is published only; it signs no more. */
	CHECK(keys_reload(k) == EG_OK);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id1, input, strlen(input), sig, &siglen) ==
	    EG_ERR_DENIED);
	CHECK(count_keys(k, KEYS_SIGN_ASSERTION) == 2);
	keys_close(k);
}

/*
 * A cluster's instances publish each other's keys through one directory of public keys:
 * every *.pem in it is published (other names ignored), more keys than one instance
 * would ever need, and the whole set also crosses the key process's channel.
 */
static void
test_published_directory(int remote)
{
	char s[600], a[600], pubdir[600], name[64], p[700];
	struct keys *k = NULL;
	struct signer *sg = NULL;
	FILE *f;
	int i;

	path_of("a.session", s, sizeof(s));
	path_of("assertion.key", a, sizeof(a));
	path_of("cluster-keys", pubdir, sizeof(pubdir));
	if (!remote) {
		CHECK(mkdir(pubdir, 0755) == 0);
		for (i = 0; i < 30; i++) {
			snprintf(name, sizeof(name), "cluster-keys/gw%02d.key", i);
			write_ec_key(name);
			path_of(name, p, sizeof(p));
			CHECK(unlink(p) == 0);          /* only the public half is shared */
			snprintf(p + strlen(p), sizeof(p) - strlen(p), ".pub");
			snprintf(name, sizeof(name), "%s/gw%02d.pem", pubdir, i);
			CHECK(rename(p, name) == 0);
		}
		snprintf(p, sizeof(p), "%s/README", pubdir);
		if ((f = fopen(p, "w")) != NULL) {
			fputs("not a key\n", f);
			fclose(f);
		}
	}
	write_config(s, "", a, pubdir, "");
	if ((k = open_either(remote)) == NULL)
		return;
	CHECK(count_keys(k, KEYS_SIGN_ASSERTION) == 31);
	CHECK(signer_new(k, &sg) == EG_OK && sg != NULL);
	if (sg != NULL) {
		CHECK(strstr(signer_jwks(sg), signer_kid(sg)) != NULL);
		signer_free(sg);
	}
	keys_close(k);
	/* A broken key in the directory is refused like any other key file. */
	if (remote) {
		snprintf(p, sizeof(p), "%s/zz.pem", pubdir);
		if ((f = fopen(p, "w")) != NULL) {
			fputs("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", f);
			fclose(f);
		}
		CHECK(open_local() == NULL);
		CHECK(unlink(p) == 0);
	}
}

/* The TLS key signs SHA-256 digests (what GnuTLS hands it) and nothing longer or shorter. */
static void
test_tls_key(int remote)
{
	char s[600], a[600], t[600];
	unsigned char id[KEYS_ID_LEN], sig[80], digest[48];
	struct keys *k = NULL;
	size_t siglen;

	path_of("a.session", s, sizeof(s));
	path_of("assertion.key", a, sizeof(a));
	path_of("tls.key", t, sizeof(t));
	eg_strlcpy(tls_key, t, sizeof(tls_key));
	write_config(s, "", a, "", "");
	eg_strlcpy(tls_key, "x", sizeof(tls_key));
	if ((k = open_either(remote)) == NULL)
		return;
	memset(digest, 0x5a, sizeof(digest));
	CHECK(key_id(k, KEYS_SIGN_TLS, 1, id) == 0);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_TLS, id, digest, 32, sig, &siglen) == EG_OK && siglen > 60);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_TLS, id, digest, 48, sig, &siglen) == EG_ERR_DENIED);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_ASSERTION, id, digest, 32, sig, &siglen) == EG_ERR_DENIED);
	keys_close(k);
}

static void
test_checkpoint_key(int remote)
{
	char s[600], a[600], c1[600], c2[600];
	unsigned char id1[KEYS_ID_LEN], id2[KEYS_ID_LEN], sig[80];
	unsigned char msg[88];
	struct keys *k = NULL;
	size_t siglen;

	path_of("a.session", s, sizeof(s));
	path_of("assertion.key", a, sizeof(a));
	path_of("c1.key", c1, sizeof(c1));
	path_of("c2.key", c2, sizeof(c2));
	write_config(s, "", a, "", c1);
	if ((k = open_either(remote)) == NULL)
		return;
	memset(msg, 0x41, sizeof(msg));
	memcpy(msg, KEYS_CHECKPOINT_PREFIX "v1", sizeof(KEYS_CHECKPOINT_PREFIX) + 1);
	CHECK(key_id(k, KEYS_SIGN_CHECKPOINT, 1, id1) == 0);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_CHECKPOINT, id1, msg, sizeof(msg), sig, &siglen) == EG_OK);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_CHECKPOINT, id1, "not a checkpoint", 16, sig, &siglen) ==
	    EG_ERR_DENIED);
	/* A new checkpoint key: the old one still signs the closing checkpoint. */
	write_config(s, "", a, "", c2);
	CHECK(keys_reload(k) == EG_OK);
	CHECK(key_id(k, KEYS_SIGN_CHECKPOINT, 1, id2) == 0 && memcmp(id1, id2, KEYS_ID_LEN) != 0);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_CHECKPOINT, id1, msg, sizeof(msg), sig, &siglen) == EG_OK);
	siglen = sizeof(sig);
	CHECK(keys_sign(k, KEYS_SIGN_CHECKPOINT, id2, msg, sizeof(msg), sig, &siglen) == EG_OK);
	keys_close(k);
}

/* Sends raw bytes to a key process of our own and reads the answer's status. */
static int
raw_status(int fd, const void *msg, size_t len)
{
	unsigned char buf[sizeof(struct keys_rep) + KEYS_MAX_MSG];
	struct keys_rep rep;
	ssize_t n;

	if (send(fd, msg, len, 0) < 0 || (n = recv(fd, buf, sizeof(buf), 0)) <
	    (ssize_t)sizeof(rep))
		return 1;
	memcpy(&rep, buf, sizeof(rep));
	return rep.status;
}

static void
test_hostile_messages(void)
{
	struct keys_req q;
	unsigned char big[sizeof(q) + KEYS_MAX_MSG + 100];
	int sv[2], st = -1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		return;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		keyproc_main(conf, &sv[1], 1);
	}
	close(sv[1]);
	memset(&q, 0, sizeof(q));
	CHECK(raw_status(sv[0], "x", 1) == EG_ERR_DENIED);                  /* short */
	q.op = KOP_PUBLIC;
	q.len = 5;                                                          /* lies */
	CHECK(raw_status(sv[0], &q, sizeof(q)) == EG_ERR_DENIED);
	q.op = 99;
	q.len = 0;
	CHECK(raw_status(sv[0], &q, sizeof(q)) == EG_ERR_DENIED);           /* unknown */
	q.op = KOP_SEAL;
	q.purpose = 7;
	CHECK(raw_status(sv[0], &q, sizeof(q)) == EG_ERR_DENIED);           /* purpose */
	memset(big, 0, sizeof(big));
	q.purpose = KEYS_SEAL_SESSION;
	q.len = (uint32_t)(sizeof(big) - sizeof(q));
	memcpy(big, &q, sizeof(q));
	CHECK(raw_status(sv[0], big, sizeof(big)) == EG_ERR_DENIED);        /* too long */
	q.op = KOP_SIGN;
	q.purpose = KEYS_SIGN_ASSERTION;
	q.len = 3;                                                          /* no id */
	memcpy(big, &q, sizeof(q));
	CHECK(raw_status(sv[0], big, sizeof(q) + 3) == EG_ERR_DENIED);
	q.op = KOP_PUBLIC;
	q.len = 0;
	CHECK(raw_status(sv[0], &q, sizeof(q)) == EG_OK);                   /* still there */
	close(sv[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_dead_key_process(void)
{
	struct keys *k = NULL;
	char *tok = NULL;

	CHECK(keys_spawn(conf, 1, &k) == EG_OK);
	if (k == NULL)
		return;
	CHECK(keys_alive(k));
	kill(keys_pid(k), SIGKILL);
	CHECK(keys_seal(k, KEYS_SEAL_SESSION, "{}", 2, &tok) == EG_ERR_KEYS && tok == NULL);
	CHECK(!keys_alive(k));
	keys_close(k);
}

static void
test_spawn_refuses_bad_keys(void)
{
	struct keys *k = NULL;

	write_config("/nonexistent/session.key", "", "x", "", "");
	CHECK(keys_spawn(conf, 1, &k) == EG_ERR_CONFIG && k == NULL);
}

int
main(void)
{
	char s[600], a[600];
	int remote;

	if (mkdtemp(dir) == NULL)
		return 1;
	path_of("keys.conf", conf, sizeof(conf));
	write_session_key("a.session", 0x11);
	write_session_key("b.session", 0x22);
	write_ec_key("assertion.key");
	write_ec_key("k1.key");
	write_ec_key("k2.key");
	write_ec_key("c1.key");
	write_ec_key("c2.key");
	write_ec_key("tls.key");
	for (remote = 0; remote <= 1; remote++) {
		test_session_ring(remote);
		test_assertion_rotation(remote);
		test_checkpoint_key(remote);
		test_tls_key(remote);
		test_published_directory(remote);
	}
	path_of("a.session", s, sizeof(s));
	path_of("assertion.key", a, sizeof(a));
	write_config(s, "", a, "", "");
	test_hostile_messages();
	test_dead_key_process();
	test_spawn_refuses_bad_keys();
	check_rm_tree(dir);
	return check_report();
}
