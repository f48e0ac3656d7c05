/*
 * replay.c - `eidgate audit replay` and `eidgate policy check --against-log`: a recorded
 * decision taken again from what its record says it depended on (record.h,
 * "Replaying"), with the policy version that took it (kept in the log) or with a new
 * policy.
 *
 * One record: "same", or the difference rule by rule. Every request since T: the ones
 * whose outcome changes, grouped by the rule that decided before and by person.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_replay[] =
    "usage: eidgate audit replay --db DIR [--policy FILE] SEQ\n"
    "       eidgate audit replay --db DIR [--policy FILE] [--since T] [--until T]\n"
    "Decides recorded requests again from what their records say the decision depended\n"
    "on (roles and scopes held, facility acted for, capacities, facilities' "
    "organisations),\n"
    "with the policy version that decided (kept in the log) or with the policy FILE.\n"
    "SEQ: prints \"same\", or the difference rule by rule; exit 0 when the same, 1 when\n"
    "not. Otherwise: every request since T whose outcome changes (allow -> deny,\n"
    "deny -> allow), grouped by the rule that decided before and by person.\n";

/* ---- the policy versions of the log --------------------------------------------- */

struct version {
	char id[EG_MAX_ID];
	struct policy *p;               /* NULL: its text did not load (said once) */
};

struct replay {
	const char *db;
	struct version *v;
	size_t nv;
	struct policy *newp;            /* --policy, or NULL: each record's own */
	const char *new_name;
	struct rec_subject *rs;
	/* bulk */
	uint64_t seen, replayed, not_replayable, no_policy, changed;
	struct change *ch;
	size_t nch, capch;
	int failed;
};

struct change {
	uint64_t seq;
	char rule[EG_MAX_ID];           /* that decided before ("" when none) */
	char nrn[EG_NRN_LEN + 1];
	char now[EG_MAX_ID];            /* that decides now ("" when none) */
	int was_allow;
};

static void
policy_quiet(void *arg, int is_error, const char *file, int line, const char *msg)
{
	(void)arg;
	if (is_error)
		fprintf(stderr, "eidgate: audit replay: kept policy %s:%d: %s\n", file, line,
		    msg);
}

static int
keep_version(const char *version, const char *text, size_t len, void *arg)
{
	struct policy_diag diag = { policy_quiet, NULL };
	struct replay *rp = arg;
	struct version *nv = realloc(rp->v, (rp->nv + 1) * sizeof(*nv));

	if (nv == NULL)
		return EG_ERR_NOMEM;
	rp->v = nv;
	nv = &rp->v[rp->nv++];
	eg_strlcpy(nv->id, version, sizeof(nv->id));
	nv->p = NULL;
	if (policy_load_text(version, text, len, &nv->p, &diag) != EG_OK) {
		fprintf(stderr, "eidgate: audit replay: kept policy %s does not load\n", version);
		nv->p = NULL;
	} else if (strcmp(policy_version(nv->p), version) != 0) {
		/* The text is not the one that version names: never decide with it. */
		fprintf(stderr, "eidgate: audit replay: kept policy %s: its text has version %s;"
		    " the log's policy store was changed\n", version, policy_version(nv->p));
		policy_free(nv->p);
		nv->p = NULL;
	}
	return EG_OK;
}

static const struct policy *
version_of(const struct replay *rp, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < rp->nv; i++)
		if (strcmp(rp->v[i].id, id) == 0)
			return rp->v[i].p;
	return NULL;
}

static void
replay_free(struct replay *rp)
{
	size_t i;

	for (i = 0; i < rp->nv; i++)
		policy_free(rp->v[i].p);
	free(rp->v);
	free(rp->rs);
	free(rp->ch);
	policy_free(rp->newp);
}

static int
replay_init(struct replay *rp, const char *db, const char *newfile)
{
	struct policy_diag diag = { policy_quiet, NULL };
	char err[512];
	int r;

	memset(rp, 0, sizeof(*rp));
	rp->db = db;
	if ((rp->rs = malloc(sizeof(*rp->rs))) == NULL)
		return EG_ERR_NOMEM;
	if (newfile != NULL) {
		rp->new_name = newfile;
		if ((r = policy_load(newfile, &rp->newp, &diag)) != EG_OK) {
			fprintf(stderr, "eidgate: audit replay: %s: %s\n", newfile, eg_err(r));
			return r;
		}
		return EG_OK;   /* the recorded verdict is in each record: no old version */
	}
	if (audit_policies(db, keep_version, rp, err, sizeof(err)) != EG_OK) {
		fprintf(stderr, "eidgate: %s\n", err);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

/* ---- one record ------------------------------------------------------------------ */

/* Rule results of one policy, for the rule-by-rule comparison. */
#define MAX_LISTED 256
struct rule_state {
	char id[EG_MAX_ID];
	int deny, before, after;        /* -1 absent (does not match), 0 not held, 1 held */
};
struct rule_list {
	struct rule_state r[MAX_LISTED];
	size_t n;
	int after;                      /* filling the second policy's results */
};

static void
note_rule(void *arg, const char *rule, int deny, int holds)
{
	struct rule_list *l = arg;
	size_t i;

	for (i = 0; i < l->n && strcmp(l->r[i].id, rule) != 0; i++)
		;
	if (i == l->n) {
		if (l->n == MAX_LISTED)
			return;
		eg_strlcpy(l->r[i].id, rule, sizeof(l->r[i].id));
		l->r[i].deny = deny;
		l->r[i].before = l->r[i].after = -1;
		l->n++;
	}
	if (l->after)
		l->r[i].after = holds;
	else
		l->r[i].before = holds;
}

static const char *
state_word(int s)
{
	return s < 0 ? "does not match" : s ? "holds" : "does not hold";
}

static void
print_verdict(const char *label, int allow, const char *rule)
{
	printf("%-9s %s by %s\n", label, allow ? "allow" : "deny",
	    rule != NULL && rule[0] ? rule : "no rule (nothing allows it)");
}

static void
print_rules(const struct rule_list *l, int two)
{
	size_t i;

	printf("rule by rule%s:\n", two ? " (recorded policy -> replayed policy)" : "");
	for (i = 0; i < l->n; i++) {
		const struct rule_state *s = &l->r[i];
		if (two && s->before == s->after)
			continue;
		if (two)
			printf("  %-5s %-24s %s -> %s\n", s->deny ? "deny" : "allow", s->id,
			    state_word(s->before), state_word(s->after));
		else
			printf("  %-5s %-24s %s\n", s->deny ? "deny" : "allow", s->id,
			    state_word(s->after));
	}
}

struct one {
	struct replay *rp;
	int found, differs;
};

static void
print_facts(const struct audit_record *rec)
{
	char masked[16];

	log_mask_nrn(rec->nrn != NULL ? rec->nrn : "", masked, sizeof(masked));
	printf("record %" PRIu64 ": %s %s by %s, policy %s\n", rec->seq, rec->method,
	    rec->path, rec->nrn != NULL ? masked : "(no login)", rec->policy_version);
	printf("depended on: roles %s; acting for %s; capacities %s; facilities %s; "
	    "revocation %s\n", rec->grants[0] == '\0' ? "(none)" :
	    strcmp(rec->grants, "-") == 0 ? "(not logged in)" : rec->grants,
	    rec->context != NULL && rec->context[0] ? rec->context : "(none)",
	    rec->capacities != NULL && rec->capacities[0] ? rec->capacities : "(none)",
	    rec->facility_orgs != NULL && rec->facility_orgs[0] ? rec->facility_orgs : "(none)",
	    rec->revocation != NULL ? rec->revocation : "(not recorded)");
}

static int
replay_one_cb(const struct audit_record *rec, void *arg)
{
	struct one *o = arg;
	struct replay *rp = o->rp;
	const struct policy *old = version_of(rp, rec->policy_version);
	const struct policy *use = rp->newp != NULL ? rp->newp : old;
	struct policy_decision d;
	struct rule_list *l;
	int was, r;

	o->found = 1;
	if ((r = record_subject_load(rp->rs, rec)) != EG_OK) {
		fprintf(stderr, "eidgate: audit replay: record %" PRIu64 " %s\n", rec->seq,
		    r == EG_ERR_NOT_FOUND ? "is not a decision of the policy with what it "
		    "depended on (another kind, or written before they were kept)" :
		    "holds malformed facts");
		return EG_ERR_NOT_FOUND;
	}
	if (use == NULL) {
		fprintf(stderr, "eidgate: audit replay: policy version %s is not kept in the "
		    "log\n", rec->policy_version);
		return EG_ERR_NOT_FOUND;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return EG_ERR_NOMEM;
	print_facts(rec);
	was = record_policy_verdict(rec);
	policy_decide(use, rec->method, rec->path, &rp->rs->s, &d);
	if (old != NULL && rp->newp != NULL)
		(void)policy_rule_results(old, rec->method, rec->path, &rp->rs->s, note_rule, l);
	l->after = 1;
	(void)policy_rule_results(use, rec->method, rec->path, &rp->rs->s, note_rule, l);
	o->differs = was != d.allow || strcmp(rec->rule != NULL ? rec->rule : "",
	    d.rule != NULL ? d.rule : "") != 0;
	print_verdict("recorded:", was, rec->rule);
	printf("replayed: %s by %s (policy %s%s%s)\n", d.allow ? "allow" : "deny",
	    d.rule != NULL ? d.rule : "no rule (nothing allows it)", policy_version(use),
	    rp->newp != NULL ? ", " : "", rp->newp != NULL ? rp->new_name : "");
	if (!o->differs) {
		puts("same");
	} else {
		printf("different: %s -> %s\n", was ? "allow" : "deny", d.allow ? "allow" : "deny");
		print_rules(l, rp->newp != NULL && old != NULL);
	}
	free(l);
	return EG_OK;
}

static int
replay_seq(struct replay *rp, const char *seqtext)
{
	struct one o = { rp, 0, 0 };
	long long seq;
	char err[512];
	int r;

	if (eg_strtonum(seqtext, 1, LLONG_MAX, &seq) != EG_OK) {
		fprintf(stderr, "eidgate: audit replay: SEQ must be a record number\n");
		return EXIT_USAGE;
	}
	r = audit_record_at(rp->db, (uint64_t)seq, replay_one_cb, &o, err, sizeof(err));
	if (r == EG_ERR_AUDIT || (r == EG_ERR_NOT_FOUND && !o.found)) {
		fprintf(stderr, "eidgate: %s\n", err);
		return EXIT_FAILED;
	}
	if (r != EG_OK)
		return EXIT_FAILED;
	return o.differs ? EXIT_FAILED : EXIT_OK;
}

/* ---- every request since T -------------------------------------------------------- */

static int
add_change(struct replay *rp, const struct audit_record *rec, int was,
    const struct policy_decision *d)
{
	struct change *c;

	if (rp->nch == rp->capch) {
		size_t cap = rp->capch ? rp->capch * 2 : 256;
		struct change *n = realloc(rp->ch, cap * sizeof(*n));
		if (n == NULL)
			return EG_ERR_NOMEM;
		rp->ch = n;
		rp->capch = cap;
	}
	c = &rp->ch[rp->nch++];
	c->seq = rec->seq;
	c->was_allow = was;
	eg_strlcpy(c->rule, rec->rule != NULL ? rec->rule : "", sizeof(c->rule));
	eg_strlcpy(c->nrn, rec->nrn != NULL ? rec->nrn : "", sizeof(c->nrn));
	eg_strlcpy(c->now, d->rule != NULL ? d->rule : "", sizeof(c->now));
	return EG_OK;
}

static int
replay_bulk_cb(const struct audit_record *rec, void *arg)
{
	struct replay *rp = arg;
	const struct policy *use;
	struct policy_decision d;
	int was;

	rp->seen++;
	if (record_subject_load(rp->rs, rec) != EG_OK) {
		rp->not_replayable++;
		return 0;
	}
	use = rp->newp != NULL ? rp->newp : version_of(rp, rec->policy_version);
	if (use == NULL) {
		rp->no_policy++;
		return 0;
	}
	rp->replayed++;
	was = record_policy_verdict(rec);
	policy_decide(use, rec->method, rec->path, &rp->rs->s, &d);
	if (was == d.allow)
		return 0;
	rp->changed++;
	return add_change(rp, rec, was, &d) == EG_OK ? 0 : EG_ERR_NOMEM;
}

static int
change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c = strcmp(x->rule, y->rule);

	if (c == 0)
		c = x->was_allow - y->was_allow;
	if (c == 0)
		c = strcmp(x->nrn, y->nrn);
	if (c == 0)
		c = x->seq < y->seq ? -1 : x->seq > y->seq;
	return c;
}

/* One person's changes under one rule: "allow -> deny  85*******61  3 requests: seq
 * 12 15 19 (now: no rule)". */
static size_t
print_person(FILE *out, const struct change *c, size_t n)
{
	char masked[16];
	size_t k, i;

	for (k = 1; k < n && c[k].was_allow == c[0].was_allow &&
	    strcmp(c[k].nrn, c[0].nrn) == 0; k++)
		;
	log_mask_nrn(c[0].nrn, masked, sizeof(masked));
	fprintf(out, "  %s  %-12s %zu request%s: seq", c[0].was_allow ? "allow -> deny" :
	    "deny -> allow", c[0].nrn[0] ? masked : "(no login)", k, k == 1 ? "" : "s");
	for (i = 0; i < k && i < 10; i++)
		fprintf(out, " %" PRIu64, c[i].seq);
	fprintf(out, "%s (now: %s)\n", k > 10 ? " ..." : "",
	    c[0].now[0] ? c[0].now : "no rule");
	return k;
}

static void
print_summary(FILE *out, struct replay *rp, const char *since)
{
	size_t i = 0, j, k;

	fprintf(out, "replayed %" PRIu64 " decisions%s%s with %s%s: %" PRIu64 " change%s, %"
	    PRIu64 " not replayable, %" PRIu64 " without their policy version\n",
	    rp->replayed, since != NULL ? " since " : "", since != NULL ? since : "",
	    rp->newp != NULL ? rp->new_name : "the versions that took them",
	    rp->newp != NULL ? "" : "", rp->changed, rp->changed == 1 ? "" : "s",
	    rp->not_replayable, rp->no_policy);
	qsort(rp->ch, rp->nch, sizeof(*rp->ch), change_cmp);
	while (i < rp->nch) {
		for (j = i; j < rp->nch && strcmp(rp->ch[j].rule, rp->ch[i].rule) == 0; j++)
			;
		fprintf(out, "rule %s: %zu change%s\n", rp->ch[i].rule[0] ? rp->ch[i].rule :
		    "(none: nothing allowed it)", j - i, j - i == 1 ? "" : "s");
		for (k = i; k < j; )
			k += print_person(out, &rp->ch[k], j - k);
		i = j;
	}
}

int
cmd_replay_summary(const char *db, const char *newfile, int64_t since_us,
    int64_t until_us, const char *since, FILE *out)
{
	struct audit_filter f;
	struct replay rp;
	char err[512];
	int r;

	if (replay_init(&rp, db, newfile) != EG_OK) {
		replay_free(&rp);
		return EXIT_FAILED;
	}
	memset(&f, 0, sizeof(f));
	f.kind = record_kind_name(REC_REQUEST);
	f.since_us = since_us;
	f.until_us = until_us;
	r = audit_query(db, &f, replay_bulk_cb, &rp, err, sizeof(err));
	if (r != EG_OK) {
		fprintf(stderr, "eidgate: %s\n", r == EG_ERR_AUDIT ? err : eg_err(r));
		replay_free(&rp);
		return EXIT_FAILED;
	}
	print_summary(out, &rp, since);
	replay_free(&rp);
	return ferror(out) ? EXIT_FAILED : EXIT_OK;
}

int
cmd_audit_replay(int argc, char **argv)
{
	const char *db = NULL, *pol = NULL, *since = NULL, *until = NULL;
	const struct opt opts[] = {
		{ "db", &db, NULL, 0, NULL, NULL, 0 },
		{ "policy", &pol, NULL, 0, NULL, NULL, 0 },
		{ "since", &since, NULL, 0, NULL, NULL, 0 },
		{ "until", &until, NULL, 0, NULL, NULL, 0 },
	};
	struct query_args qa;
	struct audit_filter f;
	struct replay rp;
	int rc, i, nargs = 0;
	const char *seq = NULL;

	/* The one positional argument (SEQ) is taken out before the options are read. */
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-' && (i == 1 || argv[i - 1][0] != '-' ||
		    strchr(argv[i - 1], '=') != NULL || strcmp(argv[i - 1], "--help") == 0)) {
			seq = argv[i];
			nargs++;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	rc = cmd_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "replay");
	if (rc < 0) {
		fputs(usage_replay, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	if (nargs > 1 || (seq != NULL && (since != NULL || until != NULL))) {
		fprintf(stderr, "eidgate: audit replay: give one SEQ, or --since/--until\n");
		return EXIT_USAGE;
	}
	memset(&qa, 0, sizeof(qa));
	qa.db = db;
	if (db != NULL)         /* replay reads one log: its own, not a merged view */
		qa.dbs[qa.ndbs++] = db;
	qa.since = since;
	qa.until = until;
	if ((rc = cmd_audit_filter(&qa, &f, "replay")) != EXIT_OK)
		return rc;
	if (seq == NULL)
		return cmd_replay_summary(db, pol, f.since_us, f.until_us, since, stdout);
	if (replay_init(&rp, db, pol) != EG_OK) {
		replay_free(&rp);
		return EXIT_FAILED;
	}
	/* One record with a new policy compares rule by rule: the old version is needed. */
	if (pol != NULL) {
		char err[512];
		if (audit_policies(db, keep_version, &rp, err, sizeof(err)) != EG_OK)
			fprintf(stderr, "eidgate: %s\n", err);
	}
	rc = replay_seq(&rp, seq);
	replay_free(&rp);
	return rc;
}
