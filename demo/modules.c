/*
 * modules.c - eidgate-demo-modules, a stand-in for the module database
 * ("moduledatabank") behind the gateway: per facility, its modules and intake options,
 * kept in memory and seeded with demo content (see DOMAIN.md).
 *
 *   GET|HEAD  /modules/catalog/modules                  type modules (catalog)
 *   GET|HEAD  /modules/facilities/{f}/modules           the facility's modules
 *   POST      /modules/facilities/{f}/modules           create, 201
 *   GET|HEAD  /modules/facilities/{f}/modules/{id}      one module
 *   PUT|PATCH /modules/facilities/{f}/modules/{id}      replace / update, 200
 *   DELETE    /modules/facilities/{f}/modules/{id}      204
 *   GET|HEAD  /modules/facilities/{f}/intake            instroommogelijkheden
 *
 * The backend trusts nothing about who calls: deciding that is the gateway's job, and
 * the `received` object in each reply shows what identity the gateway forwarded.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "demo/internal.h"

/* A module's text fields are short labels typed by a moduleerder. */
#define MOD_MAX_TEXT 200

struct type_module {
	const char *tm_id;
	const char *tm_name;
	const char *tm_category;
	const char *tm_description;
};

static const struct type_module catalog[] = {
	{ "tm-verblijf", "Verblijf", "verblijf",
	  "Opvang en begeleiding dag en nacht buiten de thuissituatie." },
	{ "tm-crisisverblijf", "Crisisverblijf", "crisis",
	  "Onmiddellijke, kortdurende opvang bij een acute crisis in het gezin." },
	{ "tm-dagbegeleiding-groep", "Dagbegeleiding in groep", "dagbegeleiding",
	  "Begeleiding overdag in een leefgroep; het kind slaapt thuis." },
	{ "tm-contextbegeleiding", "Contextbegeleiding", "ambulant",
	  "Begeleiding van ouders en kinderen in hun eigen leefomgeving." },
	{ "tm-crisisbegeleiding", "Crisisbegeleiding", "crisis",
	  "Intensieve mobiele begeleiding thuis bij een crisis, tijdelijk en kortdurend." },
	{ "tm-diagnostiek", "Diagnostiek", "ambulant",
	  "Onderzoek van de hulpvraag en van de situatie van kind en gezin." },
	{ "tm-ondersteunende-begeleiding", "Ondersteunende begeleiding", "ambulant",
	  "Laagdrempelige opvolging na een intensieve hulpverlening." },
};

struct seed_module {
	const char *sm_facility;
	const char *sm_name;
	const char *sm_type;
	const char *sm_target;
	const char *sm_frequency;
	const char *sm_intensity;
	const char *sm_duration;
};

#define KIDS "kinderen 0-12 jaar en hun gezin"
#define RESIDENTIAL(f) { f, "Residentiële opvang", "tm-verblijf", KIDS, \
	"dag en nacht, 7 dagen op 7", "hoog", "tot 6 maanden, eenmaal verlengbaar" }
#define DAYCARE(f) { f, "Dagopvang", "tm-dagbegeleiding-groep", KIDS, \
	"werkdagen van 7.30 tot 18 uur", "gemiddeld", "tot 12 maanden" }
#define CONTEXT(f) { f, "Gezinsondersteunend contextueel", "tm-contextbegeleiding", KIDS, \
	"1 à 2 huisbezoeken per week", "laag tot gemiddeld", "tot 9 maanden" }
#define CRISIS(f) { f, "Crisisopvang", "tm-crisisverblijf", \
	"kinderen 0-12 jaar in een acute crisissituatie", "dag en nacht", "hoog", \
	"maximaal 14 dagen" }

static const struct seed_module seeds[] = {
	RESIDENTIAL("ckg-molenberg"), DAYCARE("ckg-molenberg"), CONTEXT("ckg-molenberg"),
	CRISIS("ckg-molenberg"),
	RESIDENTIAL("ckg-betlehem"), DAYCARE("ckg-betlehem"), CRISIS("ckg-betlehem"),
	RESIDENTIAL("ckg-de-schommel"), CONTEXT("ckg-de-schommel"), CRISIS("ckg-de-schommel"),
	DAYCARE("ckg-den-boomgaard"), CONTEXT("ckg-den-boomgaard"),
	RESIDENTIAL("ckg-den-boomgaard"),
	{ "cig-ten-anker", "Residentiële gezinsbegeleiding", "tm-verblijf",
	  "gezinnen met kinderen 0-18 jaar, ouder en kind samen", "dag en nacht", "hoog",
	  "6 tot 12 maanden" },
	{ "cig-ten-anker", "Mobiele gezinsbegeleiding", "tm-contextbegeleiding",
	  "gezinnen met kinderen 0-18 jaar", "2 huisbezoeken per week", "gemiddeld",
	  "tot 6 maanden" },
	{ "cig-ten-anker", "Ambulante nazorg", "tm-ondersteunende-begeleiding",
	  "gezinnen na een verblijf in het centrum", "tweewekelijks", "laag",
	  "tot 6 maanden" },
};

/* The module fields a client may write; the first MOD_NREQUIRED are required on create
 * and replace. */
static const char *const mod_fields[] = {
	"name", "type", "target_group", "frequency", "intensity", "duration",
};
#define MOD_NFIELDS (sizeof(mod_fields) / sizeof(mod_fields[0]))
#define MOD_NREQUIRED 2

/* The store: facility id -> array of module objects. MHD's two threads both route, so
 * every access, read or write, holds mod_lock; replies carry deep copies made under
 * the lock so no JSON value is shared between threads. */
static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *mod_store;
static unsigned long mod_next_id = 1001;

/* Called with mod_lock held (or before threads exist). */
static json_t *
new_module(const char *facility)
{
	char id[32];

	snprintf(id, sizeof(id), "mod-%lu", mod_next_id++);
	return json_pack("{s:s, s:s}", "id", id, "facility", facility);
}

static int
seed_one(const struct seed_module *s)
{
	json_t *list = json_object_get(mod_store, s->sm_facility);
	json_t *m = new_module(s->sm_facility);

	if (m == NULL || list == NULL ||
	    json_object_set_new(m, "name", json_string(s->sm_name)) != 0 ||
	    json_object_set_new(m, "type", json_string(s->sm_type)) != 0 ||
	    json_object_set_new(m, "target_group", json_string(s->sm_target)) != 0 ||
	    json_object_set_new(m, "frequency", json_string(s->sm_frequency)) != 0 ||
	    json_object_set_new(m, "intensity", json_string(s->sm_intensity)) != 0 ||
	    json_object_set_new(m, "duration", json_string(s->sm_duration)) != 0) {
		json_decref(m);
		return -1;
	}
	return json_array_append_new(list, m);
}

static int
mod_init(void)
{
	size_t i;

	mod_store = json_object();
	if (mod_store == NULL)
		return -1;
	for (i = 0; i < bk_nfacilities; i++)
		if (json_object_set_new(mod_store, bk_facilities[i].bf_id, json_array()) != 0)
			return -1;
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		if (seed_one(&seeds[i]) != 0)
			return -1;
	return 0;
}

static void
mod_fini(void)
{
	json_decref(mod_store);
	mod_store = NULL;
}

/* Called with mod_lock held. Returns the module's index in `list`, or -1. */
static long
find_module(json_t *list, const char *id)
{
	size_t i;
	json_t *m;

	json_array_foreach(list, i, m) {
		if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0)
			return (long)i;
	}
	return -1;
}

static json_t *
facility_json(const struct bk_facility *f)
{
	return json_pack("{s:s, s:s, s:s}", "id", f->bf_id, "name", f->bf_name,
	    "region", f->bf_region);
}

/* ---- reads ---- */

static enum MHD_Result
catalog_reply(const struct bk_call *call)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < sizeof(catalog) / sizeof(catalog[0]); i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}",
		    "id", catalog[i].tm_id, "name", catalog[i].tm_name,
		    "category", catalog[i].tm_category,
		    "description", catalog[i].tm_description)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:o}", "type_modules", arr));
}

static json_t *
copy_modules(const char *facility)
{
	json_t *copy;

	if (pthread_mutex_lock(&mod_lock) != 0)
		return NULL;
	copy = json_deep_copy(json_object_get(mod_store, facility));
	pthread_mutex_unlock(&mod_lock);
	return copy;
}

static enum MHD_Result
list_reply(const struct bk_call *call, const struct bk_facility *f)
{
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:o, s:o}",
	    "facility", facility_json(f), "modules", copy_modules(f->bf_id)));
}

/* Demo figures only, but stable: derived from the module id so that repeated requests
 * (and the gateway's tests) see the same numbers. A full module has a waiting list,
 * crisis care never does. */
static json_t *
intake_entry(json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *type = json_string_value(json_object_get(m, "type"));
	unsigned int h = 0, places, days;

	for (; *id != '\0'; id++)
		h = h * 31 + (unsigned char)*id;
	places = h % 4;
	days = places > 0 || strcmp(type, "tm-crisisverblijf") == 0 ? 0 : 21 + h % 70;
	return json_pack("{s:O, s:O, s:i, s:i}", "module", json_object_get(m, "id"),
	    "name", json_object_get(m, "name"), "vrije_plaatsen", (int)places,
	    "wachttijd_dagen", (int)days);
}

static enum MHD_Result
intake_reply(const struct bk_call *call, const struct bk_facility *f)
{
	json_t *mods = copy_modules(f->bf_id), *out = json_array(), *m;
	size_t i;

	json_array_foreach(mods, i, m) {
		if (out != NULL && json_array_append_new(out, intake_entry(m)) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	json_decref(mods);
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:o, s:o}",
	    "facility", facility_json(f), "instroommogelijkheden", out));
}

/* ---- writes ---- */

/* Reads the writable fields of `body` into vals (NULL where absent). With `require`,
 * name and type must be present. Returns 0, or -1 after answering 400. */
static int
read_fields(const struct bk_call *call, json_t *body, int require,
    const char *vals[MOD_NFIELDS], enum MHD_Result *result)
{
	int failed = 0;
	size_t i;

	for (i = 0; i < MOD_NFIELDS && !failed; i++)
		vals[i] = bk_string_field(call, body, mod_fields[i], MOD_MAX_TEXT,
		    require && i < MOD_NREQUIRED, &failed, result);
	return failed ? -1 : 0;
}

/* Called with mod_lock held. `replace` drops optional fields the client left out. */
static int
apply_fields(json_t *m, const char *vals[MOD_NFIELDS], int replace)
{
	size_t i;

	for (i = 0; i < MOD_NFIELDS; i++) {
		if (vals[i] != NULL) {
			if (json_object_set_new(m, mod_fields[i], json_string(vals[i])) != 0)
				return -1;
		} else if (replace) {
			json_object_del(m, mod_fields[i]);
		}
	}
	return 0;
}

/* Returns a copy of the new module, or NULL when out of memory. */
static json_t *
store_create(const char *facility, const char *vals[MOD_NFIELDS])
{
	json_t *m, *copy = NULL;

	if (pthread_mutex_lock(&mod_lock) != 0)
		return NULL;
	m = new_module(facility);
	if (m != NULL && apply_fields(m, vals, 0) == 0) {
		copy = json_deep_copy(m);
		if (copy != NULL &&
		    json_array_append(json_object_get(mod_store, facility), m) != 0) {
			json_decref(copy);
			copy = NULL;
		}
	}
	json_decref(m);
	pthread_mutex_unlock(&mod_lock);
	return copy;
}

static enum MHD_Result
create_reply(const struct bk_call *call, const struct bk_facility *f)
{
	const char *vals[MOD_NFIELDS];
	enum MHD_Result ret;
	json_t *body, *m;

	body = bk_body_object(call, &ret);
	if (body == NULL)
		return ret;
	if (read_fields(call, body, 1, vals, &ret) != 0) {
		json_decref(body);
		return ret;
	}
	m = store_create(f->bf_id, vals);
	json_decref(body);
	if (m == NULL)
		return bk_reply_error(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return bk_reply_json(call, MHD_HTTP_CREATED, json_pack("{s:o}", "module", m));
}

enum store_op { OP_GET, OP_REPLACE, OP_UPDATE, OP_DELETE };

/* Applies `op` to module `id` of `facility` under the lock. Returns 1 and sets *out (a
 * copy of the module, NULL after a delete) when found, 0 when not, -1 on failure. */
static int
store_item(const char *facility, const char *id, enum store_op op,
    const char *vals[MOD_NFIELDS], json_t **out)
{
	json_t *list, *m;
	long idx;
	int rc = 1;

	*out = NULL;
	if (pthread_mutex_lock(&mod_lock) != 0)
		return -1;
	list = json_object_get(mod_store, facility);
	idx = find_module(list, id);
	if (idx < 0) {
		rc = 0;
	} else if (op == OP_DELETE) {
		rc = json_array_remove(list, (size_t)idx) == 0 ? 1 : -1;
	} else {
		m = json_array_get(list, (size_t)idx);
		if (op != OP_GET && apply_fields(m, vals, op == OP_REPLACE) != 0)
			rc = -1;
		else if ((*out = json_deep_copy(m)) == NULL)
			rc = -1;
	}
	pthread_mutex_unlock(&mod_lock);
	return rc;
}

static enum store_op
item_op(const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
		return OP_REPLACE;
	if (strcmp(method, MHD_HTTP_METHOD_PATCH) == 0)
		return OP_UPDATE;
	if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
		return OP_DELETE;
	return OP_GET;
}

static enum MHD_Result
item_reply(const struct bk_call *call, const struct bk_facility *f, const char *id)
{
	const char *vals[MOD_NFIELDS] = { NULL };
	enum store_op op = item_op(call->bc_method);
	enum MHD_Result ret;
	json_t *body = NULL, *m;
	int rc;

	if (op == OP_GET && !bk_is_read(call->bc_method))
		return bk_reply_405(call, "GET, HEAD, PUT, PATCH, DELETE");
	if (op == OP_REPLACE || op == OP_UPDATE) {
		if ((body = bk_body_object(call, &ret)) == NULL)
			return ret;
		if (read_fields(call, body, op == OP_REPLACE, vals, &ret) != 0) {
			json_decref(body);
			return ret;
		}
	}
	rc = store_item(f->bf_id, id, op, vals, &m);
	json_decref(body);
	if (rc < 0)
		return bk_reply_error(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (rc == 0)
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "unknown module");
	if (op == OP_DELETE)
		return bk_reply_empty(call, MHD_HTTP_NO_CONTENT);
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:o}", "module", m));
}

/* ---- routing ---- */

static enum MHD_Result
facility_route(const struct bk_call *call)
{
	const char *const *s = call->bc_seg;
	const struct bk_facility *f;
	const char *m = call->bc_method;

	if (strcmp(s[3], "modules") != 0 && !(strcmp(s[3], "intake") == 0 &&
	    call->bc_nseg == 4))
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "not found");
	if ((f = bk_facility_find(s[2])) == NULL)
		return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "unknown facility");
	if (call->bc_nseg == 5)
		return item_reply(call, f, s[4]);
	if (strcmp(s[3], "intake") == 0)
		return bk_is_read(m) ? intake_reply(call, f) : bk_reply_405(call, "GET, HEAD");
	if (bk_is_read(m))
		return list_reply(call, f);
	if (strcmp(m, MHD_HTTP_METHOD_POST) == 0)
		return create_reply(call, f);
	return bk_reply_405(call, "GET, HEAD, POST");
}

static enum MHD_Result
mod_route(const struct bk_call *call)
{
	const char *const *s = call->bc_seg;
	size_t n = call->bc_nseg;

	if (n == 3 && strcmp(s[0], "modules") == 0 && strcmp(s[1], "catalog") == 0 &&
	    strcmp(s[2], "modules") == 0) {
		if (!bk_is_read(call->bc_method))
			return bk_reply_405(call, "GET, HEAD");
		return catalog_reply(call);
	}
	if ((n == 4 || n == 5) && strcmp(s[0], "modules") == 0 &&
	    strcmp(s[1], "facilities") == 0)
		return facility_route(call);
	return bk_reply_error(call, MHD_HTTP_NOT_FOUND, "not found");
}

int
main(int argc, char **argv)
{
	static const struct bk_app app = {
		.ba_default_name = "modules",
		.ba_init = mod_init,
		.ba_route = mod_route,
		.ba_fini = mod_fini,
	};

	return bk_main(argc, argv, &app);
}
