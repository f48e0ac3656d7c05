/*
 * access.c - `eidgate access ...`: access reviews over the live directory and the
 * policy (issue 16 item 2), and the resolution of backend pseudonyms (item 5,
 * access_pseudonym.c).
 *
 *   who-can -c FILE METHOD PATH   every person who could make that request now: name,
 *                                 masked national number, the role and scope that lets
 *                                 them, the rule, and the facility they would act for
 *   what-can -c FILE --nrn N      per backend and route, what that person can reach,
 *                                 naming each facility by its id
 * Routes of `signed` rules are marked "(signed)": reaching them takes a signature by the
 * person's card on each request (policy.h policy_rule_signed).
 *
 * "Could" means: with any facility the person may choose to act for (those of their
 * facility grants, and every facility of an organisation where they hold a role), or
 * none. The directory is read whole (directory.h dir_read_all); the reviews themselves
 * are policy.h policy_who_can and policy_what_can, which the officers' API shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_access[] =
    "usage: eidgate access who-can -c CONFIG METHOD PATH\n"
    "       eidgate access what-can -c CONFIG --nrn N\n"
    "       eidgate access pseudonym -c CONFIG --backend B --nrn N [--key-id K]\n"
    "who-can: every person who could make the request now, with the role and scope\n"
    "that lets them and the rule (the live directory and the policy of CONFIG).\n"
    "what-can: per backend and route, what the person can reach, each facility by id.\n"
    "Both mark \"(signed)\" the routes whose requests must carry a signature by the\n"
    "person's card (policy option signed; eidgate-login sign).\n"
    "pseudonym: the subject a backend with subject=pseudonym receives for a person;\n"
    "the lookup is recorded in the access log. National numbers are shown masked,\n"
    "except the one the operator typed.\n";

struct review {
	struct eg_config cfg;
	struct policy *policy;
	struct dir_writer *w;
	struct dir_all all;
	int have_all;
};

static void
review_done(struct review *rv)
{
	if (rv->have_all)
		dir_all_free(&rv->all);
	dir_writer_close(rv->w);
	policy_free(rv->policy);
}

static int
review_open(struct review *rv, const char *config, const char *cmd)
{
	int r;

	memset(rv, 0, sizeof(*rv));
	if (config_load(config, &rv->cfg, NULL) != EG_OK)
		return EXIT_FAILED;     /* config_load printed file:line: problem */
	if ((r = policy_load(rv->cfg.policy_file, &rv->policy, NULL)) != EG_OK) {
		fprintf(stderr, "eidgate: access %s: %s: %s\n", cmd, rv->cfg.policy_file, eg_err(r));
		return EXIT_FAILED;
	}
	if (dir_writer_open(&rv->cfg, &rv->w) != EG_OK ||
	    (r = dir_read_all(rv->w, &rv->all)) != EG_OK) {
		fprintf(stderr, "eidgate: access %s: the directory cannot be read: %s\n", cmd,
		    rv->w != NULL ? dir_writer_error(rv->w) : "no connection");
		return EXIT_FAILED;
	}
	rv->have_all = 1;
	return EXIT_OK;
}

/* ---- who-can ---------------------------------------------------------------------- */

/* Routes of `signed` rules are only reached with a card-signed intent (policy.h). */
#define SIGNED_WHY "each request must carry a signature by the person's card " \
	"(eidgate-login sign)"
#define SIGNED_NOTE "; signed: " SIGNED_WHY

struct who_out {
	size_t found;
	int signed_any;                 /* a line said "(signed)" */
};

static void
who_header(void)
{
	printf("%-28s %-12s %-20s %-32s %-16s %s\n", "name", "national nr", "role", "scope",
	    "rule", "acting for");
}

static void
who_line(void *arg, const struct policy_who *w)
{
	char masked[16], scope[EG_MAX_ID + 16];
	struct who_out *o = arg;

	if (o->found++ == 0)
		who_header();
	o->signed_any |= w->signed_intent;
	log_mask_nrn(w->person->nrn, masked, sizeof(masked));
	if (w->grant != NULL)
		snprintf(scope, sizeof(scope), "%s:%s", dir_scope_kind_name(w->grant->kind),
		    w->grant->scope);
	printf("%-28s %-12s %-20s %-32s %-16s %s%s\n", w->person->name[0] ? w->person->name :
	    "(no name)", masked, w->grant != NULL ? w->grant->role : "-",
	    w->grant != NULL ? scope : "-", w->rule, w->facility != NULL ? w->facility :
	    w->org != NULL ? w->org : "-", w->signed_intent ? " (signed)" : "");
}

static int
who_can(struct review *rv, const char *method, const char *target)
{
	char path[EG_MAX_PATH];
	const struct dir_all *a = &rv->all;
	enum policy_who_kind kind;
	const char *rule;
	struct who_out o = { 0, 0 };
	int64_t t0 = eg_now_us();
	int r;

	r = policy_who_can(rv->policy, a, NULL, method, target, path, sizeof(path), &kind,
	    &rule, who_line, &o);
	if (r == EG_ERR_PARSE) {
		fprintf(stderr, "eidgate: access who-can: '%s %s' is not a request the gateway "
		    "would serve\n", method, target);
		return EXIT_USAGE;
	}
	if (r != EG_OK) {
		fprintf(stderr, "eidgate: access who-can: %s\n", eg_err(r));
		return EXIT_FAILED;
	}
	if (kind == POLICY_WHO_ANYONE) {
		printf("%s %s: anyone, without logging in (rule %s)%s\n", method, path, rule,
		    policy_rule_signed(rv->policy, rule) ? SIGNED_NOTE : "");
		return EXIT_OK;
	}
	if (kind == POLICY_WHO_EVERYONE) {
		printf("%s %s: everyone with an accepted eID card, roles or not (rule %s)%s\n",
		    method, path, rule, policy_rule_signed(rv->policy, rule) ? SIGNED_NOTE : "");
		return EXIT_OK;
	}
	if (o.found == 0)
		who_header();
	if (o.signed_any)
		printf("(signed): %s\n", SIGNED_WHY);
	printf("%zu %s could make %s %s (directory: %zu people with roles, %zu facilities; "
	    "%.1f ms)\n", o.found, o.found == 1 ? "person" : "people", method, path, a->npeople,
	    a->nfacilities, (double)(eg_now_us() - t0) / 1000.0);
	return EXIT_OK;
}

/* ---- what-can --------------------------------------------------------------------- */

struct what_out {
	const char *backend;            /* the backend whose heading was printed last */
	size_t shown;                   /* values of the open route */
	int open;
};

static void
what_close(struct what_out *o)
{
	if (o->open)
		printf("%s\n", o->shown ? "" : " nothing");
	o->open = 0;
}

static void
what_route_line(void *arg, const char *backend, const struct policy_route *rt, int kind)
{
	struct what_out *o = arg;
	char methods[64];

	(void)kind;
	what_close(o);
	if (o->backend == NULL || strcmp(o->backend, backend) != 0)
		printf("backend %s\n", backend);
	o->backend = backend;
	policy_methods_text(rt->methods, methods, sizeof(methods));
	printf("  %-16s %s %s%s:", rt->rule, methods, rt->pattern,
	    rt->signed_intent ? " (signed)" : "");
	o->open = 1;
	o->shown = 0;
}

static void
what_reach(void *arg, const char *value)
{
	struct what_out *o = arg;

	if (value == NULL)
		printf(" yes");
	else
		printf("%s %s", o->shown ? "," : "", value);
	o->shown++;
}

static int
what_can(struct review *rv, const char *nrn)
{
	const struct dir_all *a = &rv->all;
	const struct dir_all_person *p;
	struct what_out o = { NULL, 0, 0 };
	const struct policy_what_cb cb = { what_route_line, what_reach, NULL, &o };
	const struct eg_grant *g;
	size_t k, n;
	int r;

	if (strlen(nrn) != EG_NRN_LEN || strspn(nrn, "0123456789") != EG_NRN_LEN) {
		fprintf(stderr, "eidgate: access what-can: --nrn must be 11 digits\n");
		return EXIT_USAGE;
	}
	p = dir_all_person(a, nrn);
	g = p != NULL ? &a->grants[p->first] : NULL;
	n = p != NULL ? p->n : 0;
	printf("%s (%s): ", p != NULL && p->name[0] ? p->name : "(no roles in the directory)",
	    nrn);
	for (k = 0; k < n; k++)
		printf("%s%s %s:%s", k ? ", " : "", g[k].role, dir_scope_kind_name(g[k].kind),
		    g[k].scope);
	printf("%s\n", n ? "" : "no roles");
	r = policy_what_can(rv->policy, a, NULL, g, n, &cb);
	what_close(&o);
	if (r != EG_OK) {
		fprintf(stderr, "eidgate: access what-can: %s\n", eg_err(r));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------ */

int
cmd_access(int argc, char **argv)
{
	const char *config = NULL, *nrn = NULL, *backend = NULL, *key_id = NULL;
	const char *pos[2] = { NULL, NULL };
	struct review rv;
	size_t npos = 0;
	int i, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_access, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--nrn") == 0 && i + 1 < argc)
			nrn = argv[++i];
		else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
			backend = argv[++i];
		else if (strcmp(argv[i], "--key-id") == 0 && i + 1 < argc)
			key_id = argv[++i];
		else if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_access, stdout);
			return EXIT_OK;
		} else if (argv[i][0] != '-' && npos < 2)
			pos[npos++] = argv[i];
		else {
			fprintf(stderr, "eidgate: access: unexpected '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "eidgate: access %s: -c CONFIG is required\n", argv[1]);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "pseudonym") == 0) {
		if (backend == NULL || nrn == NULL || npos != 0) {
			fprintf(stderr, "eidgate: access pseudonym needs --backend B --nrn N\n");
			return EXIT_USAGE;
		}
		return cmd_access_pseudonym(config, backend, nrn, key_id);
	}
	if (strcmp(argv[1], "who-can") == 0 && (npos != 2 || nrn != NULL)) {
		fprintf(stderr, "eidgate: access who-can needs METHOD PATH\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "what-can") == 0 && (npos != 0 || nrn == NULL)) {
		fprintf(stderr, "eidgate: access what-can needs --nrn N\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "who-can") != 0 && strcmp(argv[1], "what-can") != 0) {
		fprintf(stderr, "eidgate: access: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if ((rc = review_open(&rv, config, argv[1])) == EXIT_OK)
		rc = strcmp(argv[1], "who-can") == 0 ? who_can(&rv, pos[0], pos[1]) :
		    what_can(&rv, nrn);
	review_done(&rv);
	return rc;
}
