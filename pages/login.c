/*
 * login.c - the PKCS#11 login of eidgate-login (PRODUCT.md §1, §6): a challenge bound to
 * the gateway's origin, then a token for the card's signature over it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "pages/internal.h"

enum MHD_Result
page_challenge(struct request *r)
{
	char ch[512];
	int rc;

	if ((rc = challenge_issue(r->gw->keys, r->gw->origin, 60, ch, sizeof(ch))) != EG_OK)
		return rc == EG_ERR_KEYS ? respond_error(r, 503, "keys-unavailable", NULL) :
		    respond_error(r, 500, "internal", NULL);
	return respond_json_obj(r, 200, json_pack("{s:s, s:s, s:i}", "challenge", ch,
	    "origin", r->gw->origin, "expires_in", 60));
}

/* Decodes the base64url certificates of a token request into DER buffers. */
static int
decode_chain(json_t *chain, unsigned char **ders, size_t *lens, size_t *n)
{
	size_t i;

	*n = 0;
	if (!json_is_array(chain) || json_array_size(chain) == 0 ||
	    json_array_size(chain) > EG_MAX_CHAIN)
		return -1;
	for (i = 0; i < json_array_size(chain); i++) {
		const char *b = json_string_value(json_array_get(chain, i));
		size_t blen = b != NULL ? strlen(b) : 0;
		if (b == NULL || (ders[i] = malloc(blen)) == NULL)
			return -1;
		(*n)++;
		if (eg_b64url_decode(b, blen, ders[i], blen, &lens[i]) != EG_OK)
			return -1;
	}
	return 0;
}

int
login_req_parse(const char *body, size_t len, struct login_req *q)
{
	const char *sigb;

	memset(q, 0, sizeof(*q));
	q->json = json_loadb(body != NULL ? body : "", len, JSON_REJECT_DUPLICATES, NULL);
	if (q->json == NULL ||
	    decode_chain(json_object_get(q->json, "chain"), q->ders, q->lens, &q->n) != 0)
		return EG_ERR_PARSE;
	q->origin = json_string_value(json_object_get(q->json, "origin"));
	q->challenge = json_string_value(json_object_get(q->json, "challenge"));
	q->alg = json_string_value(json_object_get(q->json, "alg"));
	sigb = json_string_value(json_object_get(q->json, "signature"));
	q->sig_ok = q->challenge != NULL && q->alg != NULL && sigb != NULL &&
	    eg_b64url_decode(sigb, strlen(sigb), q->sig, sizeof(q->sig), &q->siglen) == EG_OK;
	return EG_OK;
}

void
login_req_free(struct login_req *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		free(q->ders[i]);
	json_decref(q->json);
	memset(q, 0, sizeof(*q));
}

int
login_message(const char *origin, const char *challenge, char *msg, size_t msglen)
{
	int n = snprintf(msg, msglen, EG_LOGIN_MSG_PREFIX "%s\n%s", origin, challenge);

	return n < 0 || (size_t)n >= msglen ? -1 : n;
}

static int
check_login_signature(struct request *r, const struct login_req *q)
{
	char msg[2048];
	int n;

	if (!q->sig_ok || (n = login_message(r->gw->origin, q->challenge, msg, sizeof(msg))) < 0)
		return EG_ERR_PARSE;
	/* The signature first: only a card holder's valid answer uses up a challenge, so
	 * junk signatures cannot fill the store of used challenges. */
	if (auth_verify_login_signature(q->ders[0], q->lens[0], q->alg, (unsigned char *)msg,
	    (size_t)n, q->sig, q->siglen) != EG_OK)
		return EG_ERR_CRYPTO;
	return challenge_redeem(r->gw->keys, r->gw->challenges, q->challenge,
	    r->gw->origin);
}

/* A session for eidgate-login: the same sealed session, handed over as a Bearer token. */
static enum MHD_Result
issue_session(struct request *r, const unsigned char *leaf, size_t leaflen)
{
	struct req_user *u = &r->user;
	char *token = NULL;
	enum MHD_Result ret;
	int rc;

	/* The new session is the signer's alone: nothing of whoever this connection
	 * identified before (certificate, cookie) may carry over into it. */
	dir_release(u->person);
	dir_release(u->org);
	u->person = NULL;
	u->org = NULL;
	u->context_facility[0] = u->context_org[0] = '\0';
	r->user.authenticated = 1;
	if ((rc = websession_issue(r, leaf, leaflen)) == EG_OK) {
		free(u->set_cookie);
		u->set_cookie = NULL;
		u->via_bearer = 1;
		rc = websession_reseal(r, &token);
	}
	if (rc != EG_OK)
		return rc == EG_ERR_KEYS ? respond_error(r, 503, "keys-unavailable", NULL) :
		    respond_error(r, 500, "internal", NULL);
	if (record_decision(r, REC_LOGIN, 1, EG_OK, NULL, 0, 0) != EG_OK) {
		eg_freezero(token, strlen(token));
		return respond_audit_unavailable(r);
	}
	ret = respond_json_obj(r, 200, json_pack("{s:s, s:I, s:s}", "token", token, "expires_in",
	    (json_int_t)(r->snap->cfg.absolute_timeout_ms / 1000), "name", u->id.name));
	eg_freezero(token, strlen(token));
	return ret;
}

enum MHD_Result
page_token(struct request *r)
{
	struct login_req q;
	enum MHD_Result ret;
	int err;

	if (login_req_parse(r->body, r->body_size, &q) != EG_OK) {
		ret = respond_refused(r, REC_LOGIN_REFUSED, 403, EG_ERR_PARSE, "msg.login-malformed");
		goto out;
	}
	err = auth_verify(r->snap->auth, (const unsigned char *const *)q.ders, q.lens, q.n,
	    &r->user.id, r->user.auth_detail, sizeof(r->user.auth_detail));
	if (err != EG_OK) {
		ret = respond_refused(r, REC_LOGIN_REFUSED, 403, err, NULL);
		goto out;
	}
	if (q.origin != NULL && strcmp(q.origin, r->gw->origin) == 0 &&
	    (err = check_login_signature(r, &q)) == EG_ERR_KEYS) {
		ret = respond_error(r, 503, "keys-unavailable", NULL);
		goto out;
	}
	if (q.origin == NULL || strcmp(q.origin, r->gw->origin) != 0 || err != EG_OK) {
		ret = respond_refused(r, REC_LOGIN_REFUSED, 403, EG_ERR_CRYPTO, "msg.challenge");
		goto out;
	}
	ret = issue_session(r, q.ders[0], q.lens[0]);
out:
	login_req_free(&q);
	return ret;
}
