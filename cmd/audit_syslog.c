/*
 * audit_syslog.c - `eidgate audit syslog`: the log's records to a SIEM through syslog,
 * RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1, which rsyslog's
 * imtcp reads), following the log as the gateway writes it.
 *
 * Each message carries the record's chain position in structured data,
 *   [eidgate@32473 instance="gw-a" seq="1234" hash="<hex>"]
 * (32473 is RFC 5612's example enterprise number; a deployment with its own puts it
 * here), so the SIEM can tell a missing or repeated record and check it against the log.
 * Delivery is at least once: the position of the last record handed to TCP is kept in
 * --state (seq and hash, replaced atomically after each batch); a restart resends what
 * followed it, and first checks that the log still holds that record with that hash (a
 * log rolled back under the sender is refused, not resent silently).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

#define SYSLOG_POLL_MS 200
#define SYSLOG_RETRY_MS 1000
#define SYSLOG_MAX_MSG 65536

static const char usage_syslog[] =
    "usage: eidgate audit syslog --db DIR --to HOST:PORT [--state FILE] [--once]\n"
    "Sends every record of the log, oldest first, as an RFC 5424 message over TCP\n"
    "(octet-counted framing) to a syslog server such as rsyslog (imtcp), with the chain\n"
    "position (instance, seq, hash) in structured data and the record as JSON, then\n"
    "follows the log until SIGINT or SIGTERM (--once: stops at the end). --state FILE\n"
    "keeps the last record sent and resumes after it; a log that no longer holds that\n"
    "record with that hash is refused. A lost connection is retried every second.\n";

static volatile sig_atomic_t sl_stop;

static void
on_signal(int sig)
{
	(void)sig;
	sl_stop = 1;
}

struct sender {
	const char *db, *to, *state;
	int fd;
	uint64_t seq;                   /* last sent */
	char hash[AUDIT_HEX_LEN];
	uint64_t check_seq;             /* resume: the record that must have check_hash */
	char check_hash[AUDIT_HEX_LEN];
	int mismatch;
	char err[512];
	char msg[SYSLOG_MAX_MSG + 16];  /* the message being sent */
};

static int
connect_to(struct sender *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon = strrchr(s->to, ':');
	int fd = -1;

	if (colon == NULL || (size_t)(colon - s->to) >= sizeof(host)) {
		eg_errf(s->err, sizeof(s->err), "--to %s: not HOST:PORT", s->to);
		return -1;
	}
	memcpy(host, s->to, (size_t)(colon - s->to));
	host[colon - s->to] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		eg_errf(s->err, sizeof(s->err), "--to %s: cannot resolve", s->to);
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		eg_errf(s->err, sizeof(s->err), "--to %s: %s", s->to, strerror(errno));
	s->fd = fd;
	return fd >= 0 ? 0 : -1;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* SD-PARAM values escape '"', '\' and ']' (RFC 5424 §6.3.3). */
static void
sd_value(char *out, size_t outlen, const char *v)
{
	size_t o = 0;

	for (; v != NULL && *v != '\0' && o + 3 < outlen; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			out[o++] = '\\';
		out[o++] = *v;
	}
	out[o] = '\0';
}

static int
format_message(const struct audit_record *r, char *out, size_t outlen, size_t *n)
{
	char ts[40], inst[2 * AUDIT_INSTANCE_MAX + 2], msgid[33], *json;
	const char *k = r->kind != NULL ? r->kind : "-";
	/* authpriv (10); notice for refusals, info otherwise. */
	int pri = 10 * 8 + (r->decision != NULL && strcmp(r->decision, "deny") == 0 ? 5 : 6);
	size_t i;
	int w;

	eg_format_time(r->time_us, ts, sizeof(ts));
	sd_value(inst, sizeof(inst), r->instance != NULL ? r->instance : "-");
	for (i = 0; i < sizeof(msgid) - 1 && k[i] != '\0'; i++)
		msgid[i] = k[i] > 32 && k[i] < 127 ? k[i] : '_';
	msgid[i] = '\0';
	if ((json = audit_record_json(r)) == NULL)
		return -1;
	w = snprintf(out + 12, outlen - 12, "<%d>1 %s %s eidgate - %s [eidgate@32473 "
	    "instance=\"%s\" seq=\"%" PRIu64 "\" hash=\"%s\"] %s", pri, ts,
	    r->instance != NULL && audit_instance_valid(r->instance) ? r->instance : "-",
	    msgid, inst, r->seq, r->hash != NULL ? r->hash : "-", json);
	free(json);
	if (w < 0 || (size_t)w >= outlen - 12)
		return -1;
	/* Octet counting: "LEN SP MSG" (RFC 6587 §3.4.1). */
	i = (size_t)snprintf(out, 12, "%d ", w);
	memmove(out + i, out + 12, (size_t)w);
	*n = i + (size_t)w;
	return 0;
}

static int
send_record(const struct audit_record *r, void *arg)
{
	struct sender *s = arg;
	size_t n = 0;

	if (s->check_seq != 0) {
		/* Resuming: the first record read is the last one sent before. */
		if (r->seq != s->check_seq || r->hash == NULL ||
		    strcmp(r->hash, s->check_hash) != 0) {
			s->mismatch = 1;
			return 1;
		}
		s->check_seq = 0;
		return 0;
	}
	if (format_message(r, s->msg, sizeof(s->msg), &n) != 0) {
		eg_errf(s->err, sizeof(s->err), "record seq %" PRIu64 ": too large for a "
		    "message", r->seq);
		return 1;
	}
	if (send_all(s->fd, s->msg, n) != 0) {
		eg_errf(s->err, sizeof(s->err), "--to %s: %s", s->to, strerror(errno));
		return 2;
	}
	s->seq = r->seq;
	snprintf(s->hash, sizeof(s->hash), "%s", r->hash != NULL ? r->hash : "");
	return 0;
}

static int
load_state(struct sender *s)
{
	char *text = NULL;
	size_t len = 0;
	unsigned long long seq = 0;
	char hash[AUDIT_HEX_LEN] = "";

	if (s->state == NULL || eg_read_file(s->state, 4096, &text, &len) != EG_OK)
		return 0;       /* no state yet: from the first record */
	if (sscanf(text, "%llu %64s", &seq, hash) != 2 || strlen(hash) != 64) {
		free(text);
		eg_errf(s->err, sizeof(s->err), "--state %s: not \"SEQ HASH\"", s->state);
		return -1;
	}
	free(text);
	s->seq = s->check_seq = (uint64_t)seq;
	memcpy(s->hash, hash, sizeof(hash));
	memcpy(s->check_hash, hash, sizeof(hash));
	return 0;
}

static int
save_state(const struct sender *s)
{
	char tmp[1100];
	FILE *f;
	int ok;

	if (s->state == NULL || s->seq == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->state);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	ok = fprintf(f, "%" PRIu64 " %s\n", s->seq, s->hash) > 0;
	ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	return ok && rename(tmp, s->state) == 0 ? 0 : -1;
}

static void
nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* One connection: from the saved position to the end (once) or until it breaks. -1: the
 * connection broke (retry), -2: stop with an error. */
static int
session(struct sender *s, struct audit_reader *rd, int once)
{
	int r;

	audit_reader_seek(rd, s->check_seq > 0 ? s->check_seq - 1 : s->seq);
	do {
		r = audit_reader_next(rd, 0, send_record, s, s->err, sizeof(s->err));
		if (s->mismatch || (r == EG_OK && s->check_seq != 0)) {
			eg_errf(s->err, sizeof(s->err), "the log no longer holds record seq %"
			    PRIu64 " with hash %.16s... (--state): rolled back or replaced; "
			    "refusing to resend", s->check_seq, s->check_hash);
			return -2;
		}
		if (save_state(s) != 0) {
			eg_errf(s->err, sizeof(s->err), "--state %s: cannot write it", s->state);
			return -2;
		}
		if (r != EG_OK)
			return r == 2 ? -1 : -2;
		if (!once)
			nap(SYSLOG_POLL_MS);
	} while (!once && !sl_stop);
	return 0;
}

static int
run(struct sender *s, int once)
{
	struct audit_reader *rd = NULL;
	int r = -1;

	if (load_state(s) != 0 ||
	    audit_reader_open(s->db, &rd, s->err, sizeof(s->err)) != EG_OK)
		return EXIT_FAILED;
	while (!sl_stop) {
		if (connect_to(s) == 0) {
			r = session(s, rd, once);
			close(s->fd);
			s->fd = -1;
			if (r == 0 || r == -2)
				break;
			/* A broken connection: resume after the last record saved. */
			s->check_seq = 0;
		}
		if (once && r != -1)
			break;
		fprintf(stderr, "eidgate: audit syslog: %s; retrying\n", s->err);
		nap(SYSLOG_RETRY_MS);
	}
	audit_reader_close(rd);
	if (r != 0 && !sl_stop)
		fprintf(stderr, "eidgate: audit syslog: %s\n", s->err);
	return r == 0 || sl_stop ? EXIT_OK : EXIT_FAILED;
}

int
cmd_audit_syslog(int argc, char **argv)
{
	struct sender s;
	struct sigaction sa;
	int once = 0, rc;
	const struct opt opts[] = {
		{ "db", &s.db, NULL, 0, NULL, NULL, 0 },
		{ "to", &s.to, NULL, 0, NULL, NULL, 0 },
		{ "state", &s.state, NULL, 0, NULL, NULL, 0 },
		{ "once", NULL, &once, 0, NULL, NULL, 0 },
	};

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	rc = cmd_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "syslog");
	if (rc < 0) {
		fputs(usage_syslog, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	if (s.db == NULL || s.to == NULL) {
		fprintf(stderr, "eidgate: audit syslog: --db and --to are required\n");
		return EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sl_stop = 0;
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
		fprintf(stderr, "eidgate: audit syslog: cannot handle signals\n");
		return EXIT_FAILED;
	}
	return run(&s, once);
}
