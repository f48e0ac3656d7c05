/*
 * framing.c - what a request's head says about its body (request/internal.h), from the
 * field lines as libmicrohttpd parsed them.
 *
 * Why so strict: a request whose length two parsers read differently is how requests
 * are smuggled past a proxy (RFC 9112 §6.1, §6.3). libmicrohttpd itself takes the first
 * of two Content-Length lines, reads "Transfer-Encoding :" as some other field and
 * decodes chunked on HTTP/1.0; a front proxy could read any of these the other way. So
 * each is refused here: a length or a transfer coding given twice, both given, a coding
 * other than chunked or on HTTP/1.0 (which has none), a length that is not digits (or
 * beyond int64_t), a field name with a space or control character in it.
 */
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "request/internal.h"

/* RFC 9110 §5.6.2 tchar. */
static int
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

void
framing_init(struct framing *f)
{
	memset(f, 0, sizeof(*f));
}

void
framing_field(struct framing *f, const char *name, const char *value)
{
	const char *p;

	if (name == NULL || name[0] == '\0') {
		f->bad_name = 1;
		return;
	}
	for (p = name; *p != '\0'; p++)
		if (!is_token_char((unsigned char)*p))
			f->bad_name = 1;
	if (strcasecmp(name, "Content-Length") == 0) {
		f->n_cl++;
		f->cl = value != NULL ? value : "";
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->n_te++;
		f->te = value != NULL ? value : "";
	}
}

int
framing_decide(const struct framing *f, const char *version, int *has_body,
    int64_t *body_len)
{
	long long v = 0;

	*body_len = -1;
	*has_body = f->n_te > 0 || f->n_cl > 0;
	if (f->bad_name || f->n_te > 1 || f->n_cl > 1 || (f->n_te && f->n_cl))
		return -1;
	if (f->cl != NULL && (strlen(f->cl) > 18 || !eg_all_digits(f->cl, strlen(f->cl)) ||
	    eg_strtonum(f->cl, 0, INT64_MAX, &v) != EG_OK))
		return -1;
	if (f->te != NULL)
		return strcasecmp(f->te, "chunked") != 0 || version == NULL ||
		    strcmp(version, MHD_HTTP_VERSION_1_0) == 0 ? -1 : 0;
	if (f->cl != NULL)
		*body_len = v;
	return 0;
}
