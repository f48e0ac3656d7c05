/*
 * input.c - reading what a request asks for: the method, a JSON body, query arguments.
 * The readers of body and query answer 400 themselves, so that every bad input gets the
 * same reply naming the field at fault.
 */
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"

#include "demo/internal.h"

int
bk_is_read(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

json_t *
bk_body_object(const struct bk_call *call, enum MHD_Result *result)
{
	json_error_t jerr;
	json_t *obj;

	if (call->bc_body == NULL) {
		*result = bk_reply_error(call, MHD_HTTP_BAD_REQUEST, "a JSON body is required");
		return NULL;
	}
	obj = json_loadb(call->bc_body, call->bc_body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		*result = bk_reply_json(call, MHD_HTTP_BAD_REQUEST, json_pack("{s:s, s:s}",
		    "error", "malformed JSON", "detail", jerr.text));
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		*result = bk_reply_error(call, MHD_HTTP_BAD_REQUEST,
		    "the body must be a JSON object");
		return NULL;
	}
	return obj;
}

const char *
bk_string_field(const struct bk_call *call, json_t *obj, const char *key, size_t max,
    int required, int *failed, enum MHD_Result *result)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (v == NULL && !required)
		return NULL;
	s = json_string_value(v);
	if (s != NULL && s[0] != '\0' && json_string_length(v) <= max &&
	    strlen(s) == json_string_length(v))
		return s;
	*failed = 1;
	*result = bk_reply_error_field(call, MHD_HTTP_BAD_REQUEST,
	    v == NULL ? "missing field" : "must be a non-empty string of limited length",
	    key);
	return NULL;
}

int
bk_query_number(const struct bk_call *call, const char *name, long long min,
    long long max, long long *out, enum MHD_Result *result)
{
	const char *s;

	s = MHD_lookup_connection_value(call->bc_conn, MHD_GET_ARGUMENT_KIND, name);
	if (s != NULL && eg_strtonum(s, min, max, out) == EG_OK)
		return 0;
	*result = bk_reply_error_field(call, MHD_HTTP_BAD_REQUEST,
	    "missing or out-of-range number", name);
	return -1;
}

int
bk_query_optional(const struct bk_call *call, const char *name, long long max,
    long long dflt, long long *out, enum MHD_Result *result)
{
	if (MHD_lookup_connection_value(call->bc_conn, MHD_GET_ARGUMENT_KIND, name) == NULL) {
		*out = dflt;
		return 0;
	}
	return bk_query_number(call, name, 0, max, out, result);
}
