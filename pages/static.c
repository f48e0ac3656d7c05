/*
 * static.c - the gateway's own pages (web/): portal, rights management, audit, rendered
 * in the user's language (i18n.c); their assets; Debian's JavaScript libraries; the
 * gateway's icon. Only plain files with known types under [listen] web_root (or
 * /usr/share/javascript), never a path that could leave it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "pages/internal.h"

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" }, { ".svg", "image/svg+xml" },
	{ ".png", "image/png" }, { ".ico", "image/x-icon" },
	{ ".json", "application/json" },
};

/* Where Debian's libjs-* packages put browser libraries (Chart.js for the audit page):
 * served from there, so a security update of the package reaches the pages. */
#define SYSTEM_JS "/usr/share/javascript"

static const char *
content_type(const char *rel)
{
	const char *dot = strrchr(rel, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* The request path was normalised already; this is a second, narrower gate. */
static int
safe_rel(const char *rel)
{
	const char *p;

	if (rel[0] == '\0' || rel[0] == '/' || rel[0] == '.' || strstr(rel, "..") != NULL ||
	    strstr(rel, "//") != NULL)
		return 0;
	for (p = rel; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '/' || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

int
static_read(struct request *r, const char *rel, char **data, size_t *len)
{
	char path[2048];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", r->snap->cfg.web_root, rel) >=
	    sizeof(path))
		return EG_ERR_TOO_LONG;
	return eg_read_file(path, EG_MAX_STATIC_FILE, data, len);
}

/* Serves dir/rel, a file of a known type that may only be of type `only` (or any). */
static enum MHD_Result
serve_file(struct request *r, const char *dir, const char *rel, const char *only)
{
	char path[2048];
	const char *type = content_type(rel);
	char *data = NULL;
	size_t len = 0;

	if (type == NULL || !safe_rel(rel) || (only != NULL && strcmp(type, only) != 0) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path) ||
	    eg_read_file(path, EG_MAX_STATIC_FILE, &data, &len) != EG_OK)
		return page_not_found(r);
	return respond_take(r, 200, type, data, len);
}

/* A page template of web/, with its texts in the user's language. */
static enum MHD_Result
page_serve(struct request *r, const char *rel)
{
	char *tmpl = NULL, *page = NULL;
	size_t tlen = 0, plen = 0;
	int rc;

	if ((rc = static_read(r, rel, &tmpl, &tlen)) != EG_OK)
		return page_not_found(r);
	rc = i18n_render(r, tmpl, tlen, NULL, 0, &page, &plen);
	free(tmpl);
	if (rc != EG_OK)
		return respond_error(r, 500, "internal", NULL);
	return respond_take(r, 200, "text/html; charset=utf-8", page, plen);
}

enum MHD_Result
page_portal(struct request *r)
{
	return page_serve(r, "portal/index.html");
}

enum MHD_Result
page_admin(struct request *r)
{
	return page_serve(r, "admin/index.html");
}

enum MHD_Result
page_audit(struct request *r)
{
	return page_serve(r, "audit/index.html");
}

/* The route matched the prefix EG_GATEWAY_PREFIX "/static/"; what follows is the file. */
enum MHD_Result
page_static(struct request *r)
{
	return serve_file(r, r->snap->cfg.web_root,
	    r->path + sizeof(EG_GATEWAY_PREFIX "/static/") - 1, NULL);
}

/* EG_GATEWAY_PREFIX "/js/<package>/<file>.js": a library of Debian's libjs-* packages. */
enum MHD_Result
page_system_js(struct request *r)
{
	return serve_file(r, SYSTEM_JS, r->path + sizeof(EG_GATEWAY_PREFIX "/js/") - 1,
	    "text/javascript; charset=utf-8");
}

/* Browsers ask every site for /favicon.ico on their own: the gateway answers with its
 * icon (when no rule routes the path to a backend) instead of a denial in the log. */
enum MHD_Result
page_favicon(struct request *r)
{
	return serve_file(r, r->snap->cfg.web_root, "favicon.ico", NULL);
}
