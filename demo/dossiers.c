/*
 * dossiers.c - eidgate-demo-dossiers, a stand-in for INSISTO, the ITP's dossier system
 * behind the gateway: A-documents submitted by facilities and the indication reports
 * of the five regional access gates, kept in memory with demo content (DOMAIN.md).
 *
 *   POST      /dossiers/a-documents                      submit an A-document, 201
 *   GET|HEAD  /dossiers/facilities/{f}/a-documents       submitted by that facility
 *   GET|HEAD  /dossiers/regions/{r}/a-documents          submitted to that region's ITP
 *   GET|HEAD  /dossiers/regions/{r}/indication-reports   that ITP's indication reports
 *   DELETE    anything                                   405: INSISTO never deletes
 *
 * Minors appear only by pseudonym: the demo holds no personal data.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eidgate/util.h"

#include "demo/internal.h"

/* Pseudonyms and ids are short codes; the help request is a paragraph of free text. */
#define DOS_MAX_CODE 64
#define DOS_MAX_TEXT 2000

struct seed_adoc {
	unsigned int sa_seq;
	const char *sa_pseudonym;
	const char *sa_region;
	const char *sa_facility;
	const char *sa_date;      /* MM-DD of the current year */
	const char *sa_status;
};

static const struct seed_adoc seed_adocs[] = {
	{ 117, "MIN-4K7Q2P", "limburg", "ckg-molenberg", "01-12", "indicatiestelling afgerond" },
	{ 118, "MIN-9T3W8D", "antwerpen", "ckg-betlehem", "01-19", "indicatiestelling afgerond" },
	{ 119, "MIN-2H6R5M", "west-vlaanderen", "cig-ten-anker", "02-02", "in behandeling" },
	{ 120, "MIN-7C1X4N", "oost-vlaanderen", "ckg-den-boomgaard", "02-09",
	  "indicatiestelling afgerond" },
	{ 121, "MIN-5B8L3F", "vlaams-brabant-brussel", "ckg-de-schommel", "02-16",
	  "indicatiestelling afgerond" },
	{ 122, "MIN-3V9J6Q", "limburg", "ckg-molenberg", "02-23", "ingediend" },
};

struct seed_report {
	unsigned int sr_seq;
	unsigned int sr_adoc_seq;
	const char *sr_pseudonym;
	const char *sr_region;
	const char *sr_date;
	const char *sr_modules[3][2];  /* type module id and name; NULL ends the list */
};

static const struct seed_report seed_reports[] = {
	{ 41, 117, "MIN-4K7Q2P", "limburg", "01-30",
	  { { "tm-verblijf", "Verblijf" }, { "tm-contextbegeleiding", "Contextbegeleiding" } } },
	{ 42, 118, "MIN-9T3W8D", "antwerpen", "02-05",
	  { { "tm-dagbegeleiding-groep", "Dagbegeleiding in groep" },
	    { "tm-contextbegeleiding", "Contextbegeleiding" } } },
	{ 43, 120, "MIN-7C1X4N", "oost-vlaanderen", "02-20",
	  { { "tm-diagnostiek", "Diagnostiek" }, { "tm-verblijf", "Verblijf" } } },
	{ 44, 121, "MIN-5B8L3F", "vlaams-brabant-brussel", "03-02",
	  { { "tm-crisisverblijf", "Crisisverblijf" },
	    { "tm-crisisbegeleiding", "Crisisbegeleiding" },
	    { "tm-contextbegeleiding", "Contextbegeleiding" } } },
};

/* The A-document store. MHD's two threads both route, so every access holds dos_lock;
 * replies carry deep copies made under the lock. dos_year and the reports are written
 * once in dos_init, before the daemon starts, and only read afterwards. */
static pthread_mutex_t dos_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *dos_adocs;
static json_t *dos_reports;
static unsigned int dos_next_seq = 123;
static int dos_year;

static int
current_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now == (time_t)-1 || gmtime_r(&now, &tm) == NULL)
		return 2026;
	return tm.tm_year + 1900;
}

static void
adoc_id(unsigned int seq, char *out, size_t outlen)
{
	snprintf(out, outlen, "A-%04d-%06u", dos_year, seq);
}

static json_t *
seed_adoc_json(const struct seed_adoc *s)
{
	char id[32], date[16];

	adoc_id(s->sa_seq, id, sizeof(id));
	snprintf(date, sizeof(date), "%04d-%s", dos_year, s->sa_date);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id,
	    "minor_pseudonym", s->sa_pseudonym, "region", s->sa_region,
	    "facility", s->sa_facility, "submitted", date, "status", s->sa_status);
}

static json_t *
seed_modules_json(const struct seed_report *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < 3 && s->sr_modules[i][0] != NULL; i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:s}",
		    "id", s->sr_modules[i][0], "name", s->sr_modules[i][1])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *
seed_report_json(const struct seed_report *s)
{
	char id[32], adoc[32], date[16];

	snprintf(id, sizeof(id), "IV-%04d-%06u", dos_year, s->sr_seq);
	adoc_id(s->sr_adoc_seq, adoc, sizeof(adoc));
	snprintf(date, sizeof(date), "%04d-%s", dos_year, s->sr_date);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", id,
	    "a_document", adoc, "minor_pseudonym", s->sr_pseudonym, "region", s->sr_region,
	    "date", date, "type_modules", seed_modules_json(s),
	    "status", "doorgestuurd naar jeugdhulpregie");
}

static int
dos_init(void)
{
	size_t i;

	dos_year = current_year();
	dos_adocs = json_array();
	dos_reports = json_array();
	if (dos_adocs == NULL || dos_reports == NULL)
		return -1;
	for (i = 0; i < sizeof(seed_adocs) / sizeof(seed_adocs[0]); i++)
		if (json_array_append_new(dos_adocs, seed_adoc_json(&seed_adocs[i])) != 0)
			return -1;
	for (i = 0; i < sizeof(seed_reports) / sizeof(seed_reports[0]); i++)
		if (json_array_append_new(dos_reports, seed_report_json(&seed_reports[i])) != 0)
			return -1;
	return 0;
}

static void
dos_fini(void)
{
	json_decref(dos_adocs);
	json_decref(dos_reports);
	dos_adocs = dos_reports = NULL;
}

/* Copies the entries of `list` whose `key` equals `value`. Takes dos_lock: the
 * A-document list changes under concurrent POSTs. */
static json_t *
select_where(json_t *list, const char *key, const char *value)
{
	json_t *out = json_array(), *e;
	size_t i;

	if (out == NULL || pthread_mutex_lock(&dos_lock) != 0) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach(list, i, e) {
		const char *v = json_string_value(json_object_get(e, key));
		if (v != NULL && strcmp(v, value) == 0 &&
		    json_array_append_new(out, json_deep_copy(e)) != 0) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&dos_lock);
	return out;
}

/* ---- submitting an A-document ---- */

/* Clients write either "minor_pseudonym" or the shorter "pseudonym" (the interface
 * description only says "the minor's pseudonym"); the reply always says
 * "minor_pseudonym". */
static const char *
read_pseudonym(const struct bk_call *call, json_t *body, int *failed,
    enum MHD_Result *result)
{
	const char *key = json_object_get(body, "minor_pseudonym") == NULL &&
	    json_object_get(body, "pseudonym") != NULL ? "pseudonym" : "minor_pseudonym";

	return bk_string_field(call, body, key, DOS_MAX_CODE, 1, failed, result);
}

/* Returns a copy of the stored A-document, or NULL when out of memory. */
static json_t *
store_adoc(const char *pseudonym, const char *region, const char *facility,
    const char *request)
{
	char id[32], now[40];
	json_t *doc, *copy = NULL;

	eg_format_time(eg_now_us(), now, sizeof(now));
	if (pthread_mutex_lock(&dos_lock) != 0)
		return NULL;
	adoc_id(dos_next_seq, id, sizeof(id));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "id", id,
	    "minor_pseudonym", pseudonym, "region", region, "facility", facility,
	    "submitted", now, "status", "ingediend", "hulpvraag", request);
	if (doc != NULL && (copy = json_deep_copy(doc)) != NULL &&
	    json_array_append(dos_adocs, doc) == 0) {
		dos_next_seq++;
	} else {
		json_decref(copy);
		copy = NULL;
	}
	json_decref(doc);
	pthread_mutex_unlock(&dos_lock);
	return copy;
}

static enum MHD_Result
submit_reply(const struct bk_call *call)
{
	const char *pseudonym, *region, *facility, *request;
	enum MHD_Result ret;
	int failed = 0;
	json_t *body, *doc;

	if ((body = bk_body_object(call, &ret)) == NULL)
		return ret;
	pseudonym = read_pseudonym(call, body, &failed, &ret);
	region = failed ? NULL : bk_string_field(call, body, "region", DOS_MAX_CODE, 1,
	    &failed, &ret);
	facility = failed ? NULL : bk_string_field(call, body, "facility", DOS_MAX_CODE, 1,
	    &failed, &ret);
	request = failed ? NULL : bk_string_field(call, body, "hulpvraag", DOS_MAX_TEXT, 0,
	    &failed, &ret);
	if (!failed && !bk_region_valid(region)) {
		failed = 1;
		ret = bk_reply_error_field(call, MHD_HTTP_BAD_REQUEST, "unknown region", "region");
	} else if (!failed && bk_facility_find(facility) == NULL) {
		failed = 1;
		ret = bk_reply_error_field(call, MHD_HTTP_BAD_REQUEST, "unknown facility",
		    "facility");
	}
	doc = failed ? NULL : store_adoc(pseudonym, region, facility, request);
	json_decref(body);
	if (failed)
		return ret;
	if (doc == NULL)
		return bk_reply_error(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return bk_reply_json(call, MHD_HTTP_CREATED, json_pack("{s:o}", "a_document", doc));
}

/* ---- routing ---- */

static enum MHD_Result
facility_route(const struct bk_call *call)
{
	const struct bk_facility *f;

	if (strcmp(call->bc_seg[3], "a-documents") != 0)
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "not found");
	if ((f = bk_facility_find(call->bc_seg[2])) == NULL)
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "unknown facility");
	if (!bk_is_read(call->bc_method))
		return bk_reply_405(call, "GET, HEAD");
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:s, s:o}", "facility", f->bf_id,
	    "a_documents", select_where(dos_adocs, "facility", f->bf_id)));
}

static enum MHD_Result
region_route(const struct bk_call *call)
{
	const char *region = call->bc_seg[2], *what = call->bc_seg[3];
	json_t *list;

	if (strcmp(what, "a-documents") == 0)
		list = dos_adocs;
	else if (strcmp(what, "indication-reports") == 0)
		list = dos_reports;
	else
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "not found");
	if (!bk_region_valid(region))
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "unknown region");
	if (!bk_is_read(call->bc_method))
		return bk_reply_405(call, "GET, HEAD");
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:s, s:o}", "region", region,
	    list == dos_adocs ? "a_documents" : "indication_reports",
	    select_where(list, "region", region)));
}

/* DELETE is refused before routing: INSISTO keeps every document, whatever the path. */
static enum MHD_Result
dos_route(const struct bk_call *call)
{
	const char *const *s = call->bc_seg;
	size_t n = call->bc_nseg;

	if (strcmp(call->bc_method, MHD_HTTP_METHOD_DELETE) == 0)
		return bk_reply_405(call, "GET, HEAD, POST");
	if (n == 2 && strcmp(s[0], "dossiers") == 0 && strcmp(s[1], "a-documents") == 0) {
		if (strcmp(call->bc_method, MHD_HTTP_METHOD_POST) != 0)
			return bk_reply_405(call, "POST");
		return submit_reply(call);
	}
	if (n == 4 && strcmp(s[0], "dossiers") == 0 && strcmp(s[1], "facilities") == 0)
		return facility_route(call);
	if (n == 4 && strcmp(s[0], "dossiers") == 0 && strcmp(s[1], "regions") == 0)
		return region_route(call);
	return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "not found");
}

int
main(int argc, char **argv)
{
	static const struct bk_app app = {
		.ba_default_name = "dossiers",
		.ba_init = dos_init,
		.ba_route = dos_route,
		.ba_fini = dos_fini,
	};

	return bk_main(argc, argv, &app);
}
