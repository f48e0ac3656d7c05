/*
 * respond.c - answers the gateway writes itself: errors as JSON for API clients and as a
 * readable page for browsers, neither with internal details.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"

void
respond_add_security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
	    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
}

/* A browser asking for a page gets HTML; everything else JSON. */
static int
client_wants_html(struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");

	return accept != NULL && strstr(accept, "text/html") != NULL;
}

enum MHD_Result
respond_buffer(struct request *r, unsigned status, const char *ctype, const char *body,
    size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	respond_add_security_headers(resp);
	websession_add_cookie(r, resp);
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"eidgate\"");
	r->phase = REQ_RESPONDED;
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
respond_json_obj(struct request *r, unsigned status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(j);
	if (s == NULL)
		return respond_error(r, 500, "internal", "The gateway could not answer.");
	ret = respond_json(r, status, s);
	free(s);
	return ret;
}

enum MHD_Result
respond_json(struct request *r, unsigned status, const char *json)
{
	return respond_buffer(r, status, "application/json", json, strlen(json));
}

/* HTML-escapes text (only fixed messages and codes reach here, but be safe anyway). */
static void
html_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 7 < outlen; in++) {
		const char *rep = NULL;
		switch (*in) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

enum MHD_Result
respond_error(struct request *r, unsigned status, const char *code, const char *message)
{
	char body[2048], msg[512], cod[128];
	json_t *j;
	char *s;
	enum MHD_Result ret;

	r->phase = REQ_RESPONDED;
	if (client_wants_html(r->conn)) {
		html_escape(message, msg, sizeof(msg));
		html_escape(code, cod, sizeof(cod));
		snprintf(body, sizeof(body),
		    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<title>eidgate: %u</title><link rel=\"stylesheet\" href=\""
		    EG_GATEWAY_PREFIX "/static/eidgate.css\">"
		    "</head><body><main><h1>%s</h1><p>Reason: <code>%s</code></p>"
		    "<p>Request id: <code>%s</code></p><p><a href=\"" EG_GATEWAY_PREFIX "/\">Portal</a></p>"
		    "</main></body></html>", status, msg, cod, r->id);
		return respond_buffer(r, status, "text/html; charset=utf-8", body, strlen(body));
	}
	j = json_pack("{s:s, s:s, s:s}", "error", message, "reason", code, "request_id", r->id);
	s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	ret = respond_buffer(r, status, "application/json", s, strlen(s));
	free(s);
	return ret;
}

enum MHD_Result
respond_audit_unavailable(struct request *r)
{
	return respond_error(r, 503, "audit-unavailable",
	    "The access log cannot be written; the request was refused.");
}

enum MHD_Result
respond_keys_unavailable(struct request *r)
{
	return respond_error(r, 503, "keys-unavailable",
	    "The gateway cannot seal or sign now; please try again later.");
}

enum MHD_Result
respond_refused(struct request *r, enum rec_kind kind, unsigned status, int err,
    const char *message)
{
	if (record_decision(r, kind, 0, err, NULL, 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, status, eg_err_code(err), message);
}

enum MHD_Result
page_not_found(struct request *r)
{
	return respond_error(r, 404, "not-found", "There is nothing here.");
}

enum MHD_Result
page_method_not_allowed(struct request *r)
{
	return respond_error(r, 405, "method-not-allowed", "This method is not allowed here.");
}
