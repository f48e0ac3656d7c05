/*
 * session.c - browser sessions on top of the certificate login: the sealed cookie
 * __Host-eidgate (PRODUCT.md §6), its idle refresh, the CSRF check, and the marker of a
 * browser that logged out.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "eidgate/request.h"
#include "pages/internal.h"

/* A cookie is re-sealed at most this often to carry the idle timeout forward: often
 * enough for minute-granular idle timeouts, rare enough not to cost a seal per request. */
#define REFRESH_AFTER_S 60

static int
set_cookie(struct request *r, const char *token, int64_t max_age)
{
	size_t n = strlen(token) + 128;
	char *c = malloc(n);

	if (c == NULL)
		return EG_ERR_NOMEM;
	/* __Host- prefix: Secure, Path=/, no Domain, so no other host can set or read it. */
	snprintf(c, n, "__Host-eidgate=%s; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld",
	    token, (long long)max_age);
	free(r->user.set_cookie);
	r->user.set_cookie = c;
	return EG_OK;
}

int
websession_reseal(struct request *r, char **token_out)
{
	struct req_user *u = &r->user;
	char *token = NULL;
	int64_t left;
	int rc;

	if (token_out != NULL)
		*token_out = NULL;
	u->sess.last_seen = eg_now_us() / 1000000;
	if ((rc = session_seal(r->gw->keys, &u->sess, &token)) != EG_OK)
		return rc;
	left = u->sess.created + r->snap->cfg.absolute_timeout_ms / 1000 - u->sess.last_seen;
	if (!u->via_bearer)
		rc = set_cookie(r, token, left > 0 ? left : 0);
	if (token_out != NULL && rc == EG_OK)
		*token_out = token;
	else
		eg_freezero(token, strlen(token));
	return rc;
}

int
websession_issue(struct request *r, const unsigned char *leaf, size_t leaflen)
{
	struct req_user *u = &r->user;
	int rc;

	memset(&u->sess, 0, sizeof(u->sess));
	eg_strlcpy(u->sess.nrn, u->id.nrn, sizeof(u->sess.nrn));
	eg_strlcpy(u->sess.fingerprint, u->id.fingerprint, sizeof(u->sess.fingerprint));
	eg_strlcpy(u->sess.name, u->id.name, sizeof(u->sess.name));
	eg_strlcpy(u->sess.given, u->id.given, sizeof(u->sess.given));
	eg_strlcpy(u->sess.surname, u->id.surname, sizeof(u->sess.surname));
	eg_strlcpy(u->sess.facility, u->context_facility, sizeof(u->sess.facility));
	eg_strlcpy(u->sess.org, u->context_org, sizeof(u->sess.org));
	u->sess.created = eg_now_us() / 1000000;
	u->sess.tls_bound = leaf == NULL;
	if (leaf != NULL) {
		if ((leaflen + 2) / 3 * 4 >= sizeof(u->sess.leaf))
			return EG_ERR_PARSE;
		eg_b64url(leaf, leaflen, u->sess.leaf);
	}
	if ((rc = session_init(&u->sess)) != EG_OK)
		return rc;
	u->has_session = 1;
	u->via_bearer = 0;
	session_public_id(&u->sess, u->session_id, sizeof(u->session_id));
	eg_strlcpy(u->csrf, u->sess.csrf, sizeof(u->csrf));
	return websession_reseal(r, NULL);
}

/* Called for every request with a cookie session: keeps it alive while it is used. */
int
websession_touch(struct request *r)
{
	struct req_user *u = &r->user;

	if (!u->has_session || u->via_bearer ||
	    eg_now_us() / 1000000 - u->sess.last_seen < REFRESH_AFTER_S)
		return EG_OK;
	return websession_reseal(r, NULL);
}

void
websession_add_cookie(struct request *r, struct MHD_Response *resp)
{
	if (r->user.set_cookie != NULL)
		MHD_add_response_header(resp, "Set-Cookie", r->user.set_cookie);
}

int
websession_csrf_ok(struct request *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Eidgate-CSRF");
	size_t n = strlen(r->user.csrf);

	/* A Bearer token is never sent by a browser on its own: no CSRF risk there. */
	if (r->user.via_bearer)
		return 1;
	return n > 0 && h != NULL && strlen(h) == n && CRYPTO_memcmp(h, r->user.csrf, n) == 0;
}

/*
 * A browser keeps presenting the card's certificate after a logout (it keeps the TLS
 * session and the choice of certificate until the card is removed or the browser is
 * closed), so without more every next page would log the card in again. The logout
 * sets this marker for the life of the browser (no Max-Age); while it is there the
 * certificate logs nobody in, until the user chooses "Aanmelden" (POST login clears it).
 * It is not a secret: whoever can set it can only keep themselves logged out.
 */
#define SIGNED_OUT_COOKIE "__Host-eidgate-out"

int
websession_signed_out(struct request *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SIGNED_OUT_COOKIE) != NULL;
}

const char *
websession_signed_out_cookie(int set)
{
	return set ? SIGNED_OUT_COOKIE "=1; Secure; HttpOnly; SameSite=Strict; Path=/" :
	    SIGNED_OUT_COOKIE "=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";
}
