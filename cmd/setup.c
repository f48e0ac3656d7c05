/*
 * setup.c - `eidgate setup -c FILE`: creates what a first start needs and can be made
 * on the spot: the session key (32 random bytes) and the assertion and audit signing
 * keys (EC P-256, PEM) at the paths the configuration names, each mode 0600 and owned
 * by whoever runs it (root, from the package's postinst), with the public halves beside
 * the signing keys for backends and security officers. It never replaces a file: a key
 * that exists stays as it is, since a new session key ends every session and a new
 * signing key makes every backend and verifier distrust the gateway. Then it names what
 * only the operator can provide (TLS certificate, eID trust anchors, policy, LDAP
 * password) and is still missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_text[] =
    "usage: eidgate setup -c FILE\n"
    "Creates, when they do not exist yet, the keys the configuration FILE names:\n"
    "  [session] key_file        32 random bytes\n"
    "  [assertion] signing_key   EC P-256 private key (PEM), public key beside it\n"
    "  [audit] signing_key       EC P-256 private key (PEM), public key beside it\n"
    "each mode 0600, owned by the user running setup (root for the gateway's start).\n"
    "An existing file is never changed. Then lists the files a first start needs that\n"
    "only the operator can provide and that are still missing.\n"
    "Exit status: 0 done, 1 a key could not be created, 2 bad usage.\n";

enum made { MADE_NEW, MADE_KEPT, MADE_FAILED };

/* lstat, not stat: a dangling symlink where a key belongs is the operator's to sort out,
 * never something to write through. 1 present, 0 absent, -1 cannot tell (printed). */
static int
present(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	fprintf(stderr, "eidgate: %s: %s\n", path, strerror(errno));
	return -1;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Makes the new name durable too, not only the file's bytes. */
static void
sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	eg_strlcpy(copy, path, sizeof(copy));
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * Creates path with exactly data, mode `mode`, and never replaces anything there: the
 * bytes go to a temporary file in the same directory, which link(2) then gives the final
 * name (link fails with EEXIST where open(O_TRUNC) or rename would overwrite). A reader
 * never sees a half-written key.
 */
static enum made
create_file(const char *path, const unsigned char *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
		fprintf(stderr, "eidgate: %s: path too long\n", path);
		return MADE_FAILED;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "eidgate: %s: cannot create: %s\n", path, strerror(errno));
		return MADE_FAILED;
	}
	if (write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		fprintf(stderr, "eidgate: %s: cannot write: %s\n", path, strerror(err));
		return MADE_FAILED;
	}
	close(fd);
	err = link(tmp, path) == 0 ? 0 : errno;
	unlink(tmp);
	if (err == EEXIST)
		return MADE_KEPT;       /* appeared meanwhile: theirs stays */
	if (err != 0) {
		fprintf(stderr, "eidgate: %s: cannot create: %s\n", path, strerror(err));
		return MADE_FAILED;
	}
	sync_dir_of(path);
	return MADE_NEW;
}

static void
report(const char *what, const char *path, enum made m, const char *detail)
{
	if (m == MADE_NEW)
		printf("created %s %s (%s)\n", what, path, detail);
	else if (m == MADE_KEPT)
		printf("kept    %s %s (exists; never overwritten)\n", what, path);
}

static enum made
make_session_key(const char *path)
{
	unsigned char key[32];
	enum made m;
	int p;

	if ((p = present(path)) != 0)
		return p > 0 ? MADE_KEPT : MADE_FAILED;
	if (RAND_priv_bytes(key, sizeof(key)) != 1) {
		fprintf(stderr, "eidgate: %s: no random bytes\n", path);
		return MADE_FAILED;
	}
	m = create_file(path, key, sizeof(key), 0600);
	OPENSSL_cleanse(key, sizeof(key));
	return m;
}

/* PEM of key into a new file: the private key (PKCS#8) or its public half. */
static enum made
write_pem(const char *path, EVP_PKEY *key, int private_part)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long len;
	enum made m = MADE_FAILED;

	if (b != NULL && (private_part ?
	    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_PUBKEY(b, key)) == 1 && (len = BIO_get_mem_data(b, &data)) > 0) {
		m = create_file(path, (const unsigned char *)data, (size_t)len,
		    private_part ? 0600 : 0644);
		OPENSSL_cleanse(data, (size_t)len);
	} else {
		fprintf(stderr, "eidgate: %s: cannot encode the key\n", path);
	}
	BIO_free(b);
	return m;
}

/* "/etc/eidgate/audit.key" -> "/etc/eidgate/audit.pub.pem"; other names get ".pub.pem"
 * appended. */
static int
public_path(const char *path, char *out, size_t outlen)
{
	size_t n = strlen(path);

	if (n > 4 && strcmp(path + n - 4, ".key") == 0)
		n -= 4;
	return snprintf(out, outlen, "%.*s.pub.pem", (int)n, path) < (int)outlen ? 0 : -1;
}

/* The public half beside a signing key: written when absent; an existing one that
 * belongs to another key is only reported, never replaced. */
static int
make_public(const char *keypath, EVP_PKEY *key)
{
	char pub[PATH_MAX], err[512];
	EVP_PKEY *old = NULL;
	enum made m;
	int p;

	if (public_path(keypath, pub, sizeof(pub)) != 0 || (p = present(pub)) < 0)
		return -1;
	if (p == 0) {
		if ((m = write_pem(pub, key, 0)) == MADE_FAILED)
			return -1;
		report("public key", pub, m, "mode 0644");
		return 0;
	}
	if (eg_key_load_p256(pub, 0, &old, err, sizeof(err)) != EG_OK ||
	    EVP_PKEY_eq(old, key) != 1) {
		fprintf(stderr, "eidgate: %s exists but is not the public key of %s: remove it "
		    "and run setup again\n", pub, keypath);
		EVP_PKEY_free(old);
		return -1;
	}
	EVP_PKEY_free(old);
	report("public key", pub, MADE_KEPT, NULL);
	return 0;
}

static int
make_signing_key(const char *what, const char *path)
{
	EVP_PKEY *key = NULL;
	char err[512];
	enum made m;
	int p, rc = -1;

	if ((p = present(path)) < 0)
		return -1;
	if (p == 0) {
		if ((key = EVP_EC_gen("P-256")) == NULL) {
			fprintf(stderr, "eidgate: %s: cannot generate an EC P-256 key\n", path);
			return -1;
		}
		if ((m = write_pem(path, key, 1)) == MADE_FAILED)
			goto out;
		report(what, path, m, "EC P-256, mode 0600");
		if (m == MADE_KEPT) {
			EVP_PKEY_free(key);
			key = NULL;
		}
	} else {
		report(what, path, MADE_KEPT, NULL);
	}
	/* Read back what the gateway will read: the key it accepts, with its checks. */
	if (key == NULL && eg_key_load_p256(path, 1, &key, err, sizeof(err)) != EG_OK) {
		fprintf(stderr, "eidgate: %s\n", err);
		goto out;
	}
	rc = make_public(path, key);
out:
	EVP_PKEY_free(key);
	return rc;
}

/* What only the operator can provide; named so a first start does not fail on it. */
static void
check_provided(const char *what, const char *path, const char *hint)
{
	struct stat st;

	if (path[0] == '\0' || stat(path, &st) == 0)
		return;
	printf("missing %s %s: %s (%s)\n", what, path, strerror(errno), hint);
}

int
cmd_setup(int argc, char **argv)
{
	struct eg_config cfg;
	enum made m;
	int failed = 0;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (argc != 3 || (strcmp(argv[1], "-c") != 0 && strcmp(argv[1], "--config") != 0)) {
		fprintf(stderr, "eidgate: usage: eidgate setup -c FILE\n");
		return EXIT_USAGE;
	}
	if (config_load(argv[2], &cfg, NULL) != EG_OK)
		return EXIT_FAILED;
	if ((m = make_session_key(cfg.session_key_file)) == MADE_FAILED)
		failed = 1;
	report("[session] key_file", cfg.session_key_file, m, "32 random bytes, mode 0600");
	if (make_signing_key("[assertion] signing_key", cfg.assertion_key) != 0)
		failed = 1;
	if (cfg.audit_signing_key[0] == '\0')
		printf("note    [audit] signing_key is not set: the access log gets no signed "
		    "checkpoints\n");
	else if (make_signing_key("[audit] signing_key", cfg.audit_signing_key) != 0)
		failed = 1;
	check_provided("[listen] tls_cert", cfg.tls_cert, "the gateway's TLS certificate");
	check_provided("[listen] tls_key", cfg.tls_key, "its private key, mode 0600");
	check_provided("[eid] trust_anchors", cfg.trust_anchors,
	    "a directory of the Belgium Root CA certificates");
	check_provided("[eid] intermediates", cfg.intermediates,
	    "a directory of the Citizen and Foreigner CA certificates");
	check_provided("[eid] crl", cfg.crl_dir, "a directory of CRLs, kept fresh");
	check_provided("[policy] file", cfg.policy_file, "see eidgate.policy(5)");
	check_provided("[ldap] bind_password_file", cfg.ldap_password_file,
	    "readable by the service user");
	return failed ? EXIT_FAILED : EXIT_OK;
}
