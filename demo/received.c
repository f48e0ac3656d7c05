/*
 * received.c - the `received` object in every reply: what the gateway sent this request
 * with (assertion, request id, forwarded and identity headers, method, exact target),
 * so that a test sees from the backend's side what the gateway forwarded.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demo/internal.h"

/* JSON strings must be UTF-8, request bytes need not be: escape what jansson refuses
 * as %XX so a test still sees every byte instead of a missing field. */
json_t *
bk_text_value(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	json_t *j;
	char *esc;
	size_t i, n = 0, len = strlen(s);

	j = json_string(s);
	if (j != NULL)
		return j;
	esc = malloc(len * 3 + 1);
	if (esc == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			esc[n++] = (char)c;
			continue;
		}
		esc[n++] = '%';
		esc[n++] = hex[c >> 4];
		esc[n++] = hex[c & 0xf];
	}
	esc[n] = '\0';
	j = json_string(esc);
	free(esc);
	return j;
}

static json_t *
header_or_null(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	return v != NULL ? bk_text_value(v) : json_null();
}

static int
is_identity_header(const char *name)
{
	return strncasecmp(name, "X-Eidgate-", 10) == 0 ||
	    strncasecmp(name, "X-Forwarded-", 12) == 0 ||
	    strcasecmp(name, "Forwarded") == 0;
}

/* A header sent twice is exactly what a smuggling test looks for, so repeats become
 * an array of all values in arrival order instead of overwriting each other. */
static int
add_identity_value(json_t *ids, const char *key, json_t *val)
{
	json_t *old = json_object_get(ids, key);
	json_t *arr;

	if (old == NULL)
		return json_object_set_new(ids, key, val);
	if (json_is_array(old))
		return json_array_append_new(old, val);
	arr = json_array();
	if (arr == NULL || json_array_append(arr, old) != 0 ||
	    json_array_append_new(arr, val) != 0) {
		json_decref(arr);
		json_decref(val);
		return -1;
	}
	return json_object_set_new(ids, key, arr);
}

/* Keys are lower-cased: header names are case-insensitive and tests need one spelling. */
static enum MHD_Result
collect_identity(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	json_t *ids = cls;
	char *key;
	size_t i;
	int rc;

	(void)kind;
	if (name == NULL || !is_identity_header(name))
		return MHD_YES;
	key = strdup(name);
	if (key == NULL)
		return MHD_NO;
	for (i = 0; key[i] != '\0'; i++)
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (char)(key[i] - 'A' + 'a');
	rc = add_identity_value(ids, key, bk_text_value(value != NULL ? value : ""));
	free(key);
	return rc == 0 ? MHD_YES : MHD_NO;
}

static json_t *
identity_headers(struct MHD_Connection *conn)
{
	json_t *ids = json_object();
	int n;

	if (ids == NULL)
		return NULL;
	n = MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_identity, ids);
	if (n < 0) {
		json_decref(ids);
		return NULL;
	}
	return ids;
}

/* The credentials' values are never echoed: a test only needs to know whether the
 * gateway let the user's session cookie or bearer token through to the backend. */
json_t *
bk_received(const struct bk_call *call)
{
	struct MHD_Connection *c = call->bc_conn;

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b}",
	    "assertion", header_or_null(c, "X-Eidgate-Assertion"),
	    "request_id", header_or_null(c, "X-Request-Id"),
	    "forwarded_for", header_or_null(c, "X-Forwarded-For"),
	    "forwarded_proto", header_or_null(c, "X-Forwarded-Proto"),
	    "method", bk_text_value(call->bc_method),
	    "path", bk_text_value(call->bc_req->br_target),
	    "identity_headers", identity_headers(c),
	    "authorization",
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") != NULL,
	    "cookie", MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie") != NULL);
}
