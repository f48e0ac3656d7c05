/* internal.h - shared by the files of pages/ only: HTML escaping, the page templates and
 * the answers with a second cookie (logout, login). */
#ifndef EIDGATE_PAGES_INTERNAL_H
#define EIDGATE_PAGES_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include <microhttpd.h>

struct request;

/* Writes s to out with &, <, >, " and ' as entities: every text that goes into HTML. */
void html_put(FILE *out, const char *s);

/* A value a template names with {{$name}} (i18n.c i18n_render). */
struct tmpl_var {
	const char *name;
	const char *value;      /* plain text: escaped when put in */
};

/*
 * Renders a page template (tmpl, len bytes) in r's language into *out (malloc'd,
 * NUL-terminated, *outlen bytes): {{message.id}} becomes the catalogue's text,
 * {{$name}} the value of vars[name] ({{$lang}} is always "nl" or "en"), both
 * HTML-escaped, and {{@part}} the template web/part.html (one level: the head and
 * header every page shares). A placeholder that names nothing stays as its id, so the
 * catalogue test finds it. EG_OK or EG_ERR_NOMEM.
 */
int i18n_render(struct request *r, const char *tmpl, size_t len, const struct tmpl_var *vars,
    size_t nvars, char **out, size_t *outlen);

/* respond_buffer with one more Set-Cookie header (extra_cookie, may be NULL). */
enum MHD_Result respond_buffer_cookie(struct request *r, unsigned status, const char *ctype,
    const char *body, size_t len, const char *extra_cookie);

/* Reads web_root/rel (a path already checked by the caller) into *data; EG_OK or an
 * error of eg_read_file. */
int static_read(struct request *r, const char *rel, char **data, size_t *len);

/* session.c: the Set-Cookie value that sets (set = 1) or clears the marker of a browser
 * that logged out (websession_signed_out). */
const char *websession_signed_out_cookie(int set);

#endif
