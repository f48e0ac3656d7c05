/*
 * i18n.c - the texts users read, in Dutch first and English second: one catalogue per
 * language (web_root/i18n/nl.json and en.json, a flat JSON object of message id ->
 * text), the language of a request (the eidgate-lang cookie of the pages' language
 * switch, else Accept-Language, else Dutch), and the page templates.
 *
 * The C code names messages by id only. The catalogues are read on first use and again
 * after each reload, and never change once read: the old ones stay readable by requests
 * still using them (a reload costs the memory of one catalogue). Dutch is the reference:
 * an id the English catalogue lacks shows in Dutch, one both lack shows as its id; the
 * catalogue test (tests/e2e/test_i18n.py) fails on either.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "pages/internal.h"

static const char *const lang_codes[I18N_NLANGS] = { [I18N_NL] = "nl", [I18N_EN] = "en" };

struct msg {
	const char *id;
	const char *text[I18N_NLANGS];
};

struct catalogue {
	struct catalogue *older;        /* kept: requests may still read it */
	uint64_t gen;                   /* the configuration it was read for */
	size_t n;
	struct msg *msgs;               /* sorted by id */
	json_t *src[I18N_NLANGS];       /* own the strings msgs points to */
};

static pthread_mutex_t cat_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct catalogue *) current;

const char *
i18n_code(enum i18n_lang lang)
{
	return lang_codes[lang == I18N_EN ? I18N_EN : I18N_NL];
}

/* ---- choosing the language --------------------------------------------------------- */

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A weight "q=0.8" at h + *i (after the ';'): thousandths, or -1 when malformed. */
static int
weight_at(const char *h, size_t lim, size_t *i)
{
	int q, k;

	while (*i < lim && h[*i] == ' ')
		(*i)++;
	if (*i + 2 >= lim || (h[*i] != 'q' && h[*i] != 'Q') || h[*i + 1] != '=' ||
	    (h[*i + 2] != '0' && h[*i + 2] != '1'))
		return -1;
	q = (h[*i + 2] - '0') * 1000;
	*i += 3;
	if (*i < lim && h[*i] == '.') {
		(*i)++;
		for (k = 100; k > 0 && *i < lim && is_digit(h[*i]); k /= 10, (*i)++)
			q += (h[*i] - '0') * k;
	}
	return q > 1000 ? -1 : q;
}

/*
 * One language range at h + *i ("nl-BE;q=0.9"): *lang is -1 for a language not offered
 * (or "*"), *q its weight in thousandths; -1 when the range is malformed. *i ends at
 * the ',' that follows or at lim.
 */
static int
range_at(const char *h, size_t lim, size_t *i, int *lang, int *q)
{
	char prim[9];
	size_t n = 0;

	*lang = -1;
	*q = 1000;
	while (*i < lim && is_alpha(h[*i]) && n < sizeof(prim) - 1)
		prim[n++] = (char)(h[(*i)++] | 0x20);
	prim[n] = '\0';
	if (n == 0 && *i < lim && h[*i] == '*')
		(*i)++;
	else if (n == 0 || (*i < lim && is_alpha(h[*i])))
		return -1;
	while (*i < lim && (h[*i] == '-' || is_alpha(h[*i]) || is_digit(h[*i])))
		(*i)++;
	while (*i < lim && h[*i] == ' ')
		(*i)++;
	if (*i < lim && h[*i] == ';') {
		(*i)++;
		if ((*q = weight_at(h, lim, i)) < 0)
			return -1;
		while (*i < lim && h[*i] == ' ')
			(*i)++;
	}
	if (*i < lim && h[*i] != ',')
		return -1;
	if (strcmp(prim, "nl") == 0)
		*lang = I18N_NL;
	else if (strcmp(prim, "en") == 0)
		*lang = I18N_EN;
	return 0;
}

enum i18n_lang
i18n_pick(const char *h)
{
	size_t lim, i = 0, ranges = 0;
	int best = I18N_NL, bestq = 0, lang, q;

	if (h == NULL)
		return I18N_NL;
	lim = strnlen(h, EG_MAX_ACCEPT_LANGUAGE);
	while (i < lim && ranges < EG_MAX_LANGUAGE_RANGES) {
		while (i < lim && (h[i] == ' ' || h[i] == ','))
			i++;
		if (i >= lim)
			break;
		ranges++;
		if (range_at(h, lim, &i, &lang, &q) != 0) {
			while (i < lim && h[i] != ',')      /* skip what cannot be read */
				i++;
			continue;
		}
		/* The first of the highest weight wins; q=0 is "not this one". */
		if (lang >= 0 && q > bestq) {
			best = lang;
			bestq = q;
		}
	}
	return (enum i18n_lang)best;
}

enum i18n_lang
i18n_lang_of(struct request *r)
{
	const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "eidgate-lang");

	if (c != NULL && strcmp(c, "en") == 0)
		return I18N_EN;
	if (c != NULL && strcmp(c, "nl") == 0)
		return I18N_NL;
	return i18n_pick(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Accept-Language"));
}

/* ---- the catalogues ---------------------------------------------------------------- */

static int
msg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msg *)a)->id, ((const struct msg *)b)->id);
}

/* One language's file: a flat object of strings within the limits, or NULL (logged). */
static json_t *
load_language(const char *root, const char *code)
{
	char path[1200], *data = NULL;
	size_t len = 0;
	const char *key;
	json_error_t je;
	json_t *j;
	void *it;

	snprintf(path, sizeof(path), "%s/i18n/%s.json", root, code);
	if (eg_read_file(path, EG_MAX_STATIC_FILE, &data, &len) != EG_OK) {
		log_warnx("i18n: cannot read %s: pages show message ids", path);
		return NULL;
	}
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	free(data);
	if (j == NULL) {
		log_warnx("i18n: %s:%d: %s", path, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(j) || json_object_size(j) > EG_MAX_MESSAGES) {
		log_warnx("i18n: %s: not an object of at most %d messages", path, EG_MAX_MESSAGES);
		json_decref(j);
		return NULL;
	}
	for (it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it)) {
		key = json_object_iter_key(it);
		if (!json_is_string(json_object_iter_value(it)) ||
		    json_string_length(json_object_iter_value(it)) >= EG_MAX_MESSAGE) {
			log_warnx("i18n: %s: message %.64s is not a string of less than %d bytes",
			    path, key, EG_MAX_MESSAGE);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

/* The catalogue of root, read now; NULL only when out of memory. */
static struct catalogue *
catalogue_read(const char *root, uint64_t gen)
{
	struct catalogue *c = calloc(1, sizeof(*c));
	json_t *ref;
	void *it;
	int l;

	if (c == NULL)
		return NULL;
	c->gen = gen;
	for (l = 0; l < I18N_NLANGS; l++)
		c->src[l] = load_language(root, lang_codes[l]);
	ref = c->src[I18N_NL] != NULL ? c->src[I18N_NL] : c->src[I18N_EN];
	if (ref == NULL || (c->msgs = calloc(json_object_size(ref) + 1, sizeof(*c->msgs))) == NULL)
		return c;
	for (it = json_object_iter(ref); it != NULL; it = json_object_iter_next(ref, it)) {
		struct msg *m = &c->msgs[c->n++];
		m->id = json_object_iter_key(it);
		for (l = 0; l < I18N_NLANGS; l++)
			m->text[l] = json_string_value(json_object_get(c->src[l], m->id));
	}
	qsort(c->msgs, c->n, sizeof(*c->msgs), msg_cmp);
	return c;
}

/* Is c the catalogue of a configuration at least as new as gen? Requests still running
 * under an older one read the newer texts rather than reading the files again. */
static int
current_for(const struct catalogue *c, uint64_t gen)
{
	return c != NULL && c->gen >= gen;
}

/* The catalogue of the configuration r runs under: read on first use and again after
 * a reload (SIGHUP), so new texts need no restart. */
static const struct catalogue *
catalogue_of(const struct request *r)
{
	struct catalogue *c = atomic_load(&current), *fresh;

	if (current_for(c, r->snap->gen))
		return c;
	pthread_mutex_lock(&cat_mu);
	c = atomic_load(&current);
	if (!current_for(c, r->snap->gen) &&
	    (fresh = catalogue_read(r->snap->cfg.web_root, r->snap->gen)) != NULL) {
		fresh->older = c;
		atomic_store(&current, fresh);
		c = fresh;
	}
	pthread_mutex_unlock(&cat_mu);
	return c;
}

const char *
i18n_text(struct request *r, const char *msgid)
{
	const struct catalogue *c = catalogue_of(r);
	struct msg key = { msgid, { NULL, NULL } };
	const struct msg *m;
	enum i18n_lang l = i18n_lang_of(r);

	if (c == NULL || msgid == NULL || c->n == 0 ||
	    (m = bsearch(&key, c->msgs, c->n, sizeof(*c->msgs), msg_cmp)) == NULL)
		return NULL;
	return m->text[l] != NULL ? m->text[l] : m->text[I18N_NL];
}

const char *
i18n_message(struct request *r, const char *msgid, const char *code, unsigned status)
{
	char id[96];
	const char *t;

	if ((t = i18n_text(r, msgid)) != NULL)
		return t;
	snprintf(id, sizeof(id), "reason.%s", code != NULL ? code : "");
	if ((t = i18n_text(r, id)) != NULL)
		return t;
	snprintf(id, sizeof(id), "status.%u", status);
	if ((t = i18n_text(r, id)) != NULL)
		return t;
	return code != NULL ? code : "error";
}

/* ---- templates --------------------------------------------------------------------- */

void
html_put(FILE *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out); break;
		}
	}
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '-' || c == '_' ||
	    c == '$' || c == '@';
}

static int render(struct request *r, FILE *out, const char *tmpl, size_t len,
    const struct tmpl_var *vars, size_t nvars, int depth);

/* {{@name}}: web/name.html, the parts every page shares (head, header), rendered with
 * the same values; one level deep, so a part cannot include itself. */
static void
put_part(struct request *r, FILE *out, const char *name, const struct tmpl_var *vars,
    size_t nvars, int depth)
{
	char rel[128], *part = NULL;
	size_t len = 0;

	snprintf(rel, sizeof(rel), "%s.html", name);
	if (depth > 0 || strchr(name, '.') != NULL || static_read(r, rel, &part, &len) != EG_OK) {
		html_put(out, name);
		return;
	}
	(void)render(r, out, part, len, vars, nvars, depth + 1);
	free(part);
}

/* The length of a placeholder's name at p (after "{{"), 0 when p holds none. */
static size_t
placeholder_at(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && n < 96 && is_name_char(p[n]))
		n++;
	return (n > 0 && p + n + 1 < end && p[n] == '}' && p[n + 1] == '}') ? n : 0;
}

static void
put_placeholder(struct request *r, FILE *out, const char *name, const struct tmpl_var *vars,
    size_t nvars, int depth)
{
	const char *t;
	size_t i;

	if (name[0] == '@') {
		put_part(r, out, name + 1, vars, nvars, depth);
		return;
	}
	if (strcmp(name, "$lang") == 0) {
		fputs(i18n_code(i18n_lang_of(r)), out);
		return;
	}
	for (i = 0; name[0] == '$' && i < nvars; i++)
		if (strcmp(name + 1, vars[i].name) == 0) {
			html_put(out, vars[i].value);
			return;
		}
	t = name[0] == '$' ? NULL : i18n_text(r, name);
	html_put(out, t != NULL ? t : name);
}

static int
render(struct request *r, FILE *out, const char *tmpl, size_t len, const struct tmpl_var *vars,
    size_t nvars, int depth)
{
	const char *p = tmpl, *end = tmpl + len, *open;
	char name[100];
	size_t n;

	while (p < end && (open = memmem(p, (size_t)(end - p), "{{", 2)) != NULL) {
		fwrite(p, 1, (size_t)(open - p), out);
		if ((n = placeholder_at(open + 2, end)) == 0) {
			fwrite("{{", 1, 2, out);
			p = open + 2;
			continue;
		}
		memcpy(name, open + 2, n);
		name[n] = '\0';
		put_placeholder(r, out, name, vars, nvars, depth);
		p = open + 2 + n + 2;
	}
	fwrite(p, 1, (size_t)(end - p), out);
	return ferror(out) ? EG_ERR_IO : EG_OK;
}

int
i18n_render(struct request *r, const char *tmpl, size_t len, const struct tmpl_var *vars,
    size_t nvars, char **out, size_t *outlen)
{
	FILE *mem = open_memstream(out, outlen);
	int rc;

	if (mem == NULL)
		return EG_ERR_NOMEM;
	rc = render(r, mem, tmpl, len, vars, nvars, 0);
	if (fclose(mem) != 0 || rc != EG_OK) {
		free(*out);
		*out = NULL;
		return EG_ERR_NOMEM;
	}
	return EG_OK;
}
