/*
 * internal.h - shared by the files of pages/ only (and tests/fuzz/): the PKCS#11 login's
 * token request (login.c), read apart from answering it, so that the reading can be
 * tested and fuzzed without a connection.
 */
#ifndef EIDGATE_PAGES_INTERNAL_H
#define EIDGATE_PAGES_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "eidgate/limits.h"

/* The body of POST auth/token: {"challenge","origin","alg","signature","chain"}. */
struct login_req {
	json_t *json;                   /* the parsed body: owns the strings below */
	const char *origin;             /* NULL when absent or not a string */
	const char *challenge, *alg;    /* meaningful when sig_ok */
	unsigned char *ders[EG_MAX_CHAIN];      /* chain[i] decoded (malloc'd), leaf first */
	size_t lens[EG_MAX_CHAIN];
	size_t n;                       /* entries of ders to free */
	unsigned char sig[1024];
	size_t siglen;
	int sig_ok;                     /* challenge, alg and signature are strings and the
	                                 * signature is base64url of at most sizeof(sig) */
};

/*
 * Reads body[0..len) into *q. EG_OK, or EG_ERR_PARSE when the body is not JSON or its
 * chain is not 1..EG_MAX_CHAIN base64url strings: the request is malformed. What is
 * wrong with challenge, alg or signature only clears sig_ok, because the gateway answers
 * it only after the certificate was checked. Call login_req_free after either result.
 * Pure: no I/O, no clock.
 */
int login_req_parse(const char *body, size_t len, struct login_req *q);
void login_req_free(struct login_req *q);

/* The bytes the card signs, EG_LOGIN_MSG_PREFIX origin "\n" challenge, into msg: their
 * length, or -1 when they do not fit in msglen - 1. */
int login_message(const char *origin, const char *challenge, char *msg, size_t msglen);

#endif
