/*
 * directory.c - `eidgate directory init|add-organisation|add-facility|add-vte|remove-vte|
 * migrate`
 * (PRODUCT.md §1, §4): the platform operator creates organisations, their facilities and
 * their first VTE, and removes a VTE (the pages never remove an organisation's last);
 * everything else is done by the organisation's own people in the web pages.
 *
 * The commands talk to LDAP directly with the service account of the configuration file.
 * A change of VTE is a change of rights: it is recorded in the access log before the
 * directory is written and its result after (cmd/oplog.c), or not made at all.
 * Exit status: 0 done (or already so, for init and add-vte), 1 refused or failed (with
 * one "eidgate: ..." line), 2 bad usage or an invalid value (nothing was sent to LDAP).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

#define MAX_CAPS 5

static const char usage_text[] =
    "usage: eidgate directory COMMAND -c CONFIG [OPTIONS]\n"
    "\n"
    "  init -c CONFIG\n"
    "      create ou=people, ou=organisations, ou=regions, ou=ended-sessions and the\n"
    "      five regions under [ldap] base when absent (idempotent)\n"
    "  add-organisation -c CONFIG --number N --name NAME --capacity C [--capacity C...]\n"
    "      N: enterprise number, 10 digits with valid check digits\n"
    "      C: jeugdhulp gezinsondersteuning algemeen-welzijn ggz handicap\n"
    "  add-facility -c CONFIG --organisation N --id ID --name NAME --sector S --region R\n"
    "      ID: [a-z0-9-]{1,63}, unique over all organisations\n"
    "      S: bjb kg vaph clb cgg aww\n"
    "      R: antwerpen limburg oost-vlaanderen vlaams-brabant-brussel west-vlaanderen\n"
    "  add-vte -c CONFIG --organisation N --nrn NRN --name \"Given Surname\"\n"
    "      makes NRN a VTE of N, creating the person entry when absent (given name = the\n"
    "      first word, surname = the rest; the name on the card is authoritative later)\n"
    "  remove-vte -c CONFIG --organisation N --nrn NRN\n"
    "      removes NRN as VTE of N (also the last one: appoint the next one first)\n"
    "  migrate -c CONFIG [--dry-run]\n"
    "      gives every role held without a grant entry (a directory from before\n"
    "      delegation provenance) one, saying \"migration\", now, no end; idempotent\n"
    "  add-vte and remove-vte are recorded in the access log of [audit] db (through the\n"
    "  running gateway, or directly when none runs); without the record, nothing changes\n"
    "\n"
    "exit status: 0 done, 1 refused or failed, 2 bad usage or invalid value\n";

struct dir_args {
	const char *config, *number, *name, *org, *id, *sector, *region, *nrn;
	const char *caps[MAX_CAPS];
	size_t ncaps;
	int help, dry_run;
};

static int
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

static int
bad(const char *cmd, const char *what)
{
	fprintf(stderr, "eidgate: directory %s: %s\n", cmd, what);
	return 2;
}

static int
add_cap(const char *cmd, struct dir_args *a, const char *c)
{
	size_t i;

	if (!dir_valid_capacity(c))
		return bad(cmd, "unknown --capacity (known: jeugdhulp gezinsondersteuning "
		    "algemeen-welzijn ggz handicap)");
	for (i = 0; i < a->ncaps; i++)
		if (strcmp(a->caps[i], c) == 0)
			return 0;
	a->caps[a->ncaps++] = c;        /* at most MAX_CAPS distinct known values */
	return 0;
}

/* Parses argv (argv[0] is the subcommand). 0, or 2 after a message. */
static int
parse_args(int argc, char **argv, struct dir_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "number", required_argument, NULL, 'N' },
		{ "name", required_argument, NULL, 'n' }, { "capacity", required_argument, NULL, 'C' },
		{ "organisation", required_argument, NULL, 'o' }, { "id", required_argument, NULL, 'i' },
		{ "sector", required_argument, NULL, 's' }, { "region", required_argument, NULL, 'r' },
		{ "nrn", required_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' },
		{ "dry-run", no_argument, NULL, 'D' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'N': a->number = optarg; break;
		case 'n': a->name = optarg; break;
		case 'o': a->org = optarg; break;
		case 'i': a->id = optarg; break;
		case 's': a->sector = optarg; break;
		case 'r': a->region = optarg; break;
		case 'R': a->nrn = optarg; break;
		case 'h': a->help = 1; break;
		case 'D': a->dry_run = 1; break;
		case 'C':
			if (add_cap(argv[0], a, optarg) != 0)
				return 2;
			break;
		default:
			return bad(argv[0], "unknown option or missing value (see --help)");
		}
	}
	if (optind != argc)
		return bad(argv[0], "unexpected argument (see --help)");
	if (!a->help && a->config == NULL)
		return bad(argv[0], "-c CONFIG is required");
	return 0;
}

/* Loads the configuration into cfg and connects; 0 or 1 after a message. */
static int
open_writer(const char *cmd, const char *config, struct eg_config *cfg,
    struct dir_writer **w)
{
	if (config_load(config, cfg, NULL) != EG_OK)
		return 1;       /* config_load printed file:line: problem */
	if (dir_writer_open(cfg, w) != EG_OK) {
		fprintf(stderr, "eidgate: directory %s: cannot use [ldap] of %s\n", cmd, config);
		return 1;
	}
	return 0;
}

static int
failed(const char *cmd, struct dir_writer *w, const char *what)
{
	fprintf(stderr, "eidgate: directory %s: %s: %s%s\n", cmd, what, dir_writer_error(w),
	    dir_writer_denied(w) ? " (the service account may not do this)" : "");
	dir_writer_close(w);
	return 1;
}

static int
cmd_init(struct dir_writer *w)
{
	static const char *const top[] = { "people", "organisations", "regions",
		"ended-sessions" };
	static const char *const regions[] = { "antwerpen", "limburg", "oost-vlaanderen",
		"vlaams-brabant-brussel", "west-vlaanderen" };
	char desc[64];
	int created, n = 0;
	size_t i;

	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		if (dir_base_ou(w, top[i], 0, NULL, &created) != EG_OK)
			return failed("init", w, top[i]);
		n += created;
	}
	for (i = 0; i < 5; i++) {
		snprintf(desc, sizeof(desc), "ITP region %s", regions[i]);
		if (dir_base_ou(w, regions[i], 1, desc, &created) != EG_OK)
			return failed("init", w, regions[i]);
		n += created;
	}
	if (n == 0)
		printf("directory already initialised\n");
	else
		printf("directory initialised (%d entr%s created)\n", n, n == 1 ? "y" : "ies");
	dir_writer_close(w);
	return 0;
}

static int
cmd_add_org(const struct dir_args *a, struct dir_writer *w)
{
	int created;

	if (dir_org_create(w, a->number, a->name, a->caps, a->ncaps, &created) != EG_OK)
		return failed("add-organisation", w, a->number);
	dir_writer_close(w);
	if (!created) {
		fprintf(stderr, "eidgate: directory add-organisation: organisation %s already "
		    "exists\n", a->number);
		return 1;
	}
	printf("organisation %s added\n", a->number);
	return 0;
}

/* 0 when organisation org exists, else 1 after a message (the writer is closed then). */
static int
need_org(const char *cmd, struct dir_writer *w, const char *org)
{
	struct dir_org o;

	if (dir_org_read(w, org, &o) != EG_OK)
		return failed(cmd, w, org);
	if (!o.found) {
		fprintf(stderr, "eidgate: directory %s: organisation %s does not exist\n", cmd, org);
		dir_writer_close(w);
		return 1;
	}
	return 0;
}

static int
cmd_add_facility(const struct dir_args *a, struct dir_writer *w)
{
	int count, created;

	if (need_org("add-facility", w, a->org) != 0)
		return 1;
	if (dir_facility_count(w, a->id, &count) != EG_OK)
		return failed("add-facility", w, a->id);
	if (count > 0) {
		fprintf(stderr, "eidgate: directory add-facility: facility %s already exists\n",
		    a->id);
		dir_writer_close(w);
		return 1;
	}
	if (dir_facility_create(w, a->org, a->id, a->name, a->sector, a->region,
	    &created) != EG_OK)
		return failed("add-facility", w, a->id);
	dir_writer_close(w);
	if (!created) {
		fprintf(stderr, "eidgate: directory add-facility: facility %s already exists\n",
		    a->id);
		return 1;
	}
	printf("facility %s added to organisation %s\n", a->id, a->org);
	return 0;
}

/* The directory side of one VTE change: EG_OK with *done (added, removed) or an error. */
typedef int (*vte_op)(const struct dir_args *a, struct dir_writer *w,
    const struct dir_scope *s, int *done);

static int
add_vte(const struct dir_args *a, struct dir_writer *w, const struct dir_scope *s, int *done)
{
	int exists, created, rc;

	struct dir_provenance pv;

	/* An existing person keeps the name they have (the card's, once they logged in). */
	if ((rc = dir_person_exists(w, a->nrn, &exists)) != EG_OK)
		return rc;
	if (!exists && (rc = dir_person_create(w, a->nrn, a->name, &created)) != EG_OK)
		return rc;
	memset(&pv, 0, sizeof(pv));
	pv.known = 1;
	eg_strlcpy(pv.by, DIR_BY_OPERATOR, sizeof(pv.by));
	pv.at = eg_now_us() / 1000000;
	return dir_add_member(w, s, "vte", a->nrn, &pv, done);
}

static int
remove_vte(const struct dir_args *a, struct dir_writer *w, const struct dir_scope *s,
    int *done)
{
	return dir_remove_member(w, s, "vte", a->nrn, done);
}

/*
 * migrate: dates every role held without a grant entry (a directory from before
 * delegation provenance): by "migration", now, no end. Rights do not change, so
 * nothing is recorded in the access log; the numbers are printed. Idempotent.
 */
static int
cmd_migrate(const struct dir_args *a, struct dir_writer *w)
{
	struct dir_migration m;

	if (dir_migrate(w, a->dry_run, eg_now_us() / 1000000, &m) != EG_OK)
		return failed("migrate", w, "date the role memberships");
	dir_writer_close(w);
	printf("%zu role memberships, %zu already dated, %zu %s", m.memberships, m.dated,
	    m.written, a->dry_run ? "to date (dry run: nothing written)" : "dated now");
	if (m.no_person > 0)
		printf(", %zu of people without a person entry (left as they are)", m.no_person);
	printf("\n");
	return 0;
}

/*
 * add-vte and remove-vte: nothing to do when the person already is (is not) a VTE;
 * otherwise the decision is recorded, the directory changed, the result recorded (a
 * change without its record is not made). 0, or 1 after a message.
 */
static int
vte_change(const char *cmd, const struct dir_args *a, const struct eg_config *cfg,
    struct dir_writer *w, int add)
{
	const char *action = add ? "grant" : "revoke";
	struct dir_scope s;
	struct oplog ol;
	char text[EG_MAX_ID + 16];
	size_t count;
	int holds, done = 0, rc;

	if (need_org(cmd, w, a->org) != 0)
		return 1;
	memset(&s, 0, sizeof(s));
	s.kind = EG_SCOPE_ORGANISATION;
	eg_strlcpy(s.id, a->org, sizeof(s.id));
	eg_strlcpy(s.org, a->org, sizeof(s.org));
	dir_scope_format(&s, text, sizeof(text));
	if (dir_members(w, &s, "vte", a->nrn, &count, &holds, NULL) != EG_OK)
		return failed(cmd, w, "read cn=vte");
	if (holds == add) {
		dir_writer_close(w);
		if (!add) {
			fprintf(stderr, "eidgate: directory %s: %s is not a VTE of %s\n", cmd, a->nrn,
			    a->org);
			return 1;
		}
		printf("already a VTE of this organisation\n");
		return 0;
	}
	if (oplog_init(&ol, cfg) != 0 ||
	    oplog_record(&ol, action, a->nrn, "vte", text, 0, 1, "permitted") != 0) {
		dir_writer_close(w);
		return 1;
	}
	rc = (add ? add_vte : remove_vte)(a, w, &s, &done);
	if (oplog_record(&ol, action, a->nrn, "vte", text, 1, rc == EG_OK,
	    rc != EG_OK ? "directory-unavailable" : !done ? "already-held" :
	    add ? "granted" : "revoked") != 0 || rc != EG_OK)
		return rc != EG_OK ? failed(cmd, w, add ? "add to cn=vte" :
		    "remove from cn=vte") : 1;
	dir_writer_close(w);
	printf("VTE %s\n", add ? "added" : "removed");
	return 0;
}

/* Checks the values a subcommand needs; 0 or 2 after a message. */
static int
check_values(const char *cmd, const struct dir_args *a)
{
	int org = strcmp(cmd, "add-organisation") == 0, fac = strcmp(cmd, "add-facility") == 0;
	int vte = strcmp(cmd, "add-vte") == 0 || strcmp(cmd, "remove-vte") == 0;
	int add = strcmp(cmd, "add-vte") == 0;

	/* An option the command does not use is a mistake worth stopping for. */
	if ((a->number != NULL || a->ncaps > 0) && !org)
		return bad(cmd, "--number and --capacity belong to add-organisation");
	if ((a->id != NULL || a->sector != NULL || a->region != NULL) && !fac)
		return bad(cmd, "--id, --sector and --region belong to add-facility");
	if (a->nrn != NULL && !vte)
		return bad(cmd, "--nrn belongs to add-vte and remove-vte");
	if (a->dry_run && strcmp(cmd, "migrate") != 0)
		return bad(cmd, "--dry-run belongs to migrate");
	if ((a->org != NULL && !fac && !vte) || (a->name != NULL && !org && !fac && !add))
		return bad(cmd, "--organisation and --name do not belong to this command");

	if (org && !dir_valid_org_number(a->number))
		return bad(cmd, "--number must be an enterprise number (10 digits, check digits)");
	if (org && a->ncaps == 0)
		return bad(cmd, "at least one --capacity is required");
	if ((fac || vte) && !dir_valid_org_number(a->org))
		return bad(cmd, "--organisation must be an enterprise number (10 digits, check "
		    "digits)");
	if ((org || fac || add) && !dir_valid_name(a->name))
		return bad(cmd, "--name must be 1-128 characters without control characters or "
		    "leading/trailing spaces");
	if (fac && !dir_valid_facility_id(a->id))
		return bad(cmd, "--id must match [a-z0-9-]{1,63}");
	if (fac && !dir_valid_sector(a->sector))
		return bad(cmd, "--sector must be one of bjb kg vaph clb cgg aww");
	if (fac && !dir_valid_region(a->region))
		return bad(cmd, "--region must be one of antwerpen limburg oost-vlaanderen "
		    "vlaams-brabant-brussel west-vlaanderen");
	if (vte && (a->nrn == NULL || auth_nrn_check(a->nrn) != EG_OK))
		return bad(cmd, "--nrn must be a national number with valid check digits");
	return 0;
}

int
cmd_directory(int argc, char **argv)
{
	static const char *const cmds[] = { "init", "add-organisation", "add-facility",
		"add-vte", "remove-vte", "migrate", NULL };
	struct dir_writer *w = NULL;
	struct eg_config cfg;
	struct dir_args a;
	const char *cmd;
	size_t i;

	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	cmd = argv[1];
	for (i = 0; cmds[i] != NULL && strcmp(cmds[i], cmd) != 0; i++)
		;
	if (cmds[i] == NULL) {
		fprintf(stderr, "eidgate: directory: unknown command \"%s\"\n", cmd);
		return usage(stderr, 2);
	}
	if (parse_args(argc - 1, argv + 1, &a) != 0)
		return 2;
	if (a.help)
		return usage(stdout, 0);
	if (check_values(cmd, &a) != 0)
		return 2;
	if (open_writer(cmd, a.config, &cfg, &w) != 0)
		return 1;
	if (i == 0)
		return cmd_init(w);
	if (i == 1)
		return cmd_add_org(&a, w);
	if (i == 2)
		return cmd_add_facility(&a, w);
	if (i == 5)
		return cmd_migrate(&a, w);
	return vte_change(cmd, &a, &cfg, w, i == 3);
}
