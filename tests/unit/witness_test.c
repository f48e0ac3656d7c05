/*
 * witness_test.c - several instances' logs: the instance in every record, cosignatures
 * (format, signature, a malformed value), the feed of a live log and its parser, a
 * witness's mirror that cosigns only checkpoints that extend what it cosigned before
 * (and names a rollback or a fork), the merged view by time, and verify against the
 * witnessed checkpoints after a log file was replaced by an older copy. Prints how many
 * records a witness replays per second (the work per checkpoint).
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "check.h"

#define T0 1763841713000000LL

static char base[64];

static char *
path(const char *name)
{
	static char bufs[16][256];
	static int i;
	char *p = bufs[i++ % 16];

	snprintf(p, 256, "%s/%s", base, name);
	return p;
}

static char *
make_key(const char *name)
{
	char *p = path(name);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f = fopen(p, "w");

	CHECK(k != NULL && f != NULL);
	if (k != NULL && f != NULL)
		CHECK(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	if (f != NULL)
		fclose(f);
	CHECK(chmod(p, 0600) == 0);
	EVP_PKEY_free(k);
	return p;
}

static struct audit_log *
open_log(const char *dir, const char *instance, const char *key)
{
	struct audit_options o = { dir, 0, AUDIT_SYNC_GROUP, 0, 0, key, NULL, instance };
	struct audit_log *log = NULL;

	CHECK(audit_open(&o, &log) == EG_OK);
	return log;
}

static void
append(struct audit_log *log, int n, int64_t t0, int64_t step)
{
	struct audit_record r;
	char p[64];
	int i, ok = 1;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(p, sizeof(p), "/modules/catalog/%d", i);
		r.time_us = t0 + i * step;
		r.kind = "request";
		r.nrn = "85010100123";
		r.org = "0123456789";
		r.method = "GET";
		r.path = p;
		r.decision = "allow";
		ok &= audit_append(log, &r, NULL) == EG_OK;
	}
	CHECK(ok);
	CHECK(audit_flush(log) == EG_OK);
}

/* What a peer's witness would fetch: the feed after `after`, parsed. */
static int
feed(struct audit_log *log, uint64_t after, struct audit_feed *f)
{
	char *text = NULL, err[256];
	size_t len = 0;
	int rc;

	CHECK(audit_feed_live(log, after, AUDIT_FEED_MAX_RECORDS, &text, &len) == EG_OK);
	rc = audit_feed_parse(text, len, f, err, sizeof(err));
	if (rc != EG_OK)
		printf("feed: %s\n", err);
	free(text);
	return rc;
}

/* Applies every page of log's feed to m. The last result in *res. */
static int
sync_mirror(struct audit_log *log, struct audit_mirror *m, const struct audit_key *w,
    struct audit_apply_result *res)
{
	struct audit_feed f;
	int rc = EG_OK;

	do {
		if (feed(log, audit_mirror_last(m), &f) != EG_OK)
			return EG_ERR_PARSE;
		rc = audit_mirror_apply(m, &f, w, res);
		audit_feed_free(&f);
	} while (rc == EG_OK && res->applied == AUDIT_FEED_MAX_RECORDS);
	return rc;
}

static void
test_cosig(const struct audit_key *w)
{
	unsigned char val[AUDIT_COSIG_VAL_MAX], key[8] = { 0, 0, 0, 0, 0, 0, 0, 42 };
	struct audit_cosig c, d;
	size_t len;

	memset(&c, 0, sizeof(c));
	snprintf(c.instance, sizeof(c.instance), "gw-a");
	c.seq = 42;
	c.time_us = T0;
	memset(c.hash, 7, sizeof(c.hash));
	CHECK(audit_cosig_sign(w, &c) == EG_OK);
	CHECK(audit_cosig_check(w, &c) == 0);
	len = audit_cosig_encode(&c, val);
	CHECK(audit_cosig_decode(key, 8, val, len, &d) == 0);
	CHECK(d.seq == 42 && strcmp(d.instance, "gw-a") == 0 && audit_cosig_check(w, &d) == 0);
	/* The instance is signed: the same signature does not hold for another one. */
	snprintf(d.instance, sizeof(d.instance), "gw-b");
	CHECK(audit_cosig_check(w, &d) == 2);
	CHECK(audit_cosig_decode(key, 8, val, len - 1, &d) == 0);      /* shorter DER: parsed */
	CHECK(audit_cosig_decode(key, 8, val, 60, &d) == -1);
	CHECK(audit_cosig_decode(key, 7, val, len, &d) == -1);
	val[0] = 9;
	CHECK(audit_cosig_decode(key, 8, val, len, &d) == -1);
	CHECK(!audit_instance_valid("") && !audit_instance_valid("..") &&
	    !audit_instance_valid("a/b") && audit_instance_valid("gw-1.example"));
}

static void
test_feed_parse(void)
{
	struct audit_feed f;
	char err[256];
	static const char *bad[] = {
		"", "[]", "{\"v\":2,\"instance\":\"a\",\"head_seq\":0,\"after\":0}",
		"{\"v\":1,\"instance\":\"a/b\",\"head_seq\":0,\"after\":0}",
		"{\"v\":1,\"instance\":\"a\",\"head_seq\":3,\"after\":0}",
		"{\"v\":1,\"instance\":\"a\",\"head_seq\":0,\"after\":0,\"records\":[\"AAAA\"]}",
		"{\"v\":1,\"instance\":\"a\",\"head_seq\":0,\"after\":0,\"records\":[],"
		    "\"checkpoints\":[{\"seq\":1}]}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(audit_feed_parse(bad[i], strlen(bad[i]), &f, err, sizeof(err)) ==
		    EG_ERR_PARSE);
	{
		static const char ok[] = "{\"v\":1,\"instance\":\"a\",\"head_seq\":0,"
		    "\"after\":0,\"records\":[]}";

		CHECK(audit_feed_parse(ok, strlen(ok), &f, err, sizeof(err)) == EG_OK);
	}
	audit_feed_free(&f);
}

struct seen {
	int n, ordered, named;
	int64_t last;
	char first_instance[16];
};

static int
see(const struct audit_record *r, void *arg)
{
	struct seen *s = arg;

	if (s->n == 0)
		snprintf(s->first_instance, sizeof(s->first_instance), "%s",
		    r->instance ? r->instance : "");
	if (s->n > 0 && r->time_us < s->last)
		s->ordered = 0;
	if (r->instance != NULL && r->hash != NULL)
		s->named++;
	s->last = r->time_us;
	s->n++;
	return 0;
}

struct said {
	int bad, ok;
	char line[800];
};

static void
said(int bad, const char *line, void *arg)
{
	struct said *s = arg;

	if (bad) {
		s->bad++;
		snprintf(s->line, sizeof(s->line), "%s", line);
	} else {
		s->ok++;
	}
}

static int
copy_file(const char *from, const char *to)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ok;

	if (eg_read_file(from, 1u << 30, &text, &len) != EG_OK)
		return -1;
	ok = (f = fopen(to, "w")) != NULL && fwrite(text, 1, len, f) == len;
	if (f != NULL)
		ok &= fclose(f) == 0;
	free(text);
	return ok ? 0 : -1;
}

int
main(void)
{
	struct audit_key *wkey = NULL;
	struct audit_mirror *m = NULL;
	struct audit_apply_result res;
	struct audit_log *a, *b;
	struct audit_filter flt;
	struct seen s;
	struct said sd;
	char err[256], inst[64];
	const char *dirs[2];
	const struct audit_key *wk[1];
	uint64_t first_cosigned;
	int64_t t;

	log_init("eidgate", LOG_LVL_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(base, sizeof(base), "/tmp/eidgate-witness-XXXXXX");
	if (mkdtemp(base) == NULL)
		return 1;
	mkdir(path("b"), 0700);
	mkdir(path("b/peers"), 0700);
	CHECK(audit_key_load(make_key("witness.pem"), 1, &wkey, err, sizeof(err)) == EG_OK);
	test_cosig(wkey);
	test_feed_parse();

	/* Instance a writes; b witnesses it. */
	a = open_log(path("a"), "gw-a", make_key("a.pem"));
	b = open_log(path("b"), "gw-b", NULL);
	append(a, 2500, T0, 1000);
	append(b, 10, T0 + 500, 1000);
	CHECK(audit_mirror_open(path("b/peers/gw-a"), "gw-a", &m, err, sizeof(err)) == EG_OK);
	CHECK(sync_mirror(a, m, wkey, &res) == EG_OK);
	CHECK(res.last_seq >= 2500 && res.cosigned_seq >= 1000 && !res.fault);
	first_cosigned = res.cosigned_seq;
	/* More records: the next checkpoint extends the one cosigned. */
	append(a, 1500, T0 + 3000000, 1000);
	CHECK(sync_mirror(a, m, wkey, &res) == EG_OK);
	CHECK(res.cosigned_seq > first_cosigned && res.last_seq >= 4000);
	audit_close(a);
	audit_close(b);
	a = NULL;

	/* A copy of a's file now, then more records, cosigned; then the copy back. */
	CHECK(copy_file(path("a/data.mdb"), path("a-old.mdb")) == 0);
	a = open_log(path("a"), "gw-a", path("a.pem"));
	append(a, 1200, T0 + 6000000, 1000);
	CHECK(sync_mirror(a, m, wkey, &res) == EG_OK && res.cosigned_seq > 4000);
	audit_close(a);
	audit_mirror_close(m);
	m = NULL;

	/* The merged view: both logs by time, every row named, the mirror not twice. */
	dirs[0] = path("a");
	dirs[1] = path("b");
	memset(&flt, 0, sizeof(flt));
	memset(&s, 0, sizeof(s));
	s.ordered = 1;
	CHECK(audit_query_merged(dirs, 2, 1, NULL, see, &s, err, sizeof(err)) == EG_OK);
	CHECK(s.n >= 5200 + 10 && s.ordered && s.named == s.n);
	CHECK(strcmp(s.first_instance, "gw-a") == 0);
	memset(&s, 0, sizeof(s));
	s.ordered = 1;
	/* b's directory alone shows a's records through its mirror. */
	CHECK(audit_query_merged(dirs + 1, 1, 1, NULL, see, &s, err, sizeof(err)) == EG_OK);
	CHECK(s.n >= 5200 + 10 && s.ordered);
	flt.limit = 5;
	flt.newest_first = 1;
	memset(&s, 0, sizeof(s));
	CHECK(audit_query_merged(dirs, 2, 1, &flt, see, &s, err, sizeof(err)) == EG_OK);
	CHECK(s.n == 5);
	CHECK(audit_instance_of(path("b/peers/gw-a"), inst, sizeof(inst), err, sizeof(err)) ==
	    EG_OK && strcmp(inst, "gw-a") == 0);

	/* Intact: verify against the witnessed checkpoint passes. */
	wk[0] = wkey;
	memset(&sd, 0, sizeof(sd));
	CHECK(audit_verify_witnessed(dirs, 2, wk, 1, said, &sd) == 0 && sd.ok == 1);

	/* Rolled back to the older copy: caught, naming the instance and the checkpoint. */
	CHECK(copy_file(path("a-old.mdb"), path("a/data.mdb")) == 0);
	memset(&sd, 0, sizeof(sd));
	CHECK(audit_verify_witnessed(dirs, 2, wk, 1, said, &sd) == 1);
	CHECK(strstr(sd.line, "instance gw-a: ROLLED BACK") != NULL &&
	    strstr(sd.line, "witness gw-b cosigned its checkpoint at seq") != NULL);
	printf("  %s\n", sd.line);

	/* The rolled-back instance writes on, signing with its own key: a fork, caught by
	 * the witness at its next fetch and by verify. */
	a = open_log(path("a"), "gw-a", path("a.pem"));
	append(a, 1500, T0 + 9000000, 1000);
	CHECK(audit_mirror_open(path("b/peers/gw-a"), "gw-a", &m, err, sizeof(err)) == EG_OK);
	CHECK(sync_mirror(a, m, wkey, &res) == EG_ERR_AUDIT && res.fault);
	CHECK(strstr(res.why, "instance gw-a") != NULL && strstr(res.why, "cosigned") != NULL);
	printf("  witness: %s\n", res.why);
	/* Kept: nothing more is applied from that peer. */
	CHECK(sync_mirror(a, m, wkey, &res) == EG_ERR_AUDIT && res.fault);
	audit_close(a);
	audit_mirror_close(m);
	memset(&sd, 0, sizeof(sd));
	CHECK(audit_verify_witnessed(dirs, 2, wk, 1, said, &sd) >= 1);
	CHECK(strstr(sd.line, "gw-a") != NULL);

	/* The witness's work: records replayed onto a mirror per second. */
	a = open_log(path("c"), "gw-c", path("a.pem"));
	append(a, 100000, T0, 10);
	CHECK(audit_mirror_open(path("b/peers/gw-c"), "gw-c", &m, err, sizeof(err)) == EG_OK);
	t = eg_now_us();
	CHECK(sync_mirror(a, m, wkey, &res) == EG_OK && res.last_seq >= 100000);
	t = eg_now_us() - t;
	printf("  witness replay: %llu records (feed encode, parse, chain check, mirror write, "
	    "%llu cosignatures) in %.2f s: %.0f records/s (information only)\n",
	    (unsigned long long)res.last_seq, (unsigned long long)res.cosigned_seq / 1000,
	    (double)t / 1e6, t > 0 ? 1e6 * (double)res.last_seq / (double)t : 0.0);
	audit_close(a);
	audit_mirror_close(m);
	audit_key_free(wkey);
	check_rm_tree(base);
	return check_report();
}
