/*
 * server.c - `eidgate serve`: starts the TLS listener (a libmicrohttpd daemon per
 * event-loop thread, loop.c), the backend workers, the directory resolver and the access log; reloads on
 * SIGHUP; stops cleanly on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <gnutls/gnutls.h>
#include <openssl/rand.h>

#include "eidgate/api.h"
#include "eidgate/audit.h"
#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/forward.h"
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/metrics.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/server.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "server/internal.h"

/*
 * TLS 1.3 and 1.2 only. TLS 1.2 must stay: RSA eID cards sign with PKCS#1 v1.5 only and
 * cannot produce the RSA-PSS signatures a TLS 1.3 client certificate needs.
 * A real eID signature certificate (nonRepudiation only) cannot complete a TLS client
 * authentication at all: GnuTLS refuses its CertificateVerify as a key usage violation,
 * and only %COMPAT (which also drops extended master secret) would let it through. So
 * it is refused in the handshake; auth/profile.c refuses it again, with its own reason,
 * wherever it arrives otherwise (PKCS#11 login, a certificate that also allows
 * digitalSignature, `eidgate cert verify`).
 */
/*
 * TLS 1.2 offers ECDHE with AEAD ciphers only (no CBC, no SHA-1 MACs, no static RSA key
 * exchange); TLS 1.3's suites are all AEAD. Groups in the order mainstream browsers and
 * curl send their key shares (X25519 first, then P-256). No %SERVER_PRECEDENCE: with it
 * GnuTLS picks its own first group even when the client sent a key share for another
 * group we accept, and answers a HelloRetryRequest (one more round trip and one more key
 * generation per login); without it, a client's first key share in our list is taken.
 */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1"

struct tls_material {
	char *cert, *key, *trust;
	size_t certlen, keylen;
};

static void
tls_material_free(struct tls_material *t)
{
	free(t->cert);
	eg_freezero(t->key, t->keylen);
	free(t->trust);
}

/* Appends every PEM file of dir to *buf: the CA names a client is asked to present. */
static int
append_pem_dir(const char *dir, char **buf, size_t *len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[2048], *data, *nb;
	size_t dlen;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (eg_read_file(path, 1 << 20, &data, &dlen) != EG_OK)
			continue;
		if ((nb = realloc(*buf, *len + dlen + 2)) == NULL) {
			free(data);
			closedir(d);
			return -1;
		}
		*buf = nb;
		memcpy(*buf + *len, data, dlen);
		*len += dlen;
		(*buf)[(*len)++] = '\n';
		(*buf)[*len] = '\0';
		free(data);
	}
	closedir(d);
	return 0;
}

/* The TLS key: with the key process when it took it (EC P-256, tlskey.c), or read
 * here. */
static int
tls_key_load(struct gateway *gw, const struct eg_config *cfg, struct tls_material *t)
{
	int rc = tlskey_open(gw->keys, t->cert, t->certlen, &gw->tls_key);

	if (rc == EG_OK) {
		tlskey_use(gw->tls_key);
		return 0;
	}
	if (rc != EG_ERR_NOT_FOUND)
		return -1;
	log_info("[listen] tls_key %s is not an EC P-256 key: the serving process holds it",
	    cfg->tls_key);
	if (eg_read_file(cfg->tls_key, 1 << 20, &t->key, &t->keylen) != EG_OK) {
		log_warn("[listen] tls_key %s", cfg->tls_key);
		return -1;
	}
	return 0;
}

static int
tls_material_load(struct gateway *gw, const struct eg_config *cfg, struct tls_material *t)
{
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	if (eg_read_file(cfg->tls_cert, 1 << 20, &t->cert, &t->certlen) != EG_OK) {
		log_warn("[listen] tls_cert %s", cfg->tls_cert);
		return -1;
	}
	if (tls_key_load(gw, cfg, t) != 0)
		return -1;
	if (append_pem_dir(cfg->trust_anchors, &t->trust, &n) != 0 ||
	    (cfg->intermediates[0] && append_pem_dir(cfg->intermediates, &t->trust, &n) != 0) ||
	    t->trust == NULL) {
		log_warnx("[eid] cannot read trust anchors for the TLS certificate request");
		return -1;
	}
	return 0;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_info("http: %s", msg);
}

static int
listen_addr(const struct eg_config *cfg, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)cfg->listen_port);
	if (strcmp(cfg->listen_host, "localhost") == 0)
		return inet_pton(AF_INET, "127.0.0.1", &sa->sin_addr) == 1 ? 0 : -1;
	return inet_pton(AF_INET, cfg->listen_host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* One listening socket for every loop's daemon (each gets its own descriptor of it, as
 * libmicrohttpd closes the one it was given). */
static int
listen_socket(const struct eg_config *cfg)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (listen_addr(cfg, &sa) != 0) {
		log_warnx("[listen] address %s: not an IPv4 address", cfg->listen_host);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		log_warn("cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct MHD_Daemon *
new_daemon(struct gateway *gw, const struct tls_material *t, struct clients *c,
    size_t conn_buffer, unsigned conn_limit)
{
	/* The certificate and key: through the key process (tlskey.c), or in memory. */
	struct MHD_OptionItem held[] = {
		{ MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)(uintptr_t)tlskey_retrieve },
		{ MHD_OPTION_END, 0, NULL },
	}, mem[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, t->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, t->key },
		{ MHD_OPTION_END, 0, NULL },
	};

	/* No listening socket: clients.c accepts and hands connections over. */
	return MHD_start_daemon(MHD_USE_TLS | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
	    clients_access, c,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_ARRAY, gw->tls_key != NULL ? held : mem,
	    MHD_OPTION_HTTPS_MEM_TRUST, t->trust,
	    MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_URI_LOG_CALLBACK, clients_uri_log, c,
	    MHD_OPTION_NOTIFY_COMPLETED, clients_completed, c,
	    MHD_OPTION_NOTIFY_CONNECTION, clients_notify, c,
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	    /* No Host on HTTP/1.1, spaces in the target or in field names: 400 from
	     * libmicrohttpd itself; the rest of the framing rules are request.c's. */
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    /* [listen] connection_buffer: libmicrohttpd's pool per connection (request
	     * head, answer head, body buffers), allocated with the connection and zeroed
	     * after every keep-alive request, so it is the idle connection's main cost;
	     * 16 KiB holds an eID browser's headers with room. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_buffer,
	    /* The limits are admit.c's; libmicrohttpd's own default (about 1,000 per
	     * daemon) must not refuse what it admitted. */
	    MHD_OPTION_CONNECTION_LIMIT, conn_limit,
	    MHD_OPTION_END);
}

/* One loop: its clients (on its own descriptor of the listening socket), its daemon,
 * its thread. */
static int
start_loop(struct gateway *gw, const struct eg_config *cfg, struct tls_material *t, int lfd,
    int i)
{
	struct clients *c;
	struct MHD_Daemon *d;
	int fd = fcntl(lfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0 || clients_new(gw, gw->admit, fd, &c) != EG_OK) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((d = new_daemon(gw, t, c, (size_t)cfg->connection_buffer,
	    (unsigned)cfg->max_connections + 64)) == NULL) {
		clients_free(c);
		log_warnx("cannot start the HTTP server on %s:%d", cfg->listen_host,
		    cfg->listen_port);
		return -1;
	}
	if ((gw->loops[i] = loop_new(d, c, forward_worker(gw->upstream, i))) == NULL)
		return -1;
	gw->nloops++;
	return loop_start(gw->loops[i]);
}

/* Each connection is a descriptor: max_connections, plus the backends' connections (one
 * per request in progress, kept a while for reuse) and the files and channels the
 * gateway holds, must fit under the limit. */
static void
raise_fd_limit(const struct eg_config *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_connections + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warnx("[listen] max_connections %d: the descriptor limit (%lu) is too low "
		    "for it; raise LimitNOFILE", cfg->max_connections, (unsigned long)rl.rlim_cur);
}

/* The event loops: one daemon each, all on one listening socket. */
static int
start_loops(struct gateway *gw, const struct eg_config *cfg, int threads)
{
	struct tls_material t;
	int lfd, i, rc = -1;

	if ((gw->loops = calloc((size_t)threads, sizeof(*gw->loops))) == NULL)
		return -1;
	if (tls_material_load(gw, cfg, &t) != 0) {
		tls_material_free(&t);
		return -1;
	}
	if ((lfd = listen_socket(cfg)) < 0)
		goto out;
	/* Root's part ends here: the port is bound and the keys, the access log and the
	 * control socket are open, and no loop has accepted a connection yet. From here on
	 * the gateway is [process] user (privilege.c). */
	if (privilege_drop(cfg) != 0) {
		close(lfd);
		goto out;
	}
	raise_fd_limit(cfg);
	if (admit_new(cfg, &gw->admit) != EG_OK || tlscache_new(&gw->tls_cache) != EG_OK) {
		close(lfd);
		goto out;
	}
	for (i = 0; i < threads; i++)
		if (start_loop(gw, cfg, &t, lfd, i) != 0)
			break;
	rc = i == threads ? 0 : -1;
	close(lfd);
out:
	tls_material_free(&t);
	return rc;
}

static void
make_origin(const struct eg_config *cfg, char *out, size_t outlen)
{
	if (cfg->public_origin[0] != '\0')
		eg_strlcpy(out, cfg->public_origin, outlen);
	else if (cfg->listen_port == 443)
		snprintf(out, outlen, "https://%s", cfg->listen_host);
	else
		snprintf(out, outlen, "https://%s:%d", cfg->listen_host, cfg->listen_port);
}

static int
ticket_key_new(struct gateway *gw)
{
	gnutls_datum_t *k = calloc(1, sizeof(*k));

	if (k == NULL || gnutls_session_ticket_key_generate(k) != GNUTLS_E_SUCCESS) {
		free(k);
		return -1;
	}
	gw->ticket_key = k;
	return 0;
}

static void
ticket_key_free(struct gateway *gw)
{
	gnutls_datum_t *k = gw->ticket_key;

	if (k == NULL)
		return;
	explicit_bzero(k->data, k->size);
	gnutls_free(k->data);
	free(k);
}

/* The configuration names the modes; the log has its own enum (config.h does not depend
 * on audit.h). */
static enum audit_sync
audit_sync_of(enum cfg_sync s)
{
	switch (s) {
	case CFG_SYNC_FULL:
		return AUDIT_SYNC_FULL;
	case CFG_SYNC_NONE:
		return AUDIT_SYNC_NONE;
	case CFG_SYNC_GROUP:
		break;
	}
	return AUDIT_SYNC_GROUP;
}

static void
add_ended(void *arg, const char *session, int64_t until)
{
	struct gateway *gw = arg;

	if (session_end(gw->ends, session, until, eg_now_us() / 1000000) != EG_OK)
		log_warnx("ended session %s cannot be remembered: the set is full", session);
}

/* The change feed's hooks: sessions ended through any instance (directory.h); one
 * session's end is remembered as the access log's are (add_ended). */
static void
feed_person_end(void *arg, const char *nrn, int64_t before, int64_t until)
{
	struct gateway *gw = arg;
	char masked[32];

	if (session_end_person(gw->ends, nrn, before, until, eg_now_us() / 1000000) != EG_OK) {
		log_mask_nrn(nrn, masked, sizeof(masked));
		log_warnx("the sessions of %s ended in the directory cannot be remembered: the "
		    "set is full", masked);
	}
}

static int
open_feed(struct gateway *gw, const struct eg_config *cfg)
{
	struct dir_feed_hooks hooks = { add_ended, feed_person_end, gw };

	if (dir_sessions_open(cfg, &gw->dsessions) != EG_OK)
		return -1;
	return dir_feed_start(cfg, gw->dir, gw->dsessions, &hooks, &gw->feed) == EG_OK ? 0 : -1;
}

/* Sessions ended by a logout or a revoked card stay ended across a restart: the access
 * log has them (audit_ended_sessions). */
static int
load_ended(struct gateway *gw)
{
	if (audit_ended_sessions(gw->audit, eg_now_us() / 1000000, add_ended, gw) != EG_OK) {
		log_warnx("[audit] db: the sessions ended earlier cannot be read");
		return -1;
	}
	return 0;
}

/*
 * An administrator's end of someone's sessions (api/admin_sessions.c) lives in memory
 * and in the directory; when the directory write failed, only the access log has it:
 * its decision record (kind "rights", action "end-sessions", allowed, the person in
 * target), written before the end. Every session of that person made before it times
 * out within absolute_timeout of it, so that span of the log is read again at start.
 * (A record whose end was then refused for a full set is replayed too: ending what an
 * administrator was allowed to end is the safe side.) A logout "everywhere" cannot be
 * told from a plain logout in its record, so it is not restored here.
 */
struct person_ends {
	struct gateway *gw;
	int64_t span_s, now_s;
	size_t n;
	int full;
};

static int
person_end_seen(const struct audit_record *rec, void *arg)
{
	struct person_ends *pe = arg;
	int64_t before = rec->time_us / 1000000;

	/* an administrator's end (rights) or a "log out everywhere" (logout) */
	if (rec->kind == NULL ||
	    (strcmp(rec->kind, "rights") != 0 && strcmp(rec->kind, "logout") != 0) ||
	    rec->action == NULL || strcmp(rec->action, "end-sessions") != 0 ||
	    rec->target == NULL || before + pe->span_s <= pe->now_s)
		return 0;
	if (session_end_person(pe->gw->ends, rec->target, before, before + pe->span_s,
	    pe->now_s) != EG_OK) {
		pe->full = 1;
		return 1;
	}
	pe->n++;
	return 0;
}

static int
load_person_ends(struct gateway *gw, const struct eg_config *cfg)
{
	struct person_ends pe = { gw, cfg->absolute_timeout_ms / 1000, eg_now_us() / 1000000,
		0, 0 };
	struct audit_filter f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.decision = "allow";
	f.since_us = (pe.now_s - pe.span_s) * 1000000;
	rc = audit_query_live(gw->audit, &f, person_end_seen, &pe);
	if (rc != EG_OK && !pe.full) {
		log_warnx("[audit] db: the sessions administrators ended cannot be read");
		return -1;
	}
	if (pe.full) {
		log_warnx("[audit] db: the sessions administrators ended do not fit the set of "
		    "ended sessions");
		return -1;
	}
	if (pe.n > 0)
		log_info("%zu administrators' ends of someone's sessions restored from the "
		    "access log", pe.n);
	return 0;
}

/* Several instances: the witness of the peers' logs ([audit] peers, peer_keys). */
static int
start_witness(struct gateway *gw, const struct eg_config *cfg)
{
	struct audit_witness_options wo;

	memset(&wo, 0, sizeof(wo));
	wo.peers = cfg->audit_peers;
	wo.peer_keys = cfg->audit_peer_keys;
	wo.ca_file = cfg->audit_peer_ca;
	wo.keys = gw->keys;
	if (audit_witness_start(gw->audit, &wo, &gw->witness) != EG_OK) {
		log_warnx("[audit] peers: the witness cannot start");
		return -1;
	}
	return 0;
}

static int
open_services(struct gateway *gw, const struct eg_config *cfg, int threads)
{
	struct audit_options ao;

	if (metrics_new(&gw->metrics) != EG_OK)
		return -1;
	memset(&ao, 0, sizeof(ao));
	ao.dir = cfg->audit_db;
	ao.map_size = cfg->audit_map_size;
	ao.sync = audit_sync_of(cfg->audit_sync);
	ao.keys = gw->keys;     /* checkpoints are signed by the key process */
	ao.instance = cfg->audit_instance;
	if (audit_open(&ao, &gw->audit) != EG_OK) {
		log_warnx("[audit] db %s: cannot open the access log", cfg->audit_db);
		return -1;
	}
	if (start_witness(gw, cfg) != 0)
		return -1;
	if (dir_open(cfg, &gw->dir) != EG_OK || forward_pool_new(threads, &gw->upstream) != EG_OK ||
	    challenge_store_new(&gw->challenges) != EG_OK)
		return -1;
	if (verdict_cache_new(verdict_ttl_ms(cfg), &gw->verdicts) != EG_OK ||
	    verdict_cache_new(cfg->session_recheck_ms, &gw->card_checks) != EG_OK ||
	    session_ends_new(&gw->ends) != EG_OK || load_ended(gw) != 0 ||
	    load_person_ends(gw, cfg) != 0 ||
	    open_feed(gw, cfg) != 0 ||
	    forward_assertions_new(&gw->assertions) != EG_OK ||
	    api_writer_new(&gw->writer) != EG_OK || ticket_key_new(gw) != 0 ||
	    intent_cache_new(&gw->intents) != EG_OK)
		return -1;
	return 0;
}

static void
close_services(struct gateway *gw)
{
	int i;

	/* libmicrohttpd must not be stopped with connections suspended on upstream
	 * transfers: each loop ends those first, which resumes their connections. */
	if (gw->upstream != NULL)
		forward_pool_shutdown(gw->upstream);
	for (i = 0; i < gw->nloops; i++)
		loop_stop(gw->loops[i]);
	for (i = 0; i < gw->nloops; i++)
		loop_free(gw->loops[i]);
	free(gw->loops);
	forward_pool_free(gw->upstream);
	forward_assertions_free(gw->assertions);
	api_writer_free(gw->writer);
	dir_feed_stop(gw->feed);
	dir_sessions_close(gw->dsessions);
	dir_close(gw->dir);
	challenge_store_free(gw->challenges);
	verdict_cache_free(gw->verdicts);
	verdict_cache_free(gw->card_checks);
	cache_free(gw->intents);
	session_ends_free(gw->ends);
	metrics_free(gw->metrics);
	tlskey_free(gw->tls_key);
	admit_free(gw->admit);
	tlscache_free(gw->tls_cache);
	ticket_key_free(gw);
	audit_witness_stop(gw->witness);        /* after the loops: pages read its mirrors */
	audit_close(gw->audit);
	gw_snapshot_put(atomic_load(&gw->snap));
}

/* SIGHUP: the key process reads its key files again (a rotation), then the rest. */
static void
reload(struct gateway *gw, const char *config_path)
{
	struct gw_snapshot *next;

	if (keys_reload(gw->keys) != EG_OK) {
		log_warnx("reload of %s failed: the keys cannot be read; keeping the running "
		    "configuration and keys", config_path);
		return;
	}
	if (snapshot_load(config_path, gw->keys, &next) != EG_OK) {
		log_warnx("reload of %s failed: keeping the running configuration", config_path);
		return;
	}
	/* Kept in the log before it decides anything, so every decision can be replayed. */
	if (record_policy(gw->audit, next->policy, "reload") != EG_OK) {
		log_warnx("reload of %s failed: the policy cannot be kept in the access log; "
		    "keeping the running configuration", config_path);
		gw_snapshot_put(next);
		return;
	}
	snapshot_swap(gw, next);
	if (audit_rekey(gw->audit, gw->keys) != EG_OK)
		log_warnx("reload: the access log's checkpoint key change could not be recorded");
	log_info("reloaded %s (policy %s)", config_path, policy_version(next->policy));
}

/*
 * The key process exited: nothing can be sealed or signed any more, and an unprivileged
 * gateway cannot read the keys to start another. For KEYS_GRACE_MS requests that need a
 * key get 503 and readyz says so (a load balancer takes the instance out); then the
 * gateway stops with status 1 so that the service manager starts it again, key process
 * and all. 1 when it was the key process.
 */
#define KEYS_GRACE_MS 1000

/* Channels to the key process: the event loops, the access-log writer, the control
 * socket and the main thread share them, each held for one question at a time. */
#define KEYS_CHANNELS 8

static int
key_process_exited(struct gateway *gw, const sigset_t *set)
{
	struct timespec grace = { KEYS_GRACE_MS / 1000, (KEYS_GRACE_MS % 1000) * 1000000L };
	pid_t pid = keys_pid(gw->keys);
	int st = 0;

	if (pid <= 0 || waitpid(pid, &st, WNOHANG) != pid)
		return 0;
	keys_lost(gw->keys);
	if (WIFSIGNALED(st))
		log_warnx("the key process (pid %ld) was killed by signal %d: refusing requests "
		    "that need a key, then stopping so that eidgate is started again", (long)pid,
		    WTERMSIG(st));
	else
		log_warnx("the key process (pid %ld) exited with status %d: refusing requests "
		    "that need a key, then stopping so that eidgate is started again", (long)pid,
		    WEXITSTATUS(st));
	while (sigtimedwait(set, NULL, &grace) == SIGHUP)
		;
	return 1;
}

/* 0 on a stop signal, 1 when the key process is gone, -1 on error. */
static int
wait_for_signals(struct gateway *gw, const char *config_path)
{
	struct gw_snapshot *snap;
	int64_t drain_ms;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			return -1;
		if (sig == SIGCHLD) {
			if (key_process_exited(gw, &set))
				return 1;
			continue;
		}
		if (sig != SIGHUP)
			break;
		reload(gw, config_path);
	}
	log_info("signal %d: shutting down", sig);
	snap = gw_snapshot_get(gw);
	drain_ms = snap->cfg.drain_timeout_ms;
	gw_snapshot_put(snap);
	server_drain(gw, drain_ms, &set);
	return 0;
}

static int
make_id_prefix(struct gateway *gw)
{
	unsigned char rnd[4];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	eg_hex(rnd, sizeof(rnd), gw->id_prefix);
	return 0;
}

static int
worker_count(const struct eg_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->threads > 0)
		return cfg->threads;
	return n > 0 && n < 64 ? (int)n : 2;
}

/*
 * [log] format and level, set before anything else is loaded or any thread starts, so
 * that a SIEM reading json gets every line of a start as json. The file is read once
 * more by snapshot_load; a configuration that does not parse is reported there.
 */
static void
ignore_diag(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)msg;
}

static void
configure_log(const char *config_path)
{
	static const enum log_level levels[] = {
		[CFG_LOG_DEBUG] = LOG_LVL_DEBUG, [CFG_LOG_INFO] = LOG_LVL_INFO,
		[CFG_LOG_WARN] = LOG_LVL_WARN,
	};
	static const struct config_diag quiet = { ignore_diag, NULL };
	struct eg_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg != NULL && config_load(config_path, cfg, &quiet) == EG_OK)
		log_configure(cfg->log_format == CFG_LOG_JSON ? LOG_FORMAT_JSON :
		    LOG_FORMAT_TEXT, levels[cfg->log_level]);
	free(cfg);
}

int
server_serve(const char *config_path)
{
	struct gateway gw;
	struct gw_snapshot *snap;
	struct control *control = NULL;
	sigset_t set;
	int threads, rc = 1;

	memset(&gw, 0, sizeof(gw));
	/* Block the signals before any thread starts so only sigwait() sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A file-size limit must turn into a write error the access log reports (and the
	 * gateway answers 503), not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	configure_log(config_path);
	if (make_id_prefix(&gw) != 0)
		return 1;
	/* First, while this is one thread holding nothing: the key process (keys.h). */
	if (keys_spawn(config_path, KEYS_CHANNELS, &gw.keys) != EG_OK) {
		fprintf(stderr, "eidgate: %s: the keys cannot be loaded\n", config_path);
		return 1;
	}
	if (snapshot_load(config_path, gw.keys, &snap) != EG_OK) {
		fprintf(stderr, "eidgate: %s: configuration not usable\n", config_path);
		keys_close(gw.keys);
		return 1;
	}
	pthread_mutex_init(&gw.snap_mu, NULL);
	snap->gen = 1;
	atomic_init(&gw.snap, snap);
	threads = worker_count(&snap->cfg);
	make_origin(&snap->cfg, gw.origin, sizeof(gw.origin));
	if (open_services(&gw, &snap->cfg, threads) == 0 &&
	    record_policy(gw.audit, snap->policy, "start") == EG_OK &&
	    control_start(&gw, snap->cfg.audit_db, &control) == EG_OK &&
	    start_loops(&gw, &snap->cfg, threads) == 0) {
		log_info("listening on %s (%d threads, policy %s)", gw.origin, threads,
		    policy_version(snap->policy));
		rc = wait_for_signals(&gw, config_path) == 0 ? 0 : 1;
	}
	control_stop(control);
	close_services(&gw);
	keys_close(gw.keys);
	pthread_mutex_destroy(&gw.snap_mu);
	return rc;
}
