/*
 * policies.c - reading back the policy versions a log keeps ("policies" DBI, written by
 * store.c with each "policy" record) and single records by seq, for `eidgate audit
 * replay`; and, for verify.c, the check that each kept text is the one its record names.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "audit/internal.h"

static int
walk_policies(MDB_txn *txn, const struct audit_dbis *d,
    int (*cb)(const char *, const char *, size_t, void *), void *arg)
{
	char version[EG_MAX_ID];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r = EG_OK;

	if ((rc = mdb_cursor_open(txn, d->policies, &cur)) != 0)
		return EG_ERR_AUDIT;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r == EG_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* Keys are what the writer took from records: short, NUL-free. */
		if (k.mv_size == 0 || k.mv_size >= sizeof(version) ||
		    memchr(k.mv_data, '\0', k.mv_size) != NULL)
			continue;
		memcpy(version, k.mv_data, k.mv_size);
		version[k.mv_size] = '\0';
		r = cb(version, v.mv_data, v.mv_size, arg);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return EG_ERR_AUDIT;
	return r;
}

int
audit_policies(const char *dir, int (*cb)(const char *, const char *, size_t, void *),
    void *arg, char *err, size_t errlen)
{
	struct audit_read rd;
	int r;

	if (audit_read_open(dir, 1, &rd, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	r = rd.dbi_rc == MDB_NOTFOUND || !rd.d.has_policies ? EG_OK :
	    walk_policies(rd.txn, &rd.d, cb, arg);
	if (r == EG_ERR_AUDIT)
		eg_errf(err, errlen, "audit log %s: reading the policy versions failed", dir);
	audit_read_close(&rd);
	return r;
}

int
audit_record_at(const char *dir, uint64_t seq,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	unsigned char h[AUDIT_HASH_LEN];
	struct audit_strbuf b = { NULL, 0 };
	char hex[AUDIT_HEX_LEN];
	struct audit_record r;
	struct audit_read rd;
	const char *why = NULL;
	int rc, ret;

	if (audit_read_open(dir, 1, &rd, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	rc = rd.dbi_rc == MDB_NOTFOUND ? MDB_NOTFOUND :
	    audit_record_get(rd.txn, rd.d.log, seq, &r, &b, h, &why);
	if (rc == MDB_NOTFOUND) {
		eg_errf(err, errlen, "audit log %s: no record %llu", dir,
		    (unsigned long long)seq);
		ret = EG_ERR_NOT_FOUND;
	} else if (rc == AUDIT_CORRUPT) {
		eg_errf(err, errlen, "audit log %s: record seq %llu is corrupt: %s", dir,
		    (unsigned long long)seq, why);
		ret = EG_ERR_AUDIT;
	} else if (rc != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rc));
		ret = EG_ERR_AUDIT;
	} else {
		eg_hex(h, AUDIT_HASH_LEN, hex);
		r.hash = hex;
		ret = cb(&r, arg);
	}
	free(b.p);
	audit_read_close(&rd);
	return ret;
}

/* A kept text's version for a message: keys are attacker-writable bytes. */
static void
printable_key(const MDB_val *k, char *out, size_t outlen)
{
	const unsigned char *p = k->mv_data;
	size_t i, n = k->mv_size < outlen - 1 ? k->mv_size : outlen - 1;

	for (i = 0; i < n; i++)
		out[i] = p[i] > 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
}

/* One "policy" record's text: kept, and hashing to the SHA-256 the record names. */
static int
check_seen(MDB_txn *txn, const struct audit_dbis *d, const struct audit_polseen *s,
    uint64_t *bad_seq, char *why, size_t whylen)
{
	char hex[AUDIT_HEX_LEN];
	MDB_val k = { strlen(s->version), (void *)(uintptr_t)s->version }, v;
	int rc = d->has_policies ? mdb_get(txn, d->policies, &k, &v) : MDB_NOTFOUND;

	*bad_seq = s->seq;
	if (rc == MDB_NOTFOUND) {
		eg_errf(why, whylen, "policy version %s: the record names a text the log does "
		    "not keep (policy text removed)", s->version);
		return 1;
	}
	if (rc != 0) {
		eg_errf(why, whylen, "reading policy version %s: %s", s->version,
		    mdb_strerror(rc));
		return -1;
	}
	/* The chain's hash function is plain SHA-256 over the bytes given. */
	if (audit_chain_hex(v.mv_data, v.mv_size, hex) != EG_OK) {
		eg_errf(why, whylen, "hashing policy version %s failed", s->version);
		return -1;
	}
	if (strcmp(hex, s->sha) != 0) {
		eg_errf(why, whylen, "policy version %s: the kept text's SHA-256 is %.16s..., the "
		    "record names %.16s... (policy text changed)", s->version, hex, s->sha);
		return 1;
	}
	return 0;
}

/* Every kept text is named by a record seen. */
static int
check_named(MDB_txn *txn, const struct audit_dbis *d, const struct audit_polseen *seen,
    size_t n, uint64_t *bad_seq, char *why, size_t whylen)
{
	char name[EG_MAX_ID + 1];
	MDB_cursor *cur;
	MDB_val k, v;
	size_t i;
	int rc, r = 0;

	if (!d->has_policies)
		return 0;
	if ((rc = mdb_cursor_open(txn, d->policies, &cur)) != 0) {
		eg_errf(why, whylen, "reading the policy texts: %s", mdb_strerror(rc));
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		for (i = 0; i < n; i++)
			if (strlen(seen[i].version) == k.mv_size &&
			    memcmp(seen[i].version, k.mv_data, k.mv_size) == 0)
				break;
		if (i < n)
			continue;
		printable_key(&k, name, sizeof(name));
		*bad_seq = 0;
		eg_errf(why, whylen, "a policy text (version %s) is kept that no policy record "
		    "announces (policy text inserted)", name);
		r = 1;
	}
	mdb_cursor_close(cur);
	if (r == 0 && rc != MDB_NOTFOUND) {
		eg_errf(why, whylen, "reading the policy texts: %s", mdb_strerror(rc));
		return -1;
	}
	return r;
}

int
audit_policies_check(MDB_txn *txn, const struct audit_dbis *d,
    const struct audit_polseen *seen, size_t n, int complete, uint64_t *bad_seq,
    char *why, size_t whylen)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = check_seen(txn, d, &seen[i], bad_seq, why, whylen)) != 0)
			return r;
	return complete ? check_named(txn, d, seen, n, bad_seq, why, whylen) : 0;
}
