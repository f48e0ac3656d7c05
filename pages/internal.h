/*
 * internal.h - shared by the files of pages/ only (and tests/fuzz/): HTML escaping, the
 * page templates, the answers with a second cookie (logout, login), and the PKCS#11
 * login's token request (login.c), read apart from answering it so that the reading can
 * be tested and fuzzed without a connection.
 */
#ifndef EIDGATE_PAGES_INTERNAL_H
#define EIDGATE_PAGES_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "eidgate/limits.h"

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

/* The body of POST auth/token: {"challenge","origin","alg","signature","chain"}. */
struct login_req {
	json_t *json;                   /* the parsed body: owns the strings below */
	const char *origin;             /* NULL when absent or not a string */
	const char *challenge, *alg;    /* meaningful when sig_ok */
	unsigned char *ders[EG_MAX_CHAIN];      /* chain[i] decoded (malloc'd), leaf first */
	size_t lens[EG_MAX_CHAIN];
	size_t n;                       /* entries of ders to free */
	unsigned char sig[1024];
	size_t siglen;
	int sig_ok;                     /* challenge, alg and signature are strings and the
	                                 * signature is base64url of at most sizeof(sig) */
};

/*
 * Reads body[0..len) into *q. EG_OK, or EG_ERR_PARSE when the body is not JSON or its
 * chain is not 1..EG_MAX_CHAIN base64url strings: the request is malformed. What is
 * wrong with challenge, alg or signature only clears sig_ok, because the gateway answers
 * it only after the certificate was checked. Call login_req_free after either result.
 * Pure: no I/O, no clock.
 */
int login_req_parse(const char *body, size_t len, struct login_req *q);
void login_req_free(struct login_req *q);

/* The bytes the card signs, EG_LOGIN_MSG_PREFIX origin "\n" challenge, into msg: their
 * length, or -1 when they do not fit in msglen - 1. */
int login_message(const char *origin, const char *challenge, char *msg, size_t msglen);

#endif
