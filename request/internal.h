/*
 * internal.h - shared by the files of request/ only: identification (identify.c), the
 * route table (routes.c) and the verdict cache's lookups (verdict.c).
 */
#ifndef EIDGATE_REQUEST_INTERNAL_H
#define EIDGATE_REQUEST_INTERNAL_H

#include <stddef.h>

#include <microhttpd.h>

#include "eidgate/request.h"

/* identify.c: who sends the request, in two steps. identify_client fills r->user from
 * the client certificate or a session token (no directory yet, so that even a malformed
 * request is recorded with who sent it); identify_person then adds the person's grants
 * and acting organisation from the directory and records a browser's certificate login.
 * r->user.auth_err says why not (EG_ERR_NO_CERT: anonymous). */
void identify_client(struct request *r);
void identify_person(struct request *r);

/* routes.c: answers a built-in path (policy_path_is_builtin). Called again for each
 * piece of a body the route collects, until it answers. */
enum MHD_Result route_request(struct request *r, const char *upload, size_t *upload_size);
/* Frees what route_request kept for r (a collected body). */
void route_request_done(struct request *r);

/* verdict.c */
/* 1 and *err, *id filled when a fresh verdict for chain_hash, made under revocation
 * generation gen (auth_revocation_generation), is cached. */
int verdict_get(struct verdict_cache *vc, const unsigned char chain_hash[32], uint64_t gen,
    int *err, struct eg_identity *id, char *detail, size_t detaillen);
void verdict_put(struct verdict_cache *vc, const unsigned char chain_hash[32], uint64_t gen,
    int err, const struct eg_identity *id, const char *detail);

#endif
