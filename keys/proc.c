/*
 * proc.c - the key process: holds the keys (ring.c) and answers the fixed message set of
 * internal.h over its socketpairs, one message at a time, and nothing else.
 *
 * It is forked by `eidgate serve` before anything else runs, so its memory holds nothing
 * of the network side but the configuration's path. It reads the configuration and the
 * key files itself (as root, when the gateway was started as root; the network side
 * drops to the service user and never can). Every message is checked before it is
 * looked at: its size against what its operation allows, its operation and purpose
 * against the set; anything else is refused and counted, and the process goes on.
 *
 * It keeps root's uid (to read root's key files again on a reload) but no capability.
 * It ignores SIGHUP, SIGINT and SIGTERM: the gateway's main process asks it to reload
 * (KOP_RELOAD) and stops it by closing the channels, so it outlives a stop signal long
 * enough to sign for the requests the gateway is still finishing. It dies with its
 * parent (PR_SET_PDEATHSIG) and cannot be ptraced or dumped by the service user
 * (PR_SET_DUMPABLE 0).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "keys/internal.h"

struct keyproc {
	const char *config_path;
	struct keyring *ring;
	unsigned long refused;
	/* One message in, one out; wiped after each (they carry sessions in clear). */
	unsigned char in[sizeof(struct keys_req) + KEYS_MAX_MSG];
	unsigned char out[sizeof(struct keys_rep) + KEYS_MAX_MSG];
};

/* Everything but stdin/out/err and our channels: no descriptor the network side opened
 * (a listening socket, the access log) stays reachable from here. */
static void
close_others(const int *fds, int n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long long num;
	int i, fd, keep;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (eg_strtonum(e->d_name, 0, 1 << 30, &num) != EG_OK)
			continue;
		fd = (int)num;
		keep = fd <= 2 || fd == dirfd(d);
		for (i = 0; i < n && !keep; i++)
			keep = fds[i] == fd;
		if (!keep)
			close(fd);
	}
	closedir(d);
}

/* Root needs no capability to read root's own 0600 files, and the key process does
 * nothing else: it gives up every capability (binding ports, changing ids) it was
 * started with. */
static void
drop_capabilities(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		log_warn("key process: dropping capabilities");
}

static void
harden(void)
{
	sigset_t all;

	/* The gateway blocked its signals for sigwait() before it forked us. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "eidgate-keys", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	drop_capabilities();
}

/* A new ring from the configuration file as it is now; the old one stays on failure. */
static int
load(struct keyproc *kp)
{
	struct eg_config *cfg = calloc(1, sizeof(*cfg));
	struct keyring *r = NULL;
	int rc = EG_ERR_CONFIG;

	if (cfg == NULL)
		return EG_ERR_NOMEM;
	if (config_load(kp->config_path, cfg, NULL) == EG_OK &&
	    (rc = keyring_load(cfg, kp->ring, &r)) == EG_OK) {
		keyring_free(kp->ring);
		kp->ring = r;
	}
	free(cfg);
	return rc;
}

/* Refusals are logged, but a flood of them is not a flood of log lines. */
static int
refuse(struct keyproc *kp, const char *why, unsigned op)
{
	kp->refused++;
	if (kp->refused <= 10 || kp->refused % 1000 == 0)
		log_warnx("message refused (%s, operation %u); %lu refused so far", why, op,
		    kp->refused);
	return EG_ERR_DENIED;
}

/* KOP_PSEUDONYM: "kid NUL backend NUL nrn" (each bounded, NUL-free) -> kid || pseudonym.
 * The master keys never leave this process; only the one value asked for does. */
static int
run_pseudonym(struct keyproc *kp, const struct keys_req *q, const unsigned char *in,
    unsigned char *out, size_t *outlen)
{
	char buf[KEYS_PSEUDONYM_KID + EG_MAX_ID + EG_NRN_LEN + 4], kid[KEYS_PSEUDONYM_KID + 1];
	char ps[KEYS_PSEUDONYM_LEN + 1];
	const char *key_id, *backend, *nrn;
	int rc;

	if (q->len == 0 || q->len >= sizeof(buf))
		return refuse(kp, "pseudonym: size", q->op);
	memcpy(buf, in, q->len);
	buf[q->len] = '\0';
	key_id = buf;
	backend = key_id + strlen(key_id) + 1;
	if (backend >= buf + q->len)
		return refuse(kp, "pseudonym: shape", q->op);
	nrn = backend + strlen(backend) + 1;
	if (nrn >= buf + q->len || nrn + strlen(nrn) != buf + q->len)
		return refuse(kp, "pseudonym: shape", q->op);
	if ((rc = keyring_pseudonym(kp->ring, key_id, backend, nrn, kid, ps)) != EG_OK)
		return rc;
	memcpy(out, kid, KEYS_PSEUDONYM_KID);
	memcpy(out + KEYS_PSEUDONYM_KID, ps, KEYS_PSEUDONYM_LEN);
	*outlen = KEYS_PSEUDONYM_KID + KEYS_PSEUDONYM_LEN;
	return EG_OK;
}

/* Runs one request: its answer's payload goes to out (room: KEYS_MAX_MSG). */
static int
run(struct keyproc *kp, const struct keys_req *q, const unsigned char *in, unsigned char *out,
    size_t *outlen)
{
	struct keys_public pub;
	unsigned char *plain = NULL;
	char *token = NULL;
	size_t n = 0;
	int rc;

	*outlen = 0;
	switch (q->op) {
	case KOP_PUBLIC:
		if (q->len != 0)
			return refuse(kp, "public keys take no argument", q->op);
		keyring_public(kp->ring, &pub);
		memcpy(out, &pub, sizeof(pub));
		*outlen = sizeof(pub);
		return EG_OK;
	case KOP_RELOAD:
		if (q->len != 0)
			return refuse(kp, "reload takes no argument", q->op);
		if ((rc = load(kp)) == EG_OK)
			log_info("keys read again from the files of %s", kp->config_path);
		return rc;
	case KOP_SEAL:
		if (q->purpose > KEYS_SEAL_CHALLENGE || q->len == 0 || q->len > EG_MAX_SEALED)
			return refuse(kp, "seal: purpose or size", q->op);
		if ((rc = keyring_seal(kp->ring, q->purpose, in, q->len, &token)) != EG_OK)
			return rc;
		n = strlen(token);
		if (n > KEYS_MAX_MSG) {
			free(token);
			return EG_ERR_CRYPTO;
		}
		memcpy(out, token, n);
		free(token);
		*outlen = n;
		return EG_OK;
	case KOP_UNSEAL:
		if (q->purpose > KEYS_SEAL_CHALLENGE || q->len == 0 || q->len > KEYS_MAX_SEALED_MSG - 1)
			return refuse(kp, "open: purpose or size", q->op);
		memcpy(out, in, q->len);        /* a NUL-terminated copy for unseal() */
		out[q->len] = '\0';
		rc = keyring_unseal(kp->ring, q->purpose, (const char *)out, &plain, &n);
		if (rc != EG_OK)
			return rc;
		memcpy(out, plain, n);
		eg_freezero(plain, n + 1);
		*outlen = n;
		return EG_OK;
	case KOP_SIGN:
		if (q->purpose > KEYS_SIGN_WITNESS || q->len <= KEYS_ID_LEN ||
		    q->len > KEYS_ID_LEN + KEYS_MAX_ASSERTION)
			return refuse(kp, "sign: purpose or size", q->op);
		n = KEYS_MAX_MSG;
		rc = keyring_sign(kp->ring, q->purpose, in, in + KEYS_ID_LEN, q->len - KEYS_ID_LEN,
		    out, &n);
		if (rc == EG_ERR_DENIED)
			return refuse(kp, "sign: unknown key or not its kind of message", q->op);
		*outlen = rc == EG_OK ? n : 0;
		return rc;
	case KOP_PSEUDONYM:
		return run_pseudonym(kp, q, in, out, outlen);
	default:
		return refuse(kp, "unknown operation", q->op);
	}
}

/* One message on fd. 0, or -1 when the channel is closed or broken. */
static int
serve_one(struct keyproc *kp, int fd)
{
	struct keys_req q;
	struct keys_rep a;
	size_t outlen = 0, used;
	ssize_t n;
	int rc;

	n = recv(fd, kp->in, sizeof(kp->in), MSG_TRUNC);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		return -1;
	if (n < 0)
		return 0;
	if ((size_t)n < sizeof(q)) {
		rc = refuse(kp, "short message", 0);
	} else {
		memcpy(&q, kp->in, sizeof(q));
		if ((size_t)n > sizeof(kp->in) || q.len != (size_t)n - sizeof(q))
			rc = refuse(kp, "length does not match", q.op);
		else
			rc = run(kp, &q, kp->in + sizeof(q), kp->out + sizeof(a), &outlen);
	}
	a.status = rc;
	a.len = rc == EG_OK ? (uint32_t)outlen : 0;
	memcpy(kp->out, &a, sizeof(a));
	/* What was used of both buffers: an open copies the token into out first. */
	used = (size_t)n < sizeof(kp->in) ? (size_t)n : sizeof(kp->in);
	OPENSSL_cleanse(kp->in, used);
	n = send(fd, kp->out, sizeof(a) + a.len, MSG_NOSIGNAL);
	used = sizeof(a) + (outlen > used ? outlen : used);
	OPENSSL_cleanse(kp->out, used < sizeof(kp->out) ? used : sizeof(kp->out));
	return n < 0 && errno != EINTR ? -1 : 0;
}

static void
serve(struct keyproc *kp, int *fds, int n)
{
	struct pollfd pfd[64];
	int i, open = n;

	if (n > (int)(sizeof(pfd) / sizeof(pfd[0])))
		n = (int)(sizeof(pfd) / sizeof(pfd[0]));
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (open > 0) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if ((pfd[i].revents & POLLIN) == 0 || serve_one(kp, pfd[i].fd) != 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open--;
			}
		}
	}
}

void
keyproc_main(const char *config_path, int *fds, int n)
{
	static struct keyproc kp;

	harden();
	close_others(fds, n);
	log_init("eidgate-keys", LOG_LVL_INFO);
	kp.config_path = config_path;
	if (load(&kp) != EG_OK) {
		log_warnx("the keys named in %s cannot be loaded", config_path);
		_exit(1);
	}
	serve(&kp, fds, n);
	keyring_free(kp.ring);
	_exit(0);
}
