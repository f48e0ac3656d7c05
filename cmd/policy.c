/*
 * policy.c - `eidgate policy check FILE` and `eidgate policy explain -c CONFIG --nrn N
 * [--facility F] [-v] METHOD PATH` (PRODUCT.md §1).
 *
 * check: every problem on stderr as "FILE:LINE: error: ..." or "FILE:LINE: warning: ...",
 * a one-line summary on stdout.
 * explain: reads the configuration and the policy it names, asks the live directory who
 * the person is, and prints the decision with every matching rule (explain.c). The
 * national number is the operator's own input, so stdout shows it; stderr lines, which
 * may end up in a journal, show it masked (PRODUCT.md §3).
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_text[] =
    "usage: eidgate policy check [--against-log DB [--since T]] FILE\n"
    "       eidgate policy explain -c CONFIG --nrn N [--facility F] [-v] METHOD PATH\n"
    "\n"
    "  check FILE   parse and lint a policy file (PRODUCT.md section 5); print every\n"
    "               error and warning as FILE:LINE: and a summary when it loads;\n"
    "               with --against-log, also what FILE would have decided about every\n"
    "               request recorded in the access log DB (since T, ISO 8601): the\n"
    "               requests whose outcome changes, by rule and person (audit replay)\n"
    "\n"
    "  explain      print how the gateway running with CONFIG decides METHOD PATH for\n"
    "               the person with national number N, using the live directory: the\n"
    "               person's grants, the facility acted for, the decision, and every\n"
    "               rule whose methods and path match with each term of its condition\n"
    "               and why it held or not. PATH is normalised as the gateway does.\n"
    "    -c CONFIG        the gateway's configuration ([ldap] and [policy] are used)\n"
    "    --nrn N          the person (11 digits)\n"
    "    --facility F     the facility the person acts for (the session's context);\n"
    "                     without it, the gateway's default: the one facility of the\n"
    "                     person's grants when there is exactly one\n"
    "    -v               also list rules whose method or path does not match\n"
    "\n"
    "exit status: check: 0 the policy loads, 1 it has errors, 2 bad usage.\n"
    "             explain: 0 an explanation was printed, whether the request would be\n"
    "             allowed or denied; 1 no complete explanation: configuration or policy\n"
    "             errors, directory unreachable, unknown facility, or no person with\n"
    "             that number in the directory (then the explanation for a logged-in\n"
    "             user without roles is still printed); 2 bad usage.\n";

static int
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

struct counts {
	int errors;
	int warnings;
};

static void
emit(void *arg, int is_error, const char *file, int line, const char *msg)
{
	struct counts *n = arg;

	if (is_error)
		n->errors++;
	else
		n->warnings++;
	if (line > 0)
		fprintf(stderr, "%s:%d: %s: %s\n", file, line, is_error ? "error" : "warning",
		    msg);
	else
		fprintf(stderr, "%s: %s: %s\n", file, is_error ? "error" : "warning", msg);
}

static int
is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Loads file, reporting every problem; NULL after the summary line on failure. */
static struct policy *
load_reported(const char *cmd, const char *file, struct counts *n)
{
	struct policy_diag diag = { emit, n };
	struct policy *p = NULL;
	int r;

	r = policy_load(file, &p, &diag);
	if (r != EG_OK) {
		fprintf(stderr, "eidgate: policy %s: %s: %s (%d error%s, %d warning%s)\n", cmd,
		    file, eg_err(r), n->errors, n->errors == 1 ? "" : "s", n->warnings,
		    n->warnings == 1 ? "" : "s");
		return NULL;
	}
	return p;
}

static int
check(const char *file)
{
	struct counts n = { 0, 0 };
	struct policy *p = load_reported("check", file, &n);

	if (p == NULL)
		return 1;
	printf("%s: ok (%zu rules, %zu backends, version %s, %d warning%s)\n", file,
	    policy_rule_count(p), policy_backend_count(p), policy_version(p), n.warnings,
	    n.warnings == 1 ? "" : "s");
	policy_free(p);
	return 0;
}

/* `policy check --against-log DB [--since T] FILE`: the lint, then the replay summary
 * (cmd/replay.c) an operator reads before reloading. */
static int
check_against_log(int argc, char **argv)
{
	const char *db = NULL, *since = NULL, *file = NULL;
	int64_t since_us = 0;
	int i, rc;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--against-log") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			file = NULL, i = argc + 1;
	}
	if (db == NULL || file == NULL || i > argc) {
		fprintf(stderr, "eidgate: policy check: usage: policy check --against-log DB "
		    "[--since T] FILE\n");
		return 2;
	}
	if (since != NULL && eg_parse_time(since, &since_us) != EG_OK) {
		fprintf(stderr, "eidgate: policy check: --since: not an ISO 8601 time\n");
		return 2;
	}
	if ((rc = check(file)) != 0)
		return rc;
	return cmd_replay_summary(db, file, since_us, 0, since, stdout);
}

/* ---- explain ------------------------------------------------------------------------ */

struct explain_args {
	const char *config;
	const char *nrn;
	const char *facility;
	const char *method;
	const char *target;
	unsigned flags;
};

/* Everything an explanation holds on to, released by explain_done(). */
struct explain_run {
	struct eg_config cfg;
	struct policy *policy;
	struct dir_resolver *dir;
	const struct dir_person *person;
	const struct dir_org *org;
	char context_facility[EG_MAX_ID];
	char context_org[EG_MAX_ID];
	const char *context_how;
	char path[EG_MAX_PATH];
	char query[EG_MAX_PATH];
	char masked[16];
};

static int
parse_explain_args(int argc, char **argv, struct explain_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 2; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "-v") == 0 || strcmp(o, "--verbose") == 0) {
			a->flags |= POLICY_EXPLAIN_VERBOSE;
			continue;
		}
		if (o[0] != '-' || strcmp(o, "--") == 0)
			break;
		if (i + 1 >= argc)
			return -1;
		if (strcmp(o, "-c") == 0 || strcmp(o, "--config") == 0)
			a->config = argv[++i];
		else if (strcmp(o, "--nrn") == 0)
			a->nrn = argv[++i];
		else if (strcmp(o, "--facility") == 0)
			a->facility = argv[++i];
		else
			return -1;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (argc - i != 2 || a->config == NULL || a->nrn == NULL)
		return -1;
	a->method = argv[i];
	a->target = argv[i + 1];
	return 0;
}

static void
explain_done(struct explain_run *x)
{
	dir_release(x->org);
	dir_release(x->person);
	dir_close(x->dir);
	policy_free(x->policy);
}

/* The gateway's default when no facility was chosen (request/identify.c,
 * default_context): the organisation when all grants are in one, and the facility when
 * moreover all facility grants name one. Kept identical so explain shows what the
 * gateway does for a fresh login. */
static void
default_context(struct explain_run *x)
{
	const struct dir_person *p = x->person;

	x->context_how = "none chosen, and the person's grants name no single facility";
	if (policy_default_context(p->grants, p->ngrants, x->context_facility, x->context_org))
		x->context_how = "the gateway's default: the only facility of the grants";
	else if (x->context_org[0] != '\0')
		x->context_how = "the gateway's default: the only organisation of the grants";
}

/* --facility F: looked up like POST /eidgate/context does. */
static int
chosen_context(struct explain_run *x, const char *facility)
{
	const struct dir_facility *f = NULL;
	int r = dir_facility(x->dir, facility, &f);

	if (r != EG_OK) {
		fprintf(stderr, "eidgate: policy explain: facility %s: %s\n", facility,
		    r == EG_ERR_DIRECTORY ? "directory unreachable" : eg_err(r));
		return 1;
	}
	if (!f->found) {
		fprintf(stderr, "eidgate: policy explain: no facility '%s' in the directory\n",
		    facility);
		dir_release(f);
		return 1;
	}
	eg_strlcpy(x->context_facility, f->id, sizeof(x->context_facility));
	eg_strlcpy(x->context_org, f->org, sizeof(x->context_org));
	x->context_how = "chosen with --facility";
	dir_release(f);
	return 0;
}

/* Loads the configuration, the policy and the person; 0 or an exit code. */
static int
explain_setup(struct explain_run *x, const struct explain_args *a)
{
	struct counts n = { 0, 0 };
	int r;

	if (config_load(a->config, &x->cfg, NULL) != EG_OK)
		return 1;       /* config_load has printed file:line: problem */
	if ((x->policy = load_reported("explain", x->cfg.policy_file, &n)) == NULL)
		return 1;
	if ((r = dir_open(&x->cfg, &x->dir)) != EG_OK) {
		fprintf(stderr, "eidgate: policy explain: cannot use [ldap] of %s: %s\n",
		    a->config, eg_err(r));
		return 1;
	}
	if ((r = dir_person(x->dir, a->nrn, &x->person)) != EG_OK) {
		fprintf(stderr, "eidgate: policy explain: looking up %s in %s: %s\n", x->masked,
		    x->cfg.ldap_uri, r == EG_ERR_DIRECTORY ? "directory unreachable" :
		    eg_err(r));
		return 1;
	}
	if (a->facility != NULL)
		return chosen_context(x, a->facility);
	default_context(x);
	return 0;
}

/* Capacities of the acting organisation, as the gateway reads them for `capacity`. */
static int
load_org(struct explain_run *x)
{
	int r;

	if (x->context_org[0] == '\0')
		return 0;
	if ((r = dir_org(x->dir, x->context_org, &x->org)) != EG_OK) {
		fprintf(stderr, "eidgate: policy explain: organisation %s: %s\n", x->context_org,
		    r == EG_ERR_DIRECTORY ? "directory unreachable" : eg_err(r));
		return 1;
	}
	return 0;
}

static struct dir_resolver *owner_dir;

/* eg_subject.facility_org, as request/request.c answers it: the directory's owner. */
static const char *
owner_of(void *arg, const char *facility)
{
	static char org[EG_MAX_ID];
	const struct dir_facility *f = NULL;

	(void)arg;
	if (dir_facility(owner_dir, facility, &f) != EG_OK)
		return NULL;
	org[0] = '\0';
	if (f->found)
		eg_strlcpy(org, f->org, sizeof(org));
	dir_release(f);
	return org[0] != '\0' ? org : NULL;
}

static void
print_person(const struct explain_run *x, const char *nrn)
{
	const struct dir_person *p = x->person;
	size_t i;

	if (!p->found) {
		printf("person:  %s: not in the directory (the gateway lets a valid card log "
		    "in, without roles)\n", nrn);
		return;
	}
	printf("person:  %s %s, %zu grant%s\n", nrn, p->name, p->ngrants,
	    p->ngrants == 1 ? "" : "s");
	for (i = 0; i < p->ngrants; i++) {
		const struct eg_grant *g = &p->grants[i];
		printf("         %s on %s:%s", g->role, dir_scope_kind_name(g->kind), g->scope);
		if (g->kind == EG_SCOPE_FACILITY && g->org[0] != '\0')
			printf(" (organisation %s)", g->org);
		putchar('\n');
	}
}

/* Could the person have chosen this facility? POST /eidgate/context wants a role on it
 * or on its organisation; an explanation for a context the gateway would refuse says
 * so instead of pretending. */
static int
may_act_for(const struct explain_run *x)
{
	size_t i;

	for (i = 0; i < x->person->ngrants; i++) {
		const struct eg_grant *g = &x->person->grants[i];
		if ((g->kind == EG_SCOPE_FACILITY &&
		    strcmp(g->scope, x->context_facility) == 0) ||
		    (g->kind == EG_SCOPE_ORGANISATION && strcmp(g->scope, x->context_org) == 0))
			return 1;
	}
	return 0;
}

static void
print_context(const struct explain_run *x)
{
	size_t i;

	printf("acting:  ");
	if (x->context_facility[0] != '\0')
		printf("facility %s of organisation %s", x->context_facility, x->context_org);
	else if (x->context_org[0] != '\0')
		printf("organisation %s, no facility", x->context_org);
	else
		printf("no facility");
	printf(" (%s)\n", x->context_how);
	if (x->context_facility[0] != '\0' && !may_act_for(x))
		printf("         note: the person holds no role on this facility or its "
		    "organisation; the gateway would not let them choose it\n");
	if (x->org != NULL && x->org->found) {
		printf("         capacities of %s:", x->org->id);
		for (i = 0; i < x->org->ncapacities; i++)
			printf(" %s", x->org->capacities[i]);
		printf("%s\n", x->org->ncapacities == 0 ? " none" : "");
	}
}

/* The user of the request, exactly as request/request.c fills it. */
static void
make_subject(struct explain_run *x, struct eg_subject *s)
{
	memset(s, 0, sizeof(*s));
	s->authenticated = 1;
	s->grants = x->person->grants;
	s->ngrants = x->person->ngrants;
	s->context_facility = x->context_facility[0] ? x->context_facility : NULL;
	s->context_org = x->context_org[0] ? x->context_org : NULL;
	if (x->org != NULL) {
		s->capacities = x->org->capacity_ptrs;
		s->ncapacities = x->org->ncapacities;
	}
	owner_dir = x->dir;
	s->facility_org = owner_of;
}

/* What the gateway does before any rule is asked: 405, 400, built-in pages. Returns 1
 * when the request never reaches the policy (and says why). */
static int
refused_before_policy(struct explain_run *x, const struct explain_args *a)
{
	int r;

	if (!policy_method_known(a->method)) {
		printf("decision: refused with 405 before any rule: the gateway forwards only "
		    "GET HEAD POST PUT PATCH DELETE OPTIONS (case-sensitive)\n");
		return 1;
	}
	r = policy_normalise_path(a->target, x->path, sizeof(x->path), x->query,
	    sizeof(x->query));
	if (r != EG_OK) {
		printf("decision: refused with 400 before any rule: the path cannot be "
		    "normalised safely (%s)\n", eg_err(r));
		return 1;
	}
	if (policy_path_is_builtin(x->path)) {
		printf("request: %s %s\ndecision: a built-in page of the gateway; no policy "
		    "rule applies\n", a->method, x->path);
		return 1;
	}
	return 0;
}

static int
explain_request(struct explain_run *x, const struct explain_args *a)
{
	struct policy_decision got, want;
	struct eg_subject s;
	int r;

	make_subject(x, &s);
	printf("request: %s %s", a->method, x->path);
	if (strcmp(x->path, a->target) != 0)
		printf("   (as sent: %s)", a->target);
	printf("%s\n", x->query[0] != '\0' ? "   (the query string is not considered)" : "");
	fflush(stdout);
	r = policy_explain(x->policy, a->method, x->path, &s, a->flags, stdout, &got);
	policy_decide(x->policy, a->method, x->path, &s, &want);
	if (r == EG_OK && (got.allow != want.allow || got.rule != want.rule))
		r = EG_ERR_INTERNAL;
	if (r != EG_OK) {
		fprintf(stderr, "eidgate: policy explain: %s\n", r == EG_ERR_INTERNAL ?
		    "internal error: the explanation disagrees with the decision" : eg_err(r));
		return 1;
	}
	return 0;
}

static int
explain(const struct explain_args *a)
{
	struct explain_run x;
	int code;

	memset(&x, 0, sizeof(x));
	log_mask_nrn(a->nrn, x.masked, sizeof(x.masked));
	if (!eg_all_digits(a->nrn, EG_NRN_LEN)) {
		fprintf(stderr, "eidgate: policy explain: --nrn needs 11 digits\n");
		return 2;
	}
	if ((code = explain_setup(&x, a)) == 0 && (code = load_org(&x)) == 0) {
		printf("policy:  %s (version %s, %zu rules)\n", x.cfg.policy_file,
		    policy_version(x.policy), policy_rule_count(x.policy));
		print_person(&x, a->nrn);
		print_context(&x);
		if (!refused_before_policy(&x, a))
			code = explain_request(&x, a);
		if (code == 0 && !x.person->found) {
			fprintf(stderr, "eidgate: policy explain: no person %s in the "
			    "directory\n", x.masked);
			code = 1;
		}
	}
	explain_done(&x);
	return code;
}

int
cmd_policy(int argc, char **argv)
{
	struct explain_args a;

	if (argc < 2)
		return usage(stderr, 2);
	if (is_help(argv[1]))
		return usage(stdout, 0);
	if (argc == 3 && is_help(argv[2]))
		return usage(stdout, 0);
	if (strcmp(argv[1], "check") == 0 && argc > 3)
		return check_against_log(argc, argv);
	if (strcmp(argv[1], "check") == 0) {
		if (argc != 3 || argv[2][0] == '-') {
			fprintf(stderr, "eidgate: policy check needs exactly one FILE\n");
			return usage(stderr, 2);
		}
		return check(argv[2]);
	}
	if (strcmp(argv[1], "explain") == 0) {
		if (parse_explain_args(argc, argv, &a) != 0) {
			fprintf(stderr, "eidgate: policy explain needs -c CONFIG --nrn N "
			    "METHOD PATH\n");
			return usage(stderr, 2);
		}
		return explain(&a);
	}
	fprintf(stderr, "eidgate: policy: unknown subcommand '%s'\n", argv[1]);
	return usage(stderr, 2);
}
