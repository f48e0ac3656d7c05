/*
 * fuzz_framing.c - a client request's body framing: framing_init, framing_field and
 * framing_decide (request/framing.c), fed the field lines libmicrohttpd hands over.
 *
 * Input: lines ("\n"-separated). The first is the HTTP version ("HTTP/1.1"); each further
 * line is one field, "name: value" (split at the first ':', spaces after it dropped, as
 * libmicrohttpd does), or a name alone (value NULL).
 * Invariants: an accepted head has at most one Content-Length or one Transfer-Encoding,
 * not both, only token characters in names; a length is all digits and is the value of
 * that one Content-Length; chunked only as exactly "chunked" and not on HTTP/1.0.
 */
#include <strings.h>

#include <microhttpd.h>

#include "fuzz.h"
#include "eidgate/util.h"
#include "request/internal.h"

#define MAX_FIELDS 64

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), *line, *save = NULL, *version;
	char *names[MAX_FIELDS], *values[MAX_FIELDS];
	struct framing f;
	int has_body, n = 0, i, ncl = 0, nte = 0, r;
	const char *cl = NULL, *te = NULL;
	int64_t len;

	version = strtok_r(text, "\n", &save);
	while (n < MAX_FIELDS && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *colon = strchr(line, ':');
		names[n] = line;
		values[n] = NULL;
		if (colon != NULL) {
			*colon = '\0';
			values[n] = colon + 1 + strspn(colon + 1, " \t");
		}
		n++;
	}
	framing_init(&f);
	for (i = 0; i < n; i++) {
		framing_field(&f, names[i], values[i]);
		if (strcasecmp(names[i], "Content-Length") == 0) {
			ncl++;
			cl = values[i] != NULL ? values[i] : "";
		} else if (strcasecmp(names[i], "Transfer-Encoding") == 0) {
			nte++;
			te = values[i] != NULL ? values[i] : "";
		}
	}
	r = framing_decide(&f, version, &has_body, &len);
	FUZZ_ASSERT(r == 0 || r == -1);
	FUZZ_ASSERT(has_body == (ncl > 0 || nte > 0));
	if (r == 0) {
		FUZZ_ASSERT(ncl <= 1 && nte <= 1 && !(ncl && nte));
		for (i = 0; i < n; i++) {
			const char *p;
			FUZZ_ASSERT(names[i][0] != '\0');
			for (p = names[i]; *p != '\0'; p++)
				FUZZ_ASSERT(*p > 0x20 && *p < 0x7f && *p != ':');
		}
		if (ncl) {
			long long v = -1;
			FUZZ_ASSERT(cl[0] != '\0' && strspn(cl, "0123456789") == strlen(cl));
			FUZZ_ASSERT(eg_strtonum(cl, 0, INT64_MAX, &v) == EG_OK && v == len);
		} else if (nte) {
			FUZZ_ASSERT(strcasecmp(te, "chunked") == 0 && len == -1);
			FUZZ_ASSERT(version != NULL && strcmp(version, MHD_HTTP_VERSION_1_0) != 0);
		} else {
			FUZZ_ASSERT(len == -1 && !has_body);
		}
	}
	free(text);
	return 0;
}
