/*
 * http.c - the two requests to the gateway (PRODUCT §6 auth/challenge, auth/token).
 *
 * TLS verification is always on (system store, or --cacert); redirects are never
 * followed, so the host that answers is the host whose origin was signed; only https
 * is allowed even inside libcurl. Replies are capped at LOGIN_MAX_REPLY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "eidgate/util.h"
#include "login/internal.h"

#define HTTP_CONNECT_TIMEOUT_S 10L
#define HTTP_TOTAL_TIMEOUT_S 30L

struct http_reply {
	char *hr_data;
	size_t hr_len;
	long hr_status;
};

int
login_http_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		login_errx("libcurl initialisation: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

void
login_http_cleanup(void)
{
	curl_global_cleanup();
}

/* The reply can hold a session token: wiped, not just freed. */
static void
http_reply_free(struct http_reply *r)
{
	eg_freezero(r->hr_data, r->hr_len + 1);
	r->hr_data = NULL;
	r->hr_len = 0;
}

static size_t
http_on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_reply *r = userdata;
	size_t n = size * nmemb;
	char *nd;

	if (n > LOGIN_MAX_REPLY - r->hr_len)
		return 0; /* libcurl turns this into CURLE_WRITE_ERROR */
	/* Grow by copying so that no unwiped realloc leftovers hold a token. */
	nd = malloc(r->hr_len + n + 1);
	if (nd == NULL)
		return 0;
	if (r->hr_len > 0)
		memcpy(nd, r->hr_data, r->hr_len);
	memcpy(nd + r->hr_len, ptr, n);
	nd[r->hr_len + n] = '\0';
	eg_freezero(r->hr_data, r->hr_data != NULL ? r->hr_len + 1 : 0);
	r->hr_data = nd;
	r->hr_len += n;
	return n;
}

static int
http_setopts(CURL *c, const char *url, const char *cacert, const char *body,
    struct curl_slist *hdrs, struct http_reply *r, char *errbuf)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (cacert != NULL)
		SET(CURLOPT_CAINFO, cacert);
	SET(CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_S);
	SET(CURLOPT_TIMEOUT, HTTP_TOTAL_TIMEOUT_S);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "eidgate-login/1");
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, http_on_data);
	SET(CURLOPT_WRITEDATA, r);
#undef SET
	if (rc != CURLE_OK) {
		login_errx("libcurl set-up: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* POSTs body (JSON, or "" for none) to {base}{path}; the reply is in *r. */
static int
http_post(const struct login_url *u, const char *path, const char *cacert,
    const char *body, struct http_reply *r)
{
	char url[LOGIN_MAX_URL + 64], errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL, *t;
	CURL *c = NULL;
	CURLcode rc;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	errbuf[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", u->lu_base, path);
	/* An empty body is not form data: drop libcurl's default content type. "Expect:"
	 * avoids a 100-continue round trip. */
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (hdrs != NULL)
		t = curl_slist_append(hdrs, body[0] != '\0' ?
		    "Content-Type: application/json" : "Content-Type:");
	else
		t = NULL;
	if (t != NULL)
		t = curl_slist_append(hdrs, "Expect:");
	if (t == NULL || (c = curl_easy_init()) == NULL) {
		login_errx("out of memory");
		goto out;
	}
	if (http_setopts(c, url, cacert, body, hdrs, r, errbuf) < 0)
		goto out;
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		login_errx("POST %s: %s%s%s", url, curl_easy_strerror(rc),
		    errbuf[0] != '\0' ? ": " : "", errbuf);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->hr_status);
	ret = 0;
out:
	if (ret < 0)
		http_reply_free(r);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	return ret;
}

/* Parses the reply as a JSON object, or prints why not. */
static json_t *
http_json(const struct http_reply *r, const char *what)
{
	json_error_t je;
	json_t *j;

	if (r->hr_data == NULL) {
		login_errx("%s: empty reply from the gateway", what);
		return NULL;
	}
	j = json_loadb(r->hr_data, r->hr_len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || !json_is_object(j)) {
		login_errx("%s: the gateway's reply is not a JSON object%s%s", what,
		    j == NULL ? ": " : "", j == NULL ? je.text : "");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Non-2xx: PRODUCT's refusal line, with whatever the gateway said. */
static int
http_refused(const struct http_reply *r)
{
	char err[256], reason[128];
	json_t *j = NULL;
	json_error_t je;

	if (r->hr_data != NULL)
		j = json_loadb(r->hr_data, r->hr_len, 0, &je);
	if (j != NULL && json_is_string(json_object_get(j, "error"))) {
		login_sanitize(json_string_value(json_object_get(j, "error")), err,
		    sizeof(err));
		login_sanitize(json_is_string(json_object_get(j, "reason")) ?
		    json_string_value(json_object_get(j, "reason")) : "no reason given",
		    reason, sizeof(reason));
		login_errx("login refused: %s (%s)", err, reason);
	} else {
		login_errx("login refused: HTTP status %ld from the gateway", r->hr_status);
	}
	json_decref(j);
	return -1;
}

/* Copies the string member key of j (1..max bytes) into out, or prints why not. */
static int
http_str(json_t *j, const char *key, char *out, size_t outlen, const char *what)
{
	const char *v = json_string_value(json_object_get(j, key));

	if (v == NULL || v[0] == '\0') {
		login_errx("%s: the gateway's reply has no \"%s\" string", what, key);
		return -1;
	}
	if (eg_strlcpy(out, v, outlen) >= outlen) {
		login_errx("%s: \"%s\" in the gateway's reply is too long", what, key);
		return -1;
	}
	return 0;
}

/* The challenge is signed between '\n' separators: only base64url characters can be
 * allowed in it, so that no challenge can shift the fields of the signed message. */
static int
http_b64url_only(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	}
	return 1;
}

int
login_http_challenge(const struct login_url *u, const char *cacert,
    struct login_challenge *out)
{
	static const char what[] = "challenge";
	struct http_reply r;
	json_t *j = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (http_post(u, "/eidgate/auth/challenge", cacert, "", &r) < 0)
		return -1;
	if (r.hr_status < 200 || r.hr_status > 299) {
		http_refused(&r);
		goto out;
	}
	if ((j = http_json(&r, what)) == NULL ||
	    http_str(j, "challenge", out->lc_challenge, sizeof(out->lc_challenge), what) < 0 ||
	    http_str(j, "origin", out->lc_origin, sizeof(out->lc_origin), what) < 0)
		goto out;
	if (!http_b64url_only(out->lc_challenge)) {
		login_errx("challenge: the gateway's challenge is not base64url; refusing "
		    "to sign it");
		goto out;
	}
	ret = 0;
out:
	json_decref(j);
	http_reply_free(&r);
	return ret;
}

/* base64url of cert's DER as a new JSON string. */
static json_t *
http_cert_b64(X509 *cert)
{
	unsigned char *der = NULL;
	json_t *s = NULL;
	char *b64;
	int n;

	n = i2d_X509(cert, &der);
	if (n <= 0) {
		ERR_clear_error();
		login_errx("cannot encode the certificate as DER");
		return NULL;
	}
	b64 = malloc(4 * (((size_t)n + 2) / 3) + 1);
	if (b64 != NULL) {
		eg_b64url(der, (size_t)n, b64);
		s = json_string(b64);
	}
	if (s == NULL)
		login_errx("out of memory");
	free(b64);
	OPENSSL_free(der);
	return s;
}

/* The token request's JSON text (malloc'd, free()). */
static char *
http_token_body(const struct login_challenge *ch, enum login_alg alg,
    const unsigned char *sig, size_t siglen, X509 *cert, X509 *ca)
{
	char sigb64[4 * ((LOGIN_MAX_SIG + 2) / 3) + 1];
	json_t *chain, *body = NULL;
	char *text = NULL;

	eg_b64url(sig, siglen, sigb64);
	chain = json_array();
	if (chain == NULL || json_array_append_new(chain, http_cert_b64(cert)) != 0 ||
	    (ca != NULL && json_array_append_new(chain, http_cert_b64(ca)) != 0)) {
		json_decref(chain);
		return NULL;
	}
	/* "o" hands chain over to body, also when json_pack fails. */
	body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "challenge", ch->lc_challenge,
	    "origin", ch->lc_origin, "alg", login_alg_name(alg), "signature", sigb64,
	    "chain", chain);
	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT);
	if (text == NULL)
		login_errx("cannot build the token request");
	json_decref(body);
	return text;
}

/* Session tokens go into a cookie file line and onto stdout: printable ASCII only. */
static int
http_token_ok(const char *t)
{
	for (; *t != '\0'; t++)
		if (*t <= 0x20 || *t >= 0x7f || *t == ';' || *t == ',')
			return 0;
	return 1;
}

static int
http_token_parse(json_t *j, struct login_token *out)
{
	static const char what[] = "token";
	const char *tok = json_string_value(json_object_get(j, "token"));
	json_t *exp = json_object_get(j, "expires_in");
	const char *name = json_string_value(json_object_get(j, "name"));

	if (tok == NULL || tok[0] == '\0' || !http_token_ok(tok)) {
		login_errx("%s: the gateway's reply has no usable \"token\"", what);
		return -1;
	}
	if (!json_is_integer(exp) || json_integer_value(exp) <= 0) {
		login_errx("%s: the gateway's reply has no positive \"expires_in\"", what);
		return -1;
	}
	out->lt_token = strdup(tok);
	if (out->lt_token == NULL) {
		login_errx("out of memory");
		return -1;
	}
	out->lt_expires = json_integer_value(exp);
	login_sanitize(name != NULL ? name : "", out->lt_name, sizeof(out->lt_name));
	return 0;
}

int
login_http_token(const struct login_url *u, const char *cacert,
    const struct login_challenge *ch, enum login_alg alg, const unsigned char *sig,
    size_t siglen, X509 *cert, X509 *ca, struct login_token *out)
{
	struct http_reply r;
	json_t *j = NULL;
	char *body;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (siglen > LOGIN_MAX_SIG) {
		login_errx("signature too long (%zu bytes)", siglen);
		return -1;
	}
	body = http_token_body(ch, alg, sig, siglen, cert, ca);
	if (body == NULL)
		return -1;
	if (http_post(u, "/eidgate/auth/token", cacert, body, &r) < 0)
		goto out;
	if (r.hr_status < 200 || r.hr_status > 299) {
		http_refused(&r);
		goto out;
	}
	if ((j = http_json(&r, "token")) == NULL || http_token_parse(j, out) < 0)
		goto out;
	ret = 0;
out:
	json_decref(j);
	http_reply_free(&r);
	free(body);
	return ret;
}
