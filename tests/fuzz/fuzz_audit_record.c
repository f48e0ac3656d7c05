/*
 * fuzz_audit_record.c - the access log's record decoder: audit_record_decode() and
 * audit_record_find() (audit/record.c) on a stored value as LMDB or an archive hands it
 * over, then the three printers of `eidgate audit query` and the officers' export
 * (audit/format.c: table, JSON lines, CSV), which take log content as hostile.
 *
 * Input: a stored value (prev hash, version, header, fields).
 * Invariants: what decodes encodes back to the same bytes (one encoding per record);
 * audit_record_find finds the indexed fields where the decoder put them; each JSON line
 * the printer writes is one valid JSON object.
 */
#include <jansson.h>

#include "fuzz.h"
#include "audit/internal.h"

static FILE *devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	return 0;
}

static void
check_find(const unsigned char *val, size_t len, unsigned id, const char *v)
{
	size_t off = 0, flen = 0;
	int r = audit_record_find(val, len, id, &off, &flen);

	if (v == NULL) {
		FUZZ_ASSERT(r == -1);
		return;
	}
	FUZZ_ASSERT(r == 0 && flen == strlen(v) && off + flen <= len &&
	    memcmp(val + off, v, flen) == 0);
}

static void
print(const struct audit_record *r, enum audit_fmt fmt, FILE *fp)
{
	struct audit_out *o = audit_out_new(fmt, fp);

	FUZZ_ASSERT(o != NULL);
	FUZZ_ASSERT(audit_out_record(r, o) == 0);
	FUZZ_ASSERT(audit_out_finish(o) == 0);
	audit_out_free(o);
}

static void
check_json(const struct audit_record *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	json_t *j;

	FUZZ_ASSERT(mem != NULL);
	print(r, AUDIT_FMT_JSON, mem);
	FUZZ_ASSERT(fclose(mem) == 0);
	FUZZ_ASSERT(len > 0 && buf[len - 1] == '\n' && memchr(buf, '\n', len) == buf + len - 1);
	j = json_loadb(buf, len, 0, NULL);
	FUZZ_ASSERT(json_is_object(j));
	json_decref(j);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_record r;
	const char *why = NULL, *bad = NULL;
	char *buf = malloc(size > 0 ? size : 1);
	unsigned char *again;
	char hex[AUDIT_HEX_LEN];

	FUZZ_ASSERT(buf != NULL);
	if (audit_record_decode(data, size, &r, buf, size, &why) != 0) {
		FUZZ_ASSERT(why != NULL);
		free(buf);
		return 0;
	}
	FUZZ_ASSERT(audit_record_size(&r, &bad) == size);
	again = malloc(size);
	FUZZ_ASSERT(again != NULL);
	audit_record_encode(&r, again);
	FUZZ_ASSERT(memcmp(again + AUDIT_HASH_LEN, data + AUDIT_HASH_LEN,
	    size - AUDIT_HASH_LEN) == 0);
	free(again);
	check_find(data, size, AUDIT_ID_NRN, r.nrn);
	check_find(data, size, AUDIT_ID_ORG, r.org);
	check_find(data, size, AUDIT_ID_FACILITY, r.facility);
	/* As a query hands records over: with their hash. */
	memset(hex, 'a', sizeof(hex) - 1);
	hex[sizeof(hex) - 1] = '\0';
	r.hash = hex;
	print(&r, AUDIT_FMT_TABLE, devnull);
	print(&r, AUDIT_FMT_CSV, devnull);
	check_json(&r);
	free(buf);
	return 0;
}
