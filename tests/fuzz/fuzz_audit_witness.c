/*
 * fuzz_audit_witness.c - what a peer instance sends a witness: the X-Eidgate-Witness
 * header of a feed request, from a client not yet authenticated
 * (audit_witness_authorized, audit/witness.c), and the key a peer's key-change record
 * names (audit_key_from_spki_b64, audit/checkpoint.c).
 *
 * Input: first byte: bit 0 chooses the parser, bits 1-7 a position (below); then
 * 16 bytes: `after` and `limit` (8 each, big-endian); the rest is the text (up to its first
 * NUL, as a C string).
 *  - header: the text as the header is never authorized (it cannot carry a signature
 *    made within the last minute by the fixed peer key). A header signed now by that key
 *    for (after, limit) is authorized, and not for (after ^ 1, limit); with the text's
 *    first byte written over it at the position, the answer is still 0 or 1.
 *  - key: an accepted key encodes again (audit_key_spki_b64) to a text that reads back
 *    to a key with the same id.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include "fuzz.h"
#include "eidgate/audit.h"
#include "eidgate/util.h"
#include "audit/internal.h"

/* The request's signed bytes: audit/witness.c, req_message. */
#define REQ_DOMAIN "eidgate-audit-witness-req-v1"

static struct audit_witness *fw;
static struct audit_key *fkey;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/eidgate-fuzz-witness-XXXXXX", err[256];
	struct audit_witness_options o = { NULL, path, NULL, NULL, 0 };
	EVP_PKEY *k = EVP_EC_gen("P-256");
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (k == NULL || f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0) {
		perror(path);
		abort();
	}
	EVP_PKEY_free(k);
	/* The same key signs (as the peer's witness) and is the witness's peer key. */
	if (audit_key_load(path, 1, &fkey, err, sizeof(err)) != EG_OK ||
	    audit_witness_start(NULL, &o, &fw) != EG_OK) {
		fprintf(stderr, "fuzz_audit_witness: %s\n", err);
		abort();
	}
	unlink(path);
	return 0;
}

/* "KEYID.TIME.SIG" for (after, limit), signed now. */
static void
signed_header(uint64_t after, uint64_t limit, char *out, size_t outlen)
{
	unsigned char msg[128], sig[AUDIT_SIG_MAX];
	char kid[2 * AUDIT_KEYID_LEN + 1], b64[4 * ((AUDIT_SIG_MAX + 2) / 3) + 1];
	size_t n = sizeof(REQ_DOMAIN) - 1, slen = sizeof(sig);
	int64_t t = eg_now_us();
	int w;

	memcpy(msg, REQ_DOMAIN, n);
	audit_be64_put(msg + n, (uint64_t)t);
	w = snprintf((char *)msg + n + 8, sizeof(msg) - n - 8, "after=%llu&limit=%llu",
	    (unsigned long long)after, (unsigned long long)limit);
	FUZZ_ASSERT(w > 0 && (size_t)w < sizeof(msg) - n - 8);
	FUZZ_ASSERT(audit_key_sign_msg(fkey, msg, n + 8 + (size_t)w, sig, &slen) == EG_OK);
	eg_hex(audit_key_id(fkey), AUDIT_KEYID_LEN, kid);
	eg_b64url(sig, slen, b64);
	FUZZ_ASSERT(snprintf(out, outlen, "%s.%lld.%s", kid, (long long)t, b64) > 0);
}

static void
fuzz_header(const char *text, unsigned pos, uint64_t after, uint64_t limit)
{
	char hdr[400];
	int r;

	FUZZ_ASSERT(audit_witness_authorized(fw, text, after, limit) == 0);
	signed_header(after, limit, hdr, sizeof(hdr));
	FUZZ_ASSERT(audit_witness_authorized(fw, hdr, after, limit) == 1);
	FUZZ_ASSERT(audit_witness_authorized(fw, hdr, after ^ 1, limit) == 0);
	if (text[0] != '\0' && pos < strlen(hdr)) {
		hdr[pos] = text[0];
		r = audit_witness_authorized(fw, hdr, after, limit);
		FUZZ_ASSERT(r == 0 || r == 1);
	}
}

static void
fuzz_key(const char *text)
{
	struct audit_key *k = audit_key_from_spki_b64(text), *again;
	char *b64;

	if (k == NULL)
		return;
	b64 = audit_key_spki_b64(k);
	FUZZ_ASSERT(b64 != NULL);
	again = audit_key_from_spki_b64(b64);
	FUZZ_ASSERT(again != NULL &&
	    memcmp(audit_key_id(again), audit_key_id(k), AUDIT_KEYID_LEN) == 0);
	audit_key_free(again);
	free(b64);
	audit_key_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t after, limit;
	char *text;

	if (size < 17)
		return 0;
	after = audit_be64_get(data + 1);
	limit = audit_be64_get(data + 9);
	text = fuzz_str(data + 17, size - 17);
	if (data[0] & 1)
		fuzz_key(text);
	else
		fuzz_header(text, data[0] >> 1, after, limit);
	free(text);
	return 0;
}
