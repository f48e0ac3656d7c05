/*
 * internal.h - shared by the files of server/ only: loading and swapping configuration
 * snapshots (reload.c) and the event-loop threads (loop.c).
 */
#ifndef EIDGATE_SERVER_INTERNAL_H
#define EIDGATE_SERVER_INTERNAL_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>

#include "eidgate/record.h"

struct gateway;
struct gw_snapshot;
struct keys;
struct up_worker;

/* reload.c */
/* Loads configuration, trust anchors and policy, and takes the public keys from keys
 * (the assertion signer). EG_OK or EG_ERR_CONFIG with the reasons on stderr. */
int snapshot_load(const char *config_path, struct keys *keys, struct gw_snapshot **out);
/* Makes next current; the old one is freed when its last request finishes. */
void snapshot_swap(struct gateway *gw, struct gw_snapshot *next);

/* privilege.c: started as root, become [process] user for good (groups, gid, uid, each
 * checked, and root checked out of reach); started as another user, nothing. Called once, after the listening
 * socket is bound and before any connection is accepted. 0, or -1 after a message. */
struct eg_config;
int privilege_drop(const struct eg_config *cfg);

/* tlskey.c: the TLS server key in the key process. tlskey_open: from the certificate
 * chain (PEM) and keys; EG_ERR_NOT_FOUND when the key process does not hold that
 * certificate's key (not EC P-256: the serving process keeps it). tlskey_use makes t the
 * key tlskey_retrieve (libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK) hands to GnuTLS;
 * call it before the first daemon starts. */
struct tls_key;
int tlskey_open(struct keys *k, const char *cert_pem, size_t len, struct tls_key **out);
void tlskey_use(const struct tls_key *t);
void tlskey_free(struct tls_key *t);
int tlskey_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
    unsigned int *pcert_length, gnutls_privkey_t *privkey);

/* loop.c: an event-loop thread running daemon and forwarding worker w. loop_new takes
 * the daemon (stopped by loop_free, or at once when loop_new fails). */
struct gw_loop;
struct gw_loop *loop_new(struct MHD_Daemon *daemon, struct up_worker *w);
int loop_start(struct gw_loop *l);
void loop_stop(struct gw_loop *l);
void loop_free(struct gw_loop *l);

/* control.c: the local control socket (<[audit] db>/control.sock). */
struct control;
int control_start(struct gateway *gw, const char *audit_dir, struct control **out);
void control_stop(struct control *c);

/* control_msg.c: one message of it. On EG_OK m->op points into m's JSON (freed with
 * control_msg_free, also after a failure); EG_ERR_PARSE with why naming the field. */
struct control_msg {
	struct rec_operator op;
	/* kind "pseudonym": an officer's lookup (eidgate access pseudonym): request_id,
	 * actor, backend, target and, optionally, key_id (8 hex digits) */
	int is_pseudonym;
	struct rec_lookup lookup;
	json_t *json;
};
int control_parse(const char *text, size_t len, struct control_msg *m, char *why,
    size_t whylen);
void control_msg_free(struct control_msg *m);

#endif
