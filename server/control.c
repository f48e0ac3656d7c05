/*
 * control.c - the gateway's local control socket, <[audit] db>/control.sock: the way the
 * platform operator's `eidgate directory add-vte|remove-vte` records its changes of
 * rights in the running gateway's chain (LMDB has one writer per log, and a second
 * chain beside the gateway's would not be one log).
 *
 * Only the gateway's own user and root may connect: the socket lives in the log's
 * directory (mode 0700), is itself 0600, and every peer's credentials are checked
 * (SO_PEERCRED). A connection carries one JSON line and gets "ok" or "error <why>"; the
 * message is checked field by field (control_parse, also fuzzed) before a record is
 * built from it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "server/internal.h"

struct control {
	int fd;
	pthread_t thread;
	int started;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct gateway *gw;
};

/* Reads one line of at most EG_MAX_CONTROL_LINE bytes. */
static ssize_t
read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t got;

	while (n + 1 < cap) {
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static int
peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return 0;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void
reply(int fd, const char *msg)
{
	size_t n = strlen(msg);

	if (write(fd, msg, n) != (ssize_t)n)
		log_warn("control socket: reply");
}

/* An officer's pseudonym lookup: only for a backend the policy in force declares
 * subject=pseudonym; recorded before anything is answered (nothing is shown unlogged). */
static void
pseudonym(struct control *c, int fd, struct rec_lookup *l)
{
	struct gw_snapshot *s = gw_snapshot_get(c->gw);
	const struct policy_backend *b = policy_backend_find(s->policy, l->backend);
	char kid[KEYS_PSEUDONYM_KID + 1], ps[KEYS_PSEUDONYM_LEN + 1], msg[128];
	int rc;

	l->allow = b != NULL && b->subject == POLICY_SUBJECT_PSEUDONYM;
	l->reason = b == NULL ? "unknown-backend" : l->allow ? "resolved" :
	    "not-a-pseudonym-backend";
	gw_snapshot_put(s);
	if (record_pseudonym(c->gw->audit, l) != EG_OK) {
		reply(fd, "error the access log cannot be written\n");
		return;
	}
	if (!l->allow) {
		snprintf(msg, sizeof(msg), "error %s\n", l->reason);
		reply(fd, msg);
		return;
	}
	rc = keys_pseudonym(c->gw->keys, l->key_id, l->backend, l->target, kid, ps);
	if (rc != EG_OK) {
		snprintf(msg, sizeof(msg), "error %s\n", rc == EG_ERR_NOT_FOUND ?
		    "no such pseudonym key" : eg_err_code(rc));
		reply(fd, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "ok %s %s\n", kid, ps);
	explicit_bzero(ps, sizeof(ps));
	reply(fd, msg);
	explicit_bzero(msg, sizeof(msg));
}

static void
serve_one(struct control *c, int fd)
{
	char line[EG_MAX_CONTROL_LINE], why[160];
	struct control_msg m;

	if (!peer_allowed(fd)) {
		reply(fd, "error not allowed\n");
		return;
	}
	if (read_line(fd, line, sizeof(line)) <= 0) {
		reply(fd, "error empty message\n");
		return;
	}
	if (control_parse(line, strlen(line), &m, why, sizeof(why)) != EG_OK) {
		log_warnx("control socket: message refused: %s", why);
		reply(fd, "error malformed message\n");
		control_msg_free(&m);
		return;
	}
	if (m.is_pseudonym) {
		pseudonym(c, fd, &m.lookup);
		control_msg_free(&m);
		return;
	}
	if (record_operator(c->gw->audit, c->gw->dir, &m.op) != EG_OK)
		reply(fd, "error the access log cannot be written\n");
	else
		reply(fd, "ok\n");
	control_msg_free(&m);
}

static void *
control_main(void *arg)
{
	struct control *c = arg;
	int fd;

	for (;;) {
		fd = accept(c->fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;          /* shutdown() at stop */
		}
		serve_one(c, fd);
		close(fd);
	}
	return NULL;
}

int
control_start(struct gateway *gw, const char *audit_dir, struct control **out)
{
	struct sockaddr_un sa;
	struct control *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return EG_ERR_NOMEM;
	c->gw = gw;
	c->fd = -1;
	if ((size_t)snprintf(c->path, sizeof(c->path), "%s/%s", audit_dir,
	    EG_CONTROL_SOCKET) >= sizeof(c->path)) {
		log_warnx("[audit] db %s: path too long for the control socket", audit_dir);
		free(c);
		return EG_ERR_CONFIG;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	(void)unlink(c->path);  /* left by a gateway that was killed; the log's lock is ours */
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(c->path, 0600) != 0 || listen(c->fd, 8) != 0 ||
	    pthread_create(&c->thread, NULL, control_main, c) != 0) {
		log_warn("control socket %s", c->path);
		control_stop(c);
		return EG_ERR_IO;
	}
	c->started = 1;
	*out = c;
	return EG_OK;
}

void
control_stop(struct control *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	if (c->started)
		pthread_join(c->thread, NULL);
	if (c->fd >= 0)
		close(c->fd);
	(void)unlink(c->path);
	free(c);
}
