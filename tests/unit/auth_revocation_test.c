/*
 * auth_revocation_test.c - CRL and OCSP checks of auth_verify against a generated test PKI
 * (certs/gen-test-pki.sh) and a real `openssl ocsp` responder.
 *
 * `openssl ocsp -port N` (OpenSSL 3.0) takes a port number only and listens on every
 * interface. So the test first moves itself into a private network namespace
 * (unshare(CLONE_NEWNET), with a user namespace when not root) and brings up its own
 * loopback there: the responder and the replaying fake responder are reachable from this
 * process and its children only. Without a namespace the test fails rather than open a
 * port to the network.
 *
 * Environment: EIDGATE_SRC (repository root, default "."), TMPDIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"

#define PORT 18080
#define URL "http://127.0.0.1:18080"

static char pki[256];           /* generated PKI (temporary) */
static char logpath[300];       /* children's output */
static pid_t responder = -1;

/* ------------------------------------------------------------------ process helpers */

static void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fork + exec argv with stdout/stderr appended to the log; returns the pid. */
static pid_t
spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int
run(char *const argv[])
{
	pid_t pid = spawn(argv);
	int st = 0;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *
P(const char *rel)
{
	static char buf[32][600];
	static int i;

	i = (i + 1) % 32;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", pki, rel);
	return buf[i];
}

/* ------------------------------------------------------------------ network namespace */

static int
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int
enter_private_net(void)
{
	struct ifreq ifr;
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
			return -1;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if (write_file("/proc/self/setgroups", "deny") != 0 ||
		    write_file("/proc/self/uid_map", map) != 0)
			return -1;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (write_file("/proc/self/gid_map", map) != 0)
			return -1;
	}
	/* The new namespace's loopback is down: bring it up. */
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr)) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Whether something listens on PORT in this namespace. Read from /proc/net/tcp{,6}
 * rather than by connecting: a probe connection without a request can wedge the
 * single-threaded `openssl ocsp` responder. */
static int
port_open(void)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512], addr[65];
	unsigned port, st;
	int i, found = 0;

	for (i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(files[i], "r");
		/* "  0: 0100007F:46A0 00000000:0000 0A ..." - state 0A is LISTEN */
		while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, " %*d: %64[0-9A-Fa-f]:%x %*s %x", addr, &port, &st) == 3 &&
			    port == PORT && st == 0x0A)
				found = 1;
		if (f != NULL)
			fclose(f);
	}
	return found;
}

/* ------------------------------------------------------------------ responder */

static void
responder_stop(void)
{
	int st;

	if (responder > 0) {
		kill(responder, SIGTERM);
		waitpid(responder, &st, 0);
	}
	responder = -1;
	while (port_open())
		msleep(20);
}

/* Starts `openssl ocsp` for citizen-ca4 with index (a path) and waits for its port. */
static int
responder_start(const char *index)
{
	char *argv[] = { "openssl", "ocsp", "-index", (char *)index, "-port", "18080",
		"-rsigner", P("ocsp/citizen-ca4-responder.pem"),
		"-rkey", P("ocsp/citizen-ca4-responder.key"),
		"-CA", P("intermediates/citizen-ca4.pem"), "-nmin", "60", NULL };
	int i;

	responder_stop();
	if ((responder = spawn(argv)) < 0)
		return -1;
	for (i = 0; i < 250; i++) {
		if (port_open())
			return 0;
		msleep(20);
	}
	printf("responder did not start; see %s\n", logpath);
	return -1;
}

/* ------------------------------------------------------------------ replaying responder */

/* Answers every request with one recorded response: a replay with someone else's nonce. */
struct replay {
	int fd;
	unsigned char *der;
	long len;
	pthread_t th;
};

static void *
replay_main(void *arg)
{
	struct replay *rp = arg;
	char head[160], buf[4096];
	int c, n;

	while ((c = accept(rp->fd, NULL, NULL)) >= 0) {
		/* One read holds the small request; its content does not matter. */
		n = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: "
		    "application/ocsp-response\r\nContent-Length: %ld\r\n\r\n", rp->len);
		if (read(c, buf, sizeof(buf)) > 0 && write(c, head, (size_t)n) == n &&
		    write(c, rp->der, (size_t)rp->len) != rp->len)
			printf("replay: short write\n");
		close(c);
	}
	return NULL;
}

static int
replay_start(struct replay *rp, const char *respfile)
{
	struct sockaddr_in sa;
	FILE *f = fopen(respfile, "rb");
	int one = 1;

	memset(rp, 0, sizeof(*rp));
	if (f == NULL)
		return -1;
	rp->der = malloc(65536);
	rp->len = rp->der != NULL ? (long)fread(rp->der, 1, 65536, f) : 0;
	fclose(f);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(PORT);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rp->len <= 0 || (rp->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(rp->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(rp->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(rp->fd, 8) != 0 ||
	    pthread_create(&rp->th, NULL, replay_main, rp) != 0)
		return -1;
	return 0;
}

static void
replay_stop(struct replay *rp)
{
	shutdown(rp->fd, SHUT_RDWR);
	close(rp->fd);
	pthread_join(rp->th, NULL);
	free(rp->der);
}

/* ------------------------------------------------------------------ verification */

static struct auth_ctx *
make_ctx(enum cfg_ocsp mode, const char *crl_rel, int64_t cache_ms)
{
	struct eg_config cfg;
	struct auth_ctx *ctx = NULL;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.trust_anchors, sizeof(cfg.trust_anchors), "%s", P("trust/roots"));
	snprintf(cfg.intermediates, sizeof(cfg.intermediates), "%s", P("trust/intermediates"));
	if (crl_rel != NULL)
		snprintf(cfg.crl_dir, sizeof(cfg.crl_dir), "%s", P(crl_rel));
	cfg.ocsp = mode;
	cfg.ocsp_timeout_ms = 1000;
	cfg.ocsp_cache_ms = cache_ms;
	if (auth_ctx_new(&cfg, &ctx) != EG_OK)
		printf("auth_ctx_new failed\n");
	return ctx;
}

static char last_detail[512];

/* Verifies the PEM chain file rel (leaf first); returns the EG code. */
static int
vfy(const struct auth_ctx *ctx, const char *label, const char *rel)
{
	unsigned char *ders[EG_MAX_CHAIN];
	size_t lens[EG_MAX_CHAIN], n = 0, i;
	struct eg_identity id;
	FILE *f = fopen(P(rel), "r");
	X509 *x;
	int r = EG_ERR_INTERNAL, len;

	last_detail[0] = '\0';
	while (f != NULL && n < EG_MAX_CHAIN && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		ders[n] = NULL;
		len = i2d_X509(x, &ders[n]);
		X509_free(x);
		if (len <= 0)
			break;
		lens[n++] = (size_t)len;
	}
	if (f != NULL)
		fclose(f);
	if (ctx != NULL && n > 0)
		r = auth_verify(ctx, (const unsigned char *const *)ders, lens, n, &id, last_detail,
		    sizeof(last_detail));
	for (i = 0; i < n; i++)
		OPENSSL_free(ders[i]);
	printf("  %-44s %s%s%s\n", label, eg_err_code(r), last_detail[0] ? ": " : "",
	    last_detail);
	return r;
}

static int
detail_has(const char *s)
{
	return strstr(last_detail, s) != NULL;
}

static int
ca_cmd(const char *what, const char *arg)
{
	char *cnf = P("ca/citizen-ca4/openssl.cnf");
	char *revoke[] = { "openssl", "ca", "-config", cnf, "-revoke", (char *)arg, NULL };
	char *gencrl[] = { "openssl", "ca", "-config", cnf, "-gencrl", "-crlsec", "1", "-out",
		(char *)arg, NULL };
	char *gencrl7[] = { "openssl", "ca", "-config", cnf, "-gencrl", "-out", (char *)arg,
		NULL };

	if (strcmp(what, "revoke") == 0)
		return run(revoke);
	if (strcmp(what, "gencrl-1s") == 0)
		return run(gencrl);
	return run(gencrl7);
}

/* Writes a fresh CRL of citizen-ca4 into crl/ atomically (temp file + rename). */
static int
publish_crl(const char *kind)
{
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s", P("crl/.citizen-ca4.tmp"));
	if (ca_cmd(kind, tmp) != 0)
		return -1;
	return rename(tmp, P("crl/citizen-ca4.crl.pem"));
}

/* ------------------------------------------------------------------ CRL cases */

static void
test_crl(void)
{
	struct auth_ctx *ctx = make_ctx(CFG_OCSP_OFF, "crl", 0);
	FILE *f;

	printf("CRLs (ocsp = off):\n");
	CHECK(vfy(ctx, "good", "people/vte-a/chain.pem") == EG_OK && detail_has("CRL"));
	CHECK(vfy(ctx, "revoked at generation", "special/revoked-chain.pem") == EG_ERR_REVOKED);
	CHECK(vfy(ctx, "lb-molenberg before revocation", "people/lb-molenberg/chain.pem") ==
	    EG_OK);
	CHECK(ca_cmd("revoke", P("people/lb-molenberg/auth.pem")) == 0);
	CHECK(publish_crl("gencrl") == 0);
	msleep(1100);
	CHECK(vfy(ctx, "lb-molenberg after CRL reload", "people/lb-molenberg/chain.pem") ==
	    EG_ERR_REVOKED);
	/* A file that is no CRL (say, caught half-written): the loaded CRLs stay. */
	if ((f = fopen(P("crl/zz-partial.pem"), "w")) != NULL) {
		fputs("-----BEGIN X509 CRL-----\nMIIB\n", f);
		fclose(f);
	}
	msleep(1100);
	CHECK(vfy(ctx, "broken file: previous CRLs kept", "people/lb-molenberg/chain.pem") ==
	    EG_ERR_REVOKED);
	CHECK(vfy(ctx, "broken file: good still good", "people/vte-a/chain.pem") == EG_OK);
	unlink(P("crl/zz-partial.pem"));
	/* A CRL whose nextUpdate has passed refuses, it never passes silently. */
	CHECK(publish_crl("gencrl-1s") == 0);
	msleep(2200);
	CHECK(vfy(ctx, "CRL expired", "people/vte-a/chain.pem") == EG_ERR_CRL_EXPIRED);
	CHECK(publish_crl("gencrl") == 0);
	msleep(1100);
	CHECK(vfy(ctx, "fresh CRL again", "people/vte-a/chain.pem") == EG_OK);
	auth_ctx_free(ctx);
}

/* Many threads verify while the CRL file is replaced: the store swap and refcounts. */
struct hammer {
	const struct auth_ctx *ctx;
	char leaf[600];                 /* P() is not for threads: resolved beforehand */
	int stop, bad, runs;            /* accessed with __atomic builtins */
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	const unsigned char *ders[1];
	size_t lens[1];
	struct eg_identity id;
	FILE *f = fopen(h->leaf, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = x != NULL ? i2d_X509(x, &der) : -1;

	if (f != NULL)
		fclose(f);
	X509_free(x);
	ders[0] = der;
	lens[0] = len > 0 ? (size_t)len : 0;
	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED) && len > 0) {
		if (auth_verify(h->ctx, ders, lens, 1, &id, NULL, 0) != EG_OK)
			__atomic_add_fetch(&h->bad, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&h->runs, 1, __ATOMIC_RELAXED);
	}
	OPENSSL_free(der);
	return NULL;
}

static void
test_threads(void)
{
	struct hammer h = { make_ctx(CFG_OCSP_OFF, "crl", 0), "", 0, 0, 0 };
	pthread_t th[6];
	int i, n = 0;

	snprintf(h.leaf, sizeof(h.leaf), "%s", P("people/vte-a/auth.pem"));
	printf("6 threads verifying while the CRL is replaced 3 times:\n");
	for (i = 0; i < 6; i++)
		if (pthread_create(&th[i], NULL, hammer_main, &h) == 0)
			n++;
	for (i = 0; i < 3; i++) {
		CHECK(publish_crl("gencrl") == 0);
		msleep(1050);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("  %d verifications, %d refused\n", h.runs, h.bad);     /* joined: no race */
	CHECK(n == 6 && h.runs > 6 && h.bad == 0);
	auth_ctx_free((struct auth_ctx *)h.ctx);
}

static void
test_crl_missing(void)
{
	struct auth_ctx *off = make_ctx(CFG_OCSP_OFF, "crl-roots", 0);
	struct auth_ctx *prefer = make_ctx(CFG_OCSP_PREFER, "crl-roots", 0);

	printf("no CRL of the leaf's CA (only the roots' CRLs), responder down:\n");
	CHECK(vfy(off, "ocsp = off: refused", "people/vte-a/chain.pem") == EG_ERR_CRL_MISSING);
	CHECK(vfy(prefer, "ocsp = prefer: accepted unchecked", "people/vte-a/chain.pem") ==
	    EG_OK && detail_has("no revocation check"));
	auth_ctx_free(off);
	auth_ctx_free(prefer);
}

/* ------------------------------------------------------------------ OCSP cases */

static void
test_ocsp_basic(void)
{
	struct auth_ctx *req = make_ctx(CFG_OCSP_REQUIRE, NULL, 60000);
	struct auth_ctx *req_nocrl = make_ctx(CFG_OCSP_REQUIRE, "crl-roots", 0);
	struct auth_ctx *prefer, *prefer_crl;
	int64_t t0;

	printf("OCSP, responder up:\n");
	CHECK(responder_start(P("ca/citizen-ca4/index.txt")) == 0);
	CHECK(vfy(req, "good", "people/vte-a/chain.pem") == EG_OK && detail_has("OCSP good") &&
	    !detail_has("cached"));
	CHECK(vfy(req, "revoked (OCSP only, no CRLs)", "special/revoked-chain.pem") ==
	    EG_ERR_REVOKED && detail_has("OCSP"));
	CHECK(vfy(req, "good again: from the cache", "people/vte-a/chain.pem") == EG_OK &&
	    detail_has("cached"));
	CHECK(vfy(req_nocrl, "require, no CRL of the CA: OCSP decides",
	    "people/vte-a/chain.pem") == EG_OK);
	CHECK(vfy(req, "EC card of another CA: signed by a responder not its own",
	    "people/lb-a/chain.pem") == EG_ERR_OCSP_INVALID);
	printf("OCSP, responder stopped after the first answers:\n");
	responder_stop();
	CHECK(vfy(req, "good within the cache", "people/vte-a/chain.pem") == EG_OK &&
	    detail_has("cached"));
	auth_ctx_free(req);
	req = make_ctx(CFG_OCSP_REQUIRE, NULL, 60000);
	prefer = make_ctx(CFG_OCSP_PREFER, NULL, 60000);
	prefer_crl = make_ctx(CFG_OCSP_PREFER, "crl", 60000);
	CHECK(vfy(req, "require, responder down", "people/vte-a/chain.pem") ==
	    EG_ERR_OCSP_UNAVAILABLE);
	CHECK(vfy(prefer, "prefer, responder down, no CRLs", "people/vte-a/chain.pem") ==
	    EG_OK && detail_has("fell back"));
	t0 = mono_ms();
	CHECK(vfy(prefer, "prefer, again: no new wait (backoff)", "people/vte-a/chain.pem") ==
	    EG_OK && detail_has("not asked again"));
	CHECK(mono_ms() - t0 < 300);
	CHECK(vfy(prefer_crl, "prefer, responder down, CRL", "people/vte-a/chain.pem") ==
	    EG_OK && detail_has("fell back to the CRL"));
	CHECK(vfy(prefer_crl, "prefer, responder down, CRL says revoked",
	    "special/revoked-chain.pem") == EG_ERR_REVOKED);
	auth_ctx_free(req);
	auth_ctx_free(req_nocrl);
	auth_ctx_free(prefer);
	auth_ctx_free(prefer_crl);
}

static void
test_ocsp_unknown(void)
{
	struct auth_ctx *req = make_ctx(CFG_OCSP_REQUIRE, NULL, 60000);
	struct auth_ctx *prefer = make_ctx(CFG_OCSP_PREFER, NULL, 60000);
	FILE *f = fopen(P("empty-index.txt"), "w");

	printf("OCSP, responder with an empty index:\n");
	if (f != NULL)
		fclose(f);
	CHECK(responder_start(P("empty-index.txt")) == 0);
	CHECK(vfy(req, "require: unknown", "people/vte-a/chain.pem") == EG_ERR_OCSP_UNKNOWN);
	CHECK(vfy(prefer, "prefer: unknown", "people/vte-a/chain.pem") == EG_ERR_OCSP_UNKNOWN);
	responder_stop();
	auth_ctx_free(req);
	auth_ctx_free(prefer);
}

static void
test_ocsp_replay(void)
{
	char *client[] = { "openssl", "ocsp", "-issuer", P("intermediates/citizen-ca4.pem"),
		"-cert", P("people/vte-a/auth.pem"), "-url", URL, "-respout", P("replay.der"),
		"-noverify", NULL };
	struct auth_ctx *req = make_ctx(CFG_OCSP_REQUIRE, NULL, 60000);
	struct auth_ctx *prefer = make_ctx(CFG_OCSP_PREFER, "crl", 60000);
	struct replay rp;

	printf("OCSP, a recorded response replayed (nonce of another request):\n");
	CHECK(responder_start(P("ca/citizen-ca4/index.txt")) == 0);
	CHECK(run(client) == 0);
	responder_stop();
	if (replay_start(&rp, P("replay.der")) != 0) {
		CHECK(0);
		auth_ctx_free(req);
		auth_ctx_free(prefer);
		return;
	}
	CHECK(vfy(req, "require: refused", "people/vte-a/chain.pem") == EG_ERR_OCSP_INVALID &&
	    detail_has("nonce"));
	CHECK(vfy(prefer, "prefer: falls back to the CRL", "people/vte-a/chain.pem") == EG_OK &&
	    detail_has("nonce"));
	replay_stop(&rp);
	auth_ctx_free(req);
	auth_ctx_free(prefer);
}

static void
test_ocsp_revoked_live(void)
{
	struct auth_ctx *req = make_ctx(CFG_OCSP_REQUIRE, NULL, 1500);

	printf("OCSP, certificate revoked while the verifier runs (ocsp_cache = 1.5 s):\n");
	CHECK(responder_start(P("ca/citizen-ca4/index.txt")) == 0);
	CHECK(vfy(req, "good", "people/covte-a/chain.pem") == EG_OK);
	CHECK(ca_cmd("revoke", P("people/covte-a/auth.pem")) == 0);
	CHECK(responder_start(P("ca/citizen-ca4/index.txt")) == 0);     /* re-reads index */
	CHECK(vfy(req, "revoked, still cached as good", "people/covte-a/chain.pem") == EG_OK &&
	    detail_has("cached"));
	msleep(1600);
	CHECK(vfy(req, "after cache expiry: revoked", "people/covte-a/chain.pem") ==
	    EG_ERR_REVOKED);
	responder_stop();
	auth_ctx_free(req);
}

/* ------------------------------------------------------------------ profile and path */

struct pcase {
	const char *label, *file;
	int want;
};

static const struct pcase pcases[] = {
	{ "RSA citizen, leaf only", "people/vte-a/auth.pem", EG_OK },
	{ "EC P-384 citizen", "people/lb-a/chain.pem", EG_OK },
	{ "RSA foreigner", "people/foreigner-molenberg/chain.pem", EG_OK },
	{ "RSA 1024 (older cards)", "rsa1024.pem", EG_OK },
	{ "signature certificate", "people/vte-a/sign.pem", EG_ERR_SIGNATURE_CERT },
	{ "expired", "special/expired-chain.pem", EG_ERR_EXPIRED },
	{ "not yet valid", "special/notyet-chain.pem", EG_ERR_NOT_YET_VALID },
	{ "wrong check digits", "special/badcheck-chain.pem", EG_ERR_NRN_CHECK },
	{ "no serialNumber", "special/noserial-chain.pem", EG_ERR_NO_SERIAL },
	{ "malformed serialNumber", "special/badserial-chain.pem", EG_ERR_BAD_SERIAL },
	{ "revoked", "special/revoked-chain.pem", EG_ERR_REVOKED },
	{ "rogue root (leaf + rogue CA)", "special/rogue-user-chain.pem", EG_ERR_ROGUE_ROOT },
	{ "rogue CA (leaf only)", "special/rogue-user.pem", EG_ERR_ROGUE_CA },
	{ "rogue root sent along (self-signed)", "rogue-full.pem", EG_ERR_ROGUE_ROOT },
	{ "unknown root", "special/unknown-user-chain.pem", EG_ERR_UNKNOWN_ROOT },
	{ "unknown CA, leaf only", "special/unknown-user.pem", EG_ERR_CHAIN },
};

static void
test_profile(void)
{
	struct auth_ctx *ctx = make_ctx(CFG_OCSP_OFF, "crl", 0);
	size_t i;

	printf("profile and path (generated PKI, CRLs, ocsp = off):\n");
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++)
		CHECK(vfy(ctx, pcases[i].label, pcases[i].file) == pcases[i].want);
	auth_ctx_free(ctx);
}

/* ------------------------------------------------------------------ setup */

static int
concat(const char *out, const char *a, const char *b)
{
	FILE *o = fopen(out, "w");
	const char *in[2] = { a, b };
	char buf[4096];
	size_t n;
	int i, r = o != NULL ? 0 : -1;

	for (i = 0; i < 2 && r == 0; i++) {
		FILE *f = fopen(in[i], "r");
		if (f == NULL) {
			r = -1;
			break;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			if (fwrite(buf, 1, n, o) != n)
				r = -1;
		fclose(f);
	}
	if (o != NULL && fclose(o) != 0)
		r = -1;
	return r;
}

static int
make_pki(void)
{
	const char *src = getenv("EIDGATE_SRC");
	char script[600];
	char *argv[] = { "bash", script, pki, "--ocsp-url", URL, NULL };
	char *roots[] = { "belgium-root-ca4", "belgium-root-ca6" };
	char from[600], to[600];
	char *req1024[] = { "openssl", "req", "-new", "-newkey", "rsa:1024", "-nodes",
		"-keyout", P("rsa1024.key"), "-out", P("rsa1024.csr"), "-subj",
		"/C=BE/CN=Oud Kaart (Authentication)/SN=Kaart/GN=Oud/serialNumber=78031402154",
		NULL };
	char *ca1024[] = { "openssl", "ca", "-batch", "-notext", "-preserveDN", "-config",
		P("ca/citizen-ca4/openssl.cnf"), "-extensions", "ext_auth", "-in",
		P("rsa1024.csr"), "-out", P("rsa1024.pem"), NULL };
	int i;

	snprintf(script, sizeof(script), "%s/certs/gen-test-pki.sh", src != NULL ? src : ".");
	if (run(argv) != 0) {
		printf("gen-test-pki.sh failed; see %s\n", logpath);
		return -1;
	}
	/* An older card's RSA-1024 key (PRODUCT §3), issued by the citizen CA. */
	if (run(req1024) != 0 || run(ca1024) != 0)
		return -1;
	/* leaf + rogue CA + rogue self-signed "Belgium Root CA4", all sent by the client. */
	if (concat(P("rogue-full.pem"), P("special/rogue-user.pem"),
	    P("special/rogue-ca-chain.pem")) != 0)
		return -1;
	/* crl-roots/: only the root CAs' CRLs, for "no CRL of the leaf's CA". */
	if (mkdir(P("crl-roots"), 0700) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		snprintf(from, sizeof(from), "%s/crl/%s.crl.pem", pki, roots[i]);
		snprintf(to, sizeof(to), "%s/crl-roots/%s.crl.pem", pki, roots[i]);
		if (symlink(from, to) != 0)
			return -1;
	}
	return 0;
}

int
main(void)
{
	const char *tmpdir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char *rm[] = { "rm", "-rf", pki, NULL };

	signal(SIGPIPE, SIG_IGN);
	log_init("auth_revocation_test", LOG_LVL_WARN);
	if (enter_private_net() != 0) {
		printf("cannot enter a private network namespace (%s): not starting a "
		    "responder that would listen on all interfaces\n", strerror(errno));
		CHECK(0);
		return check_report();
	}
	snprintf(pki, sizeof(pki), "%s/eg-revocation.XXXXXX", tmpdir);
	if (mkdtemp(pki) == NULL) {
		CHECK(0);
		return check_report();
	}
	snprintf(logpath, sizeof(logpath), "%s.log", pki);
	if (make_pki() != 0) {
		CHECK(0);
		return check_report();
	}
	test_profile();
	test_crl();
	test_threads();
	test_crl_missing();
	test_ocsp_basic();
	test_ocsp_unknown();
	test_ocsp_replay();
	test_ocsp_revoked_live();
	responder_stop();
	if (check_fail == 0) {
		run(rm);
		unlink(logpath);
	} else {
		printf("kept %s and %s\n", pki, logpath);
	}
	return check_report();
}
