/*
 * parse.c - reading a policy file (PRODUCT.md §5): lines, words, diagnostics, the version
 * hash, and what is checked once the whole file is read. Statements are parsed in
 * parse_backend.c, parse_rule.c and parse_cond.c.
 *
 * Like relayd's parse.y, an error does not stop the parse: every line is checked so that
 * `policy check` shows all problems at once, then the load fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"
#include "policy/internal.h"

/* Reads the file in blocks so that the version hash covers the exact bytes, NULs and
 * all, without holding the whole file in memory. */
struct reader {
	FILE *f;
	struct policy *p;           /* its text grows with each block */
	EVP_MD_CTX *md;
	unsigned char blk[65536];
	size_t pos, len;
	int eof;
	int failed;
};

/* The whole file, so that the access log can keep the exact version that decided. */
static int
keep_text(struct policy *p, const unsigned char *b, size_t n)
{
	char *nt;
	size_t cap;

	if (n > SIZE_MAX / 2 - p->text_len - 1)
		return -1;
	if (p->text_len + n + 1 > p->text_cap) {
		cap = p->text_cap ? p->text_cap : 4096;
		while (cap < p->text_len + n + 1)
			cap *= 2;
		if ((nt = realloc(p->text, cap)) == NULL)
			return -1;
		p->text = nt;
		p->text_cap = cap;
	}
	memcpy(p->text + p->text_len, b, n);
	p->text_len += n;
	p->text[p->text_len] = '\0';
	return 0;
}

static int
reader_getc(struct reader *rd)
{
	if (rd->pos == rd->len) {
		if (rd->eof)
			return EOF;
		rd->len = fread(rd->blk, 1, sizeof(rd->blk), rd->f);
		rd->pos = 0;
		if (ferror(rd->f))
			rd->failed = 1;
		if (rd->len < sizeof(rd->blk))
			rd->eof = 1;
		if (rd->len > 0 && (EVP_DigestUpdate(rd->md, rd->blk, rd->len) != 1 ||
		    keep_text(rd->p, rd->blk, rd->len) != 0))
			rd->failed = 1;
		if (rd->len == 0)
			return EOF;
	}
	return rd->blk[rd->pos++];
}

/* Reads one line without its newline. Returns 0 at end of file. A line longer than
 * EG_MAX_LINE is consumed whole and flagged, never cut into two statements. */
static int
reader_line(struct reader *rd, char *buf, size_t *len, int *too_long, int *has_nul)
{
	int ch;

	*len = 0;
	*too_long = *has_nul = 0;
	ch = reader_getc(rd);
	if (ch == EOF)
		return 0;
	while (ch != EOF && ch != '\n') {
		if (ch == '\0')
			*has_nul = 1;
		if (*len < EG_MAX_LINE)
			buf[(*len)++] = (char)ch;
		else
			*too_long = 1;
		ch = reader_getc(rd);
	}
	if (*len > 0 && buf[*len - 1] == '\r')
		(*len)--;
	buf[*len] = '\0';
	return 1;
}

static void pctx_vemit(struct pctx *c, int is_error, int line, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

static void
pctx_vemit(struct pctx *c, int is_error, int line, const char *fmt, va_list ap)
{
	char msg[512];

	if (is_error)
		c->nerrors++;
	else
		c->nwarnings++;
	if (c->diag == NULL || c->diag->emit == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	c->diag->emit(c->diag->arg, is_error, c->file, line, msg);
}

int
pctx_error(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pctx_vemit(c, 1, c->line, fmt, ap);
	va_end(ap);
	return -1;
}

void
pctx_warn_at(struct pctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pctx_vemit(c, 0, line, fmt, ap);
	va_end(ap);
}

int
policy_valid_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-");

	return n > 0 && s[n] == '\0' && n < EG_MAX_ID;
}

/* Splits at blanks; '#' anywhere starts a comment (no valid word contains one). */
static int
split_words(char *line, struct words *ws, size_t max)
{
	char *p = line;

	ws->n = 0;
	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	for (p = line; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (ws->n == max)
			return -1;
		ws->w[ws->n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	return 0;
}

/* Refuses bytes that editors hide: a control character can make two different-looking
 * policies, or smuggle a word past a reviewer. */
static int
line_has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 1;
	}
	return 0;
}

static void
parse_line(struct pctx *c, char *line, size_t len, struct words *ws)
{
	if (line_has_control(line, len)) {
		pctx_error(c, "control character in line");
		return;
	}
	if (split_words(line, ws, EG_MAX_LINE / 2 + 1) != 0 || ws->n == 0)
		return;
	if (strcmp(ws->w[0], "backend") == 0)
		parse_backend(c, ws);
	else if (strcmp(ws->w[0], "allow") == 0 || strcmp(ws->w[0], "deny") == 0)
		parse_rule(c, ws);
	else
		pctx_error(c, "unknown statement '%.40s' (expected backend, allow or deny)",
		    ws->w[0]);
}

static int
read_lines(struct pctx *c, struct reader *rd)
{
	char *line = malloc(EG_MAX_LINE + 1);
	struct words ws = { calloc(EG_MAX_LINE / 2 + 2, sizeof(char *)), 0 };
	size_t len;
	int too_long, has_nul;

	if (line == NULL || ws.w == NULL) {
		free(line);
		free(ws.w);
		return EG_ERR_NOMEM;
	}
	while (reader_line(rd, line, &len, &too_long, &has_nul)) {
		c->line++;
		if (too_long)
			pctx_error(c, "line longer than %d bytes", EG_MAX_LINE);
		else if (has_nul)
			pctx_error(c, "NUL byte in line");
		else
			parse_line(c, line, len, &ws);
	}
	free(line);
	free(ws.w);
	return rd->failed ? EG_ERR_IO : EG_OK;
}

/* Allow rules name their backend; backends may be declared before or after use. */
static void
resolve_backends(struct pctx *c)
{
	size_t i, j;

	for (i = 0; i < c->p->nrules; i++) {
		struct policy_rule *r = &c->p->rules[i];
		if (r->deny)
			continue;
		for (j = 0; j < c->p->nbackends; j++)
			if (strcmp(c->p->backends[j].name, r->backend_name) == 0)
				break;
		if (j == c->p->nbackends) {
			c->line = r->line;
			pctx_error(c, "rule '%s': unknown backend '%s' (no 'backend %s ...' "
			    "line in this file)", r->id, r->backend_name, r->backend_name);
		}
		r->backend = j;
	}
}

static int
finish_version(struct pctx *c, EVP_MD_CTX *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int dlen = 0;

	if (EVP_DigestFinal_ex(md, d, &dlen) != 1 || dlen < 8)
		return EG_ERR_CRYPTO;
	eg_hex(d, 8, hex);
	eg_strlcpy(c->p->version, hex, sizeof(c->p->version));
	return EG_OK;
}

static int
load_stream(struct pctx *c, FILE *f)
{
	struct reader *rd = calloc(1, sizeof(*rd));
	int r = EG_ERR_NOMEM;

	if (rd == NULL)
		return EG_ERR_NOMEM;
	rd->f = f;
	rd->p = c->p;
	rd->md = EVP_MD_CTX_new();
	if (rd->md == NULL || EVP_DigestInit_ex(rd->md, EVP_sha256(), NULL) != 1) {
		r = EG_ERR_CRYPTO;
		goto out;
	}
	if ((r = read_lines(c, rd)) != EG_OK)
		goto out;
	r = finish_version(c, rd->md);
out:
	EVP_MD_CTX_free(rd->md);
	free(rd);
	return r;
}

/* Parses, checks and compiles f (closed here); on any problem reports it and returns
 * non-zero. */
static int
load_policy(struct pctx *c, FILE *f)
{
	int r = load_stream(c, f);

	fclose(f);
	if (r != EG_OK) {
		pctx_error(c, "cannot read: %s", eg_err(r));
		return r;
	}
	resolve_backends(c);
	if (c->nerrors > 0)
		return EG_ERR_POLICY;
	policy_lint(c);
	if ((r = trie_build(c->p)) != EG_OK)
		pctx_error(c, "cannot compile policy: %s", eg_err(r));
	return r;
}

/* policy_load and policy_load_text: name is what messages say; text NULL means the file
 * name. */
static int
load_named(const char *name, const char *text, size_t len, struct policy **out,
    const struct policy_diag *diag)
{
	struct pctx c;
	FILE *f;
	int r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.file = name;
	c.diag = diag;
	if ((c.p = calloc(1, sizeof(*c.p))) == NULL)
		return EG_ERR_NOMEM;
	/* "r" never writes through the buffer; glibc reads it as bytes, NULs and all. */
	f = text != NULL ? fmemopen((void *)text, len, "rb") : fopen(name, "rb");
	if (f == NULL) {
		pctx_error(&c, "cannot open: %s", strerror(errno));
		r = EG_ERR_IO;
	} else {
		r = load_policy(&c, f);
	}
	free(c.idset);
	if (r == EG_OK && c.nerrors > 0)
		r = EG_ERR_POLICY;
	if (r != EG_OK) {
		policy_free(c.p);
		return r == EG_ERR_NOMEM || r == EG_ERR_IO ? r : EG_ERR_POLICY;
	}
	*out = c.p;
	return EG_OK;
}

int
policy_load(const char *path, struct policy **out, const struct policy_diag *diag)
{
	return load_named(path, NULL, 0, out, diag);
}

int
policy_load_text(const char *name, const char *text, size_t len, struct policy **out,
    const struct policy_diag *diag)
{
	return load_named(name, text != NULL ? text : "", len, out, diag);
}

void
policy_rule_clear(struct policy_rule *r)
{
	size_t i;

	for (i = 0; i < r->nsegs; i++)
		free(r->segs[i].text);
	free(r->segs);
	free(r->terms);
	r->segs = NULL;
	r->terms = NULL;
	r->nsegs = r->nterms = 0;
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		policy_rule_clear(&p->rules[i]);
	free(p->rules);
	free(p->backends);
	trie_free(p->root);
	free(p->text);
	free(p);
}

const char *
policy_version(const struct policy *p)
{
	return p->version;
}

const char *
policy_text(const struct policy *p, size_t *len)
{
	*len = p->text_len;
	return p->text != NULL ? p->text : "";
}

size_t
policy_backend_count(const struct policy *p)
{
	return p->nbackends;
}

size_t
policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

const struct policy_backend *
policy_backend_at(const struct policy *p, size_t i)
{
	return i < p->nbackends ? &p->backends[i] : NULL;
}

const struct policy_backend *
policy_backend_find(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nbackends; i++)
		if (strcmp(p->backends[i].name, name) == 0)
			return &p->backends[i];
	return NULL;
}
