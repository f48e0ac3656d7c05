/*
 * respond.c - answers the gateway writes itself: errors as JSON for API clients and as a
 * readable page for browsers, in the user's language, neither with internal details.
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
#include "pages/internal.h"

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
respond_buffer_cookie(struct request *r, unsigned status, const char *ctype,
    const char *body, size_t len, const char *extra_cookie)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	MHD_add_response_header(resp, "Content-Language", i18n_code(i18n_lang_of(r)));
	respond_add_security_headers(resp);
	if (extra_cookie != NULL)
		MHD_add_response_header(resp, "Set-Cookie", extra_cookie);
	websession_add_cookie(r, resp);
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"eidgate\"");
	r->phase = REQ_RESPONDED;
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
respond_buffer(struct request *r, unsigned status, const char *ctype, const char *body,
    size_t len)
{
	return respond_buffer_cookie(r, status, ctype, body, len, NULL);
}

enum MHD_Result
respond_take(struct request *r, unsigned status, const char *ctype, char *body, size_t len)
{
	enum MHD_Result ret = respond_buffer(r, status, ctype, body, len);

	free(body);
	return ret;
}

enum MHD_Result
respond_json_obj(struct request *r, unsigned status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(j);
	if (s == NULL)
		return respond_error(r, 500, "internal", NULL);
	ret = respond_json(r, status, s);
	free(s);
	return ret;
}

enum MHD_Result
respond_json(struct request *r, unsigned status, const char *json)
{
	return respond_buffer(r, status, "application/json", json, strlen(json));
}

/* The page of web/error.html; the message alone when the template cannot be read. */
static enum MHD_Result
error_page(struct request *r, unsigned status, const char *code, const char *message)
{
	char st[8], guide_id[96], *tmpl = NULL, *page = NULL;
	size_t tlen = 0, plen = 0;

	snprintf(st, sizeof(st), "%u", status);
	snprintf(guide_id, sizeof(guide_id), "guide.%s", code);
	const char *guide = i18n_text(r, guide_id);
	const struct tmpl_var vars[] = {
		{ "status", st }, { "code", code }, { "message", message },
		{ "request_id", r->id }, { "guide", guide != NULL ? guide : "" },
	};

	if (static_read(r, "error.html", &tmpl, &tlen) != EG_OK ||
	    i18n_render(r, tmpl, tlen, vars, sizeof(vars) / sizeof(vars[0]), &page, &plen) !=
	    EG_OK) {
		free(tmpl);
		return respond_buffer(r, status, "text/plain; charset=utf-8", message,
		    strlen(message));
	}
	free(tmpl);
	return respond_take(r, status, "text/html; charset=utf-8", page, plen);
}

enum MHD_Result
respond_error(struct request *r, unsigned status, const char *code, const char *msgid)
{
	const char *message;
	json_t *j;
	char *s;
	enum MHD_Result ret;

	/* A browser that logged out still sends its card: it is told it logged out, not
	 * that a card is missing. */
	if (strcmp(code, "no-certificate") == 0 && websession_signed_out(r)) {
		code = "signed-out";
		msgid = NULL;
	}
	message = i18n_message(r, msgid, code, status);
	r->phase = REQ_RESPONDED;
	if (client_wants_html(r->conn))
		return error_page(r, status, code, message);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "reason", code, "message", message,
	    "error", message, "lang", i18n_code(i18n_lang_of(r)), "request_id", r->id);
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
	return respond_error(r, 503, "audit-unavailable", NULL);
}

enum MHD_Result
respond_refused(struct request *r, enum rec_kind kind, unsigned status, int err,
    const char *msgid)
{
	if (record_decision(r, kind, 0, err, NULL, 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, status, eg_err_code(err), msgid);
}

enum MHD_Result
page_not_found(struct request *r)
{
	return respond_error(r, 404, "not-found", NULL);
}

enum MHD_Result
page_method_not_allowed(struct request *r)
{
	return respond_error(r, 405, "method-not-allowed", NULL);
}
