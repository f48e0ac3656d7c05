/*
 * format.c - printing query results as a table, JSON lines or CSV.
 *
 * Log content is attacker-influenced (paths, request ids, reasons): the table replaces
 * control characters so nothing reaches a terminal as an escape sequence, JSON gets valid
 * UTF-8 only, and CSV cells cannot start a spreadsheet formula.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/util.h"
#include "audit/internal.h"

#define TABLE_NCOLS 13
/* Rows held before printing: the table aligns columns over what it holds, so a page
 * bounds memory on a huge result while typical results align perfectly. Widths only grow
 * from page to page. */
#define TABLE_PAGE 512

struct audit_out {
	enum audit_fmt fmt;
	FILE *fp;
	int header_done;
	size_t widths[TABLE_NCOLS];
	char *cells[TABLE_PAGE][TABLE_NCOLS];   /* sanitised; NULL = absent */
	size_t cellw[TABLE_PAGE][TABLE_NCOLS];
	size_t nrows;
};

enum col_kind { COL_SEQ, COL_TIME, COL_FIELD, COL_STATUS, COL_BYTES, COL_LATENCY, COL_HASH };

struct col {
	const char *name;       /* NULL: the name of the field with id `field` */
	enum col_kind kind;
	int field;              /* its id (audit/record.c), not its place in the table */
};

#define FC(i) { NULL, COL_FIELD, i }
/* JSON and CSV order: PRODUCT §7, request fields, then the rights-change fields. */
static const struct col cols[] = {
	FC(25), { "seq", COL_SEQ, 0 }, { "time", COL_TIME, 0 },
	FC(1), FC(2), FC(3), FC(4), FC(5), FC(6), FC(7), FC(8), FC(9), FC(10), FC(11),
	FC(12), FC(13), FC(14), FC(15), FC(16),
	{ "upstream_status", COL_STATUS, 0 }, { "bytes", COL_BYTES, 0 },
	{ "latency_us", COL_LATENCY, 0 },
	FC(17), FC(18), FC(19), FC(20), FC(21), FC(22), FC(23), FC(24),
	FC(26), FC(27), FC(28), FC(29), FC(30), FC(31), FC(32), FC(33), FC(34), FC(35),
	{ "hash", COL_HASH, 0 },
};
#undef FC
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* The table shows the columns an officer scans for; JSON and CSV carry everything. */
static const char *const tcols[TABLE_NCOLS] = {
	"instance", "seq", "time", "kind", "nrn", "org", "facility", "method", "path", "rule",
	"decision", "reason", "status",
};

static const char *
col_name(const struct col *c)
{
	return c->name ? c->name : audit_field_by_id((unsigned)c->field)->name;
}

/* Value of column c as text in buf, or NULL when absent; *num says it is a number. */
static const char *
col_value(const struct audit_record *r, const struct col *c, char *buf, size_t len,
    int *num)
{
	*num = 1;
	switch (c->kind) {
	case COL_SEQ:
		snprintf(buf, len, "%" PRIu64, r->seq);
		return buf;
	case COL_STATUS:
		snprintf(buf, len, "%d", r->upstream_status);
		return buf;
	case COL_BYTES:
		snprintf(buf, len, "%" PRIu64, r->bytes);
		return buf;
	case COL_LATENCY:
		snprintf(buf, len, "%" PRIu64, r->latency_us);
		return buf;
	case COL_TIME:
		*num = 0;
		eg_format_time(r->time_us, buf, len);
		return buf;
	case COL_HASH:
		*num = 0;
		return r->hash;
	case COL_FIELD:
		break;
	}
	*num = 0;
	return audit_field_get(r, audit_field_by_id((unsigned)c->field));
}

/* Length of the valid UTF-8 sequence at p (RFC 3629 table), 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Copy of s with invalid UTF-8 replaced by '?', and, when for_tty, also C0, DEL and C1
 * controls (C1 as UTF-8 is U+0080..U+009F, 0xc2 0x80..0x9f). *width gets the number of
 * characters. Returns malloc'd text or NULL.
 */
static char *
sanitize(const char *s, int for_tty, size_t *width)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, w = 0, l;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	while (i < n) {
		l = utf8_len(p + i, n - i);
		if (l == 0 || (for_tty && (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] < 0xa0)))) {
			out[o++] = '?';
			i += l ? l : 1;
		} else {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		}
		w++;
	}
	out[o] = '\0';
	if (width != NULL)
		*width = w;
	return out;
}

static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	char *clean;

	if (j != NULL)
		return j;
	/* jansson refuses invalid UTF-8; keep the record, mark the bad bytes. */
	if ((clean = sanitize(s, 0, NULL)) == NULL)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

char *
audit_record_json(const struct audit_record *r)
{
	json_t *obj = json_object();
	char buf[64], *line = NULL;
	size_t i;
	int num;

	if (obj == NULL)
		return NULL;
	for (i = 0; i < NCOLS; i++) {
		const char *v = col_value(r, &cols[i], buf, sizeof(buf), &num);
		json_t *j;

		if (v == NULL)
			continue;
		j = num ? json_integer((json_int_t)strtoll(v, NULL, 10)) : jstr(v);
		if (j == NULL || json_object_set_new(obj, col_name(&cols[i]), j) != 0)
			goto out;
	}
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(obj);
	return line;
}

static int
out_json(struct audit_out *o, const struct audit_record *r)
{
	char *line = audit_record_json(r);
	int rc;

	if (line == NULL)
		return -1;
	rc = fprintf(o->fp, "%s\n", line) < 0 ? -1 : 0;
	free(line);
	return rc;
}

/* RFC 4180 cell; a text starting with = + - @ (or tab/CR, per OWASP) gets a leading
 * quote so spreadsheets show it instead of evaluating it. */
static void
csv_cell(FILE *fp, const char *v, int text)
{
	int quote = strpbrk(v, ",\"\r\n") != NULL;
	const char *p;

	if (quote)
		fputc('"', fp);
	if (text && v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL)
		fputc('\'', fp);
	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', fp);
		fputc(*p, fp);
	}
	if (quote)
		fputc('"', fp);
}

static void
csv_header(struct audit_out *o)
{
	size_t i;

	if (o->header_done)
		return;
	for (i = 0; i < NCOLS; i++)
		fprintf(o->fp, "%s%s", i ? "," : "", col_name(&cols[i]));
	fputs("\r\n", o->fp);
	o->header_done = 1;
}

static int
out_csv(struct audit_out *o, const struct audit_record *r)
{
	char buf[64];
	size_t i;
	int num;

	csv_header(o);
	for (i = 0; i < NCOLS; i++) {
		const char *v = col_value(r, &cols[i], buf, sizeof(buf), &num);

		if (i > 0)
			fputc(',', o->fp);
		if (v != NULL)
			csv_cell(o->fp, v, cols[i].kind == COL_FIELD);
	}
	fputs("\r\n", o->fp);
	return ferror(o->fp) ? -1 : 0;
}

static const char *
table_value(const struct audit_record *r, size_t i, char *buf, size_t len)
{
	size_t k;
	int num;

	if (i == TABLE_NCOLS - 1) {
		if (r->upstream_status == 0)
			return NULL;
		snprintf(buf, len, "%d", r->upstream_status);
		return buf;
	}
	for (k = 0; k < NCOLS; k++)
		if (strcmp(col_name(&cols[k]), tcols[i]) == 0)
			return col_value(r, &cols[k], buf, len, &num);
	return NULL;
}

static void
table_line(struct audit_out *o, char *const *cells, const size_t *w)
{
	size_t i, pad;

	for (i = 0; i < TABLE_NCOLS; i++) {
		const char *v = cells[i] ? cells[i] : "-";
		size_t vw = cells[i] ? w[i] : 1;

		fputs(v, o->fp);
		if (i == TABLE_NCOLS - 1)
			break;
		for (pad = vw; pad < o->widths[i] + 2; pad++)
			fputc(' ', o->fp);
	}
	fputc('\n', o->fp);
}

static void
table_flush(struct audit_out *o)
{
	size_t i, j, hw[TABLE_NCOLS];

	for (i = 0; i < o->nrows; i++)
		for (j = 0; j < TABLE_NCOLS; j++)
			if (o->cellw[i][j] > o->widths[j])
				o->widths[j] = o->cellw[i][j];
	if (!o->header_done) {
		for (j = 0; j < TABLE_NCOLS; j++)
			hw[j] = strlen(tcols[j]);
		table_line(o, (char *const *)(uintptr_t)tcols, hw);
		o->header_done = 1;
	}
	for (i = 0; i < o->nrows; i++) {
		table_line(o, o->cells[i], o->cellw[i]);
		for (j = 0; j < TABLE_NCOLS; j++)
			free(o->cells[i][j]);
	}
	o->nrows = 0;
}

static int
out_table(struct audit_out *o, const struct audit_record *r)
{
	char buf[64];
	size_t i;

	for (i = 0; i < TABLE_NCOLS; i++) {
		const char *v = table_value(r, i, buf, sizeof(buf));

		o->cells[o->nrows][i] = NULL;
		o->cellw[o->nrows][i] = 1;
		if (v != NULL && (o->cells[o->nrows][i] = sanitize(v, 1,
		    &o->cellw[o->nrows][i])) == NULL) {
			while (i-- > 0)
				free(o->cells[o->nrows][i]);
			return -1;
		}
	}
	if (++o->nrows == TABLE_PAGE)
		table_flush(o);
	return ferror(o->fp) ? -1 : 0;
}

struct audit_out *
audit_out_new(enum audit_fmt fmt, FILE *fp)
{
	/* large (a page of table rows): on the heap */
	struct audit_out *o = calloc(1, sizeof(*o));
	size_t i;

	if (o == NULL)
		return NULL;
	o->fmt = fmt;
	o->fp = fp;
	for (i = 0; i < TABLE_NCOLS; i++)
		o->widths[i] = strlen(tcols[i]);
	return o;
}

void
audit_out_free(struct audit_out *o)
{
	free(o);
}

int
audit_out_record(const struct audit_record *r, void *arg)
{
	struct audit_out *o = arg;

	switch (o->fmt) {
	case AUDIT_FMT_JSON:
		return out_json(o, r) != 0 ? 1 : 0;
	case AUDIT_FMT_CSV:
		return out_csv(o, r) != 0 ? 1 : 0;
	case AUDIT_FMT_TABLE:
		break;
	}
	return out_table(o, r) != 0 ? 1 : 0;
}

int
audit_out_finish(struct audit_out *o)
{
	/* Headers even for an empty result, so scripts always see the columns. */
	if (o->fmt == AUDIT_FMT_TABLE)
		table_flush(o);
	else if (o->fmt == AUDIT_FMT_CSV)
		csv_header(o);
	if (fflush(o->fp) != 0 || ferror(o->fp))
		return -1;
	return 0;
}
