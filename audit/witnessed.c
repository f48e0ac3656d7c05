/*
 * witnessed.c - `eidgate audit verify` with several logs: each log against the latest
 * checkpoint of it that a witness cosigned (audit.h, "Several instances").
 *
 * A log's own checkpoints prove nothing against its own key: whoever holds the key (or
 * a copy of an older file) can roll the log back or fork it and sign again. The
 * cosignatures sit in the other instances' directories, out of that reach: a log that
 * no longer holds a cosigned (seq, hash) was rolled back (it ends before seq) or forked
 * (it has another hash at seq).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit/internal.h"

#define WD_MAX_LOGS 64

struct wlog {
	const char *dir;
	char instance[AUDIT_INSTANCE_MAX + 1];
};

struct wctx {
	struct wlog logs[WD_MAX_LOGS];
	size_t nlogs;
	size_t cur;                     /* the log whose peers are being checked */
	const struct audit_key *const *wkeys;
	size_t nwkeys;
	void (*say)(int bad, const char *line, void *arg);
	void *arg;
	int bad;
};

static void
say(struct wctx *w, int bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(struct wctx *w, int bad, const char *fmt, ...)
{
	char line[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w->bad += bad;
	w->say(bad, line, w->arg);
}

/* The hash of record seq in dir, and the log's first and last seq. 0, or -1 (err). */
static int
log_at(const char *dir, uint64_t seq, unsigned char *hash, int *found, uint64_t *first,
    uint64_t *last, char *err, size_t errlen)
{
	MDB_val k, v;
	struct audit_read rd;
	MDB_cursor *cur;

	*found = 0;
	*first = *last = 0;
	if (audit_read_open(dir, 0, &rd, err, errlen) != EG_OK)
		return -1;
	/* A log whose DBIs cannot be opened counts as empty. */
	if (rd.dbi_rc == 0 && mdb_cursor_open(rd.txn, rd.d.log, &cur) == 0) {
		if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0)
			*first = audit_be64_get(k.mv_data);
		if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
			*last = audit_be64_get(k.mv_data);
		mdb_cursor_close(cur);
		*found = audit_hash_at(rd.txn, rd.d.log, seq, hash) == EG_OK;
	}
	audit_read_close(&rd);
	return 0;
}

/* The latest cosignature and the fault a mirror holds. 1 when a cosignature was found. */
static int
mirror_state(const char *dir, struct audit_cosig *c, char *fault, size_t faultlen)
{
	struct audit_read rd;
	MDB_cursor *cur;
	MDB_dbi cos;
	MDB_val k, v;
	char err[256];
	int found = 0;

	fault[0] = '\0';
	if (audit_read_open(dir, 0, &rd, err, sizeof(err)) != EG_OK)
		return 0;
	if (rd.dbi_rc == 0 && audit_meta_get(rd.d.meta, rd.txn, "fault", &v) == 0)
		snprintf(fault, faultlen, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	if (mdb_dbi_open(rd.txn, "cosigs", 0, &cos) == 0 &&
	    mdb_cursor_open(rd.txn, cos, &cur) == 0) {
		found = mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 &&
		    audit_cosig_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, c) == 0;
		mdb_cursor_close(cur);
	}
	audit_read_close(&rd);
	return found;
}

/* 0: the cosignature counts; -1: it does not (said why). */
static int
cosig_counts(struct wctx *w, const struct audit_cosig *c, const char *witness)
{
	size_t i;

	if (w->nwkeys == 0)
		return 0;
	for (i = 0; i < w->nwkeys; i++) {
		int r = audit_cosig_check(w->wkeys[i], c);

		if (r == 0)
			return 0;
		if (r == 2) {
			say(w, 1, "instance %s: the cosignature of its seq %llu kept by witness %s "
			    "does not verify: forged or altered", c->instance,
			    (unsigned long long)c->seq, witness);
			return -1;
		}
	}
	say(w, 1, "instance %s: the cosignature of its seq %llu kept by witness %s is by a "
	    "key not given with --witness-key", c->instance, (unsigned long long)c->seq,
	    witness);
	return -1;
}

static void
check_against(struct wctx *w, const struct wlog *l, const struct audit_cosig *c,
    const char *witness)
{
	unsigned char h[AUDIT_HASH_LEN];
	char want[AUDIT_HEX_LEN], got[AUDIT_HEX_LEN], t[40], err[512];
	uint64_t first, last;
	int found;

	eg_hex(c->hash, AUDIT_HASH_LEN, want);
	eg_format_time(c->time_us, t, sizeof(t));
	if (log_at(l->dir, c->seq, h, &found, &first, &last, err, sizeof(err)) != 0) {
		say(w, 1, "instance %s: %s", l->instance, err);
	} else if (c->seq > last) {
		say(w, 1, "instance %s: ROLLED BACK: its log ends at seq %llu, but witness %s "
		    "cosigned its checkpoint at seq %llu hash %s (%s)", l->instance,
		    (unsigned long long)last, witness, (unsigned long long)c->seq, want, t);
	} else if (c->seq < first) {
		say(w, 0, "instance %s: the checkpoint witness %s cosigned at seq %llu is in "
		    "its archives (log starts at seq %llu): not checked here", l->instance,
		    witness, (unsigned long long)c->seq, (unsigned long long)first);
	} else if (!found || memcmp(h, c->hash, AUDIT_HASH_LEN) != 0) {
		eg_hex(h, AUDIT_HASH_LEN, got);
		say(w, 1, "instance %s: FORKED: its record seq %llu has hash %s, but witness %s "
		    "cosigned its checkpoint at seq %llu hash %s (%s)", l->instance,
		    (unsigned long long)c->seq, found ? got : "(missing)", witness,
		    (unsigned long long)c->seq, want, t);
	} else {
		say(w, 0, "instance %s: extends the checkpoint witness %s cosigned at seq %llu "
		    "hash %.16s... (%s)", l->instance, witness, (unsigned long long)c->seq, want,
		    t);
	}
}

static void
check_cosigned(struct wctx *w, const char *mdir, const char *witness)
{
	struct audit_cosig c;
	char fault[400];
	size_t i;

	if (!mirror_state(mdir, &c, fault, sizeof(fault))) {
		if (fault[0] != '\0')
			say(w, 1, "witness %s found: %s", witness, fault);
		return;
	}
	if (fault[0] != '\0')
		say(w, 1, "witness %s found: %s", witness, fault);
	if (cosig_counts(w, &c, witness) != 0)
		return;
	for (i = 0; i < w->nlogs; i++)
		if (strcmp(w->logs[i].instance, c.instance) == 0) {
			check_against(w, &w->logs[i], &c, witness);
			return;
		}
	say(w, 0, "instance %s: witness %s cosigned it up to seq %llu; its log was not "
	    "given (--db)", c.instance, witness, (unsigned long long)c.seq);
}

/* A mirror under the current log's peers: that log's instance is the witness. */
static int
check_mirror(const char *mdir, const char *name, void *arg)
{
	struct wctx *w = arg;
	const struct wlog *wl = &w->logs[w->cur];
	const char *witness = wl->instance[0] ? wl->instance : wl->dir;

	(void)name;
	check_cosigned(w, mdir, witness);
	return 0;
}

int
audit_verify_witnessed(const char *const *dirs, size_t ndirs,
    const struct audit_key *const *wkeys, size_t nwkeys,
    void (*sayfn)(int bad, const char *line, void *arg), void *arg)
{
	struct wctx *w = calloc(1, sizeof(*w));
	char err[256];
	size_t i;
	int bad;

	if (w == NULL)
		return 1;
	w->wkeys = wkeys;
	w->nwkeys = nwkeys;
	w->say = sayfn;
	w->arg = arg;
	for (i = 0; i < ndirs && i < WD_MAX_LOGS; i++) {
		w->logs[i].dir = dirs[i];
		(void)audit_instance_of(dirs[i], w->logs[i].instance,
		    sizeof(w->logs[i].instance), err, sizeof(err));
		w->nlogs++;
	}
	for (w->cur = 0; w->cur < w->nlogs; w->cur++)
		(void)audit_each_mirror(dirs[w->cur], check_mirror, w);
	bad = w->bad;
	free(w);
	return bad;
}
