/*
 * witness.c - the witness of an instance: one thread that fetches each peer's new
 * records ([audit] peers) and hands them to its mirror (mirror.c), which replays and
 * cosigns; and the check of the peers' feed requests ([audit] peer_keys).
 *
 * Transport: HTTPS to the peer's gateway port, the server verified against [audit]
 * peer_ca (or the system's CAs) with libcurl; the request is signed with this instance's
 * witness key through the key process (header X-Eidgate-Witness), and the peer answers
 * only keys it lists in its [audit] peer_keys. A signed request rather than a TLS client
 * certificate: the private key stays in the key process (a client certificate would
 * need it in this process for libcurl), the pin is the key the peers already need to
 * check the cosignatures, and the gateway port keeps asking clients for eID cards only.
 *
 * The thread blocks on the network, never an event loop: the gateway's answers about the
 * peers (the merged view) read the mirrors on the local disk.
 */
#include <inttypes.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

#define WITNESS_MAX_PEERS 32
#define WITNESS_MAX_KEYS 32
#define WITNESS_CONNECT_MS 2000
#define WITNESS_TIMEOUT_MS 10000
#define WITNESS_REQ_DOMAIN "eidgate-audit-witness-req-v1"
#define WITNESS_HEADER "X-Eidgate-Witness"

struct peer {
	char url[512];
	struct audit_mirror *m;         /* opened at the first answer (its instance) */
	int faulted;                    /* recorded once */
	int down;                       /* unreachable: said once per outage */
	CURL *curl;                     /* kept: its connection is reused every round */
};

struct audit_witness {
	struct audit_log *log;
	struct audit_key *wkey;         /* signs, through the key process */
	struct audit_key *pkeys[WITNESS_MAX_KEYS];
	size_t npkeys;
	struct peer peers[WITNESS_MAX_PEERS];
	size_t npeers;
	char ca[1024];
	int interval_ms;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;             /* stop, and the peers' mirror pointers */
	pthread_cond_t cv;
	int stop;
};

/* ---- the request's signature ---- */

static size_t
req_message(int64_t t, uint64_t after, uint64_t limit, unsigned char *out, size_t room)
{
	size_t n = sizeof(WITNESS_REQ_DOMAIN) - 1;
	int w;

	memcpy(out, WITNESS_REQ_DOMAIN, n);
	audit_be64_put(out + n, (uint64_t)t);
	w = snprintf((char *)out + n + 8, room - n - 8, "after=%" PRIu64 "&limit=%" PRIu64,
	    after, limit);
	return w > 0 && (size_t)w < room - n - 8 ? n + 8 + (size_t)w : 0;
}

static int
sign_request(const struct audit_witness *w, uint64_t after, uint64_t limit, char *out,
    size_t outlen)
{
	unsigned char msg[128], sig[AUDIT_SIG_MAX];
	char kid[2 * AUDIT_KEYID_LEN + 1], b64[4 * ((AUDIT_SIG_MAX + 2) / 3) + 1];
	size_t mlen, slen = sizeof(sig);
	int64_t t = eg_now_us();

	if ((mlen = req_message(t, after, limit, msg, sizeof(msg))) == 0 ||
	    audit_key_sign_msg(w->wkey, msg, mlen, sig, &slen) != EG_OK)
		return -1;
	eg_hex(audit_key_id(w->wkey), AUDIT_KEYID_LEN, kid);
	eg_b64url(sig, slen, b64);
	return snprintf(out, outlen, WITNESS_HEADER ": %s.%" PRId64 ".%s", kid, t, b64) > 0 ?
	    0 : -1;
}

int
audit_witness_authorized(const struct audit_witness *w, const char *header,
    uint64_t after, uint64_t limit)
{
	unsigned char kid[AUDIT_KEYID_LEN], msg[128], sig[AUDIT_SIG_MAX];
	char buf[400], *dot1, *dot2;
	long long t;
	size_t i, mlen, slen = 0;

	if (w == NULL || header == NULL || strlen(header) >= sizeof(buf))
		return 0;
	memcpy(buf, header, strlen(header) + 1);
	if ((dot1 = strchr(buf, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return 0;
	*dot1 = *dot2 = '\0';
	if (eg_unhex(buf, kid, sizeof(kid)) != EG_OK ||
	    eg_strtonum(dot1 + 1, 0, INT64_MAX, &t) != EG_OK ||
	    llabs(t / 1000000 - eg_now_us() / 1000000) > AUDIT_FEED_SKEW_S ||
	    eg_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig), &slen) != EG_OK ||
	    (mlen = req_message(t, after, limit, msg, sizeof(msg))) == 0)
		return 0;
	for (i = 0; i < w->npkeys; i++)
		if (memcmp(audit_key_id(w->pkeys[i]), kid, AUDIT_KEYID_LEN) == 0)
			return audit_key_verify_msg(w->pkeys[i], msg, mlen, sig, slen);
	return 0;
}

/* ---- fetching ---- */

struct body {
	char *p;
	size_t len, cap;
};

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	char *np;

	if (add > AUDIT_FEED_MAX_BYTES - b->len)
		return 0;       /* too large: curl fails the transfer */
	if (b->len + add + 1 > b->cap) {
		size_t cap = (b->len + add + 1) * 2;

		if ((np = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static int
fetch(const struct audit_witness *w, struct peer *p, uint64_t after,
    struct body *b, char *err, size_t errlen)
{
	struct curl_slist *hdr = NULL;
	char url[700], auth[400];
	long status = 0;
	CURLcode rc;
	CURL *c;

	snprintf(url, sizeof(url), "%s/eidgate/audit/peer/feed?after=%" PRIu64 "&limit=%d",
	    p->url, after, AUDIT_FEED_MAX_RECORDS);
	if (sign_request(w, after, AUDIT_FEED_MAX_RECORDS, auth, sizeof(auth)) != 0) {
		eg_errf(err, errlen, "the request could not be signed (witness key)");
		return -1;
	}
	/* One handle per peer, kept: a round reuses its TLS connection (a handshake per
	 * peer per second otherwise). */
	if (p->curl == NULL)
		p->curl = curl_easy_init();
	else
		curl_easy_reset(p->curl);
	if ((c = p->curl) == NULL || (hdr = curl_slist_append(NULL, auth)) == NULL) {
		eg_errf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)WITNESS_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WITNESS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (w->ca[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, w->ca);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK || status != 200) {
		eg_errf(err, errlen, "%s", rc != CURLE_OK ? curl_easy_strerror(rc) :
		    status == 403 ? "403: this instance's witness key is not in its peer_keys" :
		    "unexpected HTTP status");
		return -1;
	}
	return 0;
}

/* The fault goes into this instance's own log too, where `eidgate audit query --kind
 * witness` and the operators find it. It names no org, so no officer's view (always one
 * org's) shows it. */
static void
record_fault(struct audit_witness *w, struct peer *p, const char *why)
{
	struct audit_record r;
	char scope[AUDIT_INSTANCE_MAX + 16];

	if (p->faulted)
		return;
	p->faulted = 1;
	log_warnx("witness: %s", why);
	memset(&r, 0, sizeof(r));
	snprintf(scope, sizeof(scope), "instance:%s", p->m != NULL ?
	    audit_mirror_instance(p->m) : "?");
	r.kind = "witness";
	r.decision = "deny";
	r.reason = "log-contradicts-cosigned-checkpoint";
	r.scope = scope;
	r.path = why;
	if (audit_append(w->log, &r, NULL) != EG_OK)
		log_warnx("witness: the fault could not be recorded in the access log");
}

static int
open_mirror(struct audit_witness *w, struct peer *p, const char *instance)
{
	char dir[1200], err[512];
	struct audit_mirror *m;

	if (strcmp(instance, w->log->instance) == 0) {
		log_warnx("witness: %s answers as this instance (%s): not a peer", p->url,
		    instance);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/peers", w->log->dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("witness: %s", dir);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/peers/%s", w->log->dir, instance);
	if (audit_mirror_open(dir, instance, &m, err, sizeof(err)) != EG_OK) {
		log_warnx("witness: %s", err);
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	p->m = m;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* One request to one peer; 1 when it gave a full page (more to fetch now). */
static int
poll_peer(struct audit_witness *w, struct peer *p)
{
	struct body b = { NULL, 0, 0 };
	struct audit_apply_result res;
	struct audit_feed f;
	char err[512];
	int more = 0;

	if (fetch(w, p, p->m != NULL ? audit_mirror_last(p->m) : 0, &b, err, sizeof(err)) != 0) {
		if (!p->down)
			log_warnx("witness: %s: %s (said once until it answers)", p->url, err);
		p->down = 1;
		free(b.p);
		return 0;
	}
	if (p->down)
		log_info("witness: %s answers again", p->url);
	p->down = 0;
	if (audit_feed_parse(b.p != NULL ? b.p : "", b.len, &f, err, sizeof(err)) != EG_OK) {
		log_warnx("witness: %s: feed refused: %s", p->url, err);
	} else if (p->m == NULL && (f.after != 0 || open_mirror(w, p, f.instance) != 0)) {
		audit_feed_free(&f);
	} else if (audit_mirror_apply(p->m, &f, w->wkey, &res) != EG_OK) {
		if (res.fault)
			record_fault(w, p, res.why);
		else
			log_warnx("witness: %s: %s", p->url, res.why);
	} else {
		more = f.nrec == AUDIT_FEED_MAX_RECORDS;
	}
	audit_feed_free(&f);
	free(b.p);
	return more;
}

/* Until the next round is due (interval_ms after now) or stop; called with mu held. */
static void
wait_round(struct audit_witness *w)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += w->interval_ms / 1000;
	ts.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0)
		;
}

/* The first round waits an interval too: a gateway started as root has given up root
 * by then, so the mirrors are made by the user who writes them later. */
static void *
witness_main(void *arg)
{
	struct audit_witness *w = arg;
	size_t i;
	int more = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (!more)
			wait_round(w);
		if (w->stop)
			break;
		more = 0;
		pthread_mutex_unlock(&w->mu);
		for (i = 0; i < w->npeers; i++)
			while (!w->stop && poll_peer(w, &w->peers[i]))
				more = 1;
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- setting up ---- */

static int
add_peer_key(const char *path, void *arg)
{
	struct audit_witness *w = arg;
	char err[512];

	if (w->npkeys == WITNESS_MAX_KEYS) {
		log_warnx("[audit] peer_keys: more than %d keys", WITNESS_MAX_KEYS);
		return -1;
	}
	if (audit_key_load(path, 0, &w->pkeys[w->npkeys], err, sizeof(err)) != EG_OK) {
		log_warnx("[audit] peer_keys: %s", err);
		return -1;
	}
	w->npkeys++;
	return 0;
}

/* Calls fn for each item of a comma- or space-separated list. */
static int
each_item(const char *list, int (*fn)(const char *item, void *arg), void *arg)
{
	char item[1024];

	while (list != NULL && *list != '\0') {
		size_t n;

		list += strspn(list, ", \t");
		n = strcspn(list, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof(item))
			return -1;
		memcpy(item, list, n);
		item[n] = '\0';
		if (fn(item, arg) != 0)
			return -1;
		list += n;
	}
	return 0;
}

static int
add_peer(const char *url, void *arg)
{
	struct audit_witness *w = arg;
	size_t n = strlen(url);

	if (strncmp(url, "https://", 8) != 0 || n >= sizeof(w->peers[0].url) || n <= 8 ||
	    w->npeers == WITNESS_MAX_PEERS) {
		log_warnx("[audit] peers: \"%.80s\" is not an https:// URL (at most %d peers)",
		    url, WITNESS_MAX_PEERS);
		return -1;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	memcpy(w->peers[w->npeers].url, url, n);
	w->peers[w->npeers++].url[n] = '\0';
	return 0;
}

int
audit_witness_start(struct audit_log *log, const struct audit_witness_options *o,
    struct audit_witness **out)
{
	struct audit_witness *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return EG_ERR_CONFIG;
	w->log = log;
	w->interval_ms = o->interval_ms > 0 ? o->interval_ms : 1000;
	snprintf(w->ca, sizeof(w->ca), "%s", o->ca_file != NULL ? o->ca_file : "");
	pthread_mutex_init(&w->mu, NULL);
	audit_cond_init(&w->cv);
	if (each_item(o->peer_keys, add_peer_key, w) != 0 ||
	    each_item(o->peers, add_peer, w) != 0)
		goto fail;
	if (w->npeers > 0) {
		char pdir[1100];

		/* Made now, while the gateway may still be root: it owns the log's directory. */
		snprintf(pdir, sizeof(pdir), "%s/peers", log->dir);
		if (mkdir(pdir, 0700) != 0 && errno != EEXIST) {
			log_warn("witness: %s", pdir);
			goto fail;
		}
		if (o->keys == NULL || audit_key_from_keys_purpose(o->keys, KEYS_SIGN_WITNESS,
		    &w->wkey) != EG_OK || w->wkey == NULL) {
			log_warnx("[audit] peers needs [audit] witness_key");
			goto fail;
		}
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
		    pthread_create(&w->thread, NULL, witness_main, w) != 0) {
			log_warnx("witness: cannot start");
			goto fail;
		}
		w->started = 1;
	}
	*out = w;
	return EG_OK;
fail:
	audit_witness_stop(w);
	return EG_ERR_CONFIG;
}

void
audit_witness_stop(struct audit_witness *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	for (i = 0; i < w->npeers; i++) {
		audit_mirror_close(w->peers[i].m);
		if (w->peers[i].curl != NULL)
			curl_easy_cleanup(w->peers[i].curl);
	}
	for (i = 0; i < w->npkeys; i++)
		audit_key_free(w->pkeys[i]);
	audit_key_free(w->wkey);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* ---- the merged view inside the gateway ---- */

int
audit_query_merged_live(struct audit_log *log, struct audit_witness *w,
    const struct audit_filter *f, int (*cb)(const struct audit_record *rec, void *arg),
    void *arg)
{
	struct audit_mirror *ms[WITNESS_MAX_PEERS];
	size_t i, n = 0;

	if (w != NULL) {
		pthread_mutex_lock(&w->mu);
		for (i = 0; i < w->npeers; i++)
			if (w->peers[i].m != NULL)
				ms[n++] = w->peers[i].m;
		pthread_mutex_unlock(&w->mu);
	}
	if (n == 0)
		return audit_query_live(log, f, cb, arg);
	return audit_merge_live(log, ms, n, f, cb, arg);
}
