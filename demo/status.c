/*
 * status.c - /__status?code=N: answers with any status, so that a test sees how the
 * gateway passes on each (bodiless for 204 and 304, as HTTP wants).
 */
#include "demo/internal.h"

enum MHD_Result
bk_status_reply(const struct bk_call *call)
{
	enum MHD_Result ret;
	long long code;

	if (bk_query_number(call, "code", 200, 599, &code, &ret) != 0)
		return ret;
	if (code == MHD_HTTP_NO_CONTENT || code == MHD_HTTP_NOT_MODIFIED)
		return bk_reply_empty(call, (unsigned int)code);
	return bk_reply_json(call, (unsigned int)code, json_pack("{s:I}", "status",
	    (json_int_t)code));
}
