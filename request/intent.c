/*
 * intent.c - requests a `signed` rule allowed (request/internal.h): the card-signed
 * intent of auth.h "Signed intent" is checked against the whole body before anything
 * reaches the backend.
 *
 * Why the body is held: the signature covers its SHA-256, and a backend that received
 * the first megabytes of a body whose signature then fails would have acted on an
 * unsigned request. So it is read whole, up to the backend's max_body, like a form's.
 *
 * Which certificate: the one the user is authenticated with, never one the request
 * brings of its own. A cert= in the header is used only when its SHA-256 is the
 * authenticated certificate's (it saves nothing but lets a client be explicit);
 * otherwise a Bearer session's carried certificate, else the TLS connection's. Another
 * card, even of the same person, does not match: the intent is then refused.
 *
 * Replay: each intent is good once, whatever signature of it comes (first_use). The
 * SHA-256 of the certificate's fingerprint and the signed text goes into a cache that
 * refuses rather than evicts when a set is full, for twice the window (an intent older
 * than the window is refused by its time anyway); a full set refuses the intent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "eidgate/auth.h"
#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/forward.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "request/internal.h"

/* Intents remembered at once: a few per second per user for two minutes, and the
 * refusal of a full set keeps the bound honest. */
#define INTENT_SLOTS 65536
#define INTENT_WAYS 16

int
intent_cache_new(struct cache **out)
{
	static const struct cache_conf conf = {
		.capacity = INTENT_SLOTS, .ways = INTENT_WAYS, .key_max = 32, .val_max = 1,
		.flags = CACHE_REFUSE,
	};

	return cache_new(&conf, out);
}

/*
 * 401 with what to sign: the reason and message as respond_error gives them, and an
 * "intent" object naming the header, the canonical text with this request's values
 * filled in but for the time and the body's hash, the origin and the window.
 */
static enum MHD_Result
challenge(struct request *r, int err)
{
	char target[2 * EG_MAX_PATH + 2];
	const char *code = eg_err_code(err);
	json_t *j;

	if (record_decision(r, REC_REQUEST, 0, err, NULL, 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	snprintf(target, sizeof(target), "%s%s%s", r->path, r->query[0] ? "?" : "", r->query);
	j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:[s,s]}}",
	    "reason", code, "message", i18n_message(r, NULL, code, 401),
	    "lang", i18n_code(i18n_lang_of(r)), "request_id", r->id,
	    "intent",
	    "header", EG_INTENT_HEADER,
	    "format", "v1;t=<time>;alg=<alg>;sig=<base64url>[;cert=<base64url DER>]",
	    "sign", "eidgate-intent-v1\\n<origin>\\n<method>\\n<target>\\n<time>\\n"
	    "<hex sha256 of the body>",
	    "origin", r->gw->origin, "method", r->method, "target", target,
	    "time", (json_int_t)(eg_now_us() / 1000000), "window", (json_int_t)EG_INTENT_WINDOW,
	    "alg", EG_LOGIN_ALG_RSA, EG_LOGIN_ALG_EC);
	r->phase = REQ_RESPONDED;
	return respond_json_obj(r, 401, j);
}

/* The header's value as it came, parsed into *in; EG_ERR_INTENT_REQUIRED when absent. */
static int
read_header(struct request *r, struct auth_intent *in)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, EG_INTENT_HEADER);

	if (v == NULL)
		return EG_ERR_INTENT_REQUIRED;
	return auth_intent_parse(v, in) == EG_OK ? EG_OK : EG_ERR_INTENT_INVALID;
}

/* The certificate the intent must be signed with (the top of this file): its DER into
 * der and len (pointing into in, buf or the TLS session). Whichever it came from, it
 * must be the certificate the user is authenticated with, by its SHA-256. */
static int
user_leaf(struct request *r, const struct auth_intent *in, unsigned char *buf, size_t cap,
    const unsigned char **der, size_t *len)
{
	unsigned char h[32];
	char hex[65];
	size_t n = 0;
	const struct eg_session *s = &r->user.sess;

	if (in->certlen > 0) {
		*der = in->cert;
		*len = in->certlen;
	} else if (r->user.has_session && s->leaf[0] != '\0') {
		if (eg_b64url_decode(s->leaf, strlen(s->leaf), buf, cap, &n) != EG_OK)
			return EG_ERR_INTENT_INVALID;
		*der = buf;
		*len = n;
	} else if (identify_tls_leaf(r, der, len) != EG_OK) {
		return EG_ERR_INTENT_INVALID;
	}
	SHA256(*der, *len, h);
	eg_hex(h, sizeof(h), hex);
	return r->user.id.fingerprint[0] != '\0' && strcmp(hex, r->user.id.fingerprint) == 0 ?
	    EG_OK : EG_ERR_INTENT_INVALID;
}

/* The certificate's evidence for the record (audit.h intent_cert): the DER the header
 * brought, else the authenticated certificate's fingerprint. */
static int
cert_evidence(struct request *r, const struct auth_intent *in)
{
	size_t cap = in->certlen > 0 ? 4 * ((in->certlen + 2) / 3) + 1 : 72;
	char *ev = malloc(cap);

	if (ev == NULL)
		return EG_ERR_NOMEM;
	if (in->certlen > 0)
		eg_b64url(in->cert, in->certlen, ev);
	else
		snprintf(ev, cap, "sha256:%s", r->user.id.fingerprint);
	free(r->intent_cert);
	r->intent_cert = ev;
	return EG_OK;
}

/* "v1;t=..;alg=..;body=<hex>;sig=<b64url>" for the record (audit.h intent): the
 * signature is encoded straight after the prefix. */
static int
evidence(struct request *r, const struct auth_intent *in, const char *body_hex)
{
	size_t cap = 128 + 64 + 4 * ((in->siglen + 2) / 3) + 1;
	char *ev = malloc(cap);
	int n;

	if (ev == NULL)
		return EG_ERR_NOMEM;
	n = snprintf(ev, cap, "v1;t=%lld;alg=%s;body=%s;sig=", (long long)in->t, in->alg,
	    body_hex);
	if (n < 0 || (size_t)n >= 128 + 64) {   /* t <= 12 digits, alg < 16, hex 64 */
		free(ev);
		return EG_ERR_INTERNAL;
	}
	eg_b64url(in->sig, in->siglen, ev + n);
	free(r->intent_ev);
	r->intent_ev = ev;
	return EG_OK;
}

/*
 * Single use: the first to present an intent wins it (atomic in the cache). The key is
 * what was signed, with the certificate that signed it, not the signature's bytes: an
 * ECDSA signature (r, s) has a twin (r, n - s) that verifies as well, and a card signs
 * the same text again with another nonce, so keyed by its bytes the same intent would
 * pass twice. The fingerprint (fixed length) comes first, so no two pairs hash alike.
 */
static int
first_use(struct request *r, const char *msg, size_t msglen)
{
	const char *fp = r->user.id.fingerprint;
	unsigned char key[32];
	unsigned int klen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int64_t mono = eg_mono_ms();
	char v = 1;
	int e, ok;

	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, fp, strlen(fp)) == 1 && EVP_DigestUpdate(c, msg, msglen) == 1 &&
	    EVP_DigestFinal_ex(c, key, &klen) == 1 && klen == sizeof(key);
	EVP_MD_CTX_free(c);
	if (!ok) {
		log_warnx("request %s: signed intents: cannot hash the intent, refusing", r->id);
		return EG_ERR_INTENT_INVALID;
	}
	e = cache_add(r->gw->intents, key, sizeof(key), &v, 1,
	    mono + 2 * (int64_t)EG_INTENT_WINDOW * 1000, mono);
	if (e == EG_ERR_FULL)
		log_warnx("request %s: signed intents: cache set full, refusing", r->id);
	return e == EG_OK ? EG_OK : EG_ERR_INTENT_INVALID;
}

/* Checks the intent against the body read (r->body, r->body_size). */
static int
check(struct request *r, const struct auth_intent *in, const char **why)
{
	unsigned char body_h[32], leafbuf[EG_MAX_SESSION_LEAF];
	const unsigned char *leaf = NULL;
	char body_hex[65], msg[EG_INTENT_MAX_MSG];
	size_t leaflen = 0, msglen = 0;
	int64_t now = eg_now_us() / 1000000;
	int e;

	SHA256(r->body != NULL ? (const unsigned char *)r->body : (const unsigned char *)"",
	    r->body_size, body_h);
	eg_hex(body_h, sizeof(body_h), body_hex);
	if ((e = evidence(r, in, body_hex)) != EG_OK)
		return e;
	if ((e = cert_evidence(r, in)) != EG_OK)
		return e;
	*why = "not the authenticated card's certificate";
	if ((e = user_leaf(r, in, leafbuf, sizeof(leafbuf), &leaf, &leaflen)) != EG_OK)
		return e;
	*why = "target too long";
	if (auth_intent_message(r->gw->origin, r->method, r->path, r->query, in->t, body_h,
	    msg, sizeof(msg), &msglen) != EG_OK)
		return EG_ERR_INTENT_INVALID;
	e = auth_intent_verify(in, leaf, leaflen, msg, msglen, now);
	*why = e == EG_ERR_EXPIRED ? "time outside the window" : "signature does not verify";
	if (e != EG_OK)
		return EG_ERR_INTENT_INVALID;
	*why = "intent used before";
	return first_use(r, msg, msglen);
}

/* The body is read (r->body): checks the intent parsed from the header (in; the caller
 * wipes it) and forwards, or refuses. */
static enum MHD_Result
finish(struct request *r, const struct auth_intent *in)
{
	const char *why = "malformed header";
	int e;

	if (r->body_too_big)
		return respond_refused(r, REC_REQUEST, 413, EG_ERR_TOO_BIG, NULL);
	/* A signed form is still a form: its _method field is refused as anywhere else. */
	if (req_form_overrides_method(r))
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_METHOD_OVERRIDE, NULL);
	e = check(r, in, &why);
	if (e == EG_ERR_NOMEM || e == EG_ERR_INTERNAL)
		return respond_error(r, 500, "internal", NULL);
	if (e != EG_OK) {
		log_info("request %s: signed intent refused: %s", r->id, why);
		return challenge(r, e);
	}
	return forward_start(r, r->decision.backend);
}

enum MHD_Result
intent_start(struct request *r)
{
	struct auth_intent in;
	enum MHD_Result ret;
	int e = read_header(r, &in);

	/* Refused before the body is read: nobody need send megabytes to learn that. */
	if (e != EG_OK) {
		explicit_bzero(&in, sizeof(in));
		log_info("request %s: signed intent %s", r->id, e == EG_ERR_INTENT_REQUIRED ?
		    "missing" : "refused: malformed header");
		return challenge(r, e);
	}
	if (r->has_body && r->body_len != 0) {
		explicit_bzero(&in, sizeof(in));
		r->phase = REQ_INTENT;      /* the body comes with the calls that follow */
		return MHD_YES;
	}
	ret = finish(r, &in);
	explicit_bzero(&in, sizeof(in));
	return ret;
}

/* The header is parsed again once the body is in: cheaper than keeping its few
 * kilobytes with every request whose body is on its way. */
enum MHD_Result
intent_continue(struct request *r, const char *upload, size_t *upload_size)
{
	const struct policy_backend *b = r->decision.backend;
	uint64_t max = b->max_body != 0 ? b->max_body : EG_DEFAULT_MAX_BODY;
	struct auth_intent in;
	enum MHD_Result ret;

	if (!req_collect_body(r, upload, upload_size, (size_t)max))
		return MHD_YES;
	if (read_header(r, &in) != EG_OK) {     /* it parsed in intent_start */
		explicit_bzero(&in, sizeof(in));
		log_info("request %s: signed intent refused: malformed header", r->id);
		return challenge(r, EG_ERR_INTENT_INVALID);
	}
	ret = finish(r, &in);
	explicit_bzero(&in, sizeof(in));
	return ret;
}
