/*
 * fuzz_audit_filter.c - the security officers' searches: api_audit_search()
 * (api/audit_api.c) on the JSON object of a POST to /eidgate/audit/api/records or stats,
 * or on the query arguments of a GET.
 *
 * Input: one byte choosing JSON (even) or query arguments (odd), then the body, or
 * "name=value" pairs separated by '&' (taken as libmicrohttpd would hand them over:
 * already split, not decoded further).
 * Invariants: an accepted search has a limit of 1..MAX_LIMIT (or the default), an offset
 * of 0 or more, names no empty value, and came from string values (or whole numbers for
 * offset and limit) only.
 */
#include "fuzz.h"
#include "api/internal.h"

#define MAX_ARGS 32
#define DEFAULT_LIMIT 50
#define MAX_LIMIT 1000

struct args {
	char *name[MAX_ARGS], *value[MAX_ARGS];
	int n;
};

static const char *
arg(void *ctx, const char *name)
{
	const struct args *a = ctx;
	int i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0)
			return a->value[i];
	return NULL;
}

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_params pa;
	struct audit_search s;
	struct args a;
	char *text, *save = NULL, *pair;
	int r;

	if (size < 1)
		return 0;
	memset(&pa, 0, sizeof(pa));
	memset(&a, 0, sizeof(a));
	text = fuzz_str(data + 1, size - 1);
	if (data[0] % 2 == 0) {
		pa.body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES,
		    NULL);
		if (!json_is_object(pa.body))
			goto out;       /* answered 400 before the filter is read */
	} else {
		for (pair = strtok_r(text, "&", &save); pair != NULL && a.n < MAX_ARGS;
		    pair = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(pair, '=');
			a.name[a.n] = pair;
			a.value[a.n] = eq != NULL ? eq + 1 : NULL;
			if (eq != NULL)
				*eq = '\0';
			a.n++;
		}
		pa.arg = arg;
		pa.ctx = &a;
	}
	r = api_audit_search(&pa, &s, DEFAULT_LIMIT, MAX_LIMIT);
	FUZZ_ASSERT(r == 0 || r == -1);
	if (r == 0) {
		FUZZ_ASSERT(s.limit >= 1 && s.limit <= MAX_LIMIT && s.offset >= 0);
		FUZZ_ASSERT(s.f.org == NULL || s.f.org[0] != '\0');
		FUZZ_ASSERT(s.f.nrn == NULL || s.f.nrn[0] != '\0');
		FUZZ_ASSERT(s.person_text == NULL || s.person_text[0] != '\0');
		FUZZ_ASSERT(!pa.bad);
	}
out:
	json_decref(pa.body);
	free(text);
	return 0;
}
