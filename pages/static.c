/*
 * static.c - the gateway's own pages (web/): portal, rights management, audit. Only
 * plain files with known types under [listen] web_root, never a path that could leave it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/request.h"
#include "eidgate/util.h"

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" }, { ".svg", "image/svg+xml" },
	{ ".png", "image/png" }, { ".ico", "image/x-icon" },
};

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

static enum MHD_Result
static_serve(struct request *r, const char *rel)
{
	char path[2048];
	const char *type = content_type(rel);
	char *data = NULL;
	size_t len = 0;
	enum MHD_Result ret;

	if (type == NULL || !safe_rel(rel))
		return respond_error(r, 404, "not-found", "There is nothing here.");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", r->snap->cfg.web_root, rel) >= sizeof(path) ||
	    eg_read_file(path, EG_MAX_STATIC_FILE, &data, &len) != EG_OK)
		return respond_error(r, 404, "not-found", "There is nothing here.");
	ret = respond_buffer(r, 200, type, data, len);
	free(data);
	return ret;
}

enum MHD_Result
page_portal(struct request *r)
{
	return static_serve(r, "portal/index.html");
}

enum MHD_Result
page_admin(struct request *r)
{
	return static_serve(r, "admin/index.html");
}

enum MHD_Result
page_audit(struct request *r)
{
	return static_serve(r, "audit/index.html");
}

/* The route matched the prefix EG_GATEWAY_PREFIX "/static/"; what follows is the file. */
enum MHD_Result
page_static(struct request *r)
{
	return static_serve(r, r->path + sizeof(EG_GATEWAY_PREFIX "/static/") - 1);
}
