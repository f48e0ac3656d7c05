/*
 * audit_api.c - the security officers' JSON API under /eidgate/audit/api/ (PRODUCT.md
 * §6, §7): the records of their own organisation, never another's, a page at a time
 * with the total, the people in them named from the directory (national numbers
 * masked), per-day counts in Brussels time, CSV export and the log's verification
 * status.
 *
 * The filters are those of `eidgate audit query` plus two the pages need: a person
 * (name or national number: the records they made and the rights changes about them)
 * and the browser's own requests ("noise": a favicon, a touch icon, /.well-known/...
 * that no rule routes), shown apart so they do not read as attacks.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "eidgate/api.h"
#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "api/internal.h"

#define RECORDS_DEFAULT 50

/*
 * A request's filter values: from the query string of a GET, or from the JSON object of
 * a POST (the page's way: a national number never goes into a URL, PRODUCT.md §3, where
 * proxies, browser histories and server logs would keep it).
 */
struct params {
	struct request *r;
	struct audit_params a;          /* what the filter is read from (api/internal.h) */
};

static const char *
query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

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
	if (json_is_integer(j))         /* offset and limit may come as numbers */
		return NULL;
	if ((v = json_string_value(j)) == NULL)
		pa->bad = 1;
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A whole number within [min, max] (dflt when absent); -1 when malformed. */
static int
number(struct audit_params *pa, const char *name, long long min, long long max, long long dflt,
    long long *out)
{
	json_t *j = pa->body != NULL ? json_object_get(pa->body, name) : NULL;
	const char *v;

	*out = dflt;
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return *out >= min && *out <= max ? 0 : -1;
	}
	v = param(pa, name);
	return v == NULL ? 0 : eg_strtonum(v, min, max, out) == EG_OK ? 0 : -1;
}

/* Opens the request's parameters: 0, or -1 after answering (a malformed body, or a
 * national number in the URL). */
static int
params_open(struct request *r, struct params *pa, enum MHD_Result *ret)
{
	memset(pa, 0, sizeof(*pa));
	pa->r = r;
	pa->a.arg = query_arg;
	pa->a.ctx = r->conn;
	if (strcmp(r->method, "POST") == 0) {
		pa->a.body = json_loadb(r->body != NULL ? r->body : "", r->body_size,
		    JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(pa->a.body)) {
			json_decref(pa->a.body);
			*ret = respond_error(r, 400, "filter", "msg.filter-not-object");
			return -1;
		}
	} else if (MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "nrn") != NULL ||
	    MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "person") != NULL) {
		*ret = respond_error(r, 400, "nrn-in-url", NULL);
		return -1;
	}
	return 0;
}

int
api_officer_of(const struct request *r, const char *org)
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

enum MHD_Result
api_refuse_officer(struct request *r)
{
	if (record_decision(r, REC_REQUEST, 0, EG_ERR_DENIED, "not-security-officer", 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, 403, "not-security-officer", NULL);
}

/* Reading the access log is itself recorded: security officers are audited too. */
static int
logged(struct request *r)
{
	return record_read(r, "audit-read") == EG_OK;
}

/* The facilities of org with their names, for the page's facility filter. */
static json_t *
facilities_json(struct request *r, const char *org)
{
	const struct dir_facility_list *l = NULL;
	json_t *arr = json_array();
	size_t i;

	if (dir_facilities_of(r->gw->dir, org, &l) == EG_OK)
		for (i = 0; i < l->n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "id", l->items[i].id,
			    "name", l->items[i].name));
	dir_release(l);
	return arr;
}

/* The backends of the policy in force that receive pseudonyms (POST pseudonym). */
static json_t *
pseudonym_backends(const struct request *r)
{
	json_t *names = json_array();
	size_t i;

	for (i = 0; i < policy_backend_count(r->snap->policy); i++) {
		const struct policy_backend *b = policy_backend_at(r->snap->policy, i);
		if (b->subject == POLICY_SUBJECT_PSEUDONYM)
			json_array_append_new(names, json_string(b->name));
	}
	return names;
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
			json_array_append_new(orgs, json_pack("{s:s, s:s, s:o}", "id",
			    p->grants[i].scope, "name", o->found ? o->name : p->grants[i].scope,
			    "facilities", facilities_json(r, p->grants[i].scope)));
		dir_release(o);
	}
	if (json_array_size(orgs) == 0) {
		json_decref(orgs);
		return api_refuse_officer(r);
	}
	return respond_json_obj(r, 200, json_pack("{s:s, s:o, s:o}", "name", r->user.id.name,
	    "organisations", orgs, "pseudonym_backends", pseudonym_backends(r)));
}

/* ---- Brussels time ---------------------------------------------------------------- */

/* "YYYY-MM-DD" of the Brussels day of us. */
static void
brussels_day(int64_t us, char *out, size_t outlen)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	t += (time_t)eg_brussels_offset(t);
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d", &tm);
}

/* A filter time: a date is a Brussels day (its midnight; as upper bound, its end),
 * anything longer an ISO 8601 time. -1 when malformed. */
static int
filter_time(const char *v, int end_of_day, int64_t *us)
{
	if (v == NULL)
		return 0;
	if (eg_parse_time(v, us) != EG_OK)
		return -1;
	if (strlen(v) == 10) {
		*us -= eg_brussels_offset((time_t)(*us / 1000000)) * 1000000;
		if (end_of_day)
			*us += 86400LL * 1000000 - 1;
	}
	return 0;
}

/* ---- what is searched ------------------------------------------------------------- */


/* The filter of one request: the log's own fields, then the person and noise. */

/* Paths browsers ask for on their own, which no rule routes: their denials are noise. */
static int
is_noise(const struct audit_record *rec)
{
	static const char *const exact[] = { "/favicon.ico", "/robots.txt",
	    "/browserconfig.xml", "/site.webmanifest", "/manifest.json", "/sitemap.xml" };
	static const char *const prefixes[] = { "/apple-touch-icon", "/favicon",
	    "/.well-known/", "/mstile-" };
	size_t i;

	if (rec->decision == NULL || strcmp(rec->decision, "deny") != 0 || rec->path == NULL ||
	    rec->reason == NULL || (strcmp(rec->reason, "no-rule") != 0 &&
	    strcmp(rec->reason, "no-certificate") != 0))
		return 0;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(rec->path, exact[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(rec->path, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

static int
is_person(const struct audit_search *s, const char *nrn)
{
	size_t i;

	for (i = 0; nrn != NULL && i < s->nnrns; i++)
		if (strcmp(s->nrns[i], nrn) == 0)
			return 1;
	return 0;
}

/* The checks the log's query cannot make: the person (who acted, or whose rights were
 * changed) and noise. */
static int
matches(const struct audit_search *s, const struct audit_record *rec)
{
	int noise;

	if (s->person && !is_person(s, rec->nrn) && !is_person(s, rec->target))
		return 0;
	if (s->noise == NOISE_ALL)
		return 1;
	noise = is_noise(rec);
	return s->noise == NOISE_ONLY ? noise : !noise;
}

/* A person's text: a national number as people write it, or a part of a name, found
 * among the organisation's people (api/admin.c). 0, or -1 when the directory failed. */
static int
find_person(struct request *r, struct audit_search *s, const char *org, const char *text)
{
	char nrn[EG_NRN_LEN + 1];

	s->person = 1;
	if (api_nrn_of(text, nrn) == 0) {
		eg_strlcpy(s->nrns[0], nrn, sizeof(s->nrns[0]));
		s->nnrns = 1;
		return 0;
	}
	return api_people_named(r, org, text, s->nrns, EG_MAX_PERSON_MATCHES, &s->nnrns);
}

int
api_audit_search(struct audit_params *pa, struct audit_search *s, long long dflt_limit,
    long long max_limit)
{
	const char *noise = param(pa, "noise"), *person = param(pa, "person");

	memset(s, 0, sizeof(*s));
	s->person_text = person;
	s->f.org = param(pa, "org");
	s->f.nrn = param(pa, "nrn");
	s->f.facility = param(pa, "facility");
	s->f.decision = param(pa, "decision");
	s->f.kind = param(pa, "kind");
	s->f.newest_first = 1;
	if (filter_time(param(pa, "since"), 0, &s->f.since_us) != 0 ||
	    filter_time(param(pa, "until"), 1, &s->f.until_us) != 0 ||
	    number(pa, "offset", 0, EG_MAX_AUDIT_CSV, 0, &s->offset) != 0 ||
	    number(pa, "limit", 1, max_limit, dflt_limit, &s->limit) != 0 || pa->bad ||
	    (person != NULL && strlen(person) > EG_MAX_ADMIN_Q))
		return -1;
	if (noise != NULL && strcmp(noise, "hide") != 0 && strcmp(noise, "only") != 0)
		return -1;
	s->noise = noise == NULL ? NOISE_ALL : strcmp(noise, "hide") == 0 ? NOISE_HIDE :
	    NOISE_ONLY;
	return 0;
}

/* Reads the filter and finds the person asked for; the caller checks that the
 * organisation is the officer's. The strings stay valid as long as pa. 0, -1
 * (malformed) or -2 (directory failed). */
static int
read_search(struct params *pa, struct audit_search *s, long long dflt_limit,
    long long max_limit)
{
	if (api_audit_search(&pa->a, s, dflt_limit, max_limit) != 0)
		return -1;
	if (s->person_text != NULL && s->f.org != NULL && api_officer_of(pa->r, s->f.org) &&
	    find_person(pa->r, s, s->f.org, s->person_text) != 0)
		return -2;
	return 0;
}

/* Answers a search that read_search refused (rc -1 or -2). */
static enum MHD_Result
refuse_search(struct request *r, int rc)
{
	return rc == -2 ? respond_error(r, 503, "directory-unavailable", NULL) :
	    respond_error(r, 400, "filter", NULL);
}

/* ---- a page of records ------------------------------------------------------------ */

struct page {
	const struct audit_search *s;
	struct audit_out *out;          /* the records of the page (or the export) */
	long long total;
};

static int
page_record(const struct audit_record *rec, void *arg)
{
	struct page *pg = arg;

	if (!matches(pg->s, rec))
		return 0;
	if (pg->total >= pg->s->offset && pg->total < pg->s->offset + pg->s->limit &&
	    audit_out_record(rec, pg->out) != 0)
		return 1;
	pg->total++;
	return 0;
}

/* The records of s, newest first, the page of them in fmt into a malloc'd buffer; every
 * match is counted (*total). NULL when the log cannot be read. */
static char *
walk(struct request *r, const struct audit_search *s, enum audit_fmt fmt, size_t *len,
    long long *total)
{
	struct page pg = { s, NULL, 0 };
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);
	int rc = EG_ERR_AUDIT;

	if (mem != NULL && (pg.out = audit_out_new(fmt, mem)) != NULL) {
		rc = audit_query_merged_live(r->gw->audit, r->gw->witness, &s->f, page_record, &pg);
		if (audit_out_finish(pg.out) != 0)
			rc = EG_ERR_AUDIT;
		audit_out_free(pg.out);
	}
	if (mem == NULL || fclose(mem) != 0 || rc != EG_OK) {
		free(buf);
		return NULL;
	}
	*total = pg.total;
	return buf;
}

/* {"name","nrn_masked"} of a national number, looked up once per page (cache). */
static json_t *
person_json(struct request *r, json_t *cache, const char *nrn)
{
	const struct dir_person *p = NULL;
	char masked[16];
	json_t *j;

	if (nrn == NULL)
		return NULL;
	if ((j = json_object_get(cache, nrn)) != NULL)
		return j;
	log_mask_nrn(nrn, masked, sizeof(masked));
	j = json_pack("{s:s, s:s?}", "nrn_masked", masked, "name",
	    dir_person(r->gw->dir, nrn, &p) == EG_OK && p->found ? p->name : NULL);
	dir_release(p);
	json_object_set_new(cache, nrn, j);
	return j;
}

/* The name of a place ("facility:x", "organisation:n" or a facility id), or NULL. */
static json_t *
place_json(struct request *r, const char *scope, int is_facility_id)
{
	const struct dir_facility *f = NULL;
	const struct dir_org *o = NULL;
	struct dir_scope ds;
	json_t *j = NULL;

	memset(&ds, 0, sizeof(ds));
	if (is_facility_id && scope != NULL) {
		ds.kind = EG_SCOPE_FACILITY;
		eg_strlcpy(ds.id, scope, sizeof(ds.id));
	} else if (scope == NULL || dir_scope_parse(scope, &ds) != EG_OK) {
		return NULL;
	}
	if (ds.kind == EG_SCOPE_FACILITY && dir_facility(r->gw->dir, ds.id, &f) == EG_OK &&
	    f->found)
		j = json_string(f->name);
	else if (ds.kind == EG_SCOPE_ORGANISATION && dir_org(r->gw->dir, ds.id, &o) == EG_OK &&
	    o->found)
		j = json_string(o->name);
	dir_release(f);
	dir_release(o);
	return j;
}

/* Adds who and where, by name, to one record of the page (an object from the log). */
static void
describe(struct request *r, json_t *rec, json_t *cache)
{
	static const char *const who[][2] = { { "nrn", "person" }, { "actor", "actor_person" },
	    { "target", "target_person" } };
	struct audit_record probe;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++)
		if ((j = person_json(r, cache, json_string_value(json_object_get(rec,
		    who[i][0])))) != NULL)
			json_object_set(rec, who[i][1], j);
	json_object_set_new(rec, "scope_name", place_json(r, json_string_value(
	    json_object_get(rec, "scope")), 0));
	json_object_set_new(rec, "facility_name", place_json(r, json_string_value(
	    json_object_get(rec, "facility")), 1));
	memset(&probe, 0, sizeof(probe));
	probe.decision = json_string_value(json_object_get(rec, "decision"));
	probe.reason = json_string_value(json_object_get(rec, "reason"));
	probe.path = json_string_value(json_object_get(rec, "path"));
	json_object_set_new(rec, "noise", json_boolean(is_noise(&probe)));
}

/* JSON lines of the page -> an array of described records. */
static json_t *
records_json(struct request *r, const char *lines, size_t len)
{
	json_t *arr = json_array(), *cache = json_object(), *rec;
	const char *p = lines, *end = lines + len, *nl;

	for (; arr != NULL && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((rec = json_loadb(p, (size_t)(nl - p), 0, NULL)) == NULL)
			continue;
		describe(r, rec, cache);
		json_array_append_new(arr, rec);
	}
	json_decref(cache);
	return arr;
}

static enum MHD_Result
records(struct request *r, struct params *pa)
{
	const char *fmt = param(&pa->a, "format");
	int csv = fmt != NULL && strcmp(fmt, "csv") == 0, rc;
	struct audit_search s;
	long long total = 0;
	enum MHD_Result ret;
	size_t len = 0;
	char *out;

	if ((rc = read_search(pa, &s, csv ? EG_MAX_AUDIT_CSV : RECORDS_DEFAULT,
	    csv ? EG_MAX_AUDIT_CSV : EG_MAX_PAGE)) != 0)
		return refuse_search(r, rc);
	if (!api_officer_of(r, s.f.org))
		return api_refuse_officer(r);
	if (!logged(r))
		return respond_audit_unavailable(r);
	if ((out = walk(r, &s, csv ? AUDIT_FMT_CSV : AUDIT_FMT_JSON, &len, &total)) == NULL)
		return respond_error(r, 503, "audit-unavailable", "msg.log-unreadable");
	if (csv)
		return respond_take(r, 200, "text/csv; charset=utf-8", out, len);
	ret = respond_json_obj(r, 200, json_pack("{s:o, s:I, s:I, s:I}", "records",
	    records_json(r, out, len), "total", (json_int_t)total, "offset",
	    (json_int_t)s.offset, "limit", (json_int_t)s.limit));
	free(out);
	return ret;
}

/* Runs fn with the request's parameters (params_open), then lets them go. */
static enum MHD_Result
with_params(struct request *r, enum MHD_Result (*fn)(struct request *, struct params *))
{
	struct params pa;
	enum MHD_Result ret;

	if (params_open(r, &pa, &ret) != 0)
		return ret;
	ret = fn(r, &pa);
	json_decref(pa.a.body);
	return ret;
}

enum MHD_Result
api_audit_records(struct request *r)
{
	return with_params(r, records);
}

/* ---- counts per day --------------------------------------------------------------- */

struct days {
	const struct audit_search *s;
	json_t *days;                   /* newest day first while counting */
};

/* Counts per Brussels day: allowed, denied, and the browser's own requests apart. */
static int
count_day(const struct audit_record *rec, void *arg)
{
	struct days *d = arg;
	json_t *last = json_array_get(d->days, json_array_size(d->days) - 1), *v;
	const char *series = is_noise(rec) ? "noise" : rec->decision != NULL &&
	    strcmp(rec->decision, "allow") == 0 ? "allow" : "deny";
	char day[16];

	if (!matches(d->s, rec))
		return 0;
	brussels_day(rec->time_us, day, sizeof(day));
	if (last == NULL || strcmp(json_string_value(json_object_get(last, "day")), day) != 0) {
		last = json_pack("{s:s, s:i, s:i, s:i}", "day", day, "allow", 0, "deny", 0,
		    "noise", 0);
		if (last == NULL || json_array_append_new(d->days, last) != 0)
			return -1;
	}
	v = json_object_get(last, series);
	return json_integer_set(v, json_integer_value(v) + 1);
}

/* Oldest day first, as a chart reads. */
static json_t *
reversed(json_t *arr)
{
	json_t *out = json_array();
	size_t i, n = json_array_size(arr);

	for (i = 0; out != NULL && i < n; i++)
		json_array_append(out, json_array_get(arr, n - 1 - i));
	json_decref(arr);
	return out;
}

static enum MHD_Result
stats(struct request *r, struct params *pa)
{
	struct audit_search s;
	struct days d;
	char since[16], until[16];
	int rc;

	if ((rc = read_search(pa, &s, 1, EG_MAX_AUDIT_CSV)) != 0)   /* paging is ignored */
		return refuse_search(r, rc);
	if (!api_officer_of(r, s.f.org))
		return api_refuse_officer(r);
	if (!logged(r))
		return respond_audit_unavailable(r);
	s.f.limit = 0;
	if (s.f.since_us == 0)
		s.f.since_us = (s.f.until_us != 0 ? s.f.until_us : eg_now_us()) -
		    29LL * 86400 * 1000000;
	d.s = &s;
	if ((d.days = json_array()) == NULL)
		return respond_error(r, 500, "internal", NULL);
	if (audit_query_merged_live(r->gw->audit, r->gw->witness, &s.f, count_day, &d) != EG_OK) {
		json_decref(d.days);
		return respond_error(r, 503, "audit-unavailable", "msg.log-unreadable");
	}
	brussels_day(s.f.since_us, since, sizeof(since));
	brussels_day(s.f.until_us != 0 ? s.f.until_us : eg_now_us(), until, sizeof(until));
	return respond_json_obj(r, 200, json_pack("{s:o, s:s, s:s}", "days", reversed(d.days),
	    "since", since, "until", until));
}

enum MHD_Result
api_audit_stats(struct request *r)
{
	return with_params(r, stats);
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

	if (!api_officer_of(r, org))
		return api_refuse_officer(r);
	if (audit_verify_live(r->gw->audit, &st) != EG_OK)
		return respond_json_obj(r, 200, json_pack("{s:b, s:s, s:s, s:s}", "ok", 0,
		    "organisation", org, "reason", "log-broken", "error",
		    i18n_message(r, NULL, "log-broken", 200)));
	if (audit_count_org_live(r->gw->audit, org, &mine) != EG_OK)
		return respond_error(r, 503, "audit-unavailable", "msg.log-unreadable");
	return respond_json_obj(r, 200, json_pack("{s:b, s:s, s:I}", "ok", 1, "organisation",
	    org, "records", (json_int_t)mine));
}

/* ---- the feed for the peers' witnesses -------------------------------------------- */

static int
feed_number(struct request *r, const char *name, long long max, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	long long n = 0;

	if (v == NULL || eg_strtonum(v, 0, max, &n) != EG_OK)
		return -1;
	*out = (uint64_t)n;
	return 0;
}

enum MHD_Result
api_audit_feed(struct request *r)
{
	const char *sig = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "X-Eidgate-Witness");
	uint64_t after = 0, limit = 0;
	size_t len = 0;
	char *out = NULL;

	if (feed_number(r, "after", LLONG_MAX, &after) != 0 ||
	    feed_number(r, "limit", AUDIT_FEED_MAX_RECORDS, &limit) != 0)
		return respond_error(r, 400, "filter", NULL);
	/* Records hold national numbers: only a peer's witness, by its key, reads them. */
	if (!audit_witness_authorized(r->gw->witness, sig, after, limit))
		return respond_refused(r, REC_REQUEST, 403, EG_ERR_DENIED, "msg.witness-refused");
	if (audit_feed_live(r->gw->audit, after, (size_t)limit, &out, &len) != EG_OK)
		return respond_error(r, 503, "audit-unavailable", "msg.log-unreadable");
	return respond_take(r, 200, "application/json", out, len);
}

/* The asker's parameters, checked (audit_receipt_ask_parse); on a bad one, *why. */
static int
receipt_ask(struct request *r, struct audit_receipt_ask *a, const char **why)
{
	const char *inst = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "instance");
	const char *seq = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "seq");
	const char *hash = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "hash");

	return audit_receipt_ask_parse(inst, seq, hash, a, why);
}

enum MHD_Result
api_audit_receipt(struct request *r)
{
	struct audit_receipt_ask a;
	struct audit_receipt rc;
	const char *why = NULL;
	char *out;
	int found, status = 500;

	/* A receipt tells when and how much the gateway served: only the backends ask. */
	if (!eg_list_has(r->snap->cfg.audit_receipt_from, r->client))
		return respond_refused(r, REC_REQUEST, 403, EG_ERR_DENIED, "msg.receipt-refused");
	if (receipt_ask(r, &a, &why) != EG_OK)
		return respond_json_obj(r, 400, json_pack("{s:b,s:s,s:s}", "confirmed", 0,
		    "reason", "bad-request", "explanation", why));
	found = audit_receipt_live(r->gw->audit, a.seq, &rc);
	if (found == EG_ERR_AUDIT)
		return respond_error(r, 503, "audit-unavailable", "msg.log-unreadable");
	out = audit_receipt_json(audit_instance_name(r->gw->audit), &a, found == EG_OK, &rc,
	    &status);
	if (out == NULL)
		return respond_error(r, 500, "internal", NULL);
	return respond_take(r, (unsigned)status, "application/json", out, strlen(out));
}
