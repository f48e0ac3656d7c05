/*
 * internal.h - shared by the files of request/ only: identification (identify.c), the
 * route table (routes.c) and the verdict cache's lookups (verdict.c).
 */
#ifndef EIDGATE_REQUEST_INTERNAL_H
#define EIDGATE_REQUEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "eidgate/request.h"

/* identify.c: who sends the request, in two steps. identify_client fills r->user from
 * the client certificate or a session token (no directory yet, so that even a malformed
 * request is recorded with who sent it); identify_person then adds the person's grants
 * and acting organisation from the directory and records a browser's certificate login.
 * r->user.auth_err says why not (EG_ERR_NO_CERT: anonymous). */
void identify_client(struct request *r);
void identify_person(struct request *r);
/* The leaf certificate (DER) the TLS client presented on r's connection: EG_OK, or
 * EG_ERR_NO_CERT. The bytes belong to the TLS session. */
int identify_tls_leaf(struct request *r, const unsigned char **der, size_t *len);
/* The connection's context (struct conn_ctx, made by the server), or NULL. */
struct conn_ctx *req_conn_context(struct MHD_Connection *conn);

/* request/intent.c: a request a `signed` rule allowed. intent_start checks the header
 * and, when the body follows, sets REQ_INTENT; intent_continue reads the body whole up
 * to the backend's max_body, then checks the signature and forwards, or refuses. */
enum MHD_Result intent_start(struct request *r);
enum MHD_Result intent_continue(struct request *r, const char *upload, size_t *upload_size);

/* framing.c: what the head of a request says about its body. framing_field is called
 * for every field line; framing_decide then says 0 with *has_body and *body_len (-1:
 * chunked), or -1 when the framing is ambiguous (the request is refused: 400). */
struct framing {
	int n_cl, n_te, bad_name;
	const char *cl, *te;            /* the last value of each (pointers kept) */
};
void framing_init(struct framing *f);
void framing_field(struct framing *f, const char *name, const char *value);
int framing_decide(const struct framing *f, const char *version, int *has_body,
    int64_t *body_len);

/* request.c: collects a small request body into r->body (NUL-terminated; more than max
 * bytes sets r->body_too_big and drops the rest); returns 1 once the body is complete
 * (a call with nothing uploaded), 0 while more may come. */
int req_collect_body(struct request *r, const char *upload, size_t *upload_size, size_t max);
/* 1 when r's body, read whole, is an HTML form with a _method field (request.c says
 * why that is refused). */
int req_form_overrides_method(const struct request *r);

/* routes.c: answers a built-in path (policy_path_is_builtin). Called again for each
 * piece of a body the route collects, until it answers. */
enum MHD_Result route_request(struct request *r, const char *upload, size_t *upload_size);
/* 1 when path is one of the paths for machines (R_MACHINE): no browser session for it. */
int route_for_machines(const char *path);
/* routes.c: 1 when r is a request outside the gateway's prefix that the gateway answers
 * itself once no rule routed it (a browser's /favicon.ico); r->route is then set and
 * route_request answers it. */
int route_unrouted(struct request *r);

/* verdict.c */
/* 1 and *err, *id filled when a fresh verdict for chain_hash, made under revocation
 * generation gen (auth_revocation_generation), is cached. */
int verdict_get(struct verdict_cache *vc, const unsigned char chain_hash[32], uint64_t gen,
    int *err, struct eg_identity *id, char *detail, size_t detaillen);
void verdict_put(struct verdict_cache *vc, const unsigned char chain_hash[32], uint64_t gen,
    int err, const struct eg_identity *id, const char *detail);

#endif
