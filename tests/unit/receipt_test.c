/*
 * receipt_test.c - decision receipts (audit/receipt.c): what an asker may send, the
 * record and the first checkpoint after it from a real LMDB log, the answer for a right
 * hash, a wrong one, an unknown seq and another instance, and a record changed between
 * the receipt's record and its checkpoint.
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"
#include "check.h"
#include "tamper.h"

static char base[64];

static void
path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static void
make_key(const char *path)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f = fopen(path, "w");

	CHECK(k != NULL && f != NULL);
	if (k != NULL && f != NULL)
		CHECK(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	if (f != NULL)
		fclose(f);
	CHECK(chmod(path, 0600) == 0);
	EVP_PKEY_free(k);
}

static void
test_parse(void)
{
	struct audit_receipt_ask a;
	const char *why = NULL;
	char h[65];

	memset(h, 'a', 64);
	h[64] = '\0';
	CHECK(audit_receipt_ask_parse("gw-1", "42", NULL, &a, &why) == EG_OK &&
	    a.seq == 42 && !a.has_hash && strcmp(a.instance, "gw-1") == 0);
	CHECK(audit_receipt_ask_parse("gw", "7", "", &a, &why) == EG_OK && !a.has_hash);
	CHECK(audit_receipt_ask_parse("gw", "7", h, &a, &why) == EG_OK && a.has_hash &&
	    a.hash[0] == 0xaa && a.hash[31] == 0xaa);
	CHECK(audit_receipt_ask_parse(NULL, "7", NULL, &a, &why) == EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("a/b", "7", NULL, &a, &why) == EG_ERR_PARSE &&
	    strncmp(why, "instance", 8) == 0);
	CHECK(audit_receipt_ask_parse("..", "7", NULL, &a, &why) == EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("gw", NULL, NULL, &a, &why) == EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("gw", "0", NULL, &a, &why) == EG_ERR_PARSE &&
	    strncmp(why, "seq", 3) == 0);
	CHECK(audit_receipt_ask_parse("gw", "07", NULL, &a, &why) == EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("gw", "-7", NULL, &a, &why) == EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("gw", "7x", NULL, &a, &why) == EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("gw", "12345678901234567890", NULL, &a, &why) ==
	    EG_ERR_PARSE);
	CHECK(audit_receipt_ask_parse("gw", "1234567890123456789", NULL, &a, &why) == EG_OK);
	h[10] = 'g';
	CHECK(audit_receipt_ask_parse("gw", "7", h, &a, &why) == EG_ERR_PARSE &&
	    strncmp(why, "hash", 4) == 0);
	CHECK(audit_receipt_ask_parse("gw", "7", "abcd", &a, &why) == EG_ERR_PARSE);
}

static void
fill(const char *dir, const char *key, int n)
{
	struct audit_options o = { dir, 0, AUDIT_SYNC_GROUP, 0, 0, key, NULL, "gw-1" };
	struct audit_log *log = NULL;
	struct audit_record r;
	char rid[32];
	int i, ok = 1;

	CHECK(audit_open(&o, &log) == EG_OK);
	if (log == NULL)
		return;
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(rid, sizeof(rid), "req-%d", i);
		r.kind = "request";
		r.request_id = rid;
		r.nrn = "85010100123";
		r.decision = "allow";
		r.backend = "modules";
		r.method = "GET";
		r.path = "/modules";
		ok &= audit_append(log, &r, NULL) == EG_OK;
	}
	CHECK(ok && audit_flush(log) == EG_OK);
	audit_close(log);       /* signs a checkpoint of the head */
}

static int
take_hash(const struct audit_record *rec, void *arg)
{
	snprintf(arg, AUDIT_HEX_LEN, "%s", rec->hash);
	return 0;
}

/* The answer's status and reason for instance/seq/hash. */
static int
answer(const char *dir, const char *instance, const char *seq, const char *hash,
    char *reason, size_t len)
{
	struct audit_receipt_ask a;
	struct audit_receipt rc;
	const char *why;
	char err[256];
	char *out;
	json_t *j;
	int r, status = 0;

	if (audit_receipt_ask_parse(instance, seq, hash, &a, &why) != EG_OK)
		return 400;
	r = audit_receipt_dir(dir, a.seq, &rc, err, sizeof(err));
	CHECK(r == EG_OK || r == EG_ERR_NOT_FOUND);
	out = audit_receipt_json("gw-1", &a, r == EG_OK, &rc, &status);
	CHECK(out != NULL);
	j = out != NULL ? json_loads(out, 0, NULL) : NULL;
	CHECK(j != NULL);
	snprintf(reason, len, "%s", json_string_value(json_object_get(j, "reason")));
	CHECK(json_is_true(json_object_get(j, "confirmed")) == (status == 200));
	if (status == 200)
		CHECK(json_object_get(json_object_get(j, "checkpoint"), "signature") != NULL &&
		    strcmp(json_string_value(json_object_get(json_object_get(j, "record"),
		    "hash")), hash != NULL ? hash : json_string_value(json_object_get(
		    json_object_get(j, "record"), "hash"))) == 0);
	json_decref(j);
	free(out);
	return status;
}


static void
test_log(void)
{
	char dir[128], key[128], hash[AUDIT_HEX_LEN] = "", reason[64], err[256], bad[65];
	struct audit_receipt rc;

	path_in(dir, sizeof(dir), "log");
	path_in(key, sizeof(key), "ckpt.key");
	make_key(key);
	fill(dir, key, 1500);
	CHECK(audit_record_at(dir, 5, take_hash, hash, err, sizeof(err)) == EG_OK);
	CHECK(audit_receipt_dir(dir, 5, &rc, err, sizeof(err)) == EG_OK);
	CHECK(rc.seq == 5 && rc.covered && rc.ckpt.seq >= 5 && rc.ckpt.seq <= 1501);
	CHECK(strcmp(rc.instance, "gw-1") == 0 && strcmp(rc.kind, "request") == 0 &&
	    strcmp(rc.backend, "modules") == 0 && strncmp(rc.request_id, "req-", 4) == 0);
	CHECK(answer(dir, "gw-1", "5", hash, reason, sizeof(reason)) == 200 &&
	    strcmp(reason, "confirmed") == 0);
	CHECK(answer(dir, "gw-1", "5", NULL, reason, sizeof(reason)) == 200);
	snprintf(bad, sizeof(bad), "%s", hash);
	bad[0] = bad[0] == '0' ? '1' : '0';
	CHECK(answer(dir, "gw-1", "5", bad, reason, sizeof(reason)) == 409 &&
	    strcmp(reason, "hash-mismatch") == 0);
	CHECK(answer(dir, "gw-1", "999999", NULL, reason, sizeof(reason)) == 404 &&
	    strcmp(reason, "no-such-record") == 0);
	CHECK(answer(dir, "gw-2", "5", hash, reason, sizeof(reason)) == 404 &&
	    strcmp(reason, "other-instance") == 0);
	/* The last record: the close's checkpoint covers it. */
	CHECK(audit_receipt_dir(dir, 1501, &rc, err, sizeof(err)) == EG_OK && rc.covered &&
	    rc.ckpt.seq == 1501);
	/* A record between 5 and its checkpoint changed: the gateway does not vouch. */
	CHECK(audit_receipt_dir(dir, 5, &rc, err, sizeof(err)) == EG_OK);
	check_tamper(dir, rc.ckpt.seq > 6 ? 6 : rc.ckpt.seq, -1, 1);     /* the last byte of the last string */
	CHECK(audit_receipt_dir(dir, 5, &rc, err, sizeof(err)) == EG_ERR_AUDIT);
	printf("  after tampering: %s\n", err);
}

/* A log without a checkpoint key: the record is there, never covered. */
static void
test_uncovered(void)
{
	char dir[128], reason[64];

	path_in(dir, sizeof(dir), "nokey");
	fill(dir, NULL, 3);
	CHECK(answer(dir, "gw-1", "2", NULL, reason, sizeof(reason)) == 202 &&
	    strcmp(reason, "not-yet-checkpointed") == 0);
}

int
main(void)
{
	log_init("eidgate", LOG_LVL_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(base, sizeof(base), "/tmp/eidgate-receipt-XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_parse();
	test_log();
	test_uncovered();
	check_rm_tree(base);
	return check_report();
}
