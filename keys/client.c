/*
 * client.c - the keys API (keys.h): local keys in this process, or the key process
 * reached over socketpairs.
 *
 * Channels: one SOCK_SEQPACKET socketpair per expected caller thread, each used by one
 * caller at a time (its mutex); a caller takes the next channel round-robin. Requests
 * on one channel are strictly one question, one answer, so an answer can never reach
 * the wrong caller. A channel that fails (the key process died, or did not answer within
 * KEYS_TIMEOUT_MS) marks the keys lost for good: a late answer would otherwise be read
 * as the answer to the next question.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "keys/internal.h"

struct chan {
	int fd;
	pthread_mutex_t mu;
	unsigned char buf[sizeof(struct keys_rep) + KEYS_MAX_MSG];     /* under mu */
};

struct keys {
	/* Local: the ring, replaced on reload under rw. */
	struct keyring *ring;
	pthread_rwlock_t rw;
	char config_path[1024];
	/* Remote. */
	struct chan *ch;
	int nch;
	atomic_uint next;
	pid_t pid;
	atomic_int lost;
};

static struct keys *
keys_new(void)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (pthread_rwlock_init(&k->rw, NULL) != 0) {
		free(k);
		return NULL;
	}
	return k;
}

int
keys_open_local(const struct eg_config *cfg, struct keys **out)
{
	struct keys *k = keys_new();
	int rc;

	*out = NULL;
	if (k == NULL)
		return EG_ERR_NOMEM;
	eg_strlcpy(k->config_path, cfg->path, sizeof(k->config_path));
	if ((rc = keyring_load(cfg, NULL, &k->ring)) != EG_OK) {
		keys_close(k);
		return rc;
	}
	*out = k;
	return EG_OK;
}

/* ---- the key process's channels ----------------------------------------------------- */

static void
mark_lost(struct keys *k, const char *why)
{
	if (atomic_exchange(&k->lost, 1) == 0)
		log_warnx("key process %ld: %s: requests that need a key are refused (503)",
		    (long)k->pid, why);
}

/* Sends one request and reads its answer into c->buf. The answer's status, or
 * EG_ERR_KEYS when the channel failed. Called with c->mu held. */
static int
exchange(struct keys *k, struct chan *c, const struct keys_req *q, const void *a, size_t alen,
    const void *b, size_t blen, size_t *replylen)
{
	struct iovec iov[3] = {
		{ (void *)(uintptr_t)q, sizeof(*q) }, { (void *)(uintptr_t)a, alen },
		{ (void *)(uintptr_t)b, blen },
	};
	struct msghdr mh;
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	struct keys_rep rep;
	ssize_t n;
	int r;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0) {
		mark_lost(k, strerror(errno));
		return EG_ERR_KEYS;
	}
	while ((r = poll(&pfd, 1, KEYS_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r == 0) {
		mark_lost(k, "no answer in time");
		return EG_ERR_KEYS;
	}
	n = recv(c->fd, c->buf, sizeof(c->buf), MSG_TRUNC);
	if (r < 0 || n <= 0) {
		mark_lost(k, n == 0 ? "gone" : strerror(errno));
		return EG_ERR_KEYS;
	}
	if ((size_t)n < sizeof(rep) || (size_t)n > sizeof(c->buf)) {
		mark_lost(k, "malformed answer");
		return EG_ERR_KEYS;
	}
	memcpy(&rep, c->buf, sizeof(rep));
	if (rep.len != (size_t)n - sizeof(rep)) {
		mark_lost(k, "malformed answer");
		return EG_ERR_KEYS;
	}
	*replylen = rep.len;
	return rep.status;
}

/*
 * One question to the key process: op and purpose, the argument in two parts (either
 * may be empty), the answer's payload copied to out (room outlen, then its length). The
 * channel's buffer is wiped after each answer: it may hold a session in clear.
 */
static int
ask(struct keys *k, enum keys_op op, int purpose, const void *a, size_t alen, const void *b,
    size_t blen, void *out, size_t *outlen)
{
	struct keys_req q;
	struct chan *c;
	size_t n = 0;
	int rc;

	if (atomic_load(&k->lost))
		return EG_ERR_KEYS;
	if (alen + blen > KEYS_MAX_MSG)
		return EG_ERR_TOO_LONG;
	memset(&q, 0, sizeof(q));
	q.op = (uint8_t)op;
	q.purpose = (uint8_t)purpose;
	q.len = (uint32_t)(alen + blen);
	c = &k->ch[atomic_fetch_add(&k->next, 1) % (unsigned)k->nch];
	pthread_mutex_lock(&c->mu);
	rc = exchange(k, c, &q, a, alen, b, blen, &n);
	if (rc == EG_OK && out != NULL) {
		if (n > *outlen)
			rc = EG_ERR_TOO_LONG;
		else
			memcpy(out, c->buf + sizeof(struct keys_rep), n);
		*outlen = n;
	}
	OPENSSL_cleanse(c->buf, sizeof(struct keys_rep) + n);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int
open_channels(struct keys *k, int n, int *theirs)
{
	int i, sv[2];

	if ((k->ch = calloc((size_t)n, sizeof(*k->ch))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		k->ch[i].fd = -1;
		theirs[i] = -1;
	}
	k->nch = n;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
		    pthread_mutex_init(&k->ch[i].mu, NULL) != 0) {
			log_warn("key process: socketpair");
			return -1;
		}
		k->ch[i].fd = sv[0];
		theirs[i] = sv[1];
	}
	return 0;
}

int
keys_spawn(const char *config_path, int nchan, struct keys **out)
{
	struct keys *k = keys_new();
	struct keys_public pub;
	int *theirs, i, rc;
	pid_t pid;

	*out = NULL;
	if (k == NULL || nchan < 1 || nchan > 64 ||
	    (theirs = calloc((size_t)nchan, sizeof(int))) == NULL) {
		free(k);
		return EG_ERR_NOMEM;
	}
	if (open_channels(k, nchan, theirs) != 0 || (pid = fork()) < 0) {
		for (i = 0; i < nchan; i++)
			if (theirs[i] >= 0)
				close(theirs[i]);
		free(theirs);
		keys_close(k);
		return EG_ERR_KEYS;
	}
	if (pid == 0) {
		for (i = 0; i < nchan; i++)
			close(k->ch[i].fd);
		keyproc_main(config_path, theirs, nchan);
	}
	for (i = 0; i < nchan; i++)
		close(theirs[i]);
	free(theirs);
	k->pid = pid;
	/* The first answer says the keys are loaded. */
	if ((rc = keys_public(k, &pub)) != EG_OK) {
		log_warnx("the key process could not load the keys (see above)");
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		k->pid = 0;
		keys_close(k);
		return rc == EG_ERR_KEYS ? EG_ERR_CONFIG : rc;
	}
	*out = k;
	return EG_OK;
}

/* ---- the operations: local or remote -------------------------------------------------- */

int
keys_reload(struct keys *k)
{
	struct eg_config *cfg;
	struct keyring *r = NULL;
	int rc;

	if (k->ch != NULL)
		return ask(k, KOP_RELOAD, 0, NULL, 0, NULL, 0, NULL, NULL);
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return EG_ERR_NOMEM;
	rc = config_load(k->config_path, cfg, NULL);
	pthread_rwlock_wrlock(&k->rw);
	if (rc == EG_OK && (rc = keyring_load(cfg, k->ring, &r)) == EG_OK) {
		keyring_free(k->ring);
		k->ring = r;
	}
	pthread_rwlock_unlock(&k->rw);
	free(cfg);
	return rc;
}

int
keys_public(struct keys *k, struct keys_public *out)
{
	size_t n = sizeof(*out);
	int rc;

	if (k->ch == NULL) {
		pthread_rwlock_rdlock(&k->rw);
		keyring_public(k->ring, out);
		pthread_rwlock_unlock(&k->rw);
		return EG_OK;
	}
	rc = ask(k, KOP_PUBLIC, 0, NULL, 0, NULL, 0, out, &n);
	if (rc == EG_OK && (n != sizeof(*out) || out->n > sizeof(out->keys) / sizeof(out->keys[0])))
		return EG_ERR_KEYS;
	return rc;
}

int
keys_seal(struct keys *k, enum keys_seal p, const void *plain, size_t len, char **token)
{
	size_t n = KEYS_MAX_MSG;
	char *tok;
	int rc;

	*token = NULL;
	if (k->ch == NULL) {
		pthread_rwlock_rdlock(&k->rw);
		rc = keyring_seal(k->ring, p, plain, len, token);
		pthread_rwlock_unlock(&k->rw);
		return rc;
	}
	if ((tok = malloc(KEYS_MAX_MSG + 1)) == NULL)
		return EG_ERR_NOMEM;
	if ((rc = ask(k, KOP_SEAL, (int)p, plain, len, NULL, 0, tok, &n)) != EG_OK) {
		free(tok);
		return rc;
	}
	tok[n] = '\0';
	*token = tok;
	return EG_OK;
}

int
keys_unseal(struct keys *k, enum keys_seal p, const char *token, unsigned char **plain,
    size_t *len)
{
	size_t tlen = token != NULL ? strlen(token) : 0, n;
	unsigned char *pt;
	int rc;

	*plain = NULL;
	if (k->ch == NULL) {
		pthread_rwlock_rdlock(&k->rw);
		rc = keyring_unseal(k->ring, p, token, plain, len);
		pthread_rwlock_unlock(&k->rw);
		return rc;
	}
	/* Malformed tokens stop here: no need to bother the key process with them. */
	if (tlen <= SEAL_PREFIX_LEN || tlen > KEYS_MAX_SEALED_MSG - 1 ||
	    strncmp(token, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0)
		return EG_ERR_PARSE;
	n = tlen;
	if ((pt = malloc(tlen + 1)) == NULL)
		return EG_ERR_NOMEM;
	if ((rc = ask(k, KOP_UNSEAL, (int)p, token, tlen, NULL, 0, pt, &n)) != EG_OK) {
		eg_freezero(pt, tlen + 1);
		return rc;
	}
	pt[n] = '\0';
	*plain = pt;
	*len = n;
	return EG_OK;
}

int
keys_sign(struct keys *k, enum keys_sign p, const unsigned char id[KEYS_ID_LEN],
    const void *msg, size_t len, unsigned char *sig, size_t *siglen)
{
	int rc;

	if (k->ch == NULL) {
		pthread_rwlock_rdlock(&k->rw);
		rc = keyring_sign(k->ring, p, id, msg, len, sig, siglen);
		pthread_rwlock_unlock(&k->rw);
		return rc;
	}
	return ask(k, KOP_SIGN, (int)p, id, KEYS_ID_LEN, msg, len, sig, siglen);
}

int
keys_pseudonym(struct keys *k, const char *key_id, const char *backend, const char *nrn,
    char kid[KEYS_PSEUDONYM_KID + 1], char out[KEYS_PSEUDONYM_LEN + 1])
{
	char msg[KEYS_PSEUDONYM_KID + EG_MAX_ID + EG_NRN_LEN + 4];
	unsigned char rep[KEYS_PSEUDONYM_KID + KEYS_PSEUDONYM_LEN];
	size_t kl, bl, nl, n = sizeof(rep);
	int rc;

	key_id = key_id != NULL ? key_id : "";
	kl = strlen(key_id);
	bl = strlen(backend);
	nl = strlen(nrn);
	if (kl > KEYS_PSEUDONYM_KID || bl == 0 || bl >= EG_MAX_ID || nl != EG_NRN_LEN)
		return EG_ERR_PARSE;
	if (k->ch == NULL) {
		pthread_rwlock_rdlock(&k->rw);
		rc = keyring_pseudonym(k->ring, key_id, backend, nrn, kid, out);
		pthread_rwlock_unlock(&k->rw);
		return rc;
	}
	memcpy(msg, key_id, kl + 1);
	memcpy(msg + kl + 1, backend, bl + 1);
	memcpy(msg + kl + 1 + bl + 1, nrn, nl);
	rc = ask(k, KOP_PSEUDONYM, 0, msg, kl + bl + nl + 2, NULL, 0, rep, &n);
	if (rc != EG_OK)
		return rc;
	if (n != sizeof(rep))
		return EG_ERR_KEYS;
	memcpy(kid, rep, KEYS_PSEUDONYM_KID);
	kid[KEYS_PSEUDONYM_KID] = '\0';
	memcpy(out, rep + KEYS_PSEUDONYM_KID, KEYS_PSEUDONYM_LEN);
	out[KEYS_PSEUDONYM_LEN] = '\0';
	return EG_OK;
}

pid_t
keys_pid(const struct keys *k)
{
	return k != NULL ? k->pid : 0;
}

void
keys_lost(struct keys *k)
{
	if (k != NULL)
		mark_lost(k, "exited");
}

int
keys_alive(const struct keys *k)
{
	return k != NULL && !atomic_load(&k->lost);
}

void
keys_close(struct keys *k)
{
	int i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nch; i++) {
		if (k->ch[i].fd >= 0)
			close(k->ch[i].fd);
		pthread_mutex_destroy(&k->ch[i].mu);
	}
	free(k->ch);
	/* Its channels closed, the key process exits at once; reap it unless the server
	 * already has (keys_lost). */
	if (k->pid > 0 && !atomic_load(&k->lost))
		(void)waitpid(k->pid, NULL, 0);
	keyring_free(k->ring);
	pthread_rwlock_destroy(&k->rw);
	free(k);
}
