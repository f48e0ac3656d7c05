/* internal.h - shared by the files of api/ only: the rights management API (admin*.c). */
#ifndef EIDGATE_API_INTERNAL_H
#define EIDGATE_API_INTERNAL_H

#include <jansson.h>

#include "eidgate/directory.h"
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

#endif
