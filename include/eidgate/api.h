/*
 * api.h - the gateway's JSON APIs (api/): rights management for local administrators
 * under /eidgate/admin/api/ (PRODUCT.md §8) and the security officers' access-log API
 * under /eidgate/audit/api/ (§6, §7).
 *
 * Both are targets of the pipeline's route table (request/routes.c), which has already
 * checked that the user is authenticated and, for state-changing requests not made
 * with a Bearer token, the CSRF header; for the admin API it has collected the body into
 * r->body. Every grant, revocation, refusal and listing, and every read of the access
 * log, is recorded through record.h before it is answered (pages.h).
 *
 * What it owns: the directory writer of the rights API (one connection, one change at a
 * time, so "count the VTEs, then remove one" cannot race within a gateway), the JSON
 * shapes of both APIs. What it may call: directory/ (resolver and writer), audit/ (live
 * reads), record/, pages/ (answers).
 *
 * Threads: the handlers run on the event-loop thread that owns r; the writer is shared
 * by all threads under its own lock.
 */
#ifndef EIDGATE_API_H
#define EIDGATE_API_H

#include <microhttpd.h>

struct request;
struct api_writer;

/* The rights API (api/admin*.c), below /eidgate/admin/api/: GET scope, GET people,
 * POST grants, POST revocations, POST sessions/end (every session of a person, on every
 * instance), one route row each with its operation in the row's op; its 405 and 404 in
 * its own JSON shape. */
enum api_op { API_SCOPE, API_PEOPLE, API_GRANT, API_REVOKE, API_END_SESSIONS };
enum MHD_Result api_admin(struct request *r);
enum MHD_Result api_admin_wrong_method(struct request *r);
enum MHD_Result api_admin_not_found(struct request *r);

/* The security officers' API (api/audit_api.c), below /eidgate/audit/api/: GET scope,
 * records, stats and verify. */
enum MHD_Result api_audit_scope(struct request *r);
enum MHD_Result api_audit_records(struct request *r);
enum MHD_Result api_audit_stats(struct request *r);
enum MHD_Result api_audit_verify(struct request *r);
/* The officers' access review (api/audit_review.c), for their own organisation:
 * POST who-can {method, path[, org]}, POST what-can {nrn[, org]}, GET review[?org=],
 * POST review {nrn, role, scope, verdict}. The first three read the whole directory on
 * a thread of their own with the connection suspended (the event loop goes on). */
enum MHD_Result api_audit_who_can(struct request *r);
enum MHD_Result api_audit_what_can(struct request *r);
enum MHD_Result api_audit_review(struct request *r);
/* POST pseudonym {backend, nrn | pseudonym[, key_id][, org]} (api/audit_pseudonym.c):
 * a security officer resolves the pseudonym a `subject=pseudonym` backend receives for
 * one of their organisation's people, or finds which of them a pseudonym stands for;
 * recorded (kind "pseudonym") before it is answered. The key stays in the key process. */
enum MHD_Result api_audit_pseudonym(struct request *r);
/* Frees a request's finished job (NULL: nothing). */
struct api_job;
void api_job_free(struct api_job *job);

/* GET /eidgate/audit/peer/feed?after=N&limit=M: this log's records after seq N for a
 * peer's witness (audit_feed_live), only to a request signed with a key of [audit]
 * peer_keys (header X-Eidgate-Witness); anything else is refused with 403 and recorded. */
enum MHD_Result api_audit_feed(struct request *r);

/* GET /eidgate/audit/api/receipt?instance=I&seq=N[&hash=H]: a decision receipt
 * (audit.h, "Decision receipts") as JSON, for the addresses of [audit] receipt_from
 * (403 and recorded for anyone else); 400 {"reason":"bad-request"} for a bad parameter;
 * otherwise audit_receipt_json's answer and status. */
enum MHD_Result api_audit_receipt(struct request *r);

/* The rights API's directory writer, made by the server at start (no connection yet:
 * the first change connects, with the [ldap] settings of the snapshot in use then).
 * EG_OK or EG_ERR_NOMEM. */
int api_writer_new(struct api_writer **out);
void api_writer_free(struct api_writer *aw);

#endif
