/*
 * audit_api.c - the security officers' JSON API under /eidgate/audit/api/ (PRODUCT.md
 * §6, §7): the records of their own organisation, never another's, per-day counts,
 * CSV export and the log's verification status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/api.h"
#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "api/internal.h"

#define RECORDS_DEFAULT 200

/*
 * A request's filter values (struct audit_params, api/internal.h): from the query string
 * of a GET, or from the JSON object of a POST (the page's way: a national number never
 * goes into a URL, PRODUCT.md §3, where proxies, browser histories and server logs would
 * keep it).
 */
static const char *
param(struct audit_params *pa, const char *name)
{
	const char *v;
	json_t *j;

	if (pa->body == NULL) {
		v = pa->arg != NULL ? pa->arg(pa->ctx, name) : NULL;
		return v != NULL && v[0] != '\0' ? v : NULL;
	}
	if ((j = json_object_get(pa->body, name)) == NULL || json_is_null(j))
		return NULL;
	if ((v = json_string_value(j)) == NULL)
		pa->bad = 1;
	return v != NULL && v[0] != '\0' ? v : NULL;
}

static const char *
query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* Opens the request's parameters: 0, or -1 after answering (a malformed body, or a
 * national number in the URL). */
static int
params_open(struct request *r, struct audit_params *pa, enum MHD_Result *ret)
{
	memset(pa, 0, sizeof(*pa));
	pa->arg = query_arg;
	pa->ctx = r->conn;
	if (strcmp(r->method, "POST") == 0) {
		pa->body = json_loadb(r->body != NULL ? r->body : "", r->body_size,
		    JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(pa->body)) {
			json_decref(pa->body);
			*ret = respond_error(r, 400, "filter", "The filter is not a JSON object.");
			return -1;
		}
	} else if (MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "nrn") != NULL) {
		*ret = respond_error(r, 400, "nrn-in-url",
		    "A national number is never put into a URL; send it in a POST body.");
		return -1;
	}
	return 0;
}

/* Is the user security officer of organisation org? */
static int
officer_of(const struct request *r, const char *org)
{
	const struct dir_person *p = r->user.person;
	size_t i;

	for (i = 0; p != NULL && org != NULL && i < p->ngrants; i++)
		if (p->grants[i].kind == EG_SCOPE_ORGANISATION &&
		    strcmp(p->grants[i].role, "security-officer") == 0 &&
		    strcmp(p->grants[i].scope, org) == 0)
			return 1;
	return 0;
}

static enum MHD_Result
refuse_officer(struct request *r)
{
	if (record_decision(r, REC_REQUEST, 0, EG_ERR_DENIED, "not-security-officer", 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, 403, "not-security-officer",
	    "Only a security officer of this organisation may read its access log.");
}

/* Reading the access log is itself recorded: security officers are audited too. */
static int
logged(struct request *r)
{
	return record_read(r, "audit-read") == EG_OK;
}

enum MHD_Result
api_audit_scope(struct request *r)
{
	const struct dir_person *p = r->user.person;
	json_t *orgs = json_array();
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++) {
		const struct dir_org *o = NULL;
		if (p->grants[i].kind != EG_SCOPE_ORGANISATION ||
		    strcmp(p->grants[i].role, "security-officer") != 0)
			continue;
		if (dir_org(r->gw->dir, p->grants[i].scope, &o) == EG_OK)
			json_array_append_new(orgs, json_pack("{s:s, s:s}", "id", p->grants[i].scope,
			    "name", o->found ? o->name : p->grants[i].scope));
		dir_release(o);
	}
	if (json_array_size(orgs) == 0) {
		json_decref(orgs);
		return refuse_officer(r);
	}
	return respond_json_obj(r, 200, json_pack("{s:s, s:o}", "name", r->user.id.name,
	    "organisations", orgs));
}

int
api_audit_filter(struct audit_params *pa, struct audit_filter *f, uint64_t dflt_limit)
{
	const char *since = param(pa, "since"), *until = param(pa, "until");
	const char *limit = param(pa, "limit");
	long long n;

	memset(f, 0, sizeof(*f));
	f->org = param(pa, "org");
	f->nrn = param(pa, "nrn");
	f->facility = param(pa, "facility");
	f->decision = param(pa, "decision");
	f->kind = param(pa, "kind");
	f->limit = dflt_limit;
	if (pa->bad)
		return -1;
	if ((since != NULL && eg_parse_time(since, &f->since_us) != EG_OK) ||
	    (until != NULL && eg_parse_time(until, &f->until_us) != EG_OK))
		return -1;
	/* A date as upper bound means the whole day. */
	if (until != NULL && strlen(until) == 10)
		f->until_us += 86400LL * 1000000 - 1;
	if (limit != NULL) {
		if (eg_strtonum(limit, 1, EG_MAX_AUDIT_RECORDS, &n) != EG_OK)
			return -1;
		f->limit = (uint64_t)n;
	}
	return 0;
}

/* Runs the export into memory. */
static char *
export(struct request *r, const struct audit_filter *f, enum audit_export_fmt fmt, size_t *len)
{
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);
	int rc;

	if (mem == NULL)
		return NULL;
	rc = audit_export_live(r->gw->audit, f, fmt, mem);
	if (fclose(mem) != 0 || rc != EG_OK) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* JSON lines (newest first) -> {"records":[...]}, without parsing them again: each line
 * is already one JSON object, so the lines only need commas between them. */
static enum MHD_Result
reply_records(struct request *r, char *lines, size_t len)
{
	char *out = malloc(len + 32), *p = lines, *end = lines + len, *nl;
	enum MHD_Result ret;
	size_t o;

	if (out == NULL) {
		free(lines);
		return respond_error(r, 500, "internal", "The gateway could not answer.");
	}
	o = (size_t)snprintf(out, len + 32, "{\"records\":[");
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p)
			continue;
		if (out[o - 1] != '[')
			out[o++] = ',';
		memcpy(out + o, p, (size_t)(nl - p));
		o += (size_t)(nl - p);
	}
	memcpy(out + o, "]}", 3);
	free(lines);
	ret = respond_buffer(r, 200, "application/json", out, o + 2);
	free(out);
	return ret;
}

static enum MHD_Result
records(struct request *r, struct audit_params *pa)
{
	struct audit_filter f;
	const char *fmt = param(pa, "format");
	int csv = fmt != NULL && strcmp(fmt, "csv") == 0;
	enum MHD_Result ret;
	size_t len = 0;
	char *out;

	if (api_audit_filter(pa, &f, csv ? EG_MAX_AUDIT_CSV : RECORDS_DEFAULT) != 0)
		return respond_error(r, 400, "filter", "A filter value is malformed.");
	if (!officer_of(r, f.org))
		return refuse_officer(r);
	if (!logged(r))
		return respond_error(r, 503, "audit-unavailable", "The access log cannot be written.");
	f.newest_first = 1;
	if ((out = export(r, &f, csv ? AUDIT_EXPORT_CSV : AUDIT_EXPORT_JSON, &len)) == NULL)
		return respond_error(r, 503, "audit-unavailable", "The access log cannot be read.");
	if (!csv)
		return reply_records(r, out, len);
	ret = respond_buffer(r, 200, "text/csv; charset=utf-8", out, len);
	free(out);
	return ret;
}

enum MHD_Result
api_audit_records(struct request *r)
{
	struct audit_params pa;
	enum MHD_Result ret;

	if (params_open(r, &pa, &ret) != 0)
		return ret;
	ret = records(r, &pa);
	json_decref(pa.body);
	return ret;
}

/* Counts per UTC day and decision, oldest day first (records come oldest first). */
static int
count_day(const struct audit_record *rec, void *arg)
{
	json_t *days = arg, *last = json_array_get(days, json_array_size(days) - 1), *v;
	const char *d = rec->decision != NULL && strcmp(rec->decision, "allow") == 0 ?
	    "allow" : "deny";
	char day[40];

	eg_format_time(rec->time_us, day, sizeof(day));
	day[10] = '\0';
	if (last == NULL || strcmp(json_string_value(json_object_get(last, "day")), day) != 0) {
		last = json_pack("{s:s, s:i, s:i}", "day", day, "allow", 0, "deny", 0);
		if (last == NULL || json_array_append_new(days, last) != 0)
			return -1;
	}
	v = json_object_get(last, d);
	return json_integer_set(v, json_integer_value(v) + 1);
}

static enum MHD_Result
stats(struct request *r, struct audit_params *pa)
{
	struct audit_filter f;
	json_t *days;

	if (api_audit_filter(pa, &f, 0) != 0)
		return respond_error(r, 400, "filter", "A filter value is malformed.");
	if (!officer_of(r, f.org))
		return refuse_officer(r);
	if (!logged(r))
		return respond_error(r, 503, "audit-unavailable", "The access log cannot be written.");
	if (f.since_us == 0)
		f.since_us = eg_now_us() - 30LL * 86400 * 1000000;
	if ((days = json_array()) == NULL)
		return respond_error(r, 500, "internal", "The gateway could not answer.");
	if (audit_query_live(r->gw->audit, &f, count_day, days) != EG_OK) {
		json_decref(days);
		return respond_error(r, 503, "audit-unavailable", "The access log cannot be read.");
	}
	return respond_json_obj(r, 200, json_pack("{s:o}", "days", days));
}

enum MHD_Result
api_audit_stats(struct request *r)
{
	struct audit_params pa;
	enum MHD_Result ret;

	if (params_open(r, &pa, &ret) != 0)
		return ret;
	ret = stats(r, &pa);
	json_decref(pa.body);
	return ret;
}

/* The chain is one for all organisations, so whether it verifies is everyone's to know;
 * how many records it holds and its head are not: an officer learns the count of their
 * own organisation's records only. */
enum MHD_Result
api_audit_verify(struct request *r)
{
	const char *org = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "org");
	struct audit_live_status st;
	uint64_t mine = 0;

	if (!officer_of(r, org))
		return refuse_officer(r);
	if (audit_verify_live(r->gw->audit, &st) != EG_OK)
		return respond_json_obj(r, 200, json_pack("{s:b, s:s, s:s}", "ok", 0,
		    "organisation", org, "error", "The access log does not verify."));
	if (audit_count_org_live(r->gw->audit, org, &mine) != EG_OK)
		return respond_error(r, 503, "audit-unavailable", "The access log cannot be read.");
	return respond_json_obj(r, 200, json_pack("{s:b, s:s, s:I}", "ok", 1, "organisation",
	    org, "records", (json_int_t)mine));
}
