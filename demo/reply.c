/*
 * reply.c - the backends' replies: JSON objects that carry "backend" and "received", so
 * every answer tells a test which backend saw what, and bodiless ones (204, 304).
 */
#include <stdlib.h>
#include <string.h>

#include "demo/internal.h"

enum MHD_Result
bk_queue(struct MHD_Connection *conn, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *conn, unsigned int status, json_t *obj,
    const char *allow)
{
	struct MHD_Response *resp;
	char *text;

	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json; charset=utf-8") != MHD_YES ||
	    (allow != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return bk_queue(conn, status, resp);
}

static enum MHD_Result
reply_json_allow(const struct bk_call *call, unsigned int status, json_t *body,
    const char *allow)
{
	if (body == NULL)
		return MHD_NO;
	if (!json_is_object(body) ||
	    json_object_set_new(body, "backend", json_string(bk_name())) != 0 ||
	    json_object_set_new(body, "received", bk_received(call)) != 0) {
		json_decref(body);
		return MHD_NO;
	}
	return send_json(call->bc_conn, status, body, allow);
}

enum MHD_Result
bk_reply_json(const struct bk_call *call, unsigned int status, json_t *body)
{
	return reply_json_allow(call, status, body, NULL);
}

enum MHD_Result
bk_reply_error(const struct bk_call *call, unsigned int status, const char *msg)
{
	return bk_reply_json(call, status, json_pack("{s:s}", "error", msg));
}

enum MHD_Result
bk_reply_error_field(const struct bk_call *call, unsigned int status, const char *msg,
    const char *field)
{
	return bk_reply_json(call, status,
	    json_pack("{s:s, s:s}", "error", msg, "field", field));
}

enum MHD_Result
bk_reply_405(const struct bk_call *call, const char *allow)
{
	return reply_json_allow(call, MHD_HTTP_METHOD_NOT_ALLOWED,
	    json_pack("{s:s}", "error", "method not allowed"), allow);
}

/* A buffer response of known size 0: with an unknown-size response libmicrohttpd
 * 0.9.75 sends a chunked terminator even where no body is allowed (304, HEAD). */
enum MHD_Result
bk_reply_empty(const struct bk_call *call, unsigned int status)
{
	return bk_queue(call->bc_conn, status,
	    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}
