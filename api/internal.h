/* internal.h - shared by the files of api/ only (and tests/fuzz/): the rights management
 * API (admin*.c) and the reading of the security officers' filters (audit_api.c). */
#ifndef EIDGATE_API_INTERNAL_H
#define EIDGATE_API_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "eidgate/audit.h"
#include "eidgate/directory.h"
#include "eidgate/keys.h"
#include "eidgate/request.h"

/* What one API call is about, as far as it is known and valid: the access-log record of
 * a refusal names exactly these (NULL/empty for what was not given or not valid). */
struct admin_op {
	const char *action;             /* "grant", "revoke", "list" */
	const char *target;             /* validated national number, or NULL */
	const char *role;               /* validated role, or NULL */
	struct dir_scope scope;
	char scope_text[EG_MAX_ID + 16];        /* "facility:ckg-molenberg", "" if none */
};

/* admin.c */
/* Sends j (consumed) as JSON with status. */
enum MHD_Result admin_reply(struct request *r, unsigned status, json_t *j);
/* {"reason","message","error","lang","request_id","field"?} with status, the message
 * msgid (or the reason's) in the user's language; no log record. */
enum MHD_Result admin_error(struct request *r, unsigned status, const char *reason,
    const char *msgid, const char *field);
/* Writes the kind=rights deny record of op, then answers like admin_error (503 when the
 * record cannot be written). */
enum MHD_Result admin_refuse(struct request *r, const struct admin_op *op, unsigned status,
    const char *reason, const char *msgid, const char *field);
enum MHD_Result admin_directory_down(struct request *r, const struct admin_op *op);
/* Fills op->scope.org from the directory; 0, 400 (no such scope) or 503. */
int admin_resolve_scope(struct dir_writer *w, struct admin_op *op);

/* admin_sessions.c: POST sessions/end. Its body's parser (fuzzed): the field at fault
 * ("body", "nrn" or "scope"), or NULL with *nrn a valid national number and *scope a
 * string, both pointing into j. */
enum MHD_Result admin_end_sessions(struct request *r, struct dir_writer *w);
const char *admin_end_sessions_parse(json_t *j, const char **nrn, const char **scope);

/* admin_list.c */
enum MHD_Result admin_scope(struct request *r, struct dir_writer *w);
enum MHD_Result admin_people(struct request *r, struct dir_writer *w);
/* A national number as people write it ("85.07.30-033.61", "85073003361"): its 11
 * digits into nrn (EG_NRN_LEN + 1 bytes) and 0; -1 when q is something else (a name). */
int api_nrn_of(const char *q, char *nrn);

/* admin.c: the national numbers (at most max, into out; *n of them) of the people of
 * organisation org whose name contains q, read through the rights API's writer (the
 * directory as it is now). 0, or -1 when the directory failed. */
int api_people_named(struct request *r, const char *org, const char *q,
    char (*out)[EG_NRN_LEN + 1], size_t max, size_t *n);

/* admin_change.c: a grant or revocation with the JSON body r->body. */
enum MHD_Result admin_change(struct request *r, struct dir_writer *w,
    enum dir_action action);

/* The body of a grant or revocation, as far as admin_change_parse read it (pointers into
 * the JSON it was read from; NULL when not given). */
struct admin_change_req {
	enum dir_action action;
	const char *nrn, *name, *role, *scope;
	int64_t until;                  /* a grant's end (dir_until_parse), 0: none given */
};
/* Checks the body j (may be NULL: not JSON) of action at time now (seconds): NULL when
 * every field is valid (the scope only as a string: its form is checked with the
 * directory), else the name of the first field at fault ("body" when j is not an
 * object, or an unknown key of at most 32 bytes). Pure. */
const char *admin_change_parse(json_t *j, enum dir_action action, int64_t now,
    struct admin_change_req *c);

/* audit_review.c: the string member name of the JSON object j; NULL when absent or
 * null, and also when it is not a non-empty text without NUL, then with *bad = 1. */
const char *api_json_text(json_t *j, const char *name, int *bad);

/* audit_api.c: a records or stats request's filter values, from the JSON object of a
 * POST or the query arguments of a GET. */
struct audit_params {
	json_t *body;                   /* POST: the parsed body; NULL for a GET */
	/* GET: the query argument `name`, NULL when absent (libmicrohttpd's, or a test's) */
	const char *(*arg)(void *ctx, const char *name);
	void *ctx;
	int bad;                        /* a value was not a string */
};

enum audit_noise { NOISE_ALL, NOISE_HIDE, NOISE_ONLY };

/* An officer's search: the filter, the person asked for (by name or number) and the
 * national numbers that person stands for, the browser-noise choice, the page. */
struct audit_search {
	struct audit_filter f;
	const char *person_text;        /* as asked; NULL: no person */
	int person;                     /* a person was asked for (and looked up) */
	char nrns[EG_MAX_PERSON_MATCHES][EG_NRN_LEN + 1];
	size_t nnrns;
	enum audit_noise noise;
	long long offset, limit;
};

/* Reads the search of pa into *s (limit dflt_limit unless given, at most max_limit);
 * 0, or -1 when a value is malformed. The person is not looked up here (it takes the
 * directory). The strings stay valid as long as pa's body or arguments. Pure, but for
 * pa->arg. */
int api_audit_search(struct audit_params *pa, struct audit_search *s, long long dflt_limit,
    long long max_limit);

/* audit_review.c: the bodies of the officers' access review (fuzzed). */
enum review_body { REVIEW_WHO, REVIEW_WHAT, REVIEW_VERDICT };
struct review_req {
	const char *org;                /* NULL: the first the user is officer of */
	const char *method, *path;      /* who-can */
	char nrn[EG_NRN_LEN + 1];       /* what-can, verdict: 11 digits, check digits valid */
	const char *role, *scope, *verdict;     /* verdict */
};
/* Checks the body j (may be NULL: not JSON) of kind b: NULL when every field is valid
 * (a known method, a path from "/" shorter than EG_MAX_PATH, a national number as people
 * write it, a known role, a scope that parses, "confirmed" or "to-remove"), else the
 * name of the first field at fault ("body" when j is not an object). Other keys are
 * ignored. Pointers into j. Pure. */
const char *api_review_parse(json_t *j, enum review_body b, struct review_req *q);

/* audit_review.c: the jobs of the officers' reviews and pseudonym lookups, run on a
 * thread of their own over the whole directory while the connection is suspended. */
enum job_op { JOB_WHO, JOB_WHAT, JOB_LIST, JOB_PSEUDONYM };

/* A pseudonym lookup (audit_pseudonym.c): its question, and for the record its outcome. */
struct api_pseudonym_job {
	char backend[EG_MAX_ID];
	char key_id[KEYS_PSEUDONYM_KID + 1];    /* "": the key in use */
	char pseudonym[KEYS_PSEUDONYM_LEN + 1]; /* "": national number -> pseudonym */
	char target[EG_NRN_LEN + 1];            /* the person asked for or found, or "" */
	char kid[KEYS_PSEUDONYM_KID + 1];       /* the key that answered, or "" */
	const char *reason;                     /* for the record */
	int allow;
};

struct api_job {
	enum job_op op;
	struct MHD_Connection *conn;
	const struct eg_config *cfg;    /* the request's snapshot: held until it ends */
	const struct policy *policy;
	struct audit_log *audit;
	struct audit_witness *witness;
	struct keys *keys;              /* pseudonyms: asked of the key process */
	struct dir_resolver *dir;       /* a number's pseudonym: one person, not all */
	atomic_int *running;            /* the gateway's count of reviews running */
	char org[EG_MAX_ID];
	char method[16], target[EG_MAX_PATH], nrn[EG_NRN_LEN + 1];
	int64_t now_us;
	int only_overdue;               /* GET review?overdue=1 */
	struct api_pseudonym_job ps;    /* JOB_PSEUDONYM */
	/* the outcome, written by the thread before it resumes the connection */
	int done;
	unsigned status;                /* 200, or the error's */
	const char *reason;             /* the error's code */
	json_t *answer;
};
/* A new job for the officer of r about organisation asked (NULL: their first), or NULL
 * with the answer to send in *ret (403 recorded, or 503). */
struct api_job *api_job_new(struct request *r, enum job_op op, const char *asked,
    enum MHD_Result *ret);
/* Suspends r and starts its job (consumed) on a thread of its own; the handler is
 * called again once the job resumes the connection (r->job set). */
enum MHD_Result api_job_start(struct request *r, struct api_job *job);
/* On the job's thread: the answer is an error (status, reason). */
void api_job_fail(struct api_job *job, unsigned status, const char *reason);

/* audit_pseudonym.c: POST pseudonym {backend, nrn | pseudonym[, key_id][, org]}. */
struct pseudonym_req {
	const char *org;                /* NULL: the first the user is officer of */
	const char *backend;            /* a policy backend name (checked against it later) */
	char nrn[EG_NRN_LEN + 1];       /* national number -> pseudonym; "" otherwise */
	const char *pseudonym;          /* pseudonym -> person: 43 base64url characters */
	const char *key_id;             /* 8 hex digits, or NULL: the key in use */
};
/* Checks the body j (may be NULL): NULL when valid (exactly one of nrn, pseudonym), else
 * the first field at fault ("body" when j is not an object). Pointers into j. Pure. */
const char *api_pseudonym_parse(json_t *j, struct pseudonym_req *q);
/* On the job's thread: the lookup over the directory a. */
void api_pseudonym_run(struct api_job *job, const struct dir_all *a);
/* 1 when job is a lookup about one number: it needs that person only (the resolver),
 * not the whole directory. api_pseudonym_resolve runs it, on the job's thread. */
int api_pseudonym_one(const struct api_job *job);
void api_pseudonym_resolve(struct api_job *job);

/* audit_api.c: is the user security officer of organisation org (NULL: no)? */
int api_officer_of(const struct request *r, const char *org);
/* The 403 of a user who is no security officer (of that organisation), recorded. */
enum MHD_Result api_refuse_officer(struct request *r);

#endif
