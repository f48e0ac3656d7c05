/*
 * url.c - the gateway URL given with --url, and the origin the client signs for.
 *
 * The origin is computed here from what the user typed, never taken from the server:
 * a server (or a redirect, or a proxy) that claims another origin could otherwise make
 * the card sign a login for a different site. The parsing is libcurl's (curl_url), the
 * same parser that later sends the request, so the origin signed is the host contacted.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "eidgate/util.h"
#include "login/internal.h"

/* Reads one part of the URL; missing parts give "" (or an error when required). */
static int
url_part(CURLU *h, CURLUPart what, unsigned flags, char *out, size_t outlen, int required)
{
	char *v = NULL;
	CURLUcode rc;

	out[0] = '\0';
	rc = curl_url_get(h, what, &v, flags);
	if (rc != CURLUE_OK) {
		if (!required)
			return 0;
		login_errx("--url: %s", curl_url_strerror(rc));
		return -1;
	}
	if (eg_strlcpy(out, v, outlen) >= outlen) {
		curl_free(v);
		login_errx("--url: too long");
		return -1;
	}
	curl_free(v);
	return 0;
}

/* User info, query and fragment have no place in a gateway address; refusing them
 * keeps "what is signed" and "what is contacted" obviously the same thing. */
static int
url_refuse_extras(CURLU *h)
{
	static const struct {
		CURLUPart part;
		const char *name;
	} extras[] = {
		{ CURLUPART_USER, "user name" },
		{ CURLUPART_PASSWORD, "password" },
		{ CURLUPART_QUERY, "query string" },
		{ CURLUPART_FRAGMENT, "fragment" },
	};
	size_t i;

	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		char *v = NULL;

		if (curl_url_get(h, extras[i].part, &v, 0) == CURLUE_OK) {
			curl_free(v);
			login_errx("--url: a %s is not allowed in the gateway URL",
			    extras[i].name);
			return -1;
		}
	}
	return 0;
}

/* Builds scheme://host[:port] (lower case; default port omitted) and the base URL
 * (origin + path without trailing '/'). */
static int
url_build(CURLU *h, struct login_url *out)
{
	char scheme[16], host[LOGIN_MAX_ORIGIN], port[8], path[LOGIN_MAX_URL];
	size_t i, n;
	int r;

	if (url_part(h, CURLUPART_SCHEME, 0, scheme, sizeof(scheme), 1) < 0 ||
	    url_part(h, CURLUPART_HOST, 0, host, sizeof(host), 1) < 0 ||
	    url_part(h, CURLUPART_PORT, CURLU_NO_DEFAULT_PORT, port, sizeof(port), 0) < 0 ||
	    url_part(h, CURLUPART_PATH, 0, path, sizeof(path), 0) < 0)
		return -1;
	/* Plain http would hand the session token to anyone on the path: https only,
	 * even for localhost, so tests exercise the same code as production. */
	if (strcmp(scheme, "https") != 0) {
		login_errx("--url: only https:// URLs are accepted, not %s://", scheme);
		return -1;
	}
	for (i = 0; host[i] != '\0'; i++)
		host[i] = (char)tolower((unsigned char)host[i]);
	if (port[0] != '\0')
		r = snprintf(out->lu_origin, sizeof(out->lu_origin), "https://%s:%s", host, port);
	else
		r = snprintf(out->lu_origin, sizeof(out->lu_origin), "https://%s", host);
	if (r < 0 || (size_t)r >= sizeof(out->lu_origin)) {
		login_errx("--url: host name too long");
		return -1;
	}
	eg_strlcpy(out->lu_host, host, sizeof(out->lu_host));
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		path[--n] = '\0';
	r = snprintf(out->lu_base, sizeof(out->lu_base), "%s%s", out->lu_origin, path);
	if (r < 0 || (size_t)r >= sizeof(out->lu_base)) {
		login_errx("--url: too long");
		return -1;
	}
	return 0;
}

int
login_url_parse(const char *url, struct login_url *out)
{
	CURLU *h;
	CURLUcode rc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (strlen(url) >= LOGIN_MAX_URL) {
		login_errx("--url: longer than %d bytes", LOGIN_MAX_URL - 1);
		return -1;
	}
	h = curl_url();
	if (h == NULL) {
		login_errx("--url: out of memory");
		return -1;
	}
	rc = curl_url_set(h, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		login_errx("--url '%s': %s", url, curl_url_strerror(rc));
		goto out;
	}
	if (url_refuse_extras(h) < 0 || url_build(h, out) < 0)
		goto out;
	ret = 0;
out:
	curl_url_cleanup(h);
	return ret;
}
